/** Provider variable names and the direct URL for migrations (src/config/env-urls.ts). */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { directDatabaseUrl, resolveDirectDatabaseUrl } from '~/config/env-urls.ts';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';
import { ConfigError } from '~/errors/errors.ts';

const PW = 's3cr%40t';
const SUPAVISOR_TX = `postgres://postgres.abcdefghijklmnopqrst:${PW}@aws-0-eu-west-1.pooler.supabase.com:6543/postgres?pgbouncer=true&sslmode=require`;
const NEON_POOLED = `postgres://alex:${PW}@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require`;

describe('resolveDirectDatabaseUrl', () => {
  it.each<[string, Record<string, string>, string, RegExp]>([
    [
      'DATABASE_URL_SESSION first',
      { DATABASE_URL_SESSION: 'postgres://a@s:5432/d', DIRECT_URL: 'postgres://a@x:5432/d', DATABASE_URL: SUPAVISOR_TX },
      'postgres://a@s:5432/d',
      /^direct URL from DATABASE_URL_SESSION$/,
    ],
    [
      'DIRECT_URL (the name of Prisma 6 docs)',
      { DIRECT_URL: 'postgres://a@x:5432/d', DATABASE_URL: SUPAVISOR_TX },
      'postgres://a@x:5432/d',
      /DIRECT_URL \(DATABASE_URL_SESSION unset\)/,
    ],
    [
      'DATABASE_URL_UNPOOLED (Neon on Vercel)',
      { DATABASE_URL_UNPOOLED: 'postgres://a@ep-1.aws.neon.tech/d', DATABASE_URL: NEON_POOLED },
      'postgres://a@ep-1.aws.neon.tech/d',
      /DATABASE_URL_UNPOOLED \(DATABASE_URL_SESSION, DIRECT_URL unset\)/,
    ],
    [
      'POSTGRES_URL_NON_POOLING (Supabase on Vercel)',
      { POSTGRES_URL_NON_POOLING: 'postgres://a@h:5432/d', POSTGRES_PRISMA_URL: SUPAVISOR_TX },
      'postgres://a@h:5432/d',
      /POSTGRES_URL_NON_POOLING \(DATABASE_URL_SESSION, DIRECT_URL, DATABASE_URL_UNPOOLED, DATABASE_UNPOOLED_URL unset\)/,
    ],
    [
      'derived: Supavisor 6543 → session 5432, pgbouncer dropped',
      { DATABASE_URL: SUPAVISOR_TX },
      `postgres://postgres.abcdefghijklmnopqrst:${PW}@aws-0-eu-west-1.pooler.supabase.com:5432/postgres?sslmode=require`,
      /derived from DATABASE_URL .*6543 \(transaction mode\) → 5432 \(session mode\)/,
    ],
    [
      'derived from POSTGRES_PRISMA_URL',
      { POSTGRES_PRISMA_URL: SUPAVISOR_TX },
      `postgres://postgres.abcdefghijklmnopqrst:${PW}@aws-0-eu-west-1.pooler.supabase.com:5432/postgres?sslmode=require`,
      /derived from POSTGRES_PRISMA_URL/,
    ],
    [
      'derived: Neon without -pooler',
      { DATABASE_URL: NEON_POOLED },
      `postgres://alex:${PW}@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb?sslmode=require`,
      /Neon host without -pooler$/,
    ],
    [
      'a URL on 5432 is direct already',
      { DATABASE_URL: 'postgres://a:b@localhost:5432/d' },
      'postgres://a:b@localhost:5432/d',
      /used as given/,
    ],
  ])('%s', (_name, env, url, reason) => {
    const found = resolveDirectDatabaseUrl(env);
    expect(found.connectionString).toBe(url);
    expect(directDatabaseUrl(env)).toBe(url);
    expect(found.reason).toMatch(reason);
    for (const text of [JSON.stringify(found), inspect(found), found.reason]) expect(text).not.toContain(PW);
  });

  it.each([
    [{}, /^DATABASE_URL_SESSION: is not set, and neither is DIRECT_URL/],
    [{ DATABASE_URL: 'postgres://a:b@pooler.internal:6543/d' }, /^DATABASE_URL_SESSION: .*transaction-mode pooler/],
    [{ DIRECT_URL: 'mysql://a@h/d' }, /^DIRECT_URL:/],
  ])('%o is a ConfigError naming what to set', (env, message) => {
    expect(() => resolveDirectDatabaseUrl(env)).toThrow(ConfigError);
    expect(() => resolveDirectDatabaseUrl(env)).toThrow(message);
  });

  it("directDatabaseUrl gives '' when no variable is set, so prisma generate runs without a database", () => {
    expect(directDatabaseUrl({})).toBe('');
    expect(() => directDatabaseUrl({ DATABASE_URL: 'postgres://a:b@pooler.internal:6543/d' })).toThrow(ConfigError);
  });

  it('reads process.env by default', () => {
    const saved = process.env.DATABASE_URL_SESSION;
    process.env.DATABASE_URL_SESSION = 'postgres://from-process-env@h:5432/d';
    try {
      expect(directDatabaseUrl()).toBe('postgres://from-process-env@h:5432/d');
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL_SESSION;
      else process.env.DATABASE_URL_SESSION = saved;
    }
  });
});

describe('resolvePoolConfig with provider variable names', () => {
  it('takes POSTGRES_PRISMA_URL as the pooled URL when DATABASE_URL is unset, and says so', () => {
    const config = resolvePoolConfig({ POSTGRES_PRISMA_URL: SUPAVISOR_TX, VERCEL: '1' });
    expect(config).toMatchObject({ mode: 'transaction', urlVariable: 'POSTGRES_PRISMA_URL', port: 6543 });
    expect(config.reason).toMatch(/URL from POSTGRES_PRISMA_URL \(DATABASE_URL_POOLED, DATABASE_CONNECTION_POOL_URL, DATABASE_URL unset\)/);
  });

  it('uses the first direct variable in session mode, and says which', () => {
    const config = resolvePoolConfig({ DATABASE_URL: NEON_POOLED, DATABASE_URL_UNPOOLED: 'postgres://a@ep-1.us-east-2.aws.neon.tech/d' });
    expect(config).toMatchObject({
      mode: 'session',
      urlVariable: 'DATABASE_URL_UNPOOLED',
      hosts: [{ host: 'ep-1.us-east-2.aws.neon.tech' }],
    });
    expect(config.reason).toMatch(/session mode uses the direct URL from DATABASE_URL_UNPOOLED \(DATABASE_URL_SESSION, DIRECT_URL unset\)/);
  });

  it('keeps the reason short for the plain case', () => {
    const config = resolvePoolConfig({ DATABASE_URL: 'postgres://a@h:5432/d' });
    expect(config.urlVariable).toBe('DATABASE_URL');
    expect(config.reason).not.toMatch(/URL from/);
  });

  it('names both variables when neither is set', () => {
    expect(() => resolvePoolConfig({})).toThrow(
      /^DATABASE_URL: is not set \(nor DATABASE_URL_POOLED, DATABASE_CONNECTION_POOL_URL, POSTGRES_PRISMA_URL, POSTGRES_URL\)/,
    );
  });
});
