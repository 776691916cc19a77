import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDatabaseUrl,
  type ParsedDatabaseUrl,
  parseDatabaseUrl,
  type RewriteOptions,
  redactDatabaseUrl,
  rewriteDatabaseUrl,
  UNPARSABLE_PLACEHOLDER,
} from '../../../src/config/database-url.ts';
import { detectProvider, neonPoolerHost } from '../../../src/config/providers.ts';
import { resolvePoolConfig } from '../../../src/config/resolve-pool-config.ts';
import { ConfigError } from '../../../src/errors/errors.ts';

/**
 * Passwords carry a marker between every character, so any leaked fragment of two or more
 * characters contains it, raw or percent-encoded. Nothing else we generate contains it.
 */
const MARK = '§';
const MARK_FORMS = [MARK, encodeURIComponent(MARK), encodeURIComponent(MARK).toLowerCase()];
const leaks = (text: string): boolean => MARK_FORMS.some((form) => text.includes(form));

// biome-ignore lint/suspicious/noControlCharactersInRegex: env values do not carry control characters
const printable = (s: string) => !/[\u0000-\u001f\u007f]/.test(s) && !s.includes(MARK);
const SPECIALS = ['@', ':', '/', '?', '#', '%', '&', '=', '[', ']', ',', ' ', '+', '%zz', '%41', '密', '🐘'];
const text = (maxLength: number) =>
  fc
    .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 4 }), fc.constantFrom(...SPECIALS)), { maxLength })
    .map((parts) => parts.join(''))
    .filter(printable);

const password = text(8).map((s) => `${MARK}${[...s].join(MARK)}${MARK}`);
const hostArb = fc.record({
  host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.constant('localhost')),
  port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: null }),
});
/** Keys we may set in rewrites, plus a few well-known ones and random ones. `port` is excluded: it must be a valid port. */
const keyArb = fc.oneof(
  fc.constantFrom('sslmode', 'sslrootcert', 'schema', 'application_name', 'options', 'connection_limit', 'pgbouncer', 'x'),
  text(3).filter((k) => k !== 'port' && !/password/i.test(k)),
);
const paramArb = fc.tuple(keyArb, text(4)).map(([k, v]) => [k, v] as const);

const parsedArb: fc.Arbitrary<ParsedDatabaseUrl> = fc
  .record({
    scheme: fc.constantFrom('postgres' as const, 'postgresql' as const),
    user: fc.option(text(4), { nil: null }),
    password: fc.option(password, { nil: null }),
    hosts: fc.array(hostArb, { minLength: 1, maxLength: 3 }),
    database: fc.option(text(4), { nil: null }),
    params: fc.array(paramArb, { maxLength: 6 }),
  })
  // A password needs a user part in front of it (it may be empty).
  .map((p) => ({ ...p, user: p.password !== null && p.user === null ? '' : p.user }));

const urlArb = parsedArb.map(formatDatabaseUrl);

const optionsArb: fc.Arbitrary<RewriteOptions> = fc.record(
  {
    port: fc.integer({ min: 1, max: 65_535 }),
    pgbouncer: fc.boolean(),
    connectionLimit: fc.integer({ min: 1, max: 500 }),
    params: fc.dictionary(keyArb, fc.option(text(3), { nil: null }), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

/** The parameter keys a rewrite with `o` owns. */
const owned = (o: RewriteOptions): Set<string> =>
  new Set([
    ...(o.port === undefined ? [] : ['port']),
    ...(o.pgbouncer === undefined ? [] : ['pgbouncer']),
    ...(o.connectionLimit === undefined ? [] : ['connection_limit']),
    ...Object.keys(o.params ?? {}),
  ]);

describe('database URL properties', () => {
  it('parse ∘ format is the identity', () => {
    fc.assert(
      fc.property(parsedArb, (parsed) => {
        expect(parseDatabaseUrl(formatDatabaseUrl(parsed))).toEqual(parsed);
      }),
    );
  });

  it('rewrite is idempotent', () => {
    fc.assert(
      fc.property(urlArb, optionsArb, (url, options) => {
        const once = rewriteDatabaseUrl(url, options);
        expect(rewriteDatabaseUrl(once, options)).toBe(once);
      }),
    );
  });

  it('rewrite keeps user, password, hosts, database and every parameter it does not own, in order', () => {
    fc.assert(
      fc.property(urlArb, optionsArb, (url, options) => {
        const before = parseDatabaseUrl(url);
        const rewritten = rewriteDatabaseUrl(url, options);
        const after = parseDatabaseUrl(rewritten);
        const mine = owned(options);
        expect(after.user).toBe(before.user);
        expect(after.password).toBe(before.password);
        expect(after.database).toBe(before.database);
        expect(after.hosts).toEqual(before.hosts.map((h) => ({ host: h.host, port: options.port ?? h.port })));
        expect(after.params.filter(([k]) => !mine.has(k))).toEqual(before.params.filter(([k]) => !mine.has(k)));
        // Byte for byte: the authority's credentials are copied, not re-encoded.
        // (formatDatabaseUrl encodes every other `@`, so the first one ends the credentials.)
        if (before.user !== null) expect(rewritten.startsWith(url.slice(0, url.indexOf('@') + 1))).toBe(true);
      }),
    );
  });

  it('rewrite sets exactly what it was asked to', () => {
    fc.assert(
      fc.property(urlArb, optionsArb, (url, options) => {
        const params = parseDatabaseUrl(rewriteDatabaseUrl(url, options)).params;
        const values = (key: string) => params.filter(([k]) => k === key).map(([, v]) => v);
        for (const [key, value] of Object.entries(options.params ?? {})) expect(values(key)).toEqual(value === null ? [] : [value]);
        if (options.params?.pgbouncer === undefined && options.pgbouncer !== undefined) {
          expect(values('pgbouncer')).toEqual(options.pgbouncer ? ['true'] : []);
        }
        if (options.params?.connection_limit === undefined && options.connectionLimit !== undefined) {
          expect(values('connection_limit')).toEqual([String(options.connectionLimit)]);
        }
      }),
    );
  });

  it('redaction hides the password and keeps everything else', () => {
    fc.assert(
      fc.property(parsedArb, (parsed) => {
        const redacted = redactDatabaseUrl(formatDatabaseUrl(parsed));
        expect(leaks(redacted)).toBe(false);
        expect(parseDatabaseUrl(redacted)).toEqual({ ...parsed, password: parsed.password === null ? null : '***' });
      }),
    );
  });

  it('a raw, unencoded password is either parsed safely or refused without a trace', () => {
    const rawUrl = fc
      .tuple(fc.constantFrom('', 'user'), password, hostArb, fc.constantFrom('', '/db', '/db?sslmode=require'))
      .map(([user, pw, h, tail]) => `postgres://${user}:${pw}@${h.host.includes(':') ? `[${h.host}]` : h.host}${tail}`);
    fc.assert(
      fc.property(rawUrl, (url) => {
        const redacted = redactDatabaseUrl(url);
        expect(leaks(redacted)).toBe(false);
        try {
          parseDatabaseUrl(url);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect(leaks((error as Error).message)).toBe(false);
          expect(redacted).toBe(UNPARSABLE_PLACEHOLDER);
        }
      }),
    );
  });

  it('arbitrary strings never make redaction throw or echo themselves', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (input) => {
        const secret = `${MARK}${input}${MARK}`;
        const redacted = redactDatabaseUrl(secret);
        expect(redacted).toBe(UNPARSABLE_PLACEHOLDER);
        expect(() => parseDatabaseUrl(secret)).toThrow(ConfigError);
      }),
    );
  });
});

describe('resolvePoolConfig properties', () => {
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const urlish = fc.oneof(
    urlArb,
    password.map((pw) => `postgres://u:${pw}@h/d`),
    password.map((pw) => `mysql://u:${encodeURIComponent(pw)}@h/d`),
    fc
      .tuple(
        urlArb,
        fc.constantFrom('connection_limit=0', 'pool_timeout=0', 'connect_timeout=abc', 'connection_limit=2', 'pool_timeout=1.5'),
      )
      .map(([u, p]) => `${u}${u.includes('?') ? '&' : '?'}${p}`),
    fc.constant(''),
  );
  const count = fc.constantFrom('', ' ', '0', '-1', '1.5', 'abc', '10abc', '1', '5', '10', '250', ' 7 ');
  const envArb = fc.record(
    {
      DATABASE_URL: maybe(urlish),
      DATABASE_URL_SESSION: maybe(urlish),
      DATABASE_URL_READ: maybe(urlish),
      PGBOUNCER_ADMIN_URL: maybe(urlish),
      USE_TRANSACTION_MODE: maybe(fc.constantFrom('', 'true', 'false', ' TRUE ', 'False', 'maybe', '1')),
      INSTANCE_COUNT: maybe(count),
      MAX_POOL_SIZE: maybe(count),
      VERCEL: maybe(fc.constantFrom('', '1')),
      K_SERVICE: maybe(fc.constant('svc')),
      FUNCTION_TARGET: maybe(fc.constant('fn')),
      FLY_APP_NAME: maybe(fc.constant('app')),
      DYNO: maybe(fc.constant('web.1')),
    },
    { requiredKeys: [] },
  );

  /** What every resolved config must satisfy, whatever the input. */
  const checkConfig = (config: ReturnType<typeof resolvePoolConfig>) => {
    expect(leaks(JSON.stringify(config))).toBe(false);
    expect(leaks(inspect(config, { depth: null }))).toBe(false);
    expect(Object.isFrozen(config) && Object.isFrozen(config.warnings) && Object.isFrozen(config.hosts)).toBe(true);
    const limits = parseDatabaseUrl(config.connectionString).params.filter(([k]) => k === 'connection_limit');
    expect(limits).toEqual([['connection_limit', String(config.connectionLimit)]]);
    if (config.connectionLimitSource === 'budget') {
      const cap = config.mode === 'transaction' ? 3 : 50;
      expect(config.connectionLimit).toBe(Math.min(cap, Math.max(1, Math.floor(config.maxPoolSize / config.instanceCount))));
    }
    const overBudget = config.instanceCount * config.connectionLimit > config.maxPoolSize;
    expect(config.warnings.some((w) => /^DATABASE_URL(_SESSION)?: INSTANCE_COUNT .* exceeds MAX_POOL_SIZE/.test(w))).toBe(overBudget);
  };

  it('returns a safe, frozen, consistent config or throws only a ConfigError without the password', () => {
    fc.assert(
      fc.property(envArb, (env) => {
        let config: ReturnType<typeof resolvePoolConfig>;
        try {
          config = resolvePoolConfig(env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect(leaks((error as Error).message)).toBe(false);
          return;
        }
        checkConfig(config);
      }),
    );
  });

  it('always resolves valid env maps', () => {
    // TLS parameters are validated too (sslmode must be a mode name, sslrootcert a non-empty file name).
    const VALIDATED = new Set(['connection_limit', 'pool_timeout', 'connect_timeout', 'statement_cache_size', 'sslmode', 'sslrootcert']);
    const validUrl = parsedArb.map((p) => formatDatabaseUrl({ ...p, params: p.params.filter(([k]) => !VALIDATED.has(k)) }));
    const validCount = fc.integer({ min: 1, max: 10_000 }).map(String);
    const validEnv = fc.record(
      {
        DATABASE_URL: validUrl,
        DATABASE_URL_SESSION: maybe(validUrl),
        DATABASE_URL_READ: maybe(validUrl),
        PGBOUNCER_ADMIN_URL: maybe(validUrl),
        USE_TRANSACTION_MODE: maybe(fc.constantFrom('', 'true', 'false', ' TRUE ')),
        INSTANCE_COUNT: maybe(validCount),
        MAX_POOL_SIZE: maybe(validCount),
        VERCEL: maybe(fc.constantFrom('', '1')),
        FLY_APP_NAME: maybe(fc.constant('app')),
      },
      { requiredKeys: ['DATABASE_URL'] },
    );
    fc.assert(
      fc.property(validEnv, (env) => {
        checkConfig(resolvePoolConfig(env));
      }),
    );
  });
});

describe('provider hosts: resolvePoolConfig stays lossless and idempotent', () => {
  const neonHost = fc
    .tuple(
      fc.stringMatching(/^ep-[a-z]{2,8}-[a-z]{2,8}-[0-9]{6}$/),
      fc.boolean(),
      fc.constantFrom('us-east-2.aws', 'eu-central-1.aws', 'c-2.us-east-1.aws'),
    )
    .map(([endpoint, pooled, region]) => `${endpoint}${pooled ? '-pooler' : ''}.${region}.neon.tech`);
  const supabaseHost = fc.stringMatching(/^[a-z]{20}$/).map((ref) => `db.${ref}.supabase.co`);
  const supavisorHost = fc
    .constantFrom('aws-0-eu-central-1', 'aws-1-us-east-1', 'aws-0-ap-southeast-2')
    .map((h) => `${h}.pooler.supabase.com`);
  const rdsProxyHost = fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/), fc.boolean(), fc.stringMatching(/^[a-z0-9]{12}$/))
    .map(([name, custom, id]) => `${name}${custom ? '.endpoint' : ''}.proxy-${id}.us-east-1.rds.amazonaws.com`);
  const providerHost = fc.oneof(neonHost, supabaseHost, supavisorHost, rdsProxyHost, fc.domain());
  const VALIDATED = new Set(['connection_limit', 'pool_timeout', 'connect_timeout', 'statement_cache_size', 'sslmode', 'sslrootcert']);
  const providerUrl = fc
    .record({
      parsed: parsedArb,
      hosts: fc.array(fc.record({ host: providerHost, port: fc.constantFrom(null, 5432, 6543, 6432) }), { minLength: 1, maxLength: 2 }),
      user: fc.constantFrom('postgres', 'postgres.abcdefghijklmnopqrst', 'app'),
    })
    .map(({ parsed, hosts, user }) => ({
      ...parsed,
      user,
      hosts,
      params: parsed.params.filter(([k]) => !VALIDATED.has(k) && k !== 'port'),
    }));
  const envArb = fc.record({
    url: providerUrl,
    transaction: fc.boolean(),
  });
  /** Keys the rewrite owns. */
  const OWNED = new Set(['pgbouncer', 'connection_limit']);

  it('keeps credentials, database and foreign parameters; changes hosts only as the provider rule says; resolves to itself', () => {
    fc.assert(
      fc.property(envArb, ({ url, transaction }) => {
        const env = { DATABASE_URL: formatDatabaseUrl(url), USE_TRANSACTION_MODE: String(transaction) };
        const config = resolvePoolConfig(env);
        const after = parseDatabaseUrl(config.connectionString);
        expect(after.user).toBe(url.user);
        expect(after.password).toBe(url.password);
        expect(after.database).toBe(url.database);
        expect(after.params.filter(([k]) => !OWNED.has(k))).toEqual(url.params.filter(([k]) => !OWNED.has(k)));
        expect(after.hosts).toHaveLength(url.hosts.length);
        const first = url.hosts[0]?.host ?? '';
        after.hosts.forEach((h, i) => {
          const before = url.hosts[i] ?? { host: '', port: null };
          // Neon: the -pooler host in transaction mode, never a port change.
          if (config.provider === 'neon') {
            expect(h).toEqual({ host: transaction ? neonPoolerHost(before.host) : before.host, port: before.port });
          } else {
            expect(h.host).toBe(before.host);
          }
        });
        const portsBefore = url.hosts.map((h) => h.port);
        const direct = portsBefore.every((p) => p === null || p === 5432);
        if (config.provider === 'rds-proxy' || config.provider === 'neon' || !transaction || !direct) {
          expect(after.hosts.map((h) => h.port)).toEqual(portsBefore);
        } else {
          // Self-hosted PgBouncer, Supabase, Supavisor: PostgreSQL's 5432 (or none) → 6543 on every host.
          expect(after.hosts.map((h) => h.port)).toEqual(portsBefore.map(() => 6543));
        }
        const provider = detectProvider(url);
        expect(config.provider).toBe(provider.id);
        expect(provider.id === 'neon').toBe(/\.neon\.tech$/i.test(first));
        expect(config.reason).toContain(`; ${provider.name}`);
        expect(leaks(JSON.stringify(config))).toBe(false);
        // Idempotent: the effective URL is a fixed point.
        expect(resolvePoolConfig({ ...env, DATABASE_URL: config.connectionString }).connectionString).toBe(config.connectionString);
      }),
    );
  });
});
