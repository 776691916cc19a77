/**
 * A URL on 5432 for a host the package knows nothing about is moved to 6543 by convention; when
 * nothing listens there, the error a call ends with says the port was chosen by the package and
 * names the variable, through the real pg, @prisma/adapter-pg and Prisma client (whose error
 * conversion passes this error through unchanged: the assumption this test pins).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { RewrittenPortRefusedError } from '~/errors/errors.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(() => Promise.all(managers.map((m) => m.disconnect())));

// 127.0.0.9 is loopback on Linux; the stack binds 127.0.0.1 only, so nothing listens on 127.0.0.9:6543.
const HOST = '127.0.0.9';

describe('a refused connection on a port the package rewrote', () => {
  it('names the rewrite and the variable, keeps ECONNREFUSED for classification, and never shows the password', async () => {
    const manager = testManager(stack, { DATABASE_URL: `postgresql://app:Sup3rS3cret@${HOST}:5432/app`, USE_TRANSACTION_MODE: 'true' });
    managers.push(manager);
    expect(manager.config.portRewrite).toMatchObject({ variable: 'DATABASE_URL', from: 5432, to: 6543 });
    const error = await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RewrittenPortRefusedError);
    const message = (error as Error).message;
    expect(message).toMatch(
      new RegExp(`^DATABASE_URL: connection refused on ${HOST.replace(/\./g, '\\.')}:6543, a port this package chose \\(5432 → 6543\\)`),
    );
    expect(message).toMatch(/put the pooler's own port in DATABASE_URL/);
    expect(message).not.toContain('Sup3rS3cret');
    expect(classifyError(error)).toMatchObject({ kind: 'connection', code: 'ECONNREFUSED' });
  });

  it('a port the URL named itself gets the plain error', async () => {
    const manager = testManager(stack, { DATABASE_URL: `postgresql://app:pw@${HOST}:6543/app`, USE_TRANSACTION_MODE: 'true' });
    managers.push(manager);
    expect(manager.config.portRewrite).toBeNull();
    const error = await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(RewrittenPortRefusedError);
    expect(classifyError(error).kind).toBe('connection');
  });
});
