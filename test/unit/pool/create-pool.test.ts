/** The Prisma 7 translation, as data: config → pg.Pool options (no connection is opened). */
import { describe, expect, it } from 'vitest';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';
import { buildPgPoolConfig, statementName } from '~/pool/create-pool.ts';

const url = 'postgresql://app:s3cr%40t@db.example.com:5432/app?sslmode=require&schema=tenant&application_name=web';

function build(env: Record<string, string>) {
  const config = resolvePoolConfig(env);
  return { config, pg: buildPgPoolConfig({ connectionString: config.connectionString, connectionLimit: config.connectionLimit }, config) };
}

describe('buildPgPoolConfig', () => {
  it('maps connection_limit, pool_timeout, connect_timeout and the idle timeout to pg options', () => {
    const { pg } = build({ DATABASE_URL: `${url}&connection_limit=2&pool_timeout=3&connect_timeout=4`, VERCEL: '1' });
    expect(pg.max).toBe(2);
    expect(pg.connectionTimeoutMillis).toBe(3000);
    expect(pg.idleTimeoutMillis).toBe(5000);
    expect(pg.allowExitOnIdle).toBe(true);
    // pg.Pool hands each new Client the pool's options; our Client class replaces the timeout.
    const PoolClient = pg.Client as unknown as new (options: object) => { _connectionTimeoutMillis: number };
    expect(new PoolClient({ connectionTimeoutMillis: 3000 })._connectionTimeoutMillis).toBe(4000);
  });

  it('never passes 0 (= wait forever) as the acquire timeout: defaults to 10 s', () => {
    expect(build({ DATABASE_URL: url, VERCEL: '1' }).pg.connectionTimeoutMillis).toBe(10_000);
  });

  it("strips Prisma-only and TLS parameters and keeps the rest for pg; TLS becomes pg's ssl option", () => {
    const { pg } = build({ DATABASE_URL: `${url}&connection_limit=2&pool_timeout=3&statement_cache_size=0`, VERCEL: '1' });
    const cs = new URL(String(pg.connectionString));
    for (const key of ['connection_limit', 'pool_timeout', 'pgbouncer', 'statement_cache_size', 'schema', 'sslmode'])
      expect(cs.searchParams.has(key)).toBe(false);
    // sslmode=require keeps its Prisma 6 / libpq meaning: encrypted, certificate not verified.
    expect(pg.ssl).toMatchObject({ rejectUnauthorized: false });
    expect(cs.searchParams.get('application_name')).toBe('web');
    expect(cs.password).toBe('s3cr%40t');
    expect(cs.port).toBe('6543');
  });
});

describe('buildPgPoolConfig: libpq TCP parameters and the silence bound', () => {
  it('keepalives and keepalives_idle become pg keepAlive options; all five parameters are stripped from the URL pg sees', () => {
    const query = 'keepalives=1&keepalives_idle=30&keepalives_interval=5&keepalives_count=3&tcp_user_timeout=7000';
    const { pg, config } = build({ DATABASE_URL: `${url}&${query}`, VERCEL: '1' });
    expect(pg.keepAlive).toBe(true);
    expect(pg.keepAliveInitialDelayMillis).toBe(30_000);
    expect(config.silenceTimeoutMs).toBe(7_000);
    const cs = new URL(String(pg.connectionString));
    for (const key of ['keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout'])
      expect(cs.searchParams.has(key)).toBe(false);
  });

  it('keepalives=0 turns keepalives off; no keepalives_idle leaves the OS idle time', () => {
    const { pg } = build({ DATABASE_URL: `${url}&keepalives=0`, VERCEL: '1' });
    expect(pg.keepAlive).toBe(false);
    expect(pg.keepAliveInitialDelayMillis).toBeUndefined();
  });
});

describe('statementName', () => {
  it('is stable per SQL text and distinct across texts', () => {
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
    expect(statementName('SELECT 1')).toMatch(/^s_[\w-]+$/);
  });
});
