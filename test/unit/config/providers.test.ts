/** Provider profiles from the URL host (src/config/providers.ts), through resolvePoolConfig: every provider form, both modes. */
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '~/config/database-url.ts';
import { detectProvider, neonPoolerHost, type ProviderId } from '~/config/providers.ts';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';

const NEON = 'ep-cool-darkness-123456.us-east-2.aws.neon.tech';
const NEON_POOLER = 'ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech';
const SUPABASE = 'db.abcdefghijklmnopqrst.supabase.co';
const SUPAVISOR = 'aws-0-eu-central-1.pooler.supabase.com';
const RDS_PROXY = 'my-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com';
/** What a Worker's Hyperdrive binding hands out as `connectionString` (miniflare and Cloudflare alike). */
const HYPERDRIVE = '0f1e2d3c4b5a69788796a5b4c3d2e1f0.hyperdrive.local';

interface Row {
  url: string;
  provider: ProviderId;
  /** The effective URL (password `pw`), pgbouncer/connection_limit included. */
  effective: string;
  reason: RegExp;
  warning?: RegExp;
}

describe('transaction mode on each provider (VERCEL=1)', () => {
  it.each<[string, Row]>([
    [
      'Neon direct endpoint → the -pooler host, port unchanged (no 6543 on Neon)',
      {
        url: `postgresql://alex:pw@${NEON}/neondb?sslmode=require`,
        provider: 'neon',
        effective: `postgresql://alex:pw@${NEON_POOLER}/neondb?sslmode=require&pgbouncer=true&connection_limit=3`,
        reason: /Neon: the pooled endpoint is the -pooler host on the same port/,
      },
    ],
    [
      'Neon direct endpoint with an explicit :5432 keeps it',
      {
        url: `postgresql://alex:pw@${NEON}:5432/neondb`,
        provider: 'neon',
        effective: `postgresql://alex:pw@${NEON_POOLER}:5432/neondb?pgbouncer=true&connection_limit=3`,
        reason: /Neon: the pooled endpoint/,
      },
    ],
    [
      'Neon pooled endpoint is left alone',
      {
        url: `postgresql://alex:pw@${NEON_POOLER}/neondb?sslmode=require`,
        provider: 'neon',
        effective: `postgresql://alex:pw@${NEON_POOLER}/neondb?sslmode=require&pgbouncer=true&connection_limit=3`,
        reason: /Neon: already the pooled endpoint/,
      },
    ],
    [
      'Supabase direct host → 6543 on the same host (dedicated pooler)',
      {
        url: `postgresql://postgres:pw@${SUPABASE}:5432/postgres`,
        provider: 'supabase',
        effective: `postgresql://postgres:pw@${SUPABASE}:6543/postgres?pgbouncer=true&connection_limit=3`,
        reason: /Supabase: port 5432 → 6543/,
      },
    ],
    [
      'Supavisor session port 5432 → transaction port 6543',
      {
        url: `postgresql://postgres.abcdefghijklmnopqrst:pw@${SUPAVISOR}:5432/postgres`,
        provider: 'supavisor',
        effective: `postgresql://postgres.abcdefghijklmnopqrst:pw@${SUPAVISOR}:6543/postgres?pgbouncer=true&connection_limit=3`,
        reason: /Supabase Supavisor: port 5432 → 6543/,
      },
    ],
    [
      'Supavisor on 6543 stays',
      {
        url: `postgresql://postgres.abcdefghijklmnopqrst:pw@${SUPAVISOR}:6543/postgres`,
        provider: 'supavisor',
        effective: `postgresql://postgres.abcdefghijklmnopqrst:pw@${SUPAVISOR}:6543/postgres?pgbouncer=true&connection_limit=3`,
        reason: /Supabase Supavisor: port 6543 kept \(already the pooler\)/,
      },
    ],
    [
      'Supavisor with a user lacking .<project-ref> warns',
      {
        url: `postgresql://postgres:pw@${SUPAVISOR}:6543/postgres`,
        provider: 'supavisor',
        effective: `postgresql://postgres:pw@${SUPAVISOR}:6543/postgres?pgbouncer=true&connection_limit=3`,
        reason: /Supabase Supavisor/,
        warning: /^DATABASE_URL: Supabase Supavisor needs the user as <role>\.<project-ref>.*Tenant or user not found/,
      },
    ],
    [
      'RDS Proxy is the pooler: port kept, pinning noted',
      {
        url: `postgresql://app:pw@${RDS_PROXY}:5432/app`,
        provider: 'rds-proxy',
        effective: `postgresql://app:pw@${RDS_PROXY}:5432/app?pgbouncer=true&connection_limit=3`,
        reason: /AWS RDS Proxy: already the pooler, port kept; it pins .*SET, PREPARE, temporary tables, advisory locks or LISTEN/,
      },
    ],
    [
      'RDS Proxy custom (reader) endpoint',
      {
        url: `postgresql://app:pw@reader.endpoint.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com/app`,
        provider: 'rds-proxy',
        effective: `postgresql://app:pw@reader.endpoint.proxy-abcdefghijkl.eu-west-1.rds.amazonaws.com/app?pgbouncer=true&connection_limit=3`,
        reason: /AWS RDS Proxy/,
      },
    ],
    [
      'Hyperdrive is the pooler: its 5432 is kept',
      {
        url: `postgresql://app:pw@${HYPERDRIVE}:5432/app`,
        provider: 'hyperdrive',
        effective: `postgresql://app:pw@${HYPERDRIVE}:5432/app?pgbouncer=true&connection_limit=3`,
        reason: /Cloudflare Hyperdrive: already the pooler \(transaction mode\), URL kept/,
      },
    ],
    [
      'an RDS instance (not a proxy) is the database: kept, with a warning naming RDS Proxy',
      {
        url: 'postgresql://app:pw@mydb.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app',
        provider: 'rds',
        effective: 'postgresql://app:pw@mydb.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app?pgbouncer=true&connection_limit=3',
        reason: /AWS RDS: URL used as given/,
        warning: /^DATABASE_URL: transaction mode on AWS RDS's direct database endpoint .* RDS Proxy/,
      },
    ],
    [
      'self-hosted PgBouncer: the seed rule 5432 → 6543',
      {
        url: 'postgresql://app:pw@db.example.com:5432/app',
        provider: 'pgbouncer',
        effective: 'postgresql://app:pw@db.example.com:6543/app?pgbouncer=true&connection_limit=3',
        reason: /self-hosted PgBouncer: port 5432 → 6543/,
      },
    ],
  ])('%s', (_name, row) => {
    const config = resolvePoolConfig({ DATABASE_URL: row.url, VERCEL: '1' });
    expect(config.provider).toBe(row.provider);
    expect(config.connectionString).toBe(row.effective);
    expect(config.reason).toMatch(/^vercel detected from VERCEL: serverless instances need PgBouncer transaction mode; /);
    expect(config.reason).toMatch(row.reason);
    if (row.warning) expect(config.warnings).toEqual([expect.stringMatching(row.warning)]);
    else expect(config.warnings).toEqual([]);
    // Idempotent: the effective URL resolves to itself.
    expect(resolvePoolConfig({ DATABASE_URL: config.connectionString, VERCEL: '1' }).connectionString).toBe(config.connectionString);
  });
});

describe('session mode on each provider (local)', () => {
  it.each<[string, string, ProviderId, RegExp, RegExp | null]>([
    ['Neon direct endpoint is used as given', `postgresql://alex:pw@${NEON}/neondb`, 'neon', /Neon: direct endpoint used as given/, null],
    [
      'Neon pooled endpoint in session mode warns',
      `postgresql://alex:pw@${NEON_POOLER}/neondb`,
      'neon',
      /Neon: pooled endpoint used as given/,
      /session mode through a transaction-mode pooler \(Neon\) .* use the host without -pooler/,
    ],
    [
      'Supavisor session port',
      `postgresql://postgres.abcdefghijklmnopqrst:pw@${SUPAVISOR}:5432/postgres`,
      'supavisor',
      /Supabase Supavisor: URL used as given \(port 5432 is session mode\)/,
      null,
    ],
    ['Supabase direct', `postgresql://postgres:pw@${SUPABASE}:5432/postgres`, 'supabase', /Supabase: URL used as given/, null],
    ['RDS Proxy', `postgresql://app:pw@${RDS_PROXY}:5432/app`, 'rds-proxy', /AWS RDS Proxy: URL used as given/, null],
    [
      'Hyperdrive in session mode warns',
      `postgresql://app:pw@${HYPERDRIVE}:5432/app`,
      'hyperdrive',
      /Cloudflare Hyperdrive: URL used as given/,
      /session mode through a transaction-mode pooler \(Cloudflare Hyperdrive\)/,
    ],
  ])('%s', (_name, url, provider, reason, warning) => {
    const config = resolvePoolConfig({ DATABASE_URL: url });
    expect(config.mode).toBe('session');
    expect(config.provider).toBe(provider);
    expect(config.reason).toMatch(reason);
    expect(parseDatabaseUrl(config.connectionString).hosts).toEqual(parseDatabaseUrl(url).hosts);
    if (warning) expect(config.warnings).toEqual([expect.stringMatching(warning)]);
    else expect(config.warnings).toEqual([]);
  });
});

describe('runtimes beyond Node: mode and reason', () => {
  it.each<
    [string, Record<string, string>, { userAgent?: string; bunVersion?: string; denoVersion?: string }, 'transaction' | 'session', RegExp]
  >([
    [
      'a Worker over its Hyperdrive binding',
      { DATABASE_URL: `postgresql://app:pw@${HYPERDRIVE}:5432/app` },
      { userAgent: 'Cloudflare-Workers' },
      'transaction',
      /^cloudflare-workers detected from navigator\.userAgent \(connections and the Prisma client live for one request .*ctx\.waitUntil\): serverless instances need PgBouncer transaction mode; Cloudflare Hyperdrive: already the pooler/,
    ],
    [
      'Lambda Managed Instances',
      {
        DATABASE_URL: 'postgresql://app:pw@db.example.com:5432/app',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'lambda-managed-instances',
        AWS_LAMBDA_FUNCTION_NAME: 'fn',
      },
      {},
      'transaction',
      /^lambda-managed-instances detected from AWS_LAMBDA_INITIALIZATION_TYPE \(each worker thread keeps its own pool and serves many requests at once .*\): serverless instances need PgBouncer transaction mode/,
    ],
    [
      'Bun with no platform',
      { DATABASE_URL: 'postgresql://app:pw@db.example.com:5432/app' },
      { bunVersion: '1.4.5' },
      'session',
      /^bun detected from globalThis\.Bun \(no hosting platform detected\): long-running instances use session mode/,
    ],
    [
      'Deno with no platform',
      { DATABASE_URL: 'postgresql://app:pw@db.example.com:5432/app' },
      { denoVersion: '2.9.6' },
      'session',
      /^deno detected from globalThis\.Deno \(no hosting platform detected\): long-running instances use session mode/,
    ],
    [
      'Deno Deploy',
      { DATABASE_URL: 'postgresql://app:pw@db.example.com:5432/app', DENO_DEPLOYMENT_ID: 'x' },
      { denoVersion: '2.9.6' },
      'transaction',
      /^deno-deploy detected from DENO_DEPLOYMENT_ID: serverless instances need PgBouncer transaction mode/,
    ],
  ])('%s', (_name, env, host, mode, reason) => {
    const config = resolvePoolConfig(env, { host });
    expect(config.mode).toBe(mode);
    expect(config.reason).toMatch(reason);
    expect(config.connectionLimit).toBeLessThanOrEqual(mode === 'transaction' ? 3 : 50);
  });
});

describe('detectProvider and neonPoolerHost', () => {
  it.each<[string, ProviderId]>([
    [NEON, 'neon'],
    [NEON_POOLER, 'neon'],
    ['EP-LOUD-1.US-EAST-2.AWS.NEON.TECH', 'neon'],
    [SUPABASE, 'supabase'],
    [SUPAVISOR, 'supavisor'],
    [`${SUPAVISOR}.`, 'supavisor'],
    [RDS_PROXY, 'rds-proxy'],
    [HYPERDRIVE, 'hyperdrive'],
    ['hyperdrive.local.example.com', 'pgbouncer'],
    ['p.proxy-abc.cn-north-1.rds.amazonaws.com.cn', 'rds-proxy'],
    ['neon.tech.example.com', 'pgbouncer'],
    ['supabase.co', 'pgbouncer'],
    ['db.example.com', 'pgbouncer'],
    ['127.0.0.1', 'pgbouncer'],
  ])('%s → %s', (host, provider) => {
    expect(detectProvider(parseDatabaseUrl(`postgres://u@${host}/d`)).id).toBe(provider);
  });

  it('every profile cites its doc page', () => {
    for (const host of [NEON, SUPABASE, SUPAVISOR, RDS_PROXY, HYPERDRIVE, 'db.example.com']) {
      expect(detectProvider(parseDatabaseUrl(`postgres://u@${host}/d`)).docs).toMatch(/^https:\/\//);
    }
  });

  it('adds -pooler once and leaves other hosts alone', () => {
    expect(neonPoolerHost(NEON)).toBe(NEON_POOLER);
    expect(neonPoolerHost(NEON_POOLER)).toBe(NEON_POOLER);
    expect(neonPoolerHost('EP-LOUD-1.AWS.NEON.TECH')).toBe('EP-LOUD-1-pooler.AWS.NEON.TECH');
    expect(neonPoolerHost('db.example.com')).toBe('db.example.com');
  });
});

describe('health and logs see the provider', () => {
  it('config.provider is enumerable and in JSON', () => {
    const config = resolvePoolConfig({ DATABASE_URL: `postgresql://alex:pw@${NEON}/neondb`, VERCEL: '1' });
    expect(JSON.parse(JSON.stringify(config))).toMatchObject({ provider: 'neon' });
  });
});
