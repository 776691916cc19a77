/** libpq's multi-host connection strings (§34.1.1–34.1.2): host lists, their attributes, redaction. Pure. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDatabaseUrl, parseDatabaseUrl, redactDatabaseUrl } from '../../../src/config/database-url.ts';
import { describeHosts, hostListSummary, needsHostSelection, parseHostList, singleHostUrl } from '../../../src/config/host-list.ts';
import { resolvePoolConfig } from '../../../src/config/resolve-pool-config.ts';
import { ConfigError, NoMatchingHostError } from '../../../src/errors/errors.ts';

const list = (url: string) => parseHostList(parseDatabaseUrl(url));

describe('parseHostList', () => {
  it.each([
    [
      'postgresql://u:p@h1:5432,h2:5433/db',
      [
        ['h1', 5432],
        ['h2', 5433],
      ],
      'any',
      'disable',
    ],
    [
      'postgresql://u:p@h1,h2/db?port=6000',
      [
        ['h1', 6000],
        ['h2', 6000],
      ],
      'any',
      'disable',
    ],
    [
      'postgresql://u:p@h1,h2/db?port=6000,6001',
      [
        ['h1', 6000],
        ['h2', 6001],
      ],
      'any',
      'disable',
    ],
    [
      'postgresql://u:p@/db?host=a,b&port=1,2&target_session_attrs=read-write',
      [
        ['a', 1],
        ['b', 2],
      ],
      'read-write',
      'disable',
    ],
    [
      'postgresql://u:p@ignored:9/db?host=a,b',
      [
        ['a', 5432],
        ['b', 5432],
      ],
      'any',
      'disable',
    ],
    [
      'postgresql://u:p@[::1]:5432,h2/db?target_session_attrs=PRIMARY&load_balance_hosts=random',
      [
        ['::1', 5432],
        ['h2', 5432],
      ],
      'primary',
      'random',
    ],
    ['postgresql://u:p@h1/db?target_session_attrs=prefer-standby', [['h1', 5432]], 'prefer-standby', 'disable'],
    ['postgresql:///db', [['localhost', 5432]], 'any', 'disable'],
  ])('%s', (url, hosts, tsa, lbh) => {
    expect(list(url)).toEqual({
      hosts: hosts.map(([host, port]) => ({ host, port })),
      targetSessionAttrs: tsa,
      loadBalanceHosts: lbh,
    });
  });

  it.each([
    ['postgresql://u:p@h1,h2/db?target_session_attrs=writable', 'DATABASE_URL (target_session_attrs)'],
    ['postgresql://u:p@h1,h2/db?load_balance_hosts=yes', 'DATABASE_URL (load_balance_hosts)'],
    ['postgresql://u:p@h1,h2,h3/db?port=1,2', 'DATABASE_URL (port)'],
    ['postgresql://u:p@/db?host=a,,b', 'DATABASE_URL (host)'],
  ])('%s → ConfigError naming %s, without the password', (url, variable) => {
    const error = (() => {
      try {
        list(url);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).not.toMatch(/u:p|\bp@/);
  });

  it('one host with `any` needs no host selection; several hosts or an attribute do', () => {
    expect(needsHostSelection(list('postgresql://u:p@h1/db'))).toBe(false);
    expect(needsHostSelection(list('postgresql://u:p@h1,h2/db'))).toBe(true);
    expect(needsHostSelection(list('postgresql://u:p@h1/db?target_session_attrs=read-write'))).toBe(true);
  });

  it('hostListSummary: hosts and attribute for the health report, without credentials; null for a plain URL', () => {
    expect(hostListSummary('postgresql://u:s3cret@[::1]:5432,db2/app?target_session_attrs=primary')).toEqual({
      hosts: ['[::1]:5432', 'db2:5432'],
      targetSessionAttrs: 'primary',
    });
    expect(hostListSummary('postgresql://u:s3cret@db1:5432/app')).toBeNull();
  });

  it('singleHostUrl keeps the credentials and database, drops the multi-host parameters, keeps the rest in order', () => {
    const parsed = parseDatabaseUrl(
      'postgresql://u:p%40ss@h1:1,h2:2/db?sslmode=disable&target_session_attrs=read-write&host=h1,h2&application_name=x',
    );
    const one = parseDatabaseUrl(singleHostUrl(parsed, { host: 'h2', port: 2 }));
    expect(one).toMatchObject({ user: 'u', password: 'p@ss', database: 'db', hosts: [{ host: 'h2', port: 2 }] });
    expect(one.params).toEqual([
      ['sslmode', 'disable'],
      ['application_name', 'x'],
    ]);
  });
});

/** Passwords carry a marker; any leaked fragment of them contains it. */
const MARK = '§';
const leaks = (text: string) => text.includes(MARK) || text.includes(encodeURIComponent(MARK));
const passwordArb = fc.string({ minLength: 1, maxLength: 8 }).map((s) => `${MARK}${[...s].join(MARK)}${MARK}`);
const hostArb = fc.record({
  host: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6()),
  port: fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: null }),
});

describe('multi-host URLs never show the password', () => {
  it('redaction, host descriptions and the no-match error, in the authority and the host= forms', () => {
    fc.assert(
      fc.property(
        passwordArb,
        fc.array(hostArb, { minLength: 2, maxLength: 4 }),
        fc.boolean(),
        fc.constantFrom('any', 'read-write', 'primary', 'standby', 'read-only', 'prefer-standby'),
        (password, hosts, asParam, tsa) => {
          const url = asParam
            ? formatDatabaseUrl({
                scheme: 'postgresql',
                user: 'app',
                password,
                hosts: [],
                database: 'db',
                params: [
                  ['host', hosts.map((h) => h.host).join(',')],
                  ['target_session_attrs', tsa],
                  ['password', password],
                ],
              })
            : formatDatabaseUrl({
                scheme: 'postgresql',
                user: 'app',
                password,
                hosts,
                database: 'db',
                params: [['target_session_attrs', tsa]],
              });
          const redacted = redactDatabaseUrl(url);
          expect(leaks(redacted)).toBe(false);
          const parsedList = parseHostList(parseDatabaseUrl(url));
          expect(parsedList.hosts).toHaveLength(hosts.length);
          const names = describeHosts(parsedList);
          expect(names.some(leaks)).toBe(false);
          const error = new NoMatchingHostError(tsa, names, 'matched');
          expect(leaks(error.message) || leaks(JSON.stringify(error))).toBe(false);
          // The single-host URL pg gets still has the password (it must connect), and only one host.
          const single = parseDatabaseUrl(singleHostUrl(parseDatabaseUrl(url), parsedList.hosts[1] as { host: string; port: number }));
          expect(single.hosts).toHaveLength(1);
          if (!asParam) expect(single.password).toBe(password);
        },
      ),
    );
  });
});

describe('resolvePoolConfig with a multi-host URL', () => {
  const multi = 'postgresql://app:s3cret@db1.internal:5432,db2.internal:5432/app?target_session_attrs=read-write';
  const warned = (env: Record<string, string>) => resolvePoolConfig(env).warnings.filter((w) => w.includes('multi-host URL'));

  it('session mode on the database servers: accepted, no warning, the password stays out of the config', () => {
    const config = resolvePoolConfig({ DATABASE_URL: multi, USE_TRANSACTION_MODE: 'false' });
    expect(warned({ DATABASE_URL: multi, USE_TRANSACTION_MODE: 'false' })).toEqual([]);
    expect(config.hosts).toEqual([
      { host: 'db1.internal', port: 5432 },
      { host: 'db2.internal', port: 5432 },
    ]);
    expect(JSON.stringify(config)).not.toContain('s3cret');
    expect(config.databaseUrl).toContain('app:***@db1.internal:5432,db2.internal:5432/app');
  });

  it.each([
    ['transaction mode (the URL goes to PgBouncer)', { DATABASE_URL: multi, USE_TRANSACTION_MODE: 'true' }],
    [
      'Supavisor hosts asked for a primary',
      {
        DATABASE_URL:
          'postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:5432,aws-1-eu-west-1.pooler.supabase.com:5432/postgres?target_session_attrs=primary',
        USE_TRANSACTION_MODE: 'false',
      },
    ],
    [
      'one pooler asked for read-write',
      { DATABASE_URL: 'postgresql://u:pw@pgb:6432/app?target_session_attrs=read-write', USE_TRANSACTION_MODE: 'true' },
    ],
  ])('%s: one warning that only a server can answer target_session_attrs', (_, env) => {
    const warnings = warned(env);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^DATABASE_URL: a multi-host URL .* points at a pooler/);
    expect(warnings[0]).not.toMatch(/s3cret|:pw@/);
  });

  it.each([
    [
      'three PgBouncers, load_balance_hosts=random',
      'postgresql://u:pw@pgb1:6432,pgb2:6432,pgb3:6432/app?load_balance_hosts=random',
      'true',
    ],
    [
      'two Supavisor hosts (a managed pooler, session mode)',
      'postgresql://postgres.ref:pw@aws-0-eu-west-1.pooler.supabase.com:5432,aws-1-eu-west-1.pooler.supabase.com:5432/postgres',
      'false',
    ],
    [
      'poolers in the host= form with target_session_attrs=any',
      'postgresql://u:pw@/app?host=pgb1,pgb2&port=6432&target_session_attrs=any',
      'true',
    ],
  ])('a pooler fleet (%s): no warning, choosing among poolers is the point', (_, url, transaction) => {
    expect(warned({ DATABASE_URL: url, USE_TRANSACTION_MODE: transaction })).toEqual([]);
  });

  it('a bad target_session_attrs is a ConfigError at configuration time, naming the parameter', () => {
    expect(() => resolvePoolConfig({ DATABASE_URL: `${multi.replace('read-write', 'master')}`, USE_TRANSACTION_MODE: 'false' })).toThrow(
      'DATABASE_URL (target_session_attrs): must be one of any, read-write, read-only, primary, standby, prefer-standby',
    );
  });

  it('DATABASE_URL_READ may use the same form', () => {
    const config = resolvePoolConfig({
      DATABASE_URL: 'postgresql://app:pw@db1:5432/app',
      DATABASE_URL_READ: 'postgresql://app:pw@db2:5432,db3:5432/app?target_session_attrs=prefer-standby',
      USE_TRANSACTION_MODE: 'false',
    });
    expect(config.readReplicas).toHaveLength(1);
    expect(config.readReplicas[0]?.databaseUrl).toContain('db2:5432,db3:5432');
  });
});
