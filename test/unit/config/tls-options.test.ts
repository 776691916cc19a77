/** The TLS translation table (src/config/tls-options.ts): URL parameters → TLS intent, with Prisma 6 / libpq meanings. */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '~/config/database-url.ts';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';
import { describeTlsFailure, parseTlsOptions, type TlsOptions } from '~/config/tls-options.ts';
import { ConfigError, type TlsProblem } from '~/errors/errors.ts';

const BASE = 'postgres://app:pw@db.example.com:5432/app';
const tlsOf = (query: string) => parseTlsOptions(parseDatabaseUrl(`${BASE}${query === '' ? '' : `?${query}`}`));

type Expected = Partial<Omit<TlsOptions, 'password' | 'summary' | 'verifyHint'>>;

describe('parseTlsOptions', () => {
  it.each<[string, string, Expected]>([
    [
      "no TLS parameter: Prisma 6's default, prefer without verification",
      '',
      { state: 'on', mode: 'prefer', modeSource: 'default', verify: 'none', caFile: null },
    ],
    ['disable', 'sslmode=disable', { state: 'off', mode: 'disable' }],
    ['allow: plain first, as libpq', 'sslmode=allow', { state: 'off', mode: 'allow' }],
    ['prefer: encrypted, not verified (Prisma 6, libpq)', 'sslmode=prefer', { state: 'on', mode: 'prefer', verify: 'none', caFile: null }],
    ['require: encrypted, not verified (Prisma 6, libpq)', 'sslmode=require', { state: 'on', mode: 'require', verify: 'none' }],
    ['require + sslaccept=strict: verified against the system CAs', 'sslmode=require&sslaccept=strict', { verify: 'full', caFile: null }],
    [
      'Prisma 6 strict form: sslcert is the server CA',
      'sslmode=require&sslaccept=strict&sslcert=/ca.pem',
      { verify: 'full', caFile: '/ca.pem', caParam: 'sslcert', clientCertFile: null },
    ],
    [
      'Prisma 6 sslcert without strict: CA loaded, not verified (accept_invalid_certs default)',
      'sslmode=require&sslcert=/ca.pem',
      { verify: 'none', caFile: '/ca.pem', caParam: 'sslcert' },
    ],
    [
      'Prisma 6: sslaccept alone means TLS (its default sslmode was prefer)',
      'sslaccept=strict',
      { state: 'on', mode: 'prefer', verify: 'full' },
    ],
    ['accept_invalid_certs said out loud', 'sslmode=require&sslaccept=accept_invalid_certs', { verify: 'none' }],
    [
      'libpq: require + sslrootcert = verify-ca',
      'sslmode=require&sslrootcert=/root.crt',
      { verify: 'ca', caFile: '/root.crt', caParam: 'sslrootcert' },
    ],
    ['libpq verify-ca', 'sslmode=verify-ca&sslrootcert=/root.crt', { mode: 'verify-ca', verify: 'ca', caFile: '/root.crt' }],
    ['libpq verify-full with the system CAs', 'sslmode=verify-full', { mode: 'verify-full', verify: 'full', caFile: null }],
    ['libpq verify-full with a CA file', 'sslmode=verify-full&sslrootcert=/root.crt', { verify: 'full', caFile: '/root.crt' }],
    ['libpq 16 sslrootcert=system: verify-full on the system CAs', 'sslmode=require&sslrootcert=system', { verify: 'full', caFile: null }],
    ['node-postgres no-verify', 'sslmode=no-verify', { state: 'on', mode: 'no-verify', verify: 'none' }],
    ['node-postgres ssl=true is verify-full', 'ssl=true', { mode: 'verify-full', verify: 'full' }],
    ['node-postgres ssl=0 is plain', 'ssl=0', { state: 'off', mode: 'disable' }],
    [
      'libpq client certificate: sslcert + sslkey',
      'sslmode=verify-full&sslrootcert=/root.crt&sslcert=/client.crt&sslkey=/client.key',
      { clientCertFile: '/client.crt', clientKeyFile: '/client.key', caFile: '/root.crt', caParam: 'sslrootcert' },
    ],
    [
      'Prisma 6 PKCS#12 identity',
      'sslmode=require&sslidentity=/id.p12&sslpassword=s3cret',
      { identityFile: '/id.p12', hasPassword: true, verify: 'none' },
    ],
    ['uselibpqcompat is accepted (the meanings are libpq already)', 'sslmode=require&uselibpqcompat=true', { verify: 'none' }],
    ['sslnegotiation=direct', 'sslmode=require&sslnegotiation=direct', { negotiation: 'direct' }],
  ])('%s', (_name, query, expected) => {
    const tls = tlsOf(query);
    expect(tls).toMatchObject(expected);
    expect(Object.isFrozen(tls)).toBe(true);
  });

  it('gives the one debug hint exactly for encrypted-but-unverified URLs', () => {
    for (const query of ['', 'sslmode=require', 'sslmode=prefer', 'sslmode=no-verify', 'sslmode=require&sslcert=/ca.pem']) {
      expect(tlsOf(query).verifyHint, query).toMatch(
        /does not verify the server certificate.*sslaccept=strict.*sslrootcert=<CA file>.*verify-full/,
      );
    }
    for (const query of [
      'sslmode=disable',
      'sslmode=verify-full',
      'sslmode=require&sslaccept=strict',
      'sslmode=verify-ca&sslrootcert=/r',
    ]) {
      expect(tlsOf(query).verifyHint, query).toBeNull();
    }
  });

  it('says where the mode of a URL without sslmode came from: PGSSLMODE wins, then a TLS-only provider, then Prisma 6', () => {
    const parsed = parseDatabaseUrl(BASE);
    expect(parseTlsOptions(parsed, 'DATABASE_URL', { pgsslmode: 'disable', tlsOnlyProvider: 'Neon' })).toMatchObject({
      state: 'off',
      mode: 'disable',
      modeSource: 'PGSSLMODE',
    });
    expect(parseTlsOptions(parsed, 'DATABASE_URL', { pgsslmode: 'verify-full' })).toMatchObject({ mode: 'verify-full', verify: 'full' });
    expect(parseTlsOptions(parsed, 'DATABASE_URL', { pgsslmode: '', tlsOnlyProvider: 'Neon' })).toMatchObject({
      state: 'on',
      mode: 'require',
      modeSource: 'provider',
      verify: 'none',
    });
    const fallback = parseTlsOptions(parsed);
    expect(fallback.summary).toMatch(/^no sslmode in the URL, Prisma 6's default: sslmode=prefer: encrypted when the server offers TLS/);
    expect(fallback.verifyHint).toMatch(/sslmode=disable for plain TCP$/);
    // A URL's own sslmode beats PGSSLMODE, as in libpq.
    expect(parseTlsOptions(parseDatabaseUrl(`${BASE}?sslmode=require`), 'DATABASE_URL', { pgsslmode: 'disable' })).toMatchObject({
      mode: 'require',
      modeSource: 'url',
    });
    expect(() => parseTlsOptions(parsed, 'DATABASE_URL', { pgsslmode: 'on' })).toThrow(/^PGSSLMODE: must be one of/);
  });

  it('gives Neon URLs without sslmode require (Neon accepts TLS only), others prefer', () => {
    expect(resolvePoolConfig({ DATABASE_URL: 'postgres://a:pw@ep-x-123.us-east-2.aws.neon.tech/db' }).tls).toMatchObject({
      mode: 'require',
      modeSource: 'provider',
    });
    expect(resolvePoolConfig({ DATABASE_URL: 'postgres://a:pw@aws-0-eu-west-1.pooler.supabase.com:6543/db' }).tls).toMatchObject({
      mode: 'prefer',
      modeSource: 'default',
    });
    expect(resolvePoolConfig({ DATABASE_URL: BASE, PGSSLMODE: 'disable' }).tls).toMatchObject({ state: 'off', modeSource: 'PGSSLMODE' });
  });

  it.each([
    ['sslmode=required', 'DATABASE_URL (sslmode)'],
    ['ssl=yes', 'DATABASE_URL (ssl)'],
    ['sslaccept=maybe', 'DATABASE_URL (sslaccept)'],
    ['sslmode=verify-ca', 'DATABASE_URL (sslmode)'],
    ['sslmode=verify-full&sslaccept=accept_invalid_certs', 'DATABASE_URL (sslaccept)'],
    ['sslmode=no-verify&sslaccept=strict', 'DATABASE_URL (sslaccept)'],
    ['sslmode=require&sslcert=/ca.pem&sslrootcert=/root.crt', 'DATABASE_URL (sslcert)'],
    ['sslmode=require&sslkey=/k', 'DATABASE_URL (sslkey)'],
    ['sslmode=require&sslrootcert=', 'DATABASE_URL (sslrootcert)'],
    ['sslmode=disable&sslnegotiation=direct', 'DATABASE_URL (sslnegotiation)'],
    ['sslnegotiation=sideways&sslmode=require', 'DATABASE_URL (sslnegotiation)'],
  ])('%s is a ConfigError naming %s', (query, variable) => {
    let error: unknown;
    try {
      tlsOf(query);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
  });

  it('keeps sslpassword out of JSON, util.inspect, the summary, spreads — and out of resolvePoolConfig', () => {
    const secret = 'Pkcs12-S3cret';
    const tls = tlsOf(`sslmode=require&sslidentity=/id.p12&sslpassword=${secret}`);
    expect(tls.password).toBe(secret);
    for (const text of [JSON.stringify(tls), inspect(tls, { depth: null }), tls.summary, JSON.stringify({ ...tls })]) {
      expect(text).not.toContain(secret);
    }
    const config = resolvePoolConfig({ DATABASE_URL: `${BASE}?sslmode=require&sslidentity=/id.p12&sslpassword=${secret}`, VERCEL: '1' });
    expect(config.tls.password).toBe(secret);
    expect(JSON.stringify(config)).not.toContain(secret);
    expect(inspect(config, { depth: null })).not.toContain(secret);
  });
});

describe('describeTlsFailure', () => {
  it.each<[TlsProblem, string, RegExp]>([
    ['certificate-not-verified', 'sslmode=require&sslaccept=strict', /sslrootcert=<CA file> \(Prisma 6: sslcert=<CA file>\)/],
    ['certificate-not-verified', 'sslmode=verify-full&sslrootcert=/wrong.crt', /not signed by the CA in sslrootcert: point sslrootcert at/],
    ['certificate-not-verified', 'sslmode=require&sslaccept=strict&sslcert=/ca.pem', /CA in sslcert: point sslcert at/],
    ['hostname-mismatch', 'sslmode=verify-full', /sslmode=verify-ca/],
    ['server-requires-tls', 'sslmode=disable', /URL has sslmode=disable: set sslmode=require/],
    ['server-requires-tls', '', /URL sets no sslmode \(so sslmode=prefer\): set sslmode=require/],
    ['server-without-tls', 'sslmode=require', /does not offer TLS and the URL has sslmode=require: use sslmode=disable/],
    ['client-certificate-required', 'sslmode=require', /sslidentity=<PKCS#12 file> and sslpassword/],
    ['handshake', 'sslmode=require', /check sslmode and sslnegotiation/],
  ])('%s with %s names the parameter to change', (problem, query, expected) => {
    const message = describeTlsFailure(problem, tlsOf(query), 'DATABASE_URL');
    expect(message).toMatch(/^DATABASE_URL: TLS/);
    expect(message).toMatch(expected);
  });

  it('never contains the password or sslpassword', () => {
    const tls = parseTlsOptions(parseDatabaseUrl('postgres://app:UserPw1@h/d?sslmode=require&sslidentity=/id.p12&sslpassword=IdPw2'));
    for (const problem of [
      'certificate-not-verified',
      'hostname-mismatch',
      'server-requires-tls',
      'server-without-tls',
      'client-certificate-required',
      'handshake',
    ] as const) {
      const message = describeTlsFailure(problem, tls);
      expect(message).not.toContain('UserPw1');
      expect(message).not.toContain('IdPw2');
    }
  });
});

describe("resolvePoolConfig validates every URL's TLS parameters at the boundary", () => {
  it.each([
    ['DATABASE_URL', { DATABASE_URL: `${BASE}?sslmode=bogus` }],
    ['DATABASE_URL_READ', { DATABASE_URL: BASE, DATABASE_URL_READ: `${BASE}?sslmode=bogus` }],
    ['PGBOUNCER_ADMIN_URL', { DATABASE_URL: BASE, PGBOUNCER_ADMIN_URL: `${BASE}?sslmode=bogus` }],
  ])('%s', (variable, env) => {
    let error: unknown;
    try {
      resolvePoolConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(`${variable} (sslmode)`);
  });
});
