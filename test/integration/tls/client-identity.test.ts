/**
 * Client certificates on a PgBouncer that demands one (`client_tls_sslmode = verify-ca`, private
 * CA generated at start): Prisma 6's PKCS#12 identity (`sslidentity` + `sslpassword`) and libpq's
 * `sslcert` + `sslkey` connect; without one the call fails classified `tls`, not retried, naming
 * `sslidentity`; a wrong `sslpassword` is a ConfigError at pool creation that never shows it.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rewriteDatabaseUrl } from '~/config/database-url.ts';
import { classifyError } from '~/errors/classify-error.ts';
import { ConfigError, TlsError } from '~/errors/errors.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const shared = inject('stack');
let stack: LocalStack;
const managers: TestManager[] = [];

beforeAll(async () => {
  stack = await startStack({ tls: { clientCertificate: 'required' }, migrate: false });
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await stack?.stop();
});

/** The pooler URL with exactly these TLS parameters. */
function url(params: Record<string, string>): string {
  const none = { sslmode: null, sslrootcert: null, sslcert: null, sslkey: null };
  return rewriteDatabaseUrl(rewriteDatabaseUrl(stack.poolerUrl, { params: none }), { params });
}

function manager(databaseUrl: string): TestManager {
  const m = testManager(shared, { DATABASE_URL: databaseUrl });
  managers.push(m);
  return m;
}

describe('client certificates on a PgBouncer that requires one', () => {
  it('Prisma 6 sslidentity + sslpassword (PKCS#12) connects, with the CA verified', async () => {
    const tls = stack.tls;
    if (!tls) throw new Error('stack started without tls');
    const m = manager(
      url({
        sslmode: 'require',
        sslaccept: 'strict',
        sslcert: tls.caFile,
        sslidentity: tls.clientIdentityFile,
        sslpassword: tls.clientIdentityPassword,
      }),
    );
    expect(await m.withPooling((tx) => tx.$queryRaw`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
    expect((await m.getHealth()).checks.database.error).toBeUndefined();
    expect(JSON.stringify(m.config)).not.toContain(tls.clientIdentityPassword);
    // The password lives inside the TLS context only: not in the pool's or a client's options.
    expect(inspect(m.pool, { depth: 6 })).not.toContain(tls.clientIdentityPassword);
    expect(m.config.tls).toMatchObject({ identityFile: tls.clientIdentityFile, hasPassword: true, verify: 'full' });
  });

  it('libpq sslcert + sslkey connects', async () => {
    const tls = stack.tls;
    if (!tls) throw new Error('stack started without tls');
    const m = manager(url({ sslmode: 'verify-full', sslrootcert: tls.caFile, sslcert: tls.clientCertFile, sslkey: tls.clientKeyFile }));
    expect(await m.withPooling((tx) => tx.$queryRaw`SELECT 1 AS ok`)).toEqual([{ ok: 1 }]);
  });

  it('without a client certificate: TlsError naming sslidentity, classified tls, not retried', async () => {
    const m = manager(url({ sslmode: 'require' }));
    let calls = 0;
    const error = await m
      .withPooling(async () => {
        calls++;
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(TlsError);
    expect((error as TlsError).problem).toBe('client-certificate-required');
    expect((error as Error).message).toMatch(/sslidentity=<PKCS#12 file> and sslpassword/);
    expect(classifyError(error)).toMatchObject({ kind: 'tls', retryable: false });
    expect(calls).toBe(0);
    expect(m.getMetrics().retries).toBe(0);
  });

  it('a wrong sslpassword is a ConfigError naming sslidentity, without the password, before any connection', async () => {
    const tls = stack.tls;
    if (!tls) throw new Error('stack started without tls');
    const wrong = 'Wr0ng-Passw0rd';
    const m = manager(url({ sslmode: 'require', sslidentity: tls.clientIdentityFile, sslpassword: wrong }));
    const error = await m
      .withPooling(async () => 1)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('DATABASE_URL (sslidentity)');
    expect((error as Error).message).toMatch(/wrong sslpassword/);
    expect((error as Error).message).not.toContain(wrong);
    expect(classifyError(error)).toMatchObject({ kind: 'config', retryable: false });
  });

  it('a CA file that does not exist is a ConfigError naming the parameter', async () => {
    const m = manager(url({ sslmode: 'verify-full', sslrootcert: '/nonexistent/ca.crt' }));
    const error = await m
      .withPooling(async () => 1)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('DATABASE_URL (sslrootcert)');
    expect((error as Error).message).toMatch(/ENOENT/);
  });
});
