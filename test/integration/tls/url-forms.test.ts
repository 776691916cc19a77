/**
 * Every row of the TLS table (docs/tls-and-providers.md) on a PgBouncer that requires client TLS
 * with a private CA generated at start — what a managed provider looks like to a client. Each URL
 * form either connects (a Prisma transaction through the manager, and a healthy health check:
 * the health probe builds its client with the same settings) or fails with a `TlsError`
 * classified `tls`, not retried, whose message names the URL parameter to change and never the
 * password. The encrypted-but-unverified forms log exactly one debug line saying how to verify.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rewriteDatabaseUrl } from '~/config/database-url.ts';
import { classifyError } from '~/errors/classify-error.ts';
import { TlsError, type TlsProblem } from '~/errors/errors.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { debugCapture } from '../../support/debug-logs.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const shared = inject('stack');
let stack: LocalStack;
const managers: TestManager[] = [];
const capture = debugCapture('ConnectionPoolManager');
const { lines } = capture;
/** Time from the call to the TlsError, ms: logged, never asserted (the machine is shared). */
const failTimes: string[] = [];

beforeAll(async () => {
  stack = await startStack({ tls: true, migrate: false });
  capture.start();
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  capture.stop();
  await stack?.stop();
  if (failTimes.length > 0) console.info(`TLS failures, call → TlsError (shared machine): ${failTimes.join(', ')}`);
});

type Host = 'ip' | 'localhost';
interface Row {
  /** TLS parameters (values unencoded; file names come from the stack). */
  params: (tls: NonNullable<LocalStack['tls']>) => Record<string, string>;
  /** The server certificate names 127.0.0.1 only: `localhost` is a real host name mismatch. */
  host?: Host;
  /** The plain shared stack (no TLS at all) instead of the TLS one. */
  plainServer?: boolean;
  expect: 'connects' | { problem: TlsProblem; names: RegExp };
  /** Encrypted but not verified: one debug line says how to verify. */
  hint?: boolean;
  /** More environment for the manager (PGSSLMODE). */
  env?: Record<string, string>;
}

/** The stack's pooler URL without its own TLS parameters, with `params` set. */
function urlFor(row: Row): string {
  const base = row.plainServer ? shared.poolerUrl : stack.poolerUrl;
  const stripped = rewriteDatabaseUrl(base, { params: { sslmode: null, sslrootcert: null } });
  const withHost = row.host === 'localhost' ? stripped.replace('@127.0.0.1:', '@localhost:') : stripped;
  return rewriteDatabaseUrl(withHost, { params: stack.tls ? row.params(stack.tls) : {} });
}

const rows: [string, Row][] = [
  ['sslmode=prefer: encrypted, not verified (Prisma 6 / libpq)', { params: () => ({ sslmode: 'prefer' }), expect: 'connects', hint: true }],
  [
    'sslmode=require: encrypted, not verified (Prisma 6 / libpq)',
    { params: () => ({ sslmode: 'require' }), expect: 'connects', hint: true },
  ],
  [
    'sslmode=require&sslaccept=strict without a CA: the private CA is not trusted',
    {
      params: () => ({ sslmode: 'require', sslaccept: 'strict' }),
      expect: { problem: 'certificate-not-verified', names: /sslrootcert=<CA file>/ },
    },
  ],
  [
    "Prisma 6's strict form: sslaccept=strict&sslcert=<CA> verifies against the server's CA",
    { params: (t) => ({ sslmode: 'require', sslaccept: 'strict', sslcert: t.caFile }), expect: 'connects' },
  ],
  [
    'Prisma 6 strict form on a host the certificate does not name: host name mismatch',
    {
      params: (t) => ({ sslmode: 'require', sslaccept: 'strict', sslcert: t.caFile }),
      host: 'localhost',
      expect: { problem: 'hostname-mismatch', names: /sslmode=verify-ca/ },
    },
  ],
  [
    'Prisma 6 sslcert=<CA> without strict: not verified, connects',
    { params: (t) => ({ sslmode: 'require', sslcert: t.caFile }), expect: 'connects', hint: true },
  ],
  [
    'libpq require + sslrootcert = verify-ca: chain checked, host name not (connects on localhost)',
    { params: (t) => ({ sslmode: 'require', sslrootcert: t.caFile }), host: 'localhost', expect: 'connects' },
  ],
  [
    'libpq require + sslrootcert naming another CA: not verified',
    {
      params: (t) => ({ sslmode: 'require', sslrootcert: t.otherCaFile }),
      expect: { problem: 'certificate-not-verified', names: /CA in sslrootcert: point sslrootcert at/ },
    },
  ],
  [
    'libpq verify-ca: connects on a host the certificate does not name',
    { params: (t) => ({ sslmode: 'verify-ca', sslrootcert: t.caFile }), host: 'localhost', expect: 'connects' },
  ],
  ['libpq verify-full with the CA', { params: (t) => ({ sslmode: 'verify-full', sslrootcert: t.caFile }), expect: 'connects' }],
  [
    'libpq verify-full with the CA, wrong host name',
    {
      params: (t) => ({ sslmode: 'verify-full', sslrootcert: t.caFile }),
      host: 'localhost',
      expect: { problem: 'hostname-mismatch', names: /verify-ca/ },
    },
  ],
  [
    'libpq verify-full against the system CAs: the private CA is not among them',
    { params: () => ({ sslmode: 'verify-full' }), expect: { problem: 'certificate-not-verified', names: /sslrootcert=<CA file>/ } },
  ],
  ['node-postgres no-verify', { params: () => ({ sslmode: 'no-verify' }), expect: 'connects', hint: true }],
  [
    'uselibpqcompat=true&sslmode=require',
    { params: () => ({ uselibpqcompat: 'true', sslmode: 'require' }), expect: 'connects', hint: true },
  ],
  [
    'sslmode=disable against a TLS-only pooler: server requires TLS',
    { params: () => ({ sslmode: 'disable' }), expect: { problem: 'server-requires-tls', names: /sslmode=disable: set sslmode=require/ } },
  ],
  [
    "no TLS parameter against a TLS-only pooler: Prisma 6's default (prefer, not verified) encrypts",
    { params: () => ({}), expect: 'connects', hint: true },
  ],
  [
    'no TLS parameter and PGSSLMODE=disable against a TLS-only pooler: server requires TLS',
    {
      params: () => ({}),
      env: { PGSSLMODE: 'disable' },
      expect: { problem: 'server-requires-tls', names: /PGSSLMODE=disable \(the URL sets no sslmode\): set sslmode=require/ },
    },
  ],
  [
    'no TLS parameter and PGSSLMODE=require against a TLS-only pooler',
    { params: () => ({}), env: { PGSSLMODE: 'require' }, expect: 'connects', hint: true },
  ],
  [
    'Prisma 6 PKCS#12 identity (sslidentity + sslpassword)',
    {
      params: (t) => ({ sslmode: 'require', sslidentity: t.clientIdentityFile, sslpassword: t.clientIdentityPassword }),
      expect: 'connects',
      hint: true,
    },
  ],
  [
    'sslmode=require against a server without TLS: server does not offer TLS',
    {
      params: () => ({ sslmode: 'require' }),
      plainServer: true,
      expect: { problem: 'server-without-tls', names: /sslmode=require: use sslmode=disable/ },
      hint: true,
    },
  ],
  [
    'sslmode=prefer against a server without TLS: plain TCP, as libpq',
    { params: () => ({ sslmode: 'prefer' }), plainServer: true, expect: 'connects', hint: true },
  ],
  [
    "no TLS parameter against a server without TLS: Prisma 6's default falls back to plain TCP",
    { params: () => ({}), plainServer: true, expect: 'connects', hint: true },
  ],
  [
    'sslmode=disable against a server without TLS (control)',
    { params: () => ({ sslmode: 'disable' }), plainServer: true, expect: 'connects' },
  ],
];

describe('TLS URL forms on a TLS-only PgBouncer with a private CA', () => {
  it.each(rows)('%s', async (name, row) => {
    const url = urlFor(row);
    const password = decodeURIComponent(new URL(url).password);
    const identityPassword = stack.tls?.clientIdentityPassword ?? '';
    const manager = testManager(shared, { DATABASE_URL: url, ...row.env });
    managers.push(manager);
    const before = lines.length;
    let calls = 0;
    const started = performance.now();
    const outcome = await manager
      .withPooling(async (tx) => {
        calls++;
        return tx.$queryRaw<{ ok: number }[]>`SELECT 1 AS ok`;
      })
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const elapsed = performance.now() - started;
    const health = await manager.getHealth();
    const logged = lines.slice(before).filter((l) => l.includes('ConnectionPoolManager tls:'));

    if (row.expect === 'connects') {
      expect(outcome.ok ? outcome.value : outcome.error).toEqual([{ ok: 1 }]);
      // The probe connected (no error); `degraded` only means it took over 1 s on a busy shared machine.
      expect(health.checks.database.error).toBeUndefined();
      expect(['healthy', 'degraded']).toContain(health.checks.database.status);
    } else {
      expect(outcome.ok).toBe(false);
      const error = outcome.ok ? null : outcome.error;
      expect(error).toBeInstanceOf(TlsError);
      expect((error as TlsError).problem).toBe(row.expect.problem);
      expect(classifyError(error)).toMatchObject({ kind: 'tls', retryable: false });
      // Failed at connect: the callback never ran, and nothing was retried.
      expect(calls).toBe(0);
      expect(manager.getMetrics()).toMatchObject({ retries: 0, failedQueries: 1, errorsByKind: { tls: 1 } });
      const message = (error as Error).message;
      expect(message).toMatch(/^DATABASE_URL: TLS/);
      expect(message).toMatch(row.expect.names);
      expect(message).not.toContain(password);
      expect(health.checks.database).toMatchObject({ status: 'unhealthy', error: 'tls' });
      failTimes.push(`${name.split(':')[0]} ${elapsed.toFixed(0)} ms`);
    }
    expect(logged).toHaveLength(row.hint ? 1 : 0);
    if (row.hint) expect(logged[0]).toMatch(/does not verify the server certificate .* sslaccept=strict .* sslrootcert=<CA file>/);
    for (const line of lines.slice(before)) {
      expect(line).not.toContain(password);
      expect(line).not.toContain(identityPassword);
    }
  });
});
