import { describe, expect, it } from 'vitest';
import {
  effectivePort,
  explicitPorts,
  formatDatabaseUrl,
  getParam,
  type ParsedDatabaseUrl,
  PRISMA_ONLY_PARAMS,
  parseDatabaseUrl,
  redactDatabaseUrl,
  rewriteDatabaseUrl,
  stripParams,
  UNPARSABLE_PLACEHOLDER,
} from '../../../src/config/database-url.ts';
import { ConfigError } from '../../../src/errors/errors.ts';

/** Runs `fn`, expecting a ConfigError; returns it. */
const configError = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('parseDatabaseUrl', () => {
  const cases: [string, ParsedDatabaseUrl][] = [
    [
      'postgres://user:pass@localhost:5432/app',
      { scheme: 'postgres', user: 'user', password: 'pass', hosts: [{ host: 'localhost', port: 5432 }], database: 'app', params: [] },
    ],
    [
      'postgresql://u:p%40ss%3Aw%2Frd%3F%23%25@db.example.com/app?sslmode=require',
      {
        scheme: 'postgresql',
        user: 'u',
        password: 'p@ss:w/rd?#%',
        hosts: [{ host: 'db.example.com', port: null }],
        database: 'app',
        params: [['sslmode', 'require']],
      },
    ],
    [
      'postgres://u:%E5%AF%86%E7%A0%81@[::1]:6543,[2001:db8::2]/d',
      {
        scheme: 'postgres',
        user: 'u',
        password: '密码',
        hosts: [
          { host: '::1', port: 6543 },
          { host: '2001:db8::2', port: null },
        ],
        database: 'd',
        params: [],
      },
    ],
    [
      'postgres://h1:5432,h2:5433/db?x=1&x=2&flag',
      {
        scheme: 'postgres',
        user: null,
        password: null,
        hosts: [
          { host: 'h1', port: 5432 },
          { host: 'h2', port: 5433 },
        ],
        database: 'db',
        params: [
          ['x', '1'],
          ['x', '2'],
          ['flag', ''],
        ],
      },
    ],
    [
      'postgres:///db?host=%2Ftmp',
      { scheme: 'postgres', user: null, password: null, hosts: [], database: 'db', params: [['host', '/tmp']] },
    ],
    ['postgres://u@h', { scheme: 'postgres', user: 'u', password: null, hosts: [{ host: 'h', port: null }], database: null, params: [] }],
    [
      'POSTGRES://u:p:with:colons@h/d',
      { scheme: 'postgres', user: 'u', password: 'p:with:colons', hosts: [{ host: 'h', port: null }], database: 'd', params: [] },
    ],
    [
      '  postgres://u:a@b@h/d\n',
      { scheme: 'postgres', user: 'u', password: 'a@b', hosts: [{ host: 'h', port: null }], database: 'd', params: [] },
    ],
  ];
  it.each(cases)('%s', (url, expected) => {
    expect(parseDatabaseUrl(url)).toEqual(expected);
  });

  const bad: [string, string, RegExp][] = [
    ['empty', '', /is empty/],
    ['blank', '   ', /is empty/],
    ['not a URL', 'host=localhost user=me password=Sup3rSecret', /is not a URL/],
    ['mysql', 'mysql://me:Sup3rSecret@h/db', /postgres:\/\/ or postgresql:\/\//],
    ['http', 'https://me:Sup3rSecret@h/db', /scheme/],
    ['raw # in the password', 'postgres://me:Sup3r#Secret@h/db', /'#'/],
    ['raw / in the password', 'postgres://me:Sup3r/Secret@h/db', /'@' after the host/],
    ['raw ? in the password', 'postgres://me:Sup3r?Secret@h/db', /'@' after the host/],
    ['bad percent-encoding in the password', 'postgres://me:Sup3r%zzSecret@h/db', /percent-encoding in the password/],
    ['bad percent-encoding in a parameter', 'postgres://h/db?application_name=%E0%A4', /query parameters/],
    ['port out of range', 'postgres://me:Sup3rSecret@h:65536/db', /invalid port/],
    ['port not a number', 'postgres://me:Sup3rSecret@h:54x/db', /invalid port/],
    ['unbracketed IPv6', 'postgres://me:Sup3rSecret@::1:5432/db', /brackets/],
    ['unclosed IPv6 bracket', 'postgres://me:Sup3rSecret@[::1/db', /IPv6/],
    ['empty entry in the host list', 'postgres://me:Sup3rSecret@h1,,h2/db', /empty host/],
    ['bad port parameter', 'postgres://me:Sup3rSecret@h/db?port=abc', /^DATABASE_URL \(port\): invalid port/],
    ['control characters', 'postgres://me:Sup3r\u0000Secret@h/db', /control characters/],
  ];
  it.each(bad)('rejects %s with a ConfigError that never quotes the password', (_name, url, message) => {
    const error = configError(() => parseDatabaseUrl(url));
    expect(error.variable).toMatch(/^DATABASE_URL( \(port\))?$/);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('Sup3r');
    expect(error.message).not.toContain('Secret');
  });

  it('names the variable it was given', () => {
    const error = configError(() => parseDatabaseUrl('mysql://h/db', 'DATABASE_URL_READ'));
    expect(error.variable).toBe('DATABASE_URL_READ');
    expect(error.message.startsWith('DATABASE_URL_READ: ')).toBe(true);
  });
});

describe('formatDatabaseUrl', () => {
  const urls = [
    'postgres://u:p%40ss%3Aw%2Frd%3F%23%25@db.example.com:5432/app?sslmode=require&sslrootcert=%2Fetc%2Fca.pem',
    'postgresql://u:%E5%AF%86@[::1]:6543,[2001:db8::2]/d?x=1&x=2',
    'postgres:///db?host=%2Ftmp',
    'postgres://h',
    'postgres://@h/',
    'postgres://u:@h/d%2Fx?a%26b=c%3Dd',
  ];
  it.each(urls)('round-trips %s', (url) => {
    const parsed = parseDatabaseUrl(url);
    expect(parseDatabaseUrl(formatDatabaseUrl(parsed))).toEqual(parsed);
  });

  it('encodes every structural character of every component', () => {
    const parsed: ParsedDatabaseUrl = {
      scheme: 'postgres',
      user: 'us@r:',
      password: 'p@:/?#%&=[],',
      hosts: [{ host: 'fe80::1%eth0', port: 1 }],
      database: 'd/b?#@',
      params: [['k&=', 'v&=#@+']],
    };
    const text = formatDatabaseUrl(parsed);
    expect(text).toBe('postgres://us%40r%3A:p%40%3A%2F%3F%23%25%26%3D%5B%5D%2C@[fe80::1%25eth0]:1/d%2Fb%3F%23%40?k%26%3D=v%26%3D%23%40%2B');
    expect(parseDatabaseUrl(text)).toEqual(parsed);
  });
});

describe('rewriteDatabaseUrl', () => {
  const cases: [string, string, Parameters<typeof rewriteDatabaseUrl>[1], string][] = [
    [
      'sets port, pgbouncer and connection_limit, keeping everything else byte for byte',
      'postgresql://me:p%40ss%3Aw%2Frd@db.example.com:5432/my%20db?sslmode=require&sslrootcert=/etc/ca.pem&schema=app&application_name=web',
      { port: 6543, pgbouncer: true, connectionLimit: 3 },
      'postgresql://me:p%40ss%3Aw%2Frd@db.example.com:6543/my%20db?sslmode=require&sslrootcert=/etc/ca.pem&schema=app&application_name=web&pgbouncer=true&connection_limit=3',
    ],
    ['adds a port where there was none', 'postgres://u:p@h/d', { port: 6543 }, 'postgres://u:p@h:6543/d'],
    [
      'sets the port on every host, IPv6 included',
      'postgres://u:p@[::1]:5432,h2:5433,h3/d',
      { port: 6543 },
      'postgres://u:p@[::1]:6543,h2:6543,h3:6543/d',
    ],
    [
      'replaces an existing parameter in place',
      'postgres://h/d?connection_limit=20&sslmode=require&pgbouncer=false',
      { pgbouncer: true, connectionLimit: 2 },
      'postgres://h/d?connection_limit=2&sslmode=require&pgbouncer=true',
    ],
    [
      'collapses duplicates of a parameter it sets into the first one',
      'postgres://h/d?connection_limit=1&a=b&connection_limit=9',
      { connectionLimit: 4 },
      'postgres://h/d?connection_limit=4&a=b',
    ],
    ['pgbouncer: false removes the parameter', 'postgres://h/d?pgbouncer=true&x=1', { pgbouncer: false }, 'postgres://h/d?x=1'],
    [
      'null removes a parameter, strings set and encode',
      'postgres://h/d?schema=a&keep=1',
      { params: { schema: null, application_name: 'my app&co' } },
      'postgres://h/d?keep=1&application_name=my%20app%26co',
    ],
    ['with no host the port goes into the parameter', 'postgres:///d?host=/tmp', { port: 6543 }, 'postgres:///d?host=/tmp&port=6543'],
    ['an existing port parameter is updated too', 'postgres://h:5432/d?port=5432', { port: 6543 }, 'postgres://h:6543/d?port=6543'],
    ['no options only trims and drops empty query segments', ' postgres://h/d?a=1&&b=2& ', {}, 'postgres://h/d?a=1&b=2'],
    [
      'keeps a parameter without a value as written',
      'postgres://h/d?flag&a=1',
      { connectionLimit: 1 },
      'postgres://h/d?flag&a=1&connection_limit=1',
    ],
  ];
  it.each(cases)('%s', (_name, url, options, expected) => {
    const once = rewriteDatabaseUrl(url, options);
    expect(once).toBe(expected);
    expect(rewriteDatabaseUrl(once, options)).toBe(once);
  });

  const badOptions: [string, Parameters<typeof rewriteDatabaseUrl>[1]][] = [
    ['port', { port: 0 }],
    ['port', { port: 70_000 }],
    ['port', { port: 1.5 }],
    ['connectionLimit', { connectionLimit: 0 }],
    ['connectionLimit', { connectionLimit: -1 }],
    ['connectionLimit', { connectionLimit: Number.NaN }],
  ];
  it.each(badOptions)('rejects a bad %s option with a ConfigError naming it', (name, options) => {
    expect(configError(() => rewriteDatabaseUrl('postgres://h/d', options)).variable).toBe(name);
  });

  it('rejects an unparsable URL with a ConfigError that does not quote it', () => {
    const error = configError(() => rewriteDatabaseUrl('mysql://u:TopSecret@h/d', { port: 1 }, 'DATABASE_URL_READ'));
    expect(error.variable).toBe('DATABASE_URL_READ');
    expect(error.message).not.toContain('TopSecret');
  });
});

describe('redactDatabaseUrl', () => {
  const cases: [string, string][] = [
    ['postgres://u:secret@h:5432/d?sslmode=require', 'postgres://u:***@h:5432/d?sslmode=require'],
    ['postgres://u:p%40ss%3Aw%2Frd%3F%23@h/d', 'postgres://u:***@h/d'],
    ['postgres://u:a@b@h/d', 'postgres://u:***@h/d'],
    ['postgres://:onlypass@h/d', 'postgres://:***@h/d'],
    ['postgres://u@h/d', 'postgres://u@h/d'],
    ['postgres://h/d?user=u&password=secret&sslpassword=secret2', 'postgres://h/d?user=u&password=***&sslpassword=***'],
    ['postgres://u:secret@[::1]:5432,h2/d?x=1', 'postgres://u:***@[::1]:5432,h2/d?x=1'],
  ];
  it.each(cases)('%s → %s', (url, expected) => {
    expect(redactDatabaseUrl(url)).toBe(expected);
  });

  const unparsable = [
    '',
    'not a url secret',
    'mysql://u:secret@h/d',
    'postgres://u:sec#ret@h/d',
    'postgres://u:sec/ret@h/d',
    'postgres://u:se%zzcret@h',
  ];
  it.each(unparsable)('returns the placeholder, never the input, for %j', (url) => {
    const redacted = redactDatabaseUrl(url);
    expect(redacted).toBe(UNPARSABLE_PLACEHOLDER);
    expect(redacted).not.toContain('sec');
  });

  it('never throws, even for a non-string from untyped callers', () => {
    expect(redactDatabaseUrl(undefined as unknown as string)).toBe(UNPARSABLE_PLACEHOLDER);
  });
});

describe('stripParams and PRISMA_ONLY_PARAMS', () => {
  it('lists the Prisma v6 parameters node-postgres does not understand', () => {
    expect([...PRISMA_ONLY_PARAMS].sort()).toEqual(
      ['connect_timeout', 'connection_limit', 'pgbouncer', 'pool_timeout', 'schema', 'socket_timeout', 'statement_cache_size'].sort(),
    );
    expect(Object.isFrozen(PRISMA_ONLY_PARAMS)).toBe(true);
  });

  it('removes every Prisma-only parameter and keeps the rest in order', () => {
    const url =
      'postgres://u:p%40@h:6543/d?sslmode=require&connection_limit=3&pool_timeout=10&connect_timeout=5&pgbouncer=true&statement_cache_size=0&schema=app&socket_timeout=3&application_name=web';
    expect(stripParams(url)).toBe('postgres://u:p%40@h:6543/d?sslmode=require&application_name=web');
  });

  it('removes the keys it is given', () => {
    expect(stripParams('postgres://h/d?a=1&b=2&c=3', ['a', 'c'])).toBe('postgres://h/d?b=2');
  });
});

describe('port and parameter helpers', () => {
  const cases: [string, number[], number][] = [
    ['postgres://h/d', [], 5432],
    ['postgres://h:6432/d', [6432], 6432],
    ['postgres://h1:1,h2:2/d', [1, 2], 1],
    ['postgres://h:1/d?port=7', [1, 7], 7],
    ['postgres:///d?port=7,8', [7, 8], 7],
  ];
  it.each(cases)('%s: explicit %j, effective %d', (url, explicit, effective) => {
    const parsed = parseDatabaseUrl(url);
    expect(explicitPorts(parsed)).toEqual(explicit);
    expect(effectivePort(parsed)).toBe(effective);
  });

  it('getParam returns the last value, as node-postgres reads duplicates', () => {
    const parsed = parseDatabaseUrl('postgres://h/d?a=1&a=2&b=%2Fx');
    expect(getParam(parsed, 'a')).toBe('2');
    expect(getParam(parsed, 'b')).toBe('/x');
    expect(getParam(parsed, 'c')).toBeUndefined();
  });
});
