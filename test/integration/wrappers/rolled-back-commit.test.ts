/**
 * A statement fails inside the transaction, `fn` catches its error and returns: Postgres has
 * aborted the transaction and answers COMMIT with ROLLBACK. Prisma alone reports that as a
 * success (the control case below); through our adapter the call fails, classified
 * `transaction-closed`, not retried, and nothing was written.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { sql, testManager } from '../../support/managers.ts';
import { bareClient } from '../../support/prisma.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker();
const bare = bareClient(stack.poolerUrl);
afterAll(() => bare.close());

const usersWith = (email: string) => sql<{ id: string }>(stack.directUrl, 'SELECT id FROM "User" WHERE email = $1', [email]);

describe('a failed statement swallowed inside fn', () => {
  it('control: stock Prisma + adapter-pg resolves although nothing was committed', async () => {
    const email = `swallowed-stock-${randomUUID()}@example.test`;
    const value = await bare.prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email } });
      await tx.$executeRawUnsafe('SELECT 1/0').catch(() => {});
      return 'reported as done';
    });
    expect(value).toBe('reported as done');
    expect(await usersWith(email)).toEqual([]);
  });

  it.each(['withPooling', 'writeWithPooling', 'batchWithPooling'] as const)(
    '%s rejects at COMMIT: transaction-closed, not retried, nothing written',
    async (wrapper) => {
      const manager = track(testManager(stack));
      const email = `swallowed-${wrapper}-${randomUUID()}@example.test`;
      let runs = 0;
      const fn = async (tx: Parameters<Parameters<typeof manager.withPooling>[0]>[0]) => {
        runs++;
        await tx.user.create({ data: { email } });
        await tx.$executeRawUnsafe('SELECT 1/0').catch(() => {});
        return 'done';
      };
      const call = wrapper === 'batchWithPooling' ? manager.batchWithPooling([fn]) : manager[wrapper](fn);
      const error = await call.then(
        () => null,
        (e: unknown) => e,
      );
      expect(classifyError(error)).toMatchObject({ kind: 'transaction-closed', retryable: false });
      expect(String((error as Error)?.message)).toContain('COMMIT answered ROLLBACK');
      expect(runs).toBe(1);
      expect(manager.getMetrics()).toMatchObject({ retries: 0, failedQueries: 1, errorsByKind: { 'transaction-closed': 1 } });
      expect(await usersWith(email)).toEqual([]);
    },
  );
});
