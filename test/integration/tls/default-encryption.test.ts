/**
 * A URL without `sslmode` means what it meant on Prisma 6 (`prefer`, certificate not verified): on a
 * PgBouncer that offers TLS but also accepts plain TCP (`client_tls_sslmode = prefer`), the pool's
 * connections are encrypted — PgBouncer's `SHOW CLIENTS` names the TLS version of each — and
 * `PGSSLMODE=disable` still turns TLS off. One debug line says the certificate is not verified, and
 * no process warning does (the URL asked for nothing; an explicit `sslmode=require` gets one).
 * The TLS-only and the plain server are covered by url-forms.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rewriteDatabaseUrl } from '~/config/database-url.ts';
import { queryOnce } from '../../../tools/lib/pg.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { debugCapture } from '../../support/debug-logs.ts';
import { testManager } from '../../support/managers.ts';

let stack: LocalStack;
const capture = debugCapture('ConnectionPoolManager');

beforeAll(async () => {
  stack = await startStack({ tls: { plainAllowed: true }, migrate: false });
  capture.start();
});
afterAll(async () => {
  capture.stop();
  await stack?.stop();
});

/** The `tls` column of the app user's client connections ('' = plain TCP). */
const appClientsTls = async (): Promise<string[]> => {
  const rows = await queryOnce<{ user: string; tls: string }>(stack.adminUrl, 'SHOW CLIENTS');
  return rows.filter((r) => r.user === 'app').map((r) => r.tls);
};

/** Waits (bounded by the test's timeout) until PgBouncer has forgotten a closed pool's clients. */
const noAppClients = async (): Promise<void> => {
  while ((await appClientsTls()).length > 0) await new Promise((r) => setTimeout(r, 50));
};

const urlWithoutSslmode = () => rewriteDatabaseUrl(stack.poolerUrl, { params: { sslmode: null, sslrootcert: null } });

describe('no sslmode in the URL (Prisma 6 default)', () => {
  it('is encrypted against a server that offers TLS, with one debug line saying it is not verified', async () => {
    const url = urlWithoutSslmode();
    expect(url).not.toMatch(/ssl/);
    const before = capture.lines.length;
    const manager = testManager(stack, { DATABASE_URL: url });
    try {
      expect(manager.config.tls).toMatchObject({ state: 'on', mode: 'prefer', modeSource: 'default', verify: 'none' });
      await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
      const tlsColumns = await appClientsTls();
      expect(tlsColumns.length).toBeGreaterThan(0);
      for (const tls of tlsColumns) expect(tls).toMatch(/^TLSv1\.[23]/);
    } finally {
      await manager.disconnect();
    }
    const hints = capture.lines.slice(before).filter((l) => l.includes('ConnectionPoolManager tls:'));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatch(/no sslmode in the URL, Prisma 6's default: sslmode=prefer encrypts but does not verify/);
  });

  it('is said in the debug log only; an explicit sslmode=require also gets a process warning', async () => {
    const warnings: string[] = [];
    const listener = (warning: Error & { code?: string }) => warnings.push(`${warning.code}: ${warning.message}`);
    process.on('warning', listener);
    try {
      const url = urlWithoutSslmode();
      for (const databaseUrl of [url, rewriteDatabaseUrl(url, { params: { sslmode: 'require' } })]) {
        const manager = testManager(stack, { DATABASE_URL: databaseUrl });
        await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
        await manager.disconnect();
      }
      await new Promise((resolve) => setImmediate(resolve)); // process.emitWarning delivers on a later tick
    } finally {
      process.off('warning', listener);
    }
    const tls = warnings.filter((w) => w.startsWith('PGPOOL_TLS_UNVERIFIED'));
    expect(tls).toEqual([expect.stringMatching(/^PGPOOL_TLS_UNVERIFIED: DATABASE_URL: sslmode=require encrypts but does not verify/)]);
  });

  it('PGSSLMODE=disable still wins: plain TCP to the same server', async () => {
    await noAppClients();
    const url = urlWithoutSslmode();
    const manager = testManager(stack, { DATABASE_URL: url, PGSSLMODE: 'disable' });
    try {
      expect(manager.config.tls).toMatchObject({ state: 'off', mode: 'disable', modeSource: 'PGSSLMODE' });
      await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
      const tlsColumns = await appClientsTls();
      expect(tlsColumns.length).toBeGreaterThan(0);
      expect(tlsColumns.every((tls) => tls === '')).toBe(true);
    } finally {
      await manager.disconnect();
    }
  });
});
