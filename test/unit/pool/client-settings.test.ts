/**
 * The one builder of pg client settings (pool and health probe), as data: no connection is opened.
 * The point it proves: once we set `ssl`, node-postgres cannot re-derive it from the URL.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { buildClientSettings, pgClientConfig } from '~/pool/client-settings.ts';

const BASE = 'postgresql://app:s3cr%40t@db.example.com:6543/app';
const dir = mkdtempSync(path.join(os.tmpdir(), 'client-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a pg.Client ends up with after ConnectionParameters merged the URL into the config. */
const clientSsl = (url: string) => (new pg.Client(pgClientConfig(buildClientSettings(url))) as unknown as { ssl: unknown }).ssl;

describe('buildClientSettings', () => {
  it('removes every TLS and Prisma-only parameter from the URL pg sees, and keeps the rest', () => {
    const url = `${BASE}?sslmode=require&sslaccept=accept_invalid_certs&uselibpqcompat=true&sslnegotiation=postgres&application_name=web&pgbouncer=true&connection_limit=3`;
    const settings = buildClientSettings(url);
    expect(settings.connectionString).toBe(`${BASE}?application_name=web`);
  });

  it.each([
    ['sslmode=require', { rejectUnauthorized: false }],
    ['sslmode=prefer', { rejectUnauthorized: false }],
    ['sslmode=no-verify', { rejectUnauthorized: false }],
    ['sslmode=verify-full', { rejectUnauthorized: true }],
    ['sslmode=require&sslaccept=strict', { rejectUnauthorized: true }],
  ])('%s: pg keeps our ssl (it cannot re-derive verify-full from the URL)', (query, expected) => {
    const ssl = clientSsl(`${BASE}?${query}`);
    expect(ssl).toMatchObject(expected);
    expect((ssl as { secureContext?: unknown }).secureContext).toBeDefined();
  });

  it('without files of its own, the TLS context is built at the first handshake, once (pg reads it through Object.assign)', () => {
    const settings = buildClientSettings(`${BASE}?sslmode=require`);
    const ssl = settings.ssl as tls.ConnectionOptions;
    const descriptor = Object.getOwnPropertyDescriptor(ssl, 'secureContext');
    expect(typeof descriptor?.get).toBe('function');
    // What pg's Connection#upgradeToSSL does with the option before tls.connect (pg/lib/connection.js).
    const copied: tls.ConnectionOptions = Object.assign({ host: 'db.example.com' }, ssl);
    expect(copied.secureContext).toBeInstanceOf(tls.createSecureContext().constructor);
    expect(Object.assign({}, ssl).secureContext).toBe(copied.secureContext);
  });

  it("sslmode=disable is plain TCP; no TLS parameter is Prisma 6's prefer without verification, PGSSLMODE wins", () => {
    expect(clientSsl(`${BASE}?sslmode=disable`)).toBe(false);
    expect(clientSsl(BASE)).toMatchObject({ rejectUnauthorized: false });
    expect(buildClientSettings(BASE, { env: {} }).tls).toMatchObject({ mode: 'prefer', modeSource: 'default' });
    expect(buildClientSettings(BASE, { env: { PGSSLMODE: 'disable' } }).ssl).toBe(false);
  });

  it('verify-ca checks the chain only: the host name check is off, rejectUnauthorized on', () => {
    const ca = path.join(dir, 'ca.pem');
    // Any PEM certificate will do for loading; this one is Node's first bundled root.
    writeFileSync(ca, tls.rootCertificates[0] ?? '');
    const ssl = buildClientSettings(`${BASE}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(ca)}`).ssl as tls.ConnectionOptions;
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.checkServerIdentity?.('other.example.com', {} as never)).toBeUndefined();
  });

  it('an unreadable CA file or an unloadable identity is a ConfigError naming the parameter', () => {
    const missing = path.join(dir, 'missing.pem');
    expect(() => buildClientSettings(`${BASE}?sslmode=verify-full&sslrootcert=${encodeURIComponent(missing)}`)).toThrow(ConfigError);
    const notPkcs12 = path.join(dir, 'not.p12');
    writeFileSync(notPkcs12, 'not a pkcs12 file');
    let error: unknown;
    try {
      buildClientSettings(`${BASE}?sslmode=require&sslidentity=${encodeURIComponent(notPkcs12)}&sslpassword=Secr3tPw`);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('DATABASE_URL (sslidentity)');
    expect((error as Error).message).not.toContain('Secr3tPw');
  });
});
