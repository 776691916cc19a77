/**
 * Every provider case of the pooler research (docs/providers.md): URL in → URL out, the reason, and
 * the warnings, through resolvePoolConfig. Transaction mode is forced (USE_TRANSACTION_MODE=true)
 * unless a row says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { resolveDirectDatabaseUrl } from '~/config/env-urls.ts';
import type { ProviderId } from '~/config/providers.ts';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';

interface Row {
  env: Record<string, string>;
  provider: ProviderId;
  /** The effective URL, redacted (`pw` → `***`), with the package's own parameters. */
  out: string;
  reason: RegExp;
  /** Every warning, in order (none when absent). */
  warnings?: RegExp[];
  /** The variable the URL came from (DATABASE_URL when absent). */
  variable?: string;
  /** The TLS mode a URL without sslmode gets. */
  tls?: 'require' | 'prefer' | 'disable';
  /** 5432 → 6543 (or a provider's pooler port) chosen by the package: reported when refused. */
  rewrittenTo?: number;
}

const TX = { USE_TRANSACTION_MODE: 'true' } as const;
const q = (limit = 3) => `pgbouncer=true&connection_limit=${limit}`;

const rows: [string, Row][] = [
  // Supabase
  [
    'Supabase Supavisor: session port 5432 → transaction port 6543',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-1-eu-west-1.pooler.supabase.com:5432/postgres' },
      provider: 'supavisor',
      out: `postgresql://postgres.abcdefghijklmnopqrst:***@aws-1-eu-west-1.pooler.supabase.com:6543/postgres?${q()}`,
      reason: /Supabase Supavisor: port 5432 → 6543, the transaction-mode pooler on the same host/,
      rewrittenTo: 6543,
    },
  ],
  [
    'Supabase Supavisor: 6543 kept',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-1-eu-west-1.pooler.supabase.com:6543/postgres' },
      provider: 'supavisor',
      out: `postgresql://postgres.abcdefghijklmnopqrst:***@aws-1-eu-west-1.pooler.supabase.com:6543/postgres?${q()}`,
      reason: /Supabase Supavisor: port 6543 kept/,
    },
  ],
  [
    'Supabase Vercel integration: POSTGRES_PRISMA_URL is the pooled URL, POSTGRES_URL_NON_POOLING the direct one',
    {
      env: {
        ...TX,
        POSTGRES_PRISMA_URL:
          'postgres://postgres.abcdefghijklmnopqrst:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres?sslmode=require&supa=base-pooler.x&pgbouncer=true',
        POSTGRES_URL: 'postgres://postgres.abcdefghijklmnopqrst:pw@aws-0-us-east-1.pooler.supabase.com:6543/postgres?sslmode=require',
        POSTGRES_URL_NON_POOLING:
          'postgres://postgres.abcdefghijklmnopqrst:pw@aws-0-us-east-1.pooler.supabase.com:5432/postgres?sslmode=require',
      },
      provider: 'supavisor',
      variable: 'POSTGRES_PRISMA_URL',
      out: 'postgres://postgres.abcdefghijklmnopqrst:***@aws-0-us-east-1.pooler.supabase.com:6543/postgres?sslmode=require&supa=base-pooler.x&pgbouncer=true&connection_limit=3',
      reason: /URL from POSTGRES_PRISMA_URL .*Supabase Supavisor: port 6543 kept/,
    },
  ],
  [
    'Supabase direct host → its dedicated pooler, 6543 on the same host',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://postgres:pw@db.abcdefghijklmnopqrst.supabase.co:5432/postgres' },
      provider: 'supabase',
      out: `postgresql://postgres:***@db.abcdefghijklmnopqrst.supabase.co:6543/postgres?${q()}`,
      reason: /Supabase: port 5432 → 6543/,
      rewrittenTo: 6543,
    },
  ],
  // Neon
  [
    'Neon: direct endpoint → the -pooler host, same port',
    {
      env: {
        ...TX,
        DATABASE_URL: 'postgresql://alex:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require',
      },
      provider: 'neon',
      out: `postgresql://alex:***@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require&${q()}`,
      reason: /Neon: the pooled endpoint is the -pooler host on the same port/,
    },
  ],
  [
    'Neon: the -pooler host kept; TLS required without sslmode',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://alex:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb' },
      provider: 'neon',
      out: `postgresql://alex:***@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?${q()}`,
      reason: /Neon: already the pooled endpoint/,
      tls: 'require',
    },
  ],
  [
    'Neon: legacy Vercel Postgres host (-pooler on vercel-storage.com) stays on its port, never 6543',
    {
      env: { ...TX, POSTGRES_URL: 'postgres://default:pw@ep-x-123456-pooler.us-east-1.postgres.vercel-storage.com:5432/verceldb' },
      provider: 'neon',
      variable: 'POSTGRES_URL',
      out: `postgres://default:***@ep-x-123456-pooler.us-east-1.postgres.vercel-storage.com:5432/verceldb?${q()}`,
      reason: /Neon: already the pooled endpoint/,
    },
  ],
  [
    "Neon: a Vercel integration's prefixed names (PRIMARY_DATABASE_URL)",
    {
      env: {
        ...TX,
        PRIMARY_DATABASE_URL: 'postgresql://alex:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require',
        PRIMARY_DATABASE_URL_UNPOOLED: 'postgresql://alex:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require',
      },
      provider: 'neon',
      variable: 'PRIMARY_DATABASE_URL',
      out: `postgresql://alex:***@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&${q()}`,
      reason: /Neon: already the pooled endpoint/,
    },
  ],
  [
    'Neon: options=endpoint%3D… (for clients without SNI) is read by Neon, not PgBouncer: no warning',
    {
      env: {
        ...TX,
        DATABASE_URL:
          'postgresql://alex:pw@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?options=endpoint%3Dep-cool-darkness-123456',
      },
      provider: 'neon',
      out: `postgresql://alex:***@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?options=endpoint%3Dep-cool-darkness-123456&${q()}`,
      reason: /Neon: the pooled endpoint/,
    },
  ],
  // AWS
  [
    'AWS RDS Proxy: already the pooler, kept',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@my-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app' },
      provider: 'rds-proxy',
      out: `postgresql://app:***@my-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app?${q()}`,
      reason: /AWS RDS Proxy: already the pooler, port kept; it pins/,
    },
  ],
  [
    'AWS RDS instance: the database itself, kept (never 6543), one warning naming RDS Proxy',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@mydb.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app' },
      provider: 'rds',
      out: `postgresql://app:***@mydb.abcdefghijkl.us-east-1.rds.amazonaws.com:5432/app?${q()}`,
      reason: /AWS RDS: URL used as given/,
      warnings: [/^DATABASE_URL: transaction mode on AWS RDS's direct database endpoint .*RDS Proxy/],
    },
  ],
  [
    'AWS Aurora cluster endpoint: the same',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@db.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com/app' },
      provider: 'rds',
      out: `postgresql://app:***@db.cluster-abcdefghijkl.eu-west-1.rds.amazonaws.com/app?${q()}`,
      reason: /AWS RDS: URL used as given/,
      warnings: [/direct database endpoint/],
    },
  ],
  // Azure
  [
    'Azure flexible server: 5432 → 6432, its built-in PgBouncer; TLS required',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@myserver.postgres.database.azure.com:5432/app' },
      provider: 'azure',
      out: `postgresql://app:***@myserver.postgres.database.azure.com:6432/app?${q()}`,
      reason: /Azure Database for PostgreSQL: port 5432 → 6432, the provider's pooler on the same host/,
      tls: 'require',
      rewrittenTo: 6432,
    },
  ],
  [
    'Azure: 6432 kept, no warning',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@myserver.postgres.database.azure.com:6432/app?sslmode=verify-full' },
      provider: 'azure',
      out: `postgresql://app:***@myserver.postgres.database.azure.com:6432/app?sslmode=verify-full&${q()}`,
      reason: /Azure Database for PostgreSQL: port 6432, the provider's pooler, kept/,
    },
  ],
  [
    'Azure: options= reaches PgBouncer as a startup parameter it refuses (ignore_startup_parameters is empty): one warning',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@myserver.postgres.database.azure.com:6432/app?options=-c%20search_path%3Dapp' },
      provider: 'azure',
      out: `postgresql://app:***@myserver.postgres.database.azure.com:6432/app?options=-c%20search_path%3Dapp&${q()}`,
      reason: /port 6432, the provider's pooler, kept/,
      warnings: [
        /^DATABASE_URL: the options parameter is sent to PgBouncer .*unsupported startup parameter: options.*ignore_startup_parameters/,
      ],
    },
  ],
  // Google Cloud SQL
  [
    'Cloud SQL over its Unix socket (host=/cloudsql/…): never rewritten',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@/app?host=/cloudsql/my-project:europe-west1:my-instance' },
      provider: 'cloud-sql',
      out: `postgresql://app:***@/app?host=/cloudsql/my-project:europe-west1:my-instance&${q()}`,
      reason: /Google Cloud SQL: Unix socket used as given .*port 6432/,
    },
  ],
  [
    "Cloud SQL Managed Connection Pooling: instance IP on 6432 (PgBouncer's default port) kept, no warning",
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@10.20.0.3:6432/app' },
      provider: 'pgbouncer',
      out: `postgresql://app:***@10.20.0.3:6432/app?${q()}`,
      reason: /port 6432 is PgBouncer's default listen_port, kept as the pooler/,
    },
  ],
  [
    'Cloud SQL instance IP on 5432: nothing known about an IP, so the convention (5432 → 6543), recorded for the refused error',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@10.20.0.3:5432/app' },
      provider: 'pgbouncer',
      out: `postgresql://app:***@10.20.0.3:6543/app?${q()}`,
      reason: /port 5432 → 6543 on the same host \(this package's convention/,
      rewrittenTo: 6543,
    },
  ],
  // DigitalOcean
  [
    "DigitalOcean: a pool's URI (25061, the pool's name as database) kept; TLS required",
    {
      env: { ...TX, DATABASE_URL: 'postgresql://doadmin:pw@db-postgresql-fra1-12345-do-user-1.b.db.ondigitalocean.com:25061/app-pool' },
      provider: 'digitalocean',
      out: `postgresql://doadmin:***@db-postgresql-fra1-12345-do-user-1.b.db.ondigitalocean.com:25061/app-pool?${q()}`,
      reason: /DigitalOcean: already the provider's pooler, URL kept/,
      tls: 'require',
    },
  ],
  [
    'DigitalOcean: direct port 25060 is the database, not a pooler: kept, one warning naming the pool',
    {
      env: {
        ...TX,
        DATABASE_URL: 'postgresql://doadmin:pw@db-postgresql-fra1-12345-do-user-1.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require',
      },
      provider: 'digitalocean',
      out: `postgresql://doadmin:***@db-postgresql-fra1-12345-do-user-1.b.db.ondigitalocean.com:25060/defaultdb?sslmode=require&${q()}`,
      reason: /DigitalOcean: URL used as given/,
      warnings: [/^DATABASE_URL: transaction mode on DigitalOcean's direct database endpoint .*port is 25061/],
    },
  ],
  // Railway
  [
    'Railway: postgres.railway.internal:5432 is the database (no pooler unless added): kept, one warning',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://postgres:pw@postgres.railway.internal:5432/railway' },
      provider: 'railway',
      out: `postgresql://postgres:***@postgres.railway.internal:5432/railway?${q()}`,
      reason: /Railway: URL used as given/,
      warnings: [/^DATABASE_URL: transaction mode on Railway's direct database endpoint .*DATABASE_UNPOOLED_URL/],
    },
  ],
  [
    "Railway's PgBouncer template (DATABASE_URL → PgBouncer on 6432, DATABASE_UNPOOLED_URL → Postgres): kept, quiet",
    {
      env: {
        ...TX,
        DATABASE_URL: 'postgresql://postgres:pw@pgbouncer.railway.internal:6432/railway',
        DATABASE_UNPOOLED_URL: 'postgresql://postgres:pw@postgres.railway.internal:5432/railway',
      },
      provider: 'railway',
      out: `postgresql://postgres:***@pgbouncer.railway.internal:6432/railway?${q()}`,
      reason: /Railway: already the provider's pooler, URL kept/,
    },
  ],
  [
    "Railway's public TCP proxy (random port): kept, quiet",
    {
      env: { ...TX, DATABASE_URL: 'postgresql://postgres:pw@shinkansen.proxy.rlwy.net:38121/railway' },
      provider: 'railway',
      out: `postgresql://postgres:***@shinkansen.proxy.rlwy.net:38121/railway?${q()}`,
      reason: /Railway: URL used as given/,
    },
  ],
  // Render
  [
    'Render internal host: kept (no pooler host the package could derive)',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@dpg-abc123def456-a/app_db' },
      provider: 'render',
      out: `postgresql://app:***@dpg-abc123def456-a/app_db?${q()}`,
      reason: /Render: URL used as given/,
      tls: 'prefer',
    },
  ],
  [
    'Render external host: kept; TLS required',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@dpg-abc123def456-a.oregon-postgres.render.com/app_db' },
      provider: 'render',
      out: `postgresql://app:***@dpg-abc123def456-a.oregon-postgres.render.com/app_db?${q()}`,
      reason: /Render: URL used as given/,
      tls: 'require',
    },
  ],
  // Heroku
  [
    'Heroku: DATABASE_CONNECTION_POOL_URL (server-side pooler) beats DATABASE_URL in transaction mode, kept as given',
    {
      env: {
        ...TX,
        DATABASE_URL: 'postgres://u:pw@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1',
        DATABASE_CONNECTION_POOL_URL: 'postgres://u:pw@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1',
      },
      provider: 'heroku',
      variable: 'DATABASE_CONNECTION_POOL_URL',
      out: `postgres://u:***@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1?${q()}`,
      reason: /URL from DATABASE_CONNECTION_POOL_URL .*Heroku Postgres: already the provider's pooler/,
    },
  ],
  [
    'Heroku: in session mode (its default) DATABASE_URL, the database itself',
    {
      env: {
        DYNO: 'web.1',
        DATABASE_URL: 'postgres://u:pw@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1',
        DATABASE_CONNECTION_POOL_URL: 'postgres://u:pw@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1',
      },
      provider: 'heroku',
      out: 'postgres://u:***@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1?connection_limit=10',
      reason: /Heroku Postgres: URL used as given/,
    },
  ],
  [
    'Heroku: transaction mode on DATABASE_URL alone: kept, one warning naming DATABASE_CONNECTION_POOL_URL',
    {
      env: { ...TX, DATABASE_URL: 'postgres://u:pw@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1' },
      provider: 'heroku',
      out: `postgres://u:***@ec2-3-215-57-87.compute-1.amazonaws.com:5432/d1?${q()}`,
      reason: /Heroku Postgres: URL used as given/,
      warnings: [/DATABASE_CONNECTION_POOL_URL/],
    },
  ],
  [
    "Heroku's on-dyno PgBouncer buildpack (127.0.0.1:6000): kept, quiet",
    {
      env: { ...TX, DATABASE_URL: 'postgres://u:pw@127.0.0.1:6000/db1' },
      provider: 'pgbouncer',
      out: `postgres://u:***@127.0.0.1:6000/db1?${q()}`,
      reason: /port 6000 kept as the pooler DATABASE_URL names/,
    },
  ],
  // Crunchy Bridge
  [
    'Crunchy Bridge: 5432 → 5431, its PgBouncer on the same host',
    {
      env: { ...TX, DATABASE_URL: 'postgres://application:pw@p.abcdefghijklmnopqrstuvwxyz.db.postgresbridge.com:5432/postgres' },
      provider: 'crunchy-bridge',
      out: `postgres://application:***@p.abcdefghijklmnopqrstuvwxyz.db.postgresbridge.com:5431/postgres?${q()}`,
      reason: /Crunchy Bridge: port 5432 → 5431/,
      rewrittenTo: 5431,
    },
  ],
  [
    'Crunchy Bridge: 5431 kept, quiet',
    {
      env: { ...TX, DATABASE_URL: 'postgres://application:pw@p.abcdefghijklmnopqrstuvwxyz.db.postgresbridge.com:5431/postgres' },
      provider: 'crunchy-bridge',
      out: `postgres://application:***@p.abcdefghijklmnopqrstuvwxyz.db.postgresbridge.com:5431/postgres?${q()}`,
      reason: /Crunchy Bridge: port 5431, the provider's pooler, kept/,
    },
  ],
  // Aiven
  [
    'Aiven: kept as given (pool port and pool name cannot be derived); TLS required',
    {
      env: { ...TX, DATABASE_URL: 'postgres://avnadmin:pw@pg-3b8d4ed6-myfirstcloudhub.aivencloud.com:20986/mypool' },
      provider: 'aiven',
      out: `postgres://avnadmin:***@pg-3b8d4ed6-myfirstcloudhub.aivencloud.com:20986/mypool?${q()}`,
      reason: /Aiven: URL used as given .*pool's URI/,
      tls: 'require',
    },
  ],
  // Timescale
  [
    'Timescale: database tsdb_transaction is the transaction pool: kept, quiet; TLS required',
    {
      env: { ...TX, DATABASE_URL: 'postgres://tsdbadmin:pw@abc123.def456.tsdb.cloud.timescale.com:31234/tsdb_transaction' },
      provider: 'timescale',
      out: `postgres://tsdbadmin:***@abc123.def456.tsdb.cloud.timescale.com:31234/tsdb_transaction?${q()}`,
      reason: /Timescale Cloud: already the provider's pooler/,
      tls: 'require',
    },
  ],
  [
    'Timescale: tsdb (service or session pool) kept, never a guessed port',
    {
      env: { ...TX, DATABASE_URL: 'postgres://tsdbadmin:pw@abc123.def456.tsdb.cloud.timescale.com:30133/tsdb' },
      provider: 'timescale',
      out: `postgres://tsdbadmin:***@abc123.def456.tsdb.cloud.timescale.com:30133/tsdb?${q()}`,
      reason: /Timescale Cloud: URL used as given .*tsdb_transaction/,
    },
  ],
  // Prisma Postgres
  [
    'Prisma Postgres: db.prisma.io → pooled.db.prisma.io, same port; TLS required',
    {
      env: { ...TX, DATABASE_URL: 'postgres://0123abcd:pw@db.prisma.io:5432/postgres' },
      provider: 'prisma-postgres',
      out: `postgres://0123abcd:***@pooled.db.prisma.io:5432/postgres?${q()}`,
      reason: /Prisma Postgres: the pooled endpoint is pooled.db.prisma.io on the same port/,
      tls: 'require',
    },
  ],
  [
    'Prisma Postgres on Vercel: DATABASE_URL_POOLED beats DATABASE_URL (direct there)',
    {
      env: {
        ...TX,
        DATABASE_URL: 'postgres://0123abcd:pw@db.prisma.io:5432/postgres?sslmode=require',
        DATABASE_URL_POOLED: 'postgres://0123abcd:pw@pooled.db.prisma.io:5432/postgres?sslmode=require',
      },
      provider: 'prisma-postgres',
      variable: 'DATABASE_URL_POOLED',
      out: `postgres://0123abcd:***@pooled.db.prisma.io:5432/postgres?sslmode=require&${q()}`,
      reason: /Prisma Postgres: already the pooled endpoint/,
    },
  ],
  // Xata, Nile
  [
    "Xata: kept as given (its URL is its pooler's); TLS required",
    {
      env: { ...TX, DATABASE_URL: 'postgresql://workspace:pw@us-east-1.sql.xata.sh:5432/db:main' },
      provider: 'xata',
      out: `postgresql://workspace:***@us-east-1.sql.xata.sh:5432/db:main?${q()}`,
      reason: /Xata: URL used as given/,
      tls: 'require',
    },
  ],
  [
    'Nile: kept as given (no separate pooler documented)',
    {
      env: { ...TX, DATABASE_URL: 'postgres://0190c0ae:pw@us-west-2.db.thenile.dev:5432/mydb' },
      provider: 'nile',
      out: `postgres://0190c0ae:***@us-west-2.db.thenile.dev:5432/mydb?${q()}`,
      reason: /Nile: URL used as given/,
    },
  ],
  // Self-hosted PgBouncer and unknown hosts
  [
    'self-hosted PgBouncer on its default port 6432: kept, quiet',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@pgbouncer.internal:6432/app' },
      provider: 'pgbouncer',
      out: `postgresql://app:***@pgbouncer.internal:6432/app?${q()}`,
      reason: /port 6432 is PgBouncer's default listen_port/,
    },
  ],
  [
    'unknown host on 5432: the convention 5432 → 6543, recorded',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@db.example.com:5432/app' },
      provider: 'pgbouncer',
      out: `postgresql://app:***@db.example.com:6543/app?${q()}`,
      reason: /self-hosted PgBouncer: port 5432 → 6543 on the same host \(this package's convention/,
      rewrittenTo: 6543,
    },
  ],
  [
    'a Unix socket directory (/var/run/postgresql): never rewritten',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@%2Fvar%2Frun%2Fpostgresql/app' },
      provider: 'unix-socket',
      out: `postgresql://app:***@%2Fvar%2Frun%2Fpostgresql/app?${q()}`,
      reason: /Unix socket: used as given/,
    },
  ],
  [
    'options= through a self-hosted PgBouncer: one warning naming ignore_startup_parameters',
    {
      env: { ...TX, DATABASE_URL: 'postgresql://app:pw@db.example.com:6543/app?options=-c%20statement_timeout%3D5000' },
      provider: 'pgbouncer',
      out: `postgresql://app:***@db.example.com:6543/app?options=-c%20statement_timeout%3D5000&${q()}`,
      reason: /port 6543, kept as the pooler/,
      warnings: [/the options parameter is sent to PgBouncer/],
    },
  ],
];

describe('each provider resolves to its documented pooler', () => {
  it.each(rows)('%s', (_name, row) => {
    const config = resolvePoolConfig(row.env);
    expect(config.provider).toBe(row.provider);
    expect(config.urlVariable).toBe(row.variable ?? 'DATABASE_URL');
    expect(config.databaseUrl).toBe(row.out);
    expect(config.reason).toMatch(row.reason);
    expect(config.warnings).toEqual((row.warnings ?? []).map((w) => expect.stringMatching(w)));
    if (row.tls !== undefined) expect(config.tls.mode).toBe(row.tls);
    expect(config.portRewrite?.to ?? null).toBe(row.rewrittenTo ?? null);
    if (config.portRewrite !== null) expect(config.portRewrite.hint).toContain(config.portRewrite.variable);
  });
});

describe('prepared statements (poolerTracksPreparedStatements) per provider', () => {
  it.each([
    [
      'Supabase Supavisor',
      'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-1-eu-west-1.pooler.supabase.com:6543/postgres',
      /Supavisor\) does not support prepared statements/,
    ],
    ['AWS RDS Proxy', 'postgresql://app:pw@my-proxy.proxy-abcdefghijkl.us-east-1.rds.amazonaws.com/app', /RDS Proxy pins/],
  ])('%s: a ConfigError naming the option', (_name, url, why) => {
    expect(() => resolvePoolConfig({ ...TX, DATABASE_URL: url }, { poolerTracksPreparedStatements: true })).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        message: expect.stringMatching(new RegExp(`^poolerTracksPreparedStatements: .*${why.source}`)),
      }),
    );
  });

  it.each([
    ['Neon (PgBouncer with max_prepared_statements)', 'postgresql://alex:pw@ep-x-123456-pooler.us-east-2.aws.neon.tech/neondb'],
    ['a self-hosted PgBouncer ≥ 1.21', 'postgresql://app:pw@pgbouncer.internal:6432/app'],
  ])('%s: allowed', (_name, url) => {
    expect(resolvePoolConfig({ ...TX, DATABASE_URL: url }, { poolerTracksPreparedStatements: true }).statementCache).toBe(true);
  });

  it('Supavisor in session mode (port 5432) is not refused', () => {
    const url = 'postgresql://postgres.abcdefghijklmnopqrst:pw@aws-1-eu-west-1.pooler.supabase.com:5432/postgres';
    expect(resolvePoolConfig({ DATABASE_URL: url }, { poolerTracksPreparedStatements: true }).mode).toBe('session');
  });
});

describe('the direct URL for migrations, per provider', () => {
  it.each<[string, Record<string, string>, string | RegExp]>([
    [
      'Azure 6432 → 5432',
      { DATABASE_URL: 'postgresql://a:pw@s.postgres.database.azure.com:6432/d' },
      'postgresql://a:pw@s.postgres.database.azure.com:5432/d',
    ],
    [
      'Crunchy Bridge 5431 → 5432',
      { DATABASE_URL: 'postgres://a:pw@p.abc.db.postgresbridge.com:5431/d' },
      'postgres://a:pw@p.abc.db.postgresbridge.com:5432/d',
    ],
    [
      'Prisma Postgres pooled. → db.prisma.io',
      { DATABASE_URL: 'postgres://a:pw@pooled.db.prisma.io:5432/d' },
      'postgres://a:pw@db.prisma.io:5432/d',
    ],
    [
      "Railway's DATABASE_UNPOOLED_URL",
      {
        DATABASE_URL: 'postgresql://a:pw@pgbouncer.railway.internal:6432/r',
        DATABASE_UNPOOLED_URL: 'postgresql://a:pw@postgres.railway.internal:5432/r',
      },
      'postgresql://a:pw@postgres.railway.internal:5432/r',
    ],
    [
      'Railway PgBouncer without the direct URL: refused',
      { DATABASE_URL: 'postgresql://a:pw@pgbouncer.railway.internal:6432/r' },
      /^DATABASE_URL_SESSION: is not set/,
    ],
    [
      'DigitalOcean pool (25061): refused',
      { DATABASE_URL: 'postgresql://a:pw@x.db.ondigitalocean.com:25061/pool' },
      /DigitalOcean connection pool/,
    ],
    [
      'PgBouncer default port 6432: refused',
      { DATABASE_URL: 'postgresql://a:pw@pgb.internal:6432/d' },
      /port 6432, PgBouncer's default port/,
    ],
    [
      'Heroku: DATABASE_URL, not the pool URL',
      {
        DATABASE_URL: 'postgres://a:pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d',
        DATABASE_CONNECTION_POOL_URL: 'postgres://a:pw@pool.example:5432/d',
      },
      'postgres://a:pw@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d',
    ],
    [
      'a pool-only variable alone: refused',
      { DATABASE_URL_POOLED: 'postgres://a:pw@pooled.db.prisma.io:5432/d' },
      /DATABASE_URL_POOLED names a pooler/,
    ],
    [
      'prefixed Neon names',
      {
        STORAGE_DATABASE_URL: 'postgres://a:pw@ep-1-pooler.us-east-2.aws.neon.tech/d',
        STORAGE_DATABASE_URL_UNPOOLED: 'postgres://a:pw@ep-1.us-east-2.aws.neon.tech/d',
      },
      'postgres://a:pw@ep-1.us-east-2.aws.neon.tech/d',
    ],
  ])('%s', (_name, env, expected) => {
    if (typeof expected === 'string') expect(resolveDirectDatabaseUrl(env).connectionString).toBe(expected);
    else expect(() => resolveDirectDatabaseUrl(env)).toThrow(expected);
  });

  it('several integration prefixes are a ConfigError asking for DATABASE_URL', () => {
    expect(() => resolvePoolConfig({ A_DATABASE_URL: 'postgres://a@h/d', B_DATABASE_URL: 'postgres://a@h/d' })).toThrow(
      /^DATABASE_URL: is not set, and several prefixed integration variables are \(A_DATABASE_URL, B_DATABASE_URL\)/,
    );
  });

  it("SHADOW_DATABASE_URL (Prisma's shadow database) is never taken for a prefix", () => {
    expect(() => resolvePoolConfig({ SHADOW_DATABASE_URL: 'postgres://a@h/d' })).toThrow(/^DATABASE_URL: is not set/);
  });
});
