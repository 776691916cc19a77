import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type ResolveOptions, resolvePoolConfig } from '../../../src/config/resolve-pool-config.ts';
import { ConfigError } from '../../../src/errors/errors.ts';

type Env = Record<string, string | undefined>;
const SECRET = 'S3cr3t-p@ss/w?rd#%';
const ENC = encodeURIComponent(SECRET);
const URL_5432 = `postgres://app:${ENC}@db.example.com:5432/app?sslmode=require`;

const configError = (env: Env, options?: ResolveOptions): ConfigError => {
  try {
    resolvePoolConfig(env, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('mode and reason', () => {
  const cases: [string, Env, 'transaction' | 'session', string][] = [
    ['USE_TRANSACTION_MODE=true wins locally', { USE_TRANSACTION_MODE: 'true' }, 'transaction', 'forced by USE_TRANSACTION_MODE=true'],
    [
      'USE_TRANSACTION_MODE=false wins on Vercel',
      { USE_TRANSACTION_MODE: 'false', VERCEL: '1' },
      'session',
      'forced by USE_TRANSACTION_MODE=false',
    ],
    ['the flag is trimmed and case-insensitive', { USE_TRANSACTION_MODE: ' TRUE ' }, 'transaction', 'forced by USE_TRANSACTION_MODE=true'],
    ['an empty flag means auto', { USE_TRANSACTION_MODE: '', VERCEL: '1' }, 'transaction', 'vercel detected from VERCEL'],
    ['Vercel', { VERCEL: '1' }, 'transaction', 'vercel detected from VERCEL: serverless instances need PgBouncer transaction mode'],
    ['Railway', { RAILWAY_ENVIRONMENT: 'production' }, 'transaction', 'railway detected from RAILWAY_ENVIRONMENT'],
    ['Lambda', { AWS_LAMBDA_FUNCTION_NAME: 'fn' }, 'transaction', 'lambda detected from AWS_LAMBDA_FUNCTION_NAME'],
    ['Cloud Run', { K_SERVICE: 'api' }, 'transaction', 'cloud-run detected from K_SERVICE'],
    ['Fly is long-running', { FLY_APP_NAME: 'a' }, 'session', 'fly detected from FLY_APP_NAME: long-running instances use session mode'],
    ['Heroku is long-running', { DYNO: 'web.1' }, 'session', 'heroku detected from DYNO'],
    ['local', {}, 'session', 'no serverless runtime detected: local development uses session mode'],
  ];
  it.each(cases)('%s', (_name, env, mode, reason) => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, ...env });
    expect(config.mode).toBe(mode);
    expect(config.reason).toContain(reason);
  });

  it('reports the runtime and its evidence', () => {
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432, VERCEL_ENV: 'preview' })).toMatchObject({
      runtime: 'vercel',
      runtimeEvidence: 'VERCEL_ENV',
      serverless: true,
    });
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432 })).toMatchObject({ runtime: 'local', runtimeEvidence: null, serverless: false });
  });
});

describe('transaction mode: the port rule', () => {
  const cases: [string, string, number, boolean][] = [
    ['no port (means 5432) → 6543', 'postgres://u:p@h/d', 6543, true],
    ['5432 → 6543', 'postgres://u:p@h:5432/d', 6543, true],
    ['6543 stays, silently', 'postgres://u:p@h:6543/d', 6543, false],
    ["6432 (PgBouncer's default port) stays, silently", 'postgres://u:p@h:6432/d', 6432, false],
    ["a local stack's random port stays, silently", 'postgres://u:p@127.0.0.1:54123/d', 54123, false],
    ['every host on 5432 → all on 6543', 'postgres://u:p@h1:5432,h2/d', 6543, true],
    ['mixed ports stay, silently', 'postgres://u:p@h1:5432,h2:6543/d', 5432, false],
    ['a list of poolers stays, silently', 'postgres://u:p@h1:6543,h2:6544,h3:6545/d', 6543, false],
  ];
  it.each(cases)('%s', (_name, url, port, rewritten) => {
    const config = resolvePoolConfig({ DATABASE_URL: url, VERCEL: '1' });
    expect(config.port).toBe(port);
    expect(config.warnings).toEqual([]);
    expect(config.portRewrite !== null).toBe(rewritten);
    expect(config.reason).not.toMatch(/neither/);
  });

  it('rewrites DATABASE_URL with pgbouncer=true and connection_limit, keeping the rest', () => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, VERCEL: '1' });
    expect(config.connectionString).toBe(`postgres://app:${ENC}@db.example.com:6543/app?sslmode=require&pgbouncer=true&connection_limit=3`);
    expect(config.databaseUrl).toBe('postgres://app:***@db.example.com:6543/app?sslmode=require&pgbouncer=true&connection_limit=3');
    expect(config.hosts).toEqual([{ host: 'db.example.com', port: 6543 }]);
    expect(config.database).toBe('app');
  });

  it('ignores DATABASE_URL_SESSION', () => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, DATABASE_URL_SESSION: 'postgres://u:p@local/dev', VERCEL: '1' });
    expect(config.hosts[0]?.host).toBe('db.example.com');
  });
});

describe('session mode', () => {
  it('uses DATABASE_URL_SESSION when set, with connection_limit and without pgbouncer', () => {
    const config = resolvePoolConfig({
      DATABASE_URL: 'postgres://u:p@pooler:6543/d?pgbouncer=true',
      DATABASE_URL_SESSION: `postgres://u:${ENC}@direct:5432/d?pgbouncer=true&schema=s`,
    });
    expect(config.connectionString).toBe(`postgres://u:${ENC}@direct:5432/d?schema=s&connection_limit=10`);
    expect(config.port).toBe(5432);
    expect(config.schema).toBe('s');
    expect(config.warnings.some((w) => w.startsWith('DATABASE_URL_SESSION: session mode through a transaction-mode pooler'))).toBe(true);
  });

  it('falls back to DATABASE_URL and keeps its port', () => {
    const config = resolvePoolConfig({ DATABASE_URL: 'postgres://u:p@h:5433/d' });
    expect(config.connectionString).toBe('postgres://u:p@h:5433/d?connection_limit=10');
    expect(config.port).toBe(5433);
    expect(config.warnings).toEqual([]);
  });

  const poolerUrls: [string, string][] = [
    ['port 6543', 'postgres://u:p@h:6543/d'],
    ['pgbouncer=true', 'postgres://u:p@h:5432/d?pgbouncer=TRUE'],
  ];
  it.each(poolerUrls)('warns when the session URL is a transaction pooler (%s)', (_name, url) => {
    const config = resolvePoolConfig({ DATABASE_URL: url });
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toMatch(/^DATABASE_URL: session mode through a transaction-mode pooler/);
  });
});

describe('per-instance budget', () => {
  const cases: [string, Env, number, 'url' | 'budget', boolean][] = [
    ['defaults 100/10 → 10, clamped to 3 in transaction mode', { VERCEL: '1' }, 3, 'budget', false],
    ['defaults 100/10 → 10 in session mode', {}, 10, 'budget', false],
    ['100/50 → 2', { VERCEL: '1', INSTANCE_COUNT: '50' }, 2, 'budget', false],
    ['100/200 → 0, clamped to 1, over budget', { VERCEL: '1', INSTANCE_COUNT: '200' }, 1, 'budget', true],
    ['1000/1 → 50 in session mode', { MAX_POOL_SIZE: '1000', INSTANCE_COUNT: '1' }, 50, 'budget', false],
    ['7/2 → 3 (floor)', { MAX_POOL_SIZE: '7', INSTANCE_COUNT: '2' }, 3, 'budget', false],
    ['an explicit connection_limit wins', { VERCEL: '1', DATABASE_URL: 'postgres://h/d?connection_limit=8' }, 8, 'url', false],
    ['an explicit connection_limit over budget warns', { DATABASE_URL: 'postgres://h/d?connection_limit=20' }, 20, 'url', true],
  ];
  it.each(cases)('%s', (_name, env, limit, source, warns) => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, ...env });
    expect(config.connectionLimit).toBe(limit);
    expect(config.connectionLimitSource).toBe(source);
    expect(config.connectionString).toContain(`connection_limit=${limit}`);
    expect(config.warnings.some((w) => w.includes('exceeds MAX_POOL_SIZE'))).toBe(warns);
  });

  it('the connectionLimit option beats the URL', () => {
    const config = resolvePoolConfig({ DATABASE_URL: 'postgres://h/d?connection_limit=8' }, { connectionLimit: 2 });
    expect(config).toMatchObject({ connectionLimit: 2, connectionLimitSource: 'option' });
  });

  it('reports the numbers used', () => {
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432, INSTANCE_COUNT: ' 4 ', MAX_POOL_SIZE: '40' })).toMatchObject({
      instanceCount: 4,
      maxPoolSize: 40,
    });
  });
});

describe('timeouts, statement cache, schema', () => {
  const cases: [string, Env, ResolveOptions, { poolTimeoutMs: number; connectTimeoutMs: number; idleTimeoutMs: number }][] = [
    ['local defaults', {}, {}, { poolTimeoutMs: 10_000, connectTimeoutMs: 5_000, idleTimeoutMs: 30_000 }],
    ['serverless defaults', { VERCEL: '1' }, {}, { poolTimeoutMs: 10_000, connectTimeoutMs: 5_000, idleTimeoutMs: 5_000 }],
    [
      'forced transaction mode locally is short-idle',
      { USE_TRANSACTION_MODE: 'true' },
      {},
      { poolTimeoutMs: 10_000, connectTimeoutMs: 5_000, idleTimeoutMs: 5_000 },
    ],
    [
      'URL seconds → ms',
      { DATABASE_URL: 'postgres://h/d?pool_timeout=2.5&connect_timeout=3' },
      {},
      { poolTimeoutMs: 2_500, connectTimeoutMs: 3_000, idleTimeoutMs: 30_000 },
    ],
    [
      'options beat the URL',
      { DATABASE_URL: 'postgres://h/d?pool_timeout=2&connect_timeout=3' },
      { poolTimeoutMs: 100, connectTimeoutMs: 200, idleTimeoutMs: 300 },
      { poolTimeoutMs: 100, connectTimeoutMs: 200, idleTimeoutMs: 300 },
    ],
  ];
  it.each(cases)('%s', (_name, env, options, expected) => {
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432, ...env }, options)).toMatchObject(expected);
  });

  const cache: [string, Env, ResolveOptions, boolean][] = [
    ['session mode does not by default (no measured gain)', {}, {}, false],
    ['session mode with statement_cache_size=0 does not', { DATABASE_URL: 'postgres://h/d?statement_cache_size=0' }, {}, false],
    ['session mode with statement_cache_size=100 does', { DATABASE_URL: 'postgres://h/d?statement_cache_size=100' }, {}, true],
    ['transaction mode does not', { VERCEL: '1' }, {}, false],
    ['transaction mode does when the pooler tracks statements', { VERCEL: '1' }, { poolerTracksPreparedStatements: true }, true],
    [
      'statement_cache_size=0 still wins over the pooler option',
      { VERCEL: '1', DATABASE_URL: 'postgres://h/d?statement_cache_size=0' },
      { poolerTracksPreparedStatements: true },
      false,
    ],
  ];
  it.each(cache)('%s', (_name, env, options, statementCache) => {
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432, ...env }, options).statementCache).toBe(statementCache);
  });

  it('reads schema from the URL, null when absent', () => {
    expect(resolvePoolConfig({ DATABASE_URL: 'postgres://h/d?schema=tenant_1' }).schema).toBe('tenant_1');
    expect(resolvePoolConfig({ DATABASE_URL: 'postgres://h/d' }).schema).toBeNull();
  });
});

describe('validation: one ConfigError naming the variable, never the password', () => {
  const cases: [string, Env, string, RegExp][] = [
    ['DATABASE_URL missing', { DATABASE_URL: undefined }, 'DATABASE_URL', /is not set/],
    ['DATABASE_URL empty', { DATABASE_URL: '' }, 'DATABASE_URL', /is not set/],
    ['DATABASE_URL unparsable', { DATABASE_URL: `postgres://u:${SECRET}@h/d` }, 'DATABASE_URL', /percent-encoded/],
    ['DATABASE_URL non-postgres', { DATABASE_URL: `mysql://u:${ENC}@h/d` }, 'DATABASE_URL', /scheme/],
    ['DATABASE_URL_SESSION', { DATABASE_URL_SESSION: `redis://u:${ENC}@h` }, 'DATABASE_URL_SESSION', /scheme/],
    ['DATABASE_URL_READ', { DATABASE_URL_READ: `postgres://u:${SECRET}@h/d` }, 'DATABASE_URL_READ', /percent-encoded/],
    ['PGBOUNCER_ADMIN_URL', { PGBOUNCER_ADMIN_URL: `http://u:${ENC}@h` }, 'PGBOUNCER_ADMIN_URL', /scheme/],
    ['USE_TRANSACTION_MODE=maybe', { USE_TRANSACTION_MODE: 'maybe' }, 'USE_TRANSACTION_MODE', /"true" or "false".*"maybe"/],
    ['USE_TRANSACTION_MODE=1', { USE_TRANSACTION_MODE: '1' }, 'USE_TRANSACTION_MODE', /"true" or "false"/],
    ...['0', '-1', '1.5', 'abc', '10abc', ' ', '1e3', '0x10'].map((value): [string, Env, string, RegExp] => [
      `INSTANCE_COUNT=${JSON.stringify(value)}`,
      { INSTANCE_COUNT: value },
      'INSTANCE_COUNT',
      /positive integer/,
    ]),
    ...['0', '-5', '2.5', 'lots'].map((value): [string, Env, string, RegExp] => [
      `MAX_POOL_SIZE=${JSON.stringify(value)}`,
      { MAX_POOL_SIZE: value },
      'MAX_POOL_SIZE',
      /positive integer/,
    ]),
    ...['0', '-1', '1.5', 'abc'].map((value): [string, Env, string, RegExp] => [
      `connection_limit=${value}`,
      { DATABASE_URL: `postgres://u:${ENC}@h/d?connection_limit=${value}` },
      'DATABASE_URL (connection_limit)',
      /positive integer/,
    ]),
    ...['pool_timeout', 'connect_timeout'].flatMap((key) =>
      ['0', '-1', 'abc', ''].map((value): [string, Env, string, RegExp] => [
        `${key}=${value}`,
        { DATABASE_URL: `postgres://u:${ENC}@h/d?${key}=${value}` },
        `DATABASE_URL (${key})`,
        /positive number of seconds; 0 is rejected because node-postgres treats 0 as "wait forever"/,
      ]),
    ),
    ...['pool_timeout', 'connect_timeout', 'socket_timeout'].map((key): [string, Env, string, RegExp] => [
      `${key} past Node's timer limit (2147484 s)`,
      { DATABASE_URL: `postgres://u:${ENC}@h/d?${key}=2147484` },
      `DATABASE_URL (${key})`,
      /at most 2147483 \(Node's timer limit\), got 2147484/,
    ]),
    [
      'connection_limit in the replica',
      { DATABASE_URL_READ: 'postgres://h/d?connection_limit=0' },
      'DATABASE_URL_READ (connection_limit)',
      /positive integer/,
    ],
    [
      'statement_cache_size=x',
      { DATABASE_URL: 'postgres://h/d?statement_cache_size=x' },
      'DATABASE_URL (statement_cache_size)',
      /non-negative/,
    ],
  ];
  it.each(cases)('%s', (_name, env, variable, message) => {
    const error = configError({ DATABASE_URL: URL_5432, ...env });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('S3cr3t');
  });

  const badOptions: [keyof ResolveOptions, unknown][] = [
    ['poolTimeoutMs', 0],
    ['poolTimeoutMs', -1],
    ['poolTimeoutMs', Number.POSITIVE_INFINITY],
    ['connectTimeoutMs', Number.NaN],
    ['idleTimeoutMs', '5000'],
    ['connectionLimit', 0],
    ['connectionLimit', 2.5],
    ['poolerTracksPreparedStatements', 'yes'],
  ];
  it.each(badOptions)('option %s = %j', (name, value) => {
    const error = configError({ DATABASE_URL: URL_5432 }, { [name]: value } as ResolveOptions);
    expect(error.variable).toBe(name);
  });

  it('does not quote a long or URL-like bad value', () => {
    const error = configError({ DATABASE_URL: URL_5432, INSTANCE_COUNT: `postgres://u:${SECRET}@h` });
    expect(error.message).not.toContain('S3cr3t');
    expect(error.message).toContain('got another value');
  });
});

describe('read replica and admin URL', () => {
  it('builds the replica with the same mode rules and its own budget', () => {
    const config = resolvePoolConfig({
      DATABASE_URL: URL_5432,
      DATABASE_URL_READ: `postgres://ro:${ENC}@replica:5432/app?connection_limit=2`,
      VERCEL: '1',
    });
    expect(config.read).toEqual({
      databaseUrl: 'postgres://ro:***@replica:6543/app?connection_limit=2&pgbouncer=true',
      port: 6543,
      connectionLimit: 2,
      connectionLimitSource: 'url',
      provider: 'pgbouncer',
      portRewrite: expect.objectContaining({ variable: 'DATABASE_URL_READ', from: 5432, to: 6543 }),
      tls: expect.objectContaining({ state: 'on', mode: 'prefer', modeSource: 'default' }),
    });
    expect(config.read?.connectionString).toBe(`postgres://ro:${ENC}@replica:6543/app?connection_limit=2&pgbouncer=true`);
  });

  it('uses the budget rule for a replica without connection_limit, and session rules in session mode', () => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, DATABASE_URL_READ: 'postgres://ro@replica:6432/app?pgbouncer=true' });
    expect(config.read).toMatchObject({ port: 6432, connectionLimit: 10, connectionLimitSource: 'budget' });
    expect(config.read?.connectionString).toBe('postgres://ro@replica:6432/app?connection_limit=10');
    expect(config.warnings.some((w) => w.startsWith('DATABASE_URL_READ: session mode through'))).toBe(true);
  });

  it('a replica (or a list of replicas) on ports of its own is quiet in transaction mode', () => {
    const config = resolvePoolConfig({
      DATABASE_URL: 'postgres://u:p@pgb:6432/app',
      DATABASE_URL_READ: 'postgres://ro@r1:6544/app,postgres://ro@r2:5433,r3:5434/app',
      VERCEL: '1',
    });
    expect(config.readReplicas.map((r) => r.port)).toEqual([6544, 5433]);
    expect(config.warnings).toEqual([]);
  });

  it('is null without DATABASE_URL_READ', () => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, DATABASE_URL_READ: '' });
    expect(config.read).toBeNull();
    expect(config.readReplicas).toEqual([]);
  });

  it.each([
    ['one URL', `postgres://ro:${ENC}@r1:6543/app`, ['postgres://ro:***@r1:6543/app?pgbouncer=true&connection_limit=3']],
    [
      'two URLs',
      `postgres://ro:${ENC}@r1:6543/app,postgres://ro:${ENC}@r2:6543/app`,
      [
        'postgres://ro:***@r1:6543/app?pgbouncer=true&connection_limit=3',
        'postgres://ro:***@r2:6543/app?pgbouncer=true&connection_limit=3',
      ],
    ],
    [
      'spaces after commas, another scheme spelling',
      `postgres://ro@r1:6543/app ,  postgresql://ro@r2:6543/app`,
      ['postgres://ro@r1:6543/app?pgbouncer=true&connection_limit=3', 'postgresql://ro@r2:6543/app?pgbouncer=true&connection_limit=3'],
    ],
    [
      'a multi-host URL stays one entry',
      'postgres://ro@r1:6543,r2:6543/app,postgres://ro@r3:6543/app',
      [
        'postgres://ro@r1:6543,r2:6543/app?pgbouncer=true&connection_limit=3',
        'postgres://ro@r3:6543/app?pgbouncer=true&connection_limit=3',
      ],
    ],
  ])('DATABASE_URL_READ as a list: %s', (_, value, expected) => {
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, DATABASE_URL_READ: value, VERCEL: '1' });
    expect(config.readReplicas.map((r) => r.databaseUrl)).toEqual(expected);
    expect(config.read?.databaseUrl).toBe(expected[0]);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(Object.isFrozen(config.readReplicas)).toBe(true);
  });

  it.each([
    ['an empty entry', 'postgres://ro@r1/app,,postgres://ro@r2/app', 'DATABASE_URL_READ[1]'],
    ['a trailing comma', 'postgres://ro@r1/app,', 'DATABASE_URL_READ[1]'],
    ['a leading comma', ' , postgres://ro@r1/app', 'DATABASE_URL_READ[0]'],
    ['a bad second entry', `postgres://ro@r1/app,mysql://ro:${ENC}@r2/app`, 'DATABASE_URL_READ[1]'],
    [
      'a bad parameter in an entry',
      'postgres://ro@r1/app,postgres://ro@r2/app?connection_limit=0',
      'DATABASE_URL_READ[1] (connection_limit)',
    ],
  ])('names the list entry at fault: %s', (_, value, variable) => {
    const error = configError({ DATABASE_URL: URL_5432, DATABASE_URL_READ: value });
    expect(error.variable).toBe(variable);
    expect(error.message).not.toContain(SECRET);
  });

  it('keeps the admin URL redacted, the real one hidden', () => {
    const admin = `postgres://stats:${ENC}@pooler:6543/pgbouncer`;
    const config = resolvePoolConfig({ DATABASE_URL: URL_5432, PGBOUNCER_ADMIN_URL: admin });
    expect(config.pgbouncerAdminUrl).toBe('postgres://stats:***@pooler:6543/pgbouncer');
    expect(config.pgbouncerAdminConnectionString).toBe(admin);
    expect(resolvePoolConfig({ DATABASE_URL: URL_5432 }).pgbouncerAdminConnectionString).toBeNull();
  });
});

describe('the result object', () => {
  const env = {
    DATABASE_URL: URL_5432,
    DATABASE_URL_READ: `postgres://ro:${ENC}@replica/app`,
    PGBOUNCER_ADMIN_URL: `postgres://stats:${ENC}@pooler:6543/pgbouncer`,
    VERCEL: '1',
    INSTANCE_COUNT: '100',
  };

  it('never shows a password through JSON, inspect, keys or spread', () => {
    const config = resolvePoolConfig(env);
    for (const text of [
      JSON.stringify(config),
      inspect(config, { depth: null }),
      JSON.stringify({ ...config }),
      Object.keys(config).join(),
    ]) {
      expect(text).not.toContain('S3cr3t');
      expect(text).not.toContain(ENC);
    }
    expect(config.connectionString).toContain(ENC);
    expect(Object.keys(config)).not.toContain('connectionString');
    expect(Object.keys(config.read ?? {})).not.toContain('connectionString');
  });

  it('is deeply frozen', () => {
    const config = resolvePoolConfig(env);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.hosts)).toBe(true);
    expect(Object.isFrozen(config.hosts[0])).toBe(true);
    expect(Object.isFrozen(config.warnings)).toBe(true);
    expect(Object.isFrozen(config.read)).toBe(true);
    expect(() => {
      (config as { mode: string }).mode = 'session';
    }).toThrow(TypeError);
  });

  it('has the documented shape', () => {
    expect(Object.keys(resolvePoolConfig(env)).sort()).toEqual(
      [
        'runtime',
        'runtimeEvidence',
        'serverless',
        'mode',
        'reason',
        'urlVariable',
        'provider',
        'portRewrite',
        'tls',
        'databaseUrl',
        'port',
        'hosts',
        'database',
        'connectionLimit',
        'connectionLimitSource',
        'poolTimeoutMs',
        'connectTimeoutMs',
        'socketTimeoutMs',
        'silenceTimeoutMs',
        'silenceTimeoutSource',
        'tcp',
        'idleTimeoutMs',
        'statementCache',
        'schema',
        'instanceCount',
        'maxPoolSize',
        'read',
        'readReplicas',
        'pgbouncerAdminUrl',
        'warnings',
      ].sort(),
    );
  });

  it('does not mutate its input', () => {
    const input = { ...env };
    resolvePoolConfig(input);
    expect(input).toEqual(env);
  });
});
