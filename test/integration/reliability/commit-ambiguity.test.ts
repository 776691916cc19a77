/**
 * Found by the ledger soak (3-minute run): an idempotent call whose first attempt lost its
 * COMMIT answer (outcome unknown, retried) and whose last attempt then failed with a connection
 * error was reported as a plain connection failure, although the first attempt had committed.
 * Once any attempt's outcome is unknown, the call's final error must say so.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { type TestManager, terminateBackend, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
});

async function backendPid(tx: { $queryRaw: (q: TemplateStringsArray) => Promise<unknown> }): Promise<number> {
  const rows = (await tx.$queryRaw`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
  return rows[0].pid;
}

it('idempotent: outcome unknown on attempt 1, connection error on the last attempt → TransactionOutcomeUnknownError', async () => {
  const manager = testManager(stack, {}, { retry: { maxAttempts: 2 } });
  managers.push(manager);
  let attempts = 0;
  const error = await manager
    .writeWithPooling(
      async (tx) => {
        attempts++;
        const pid = await backendPid(tx);
        await terminateBackend(stack.superuserUrl, pid);
        // Attempt 1 returns: its COMMIT fails, outcome unknown. Attempt 2 fails before COMMIT.
        if (attempts >= 2) await tx.$queryRaw`SELECT 1`;
        return randomUUID();
      },
      { idempotent: true },
    )
    .catch((e: unknown) => e);
  expect(attempts).toBe(2);
  expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
  expect(classifyError((error as Error).cause).kind).toBe('connection');
  const metrics = manager.getMetrics();
  expect(metrics.retriesByKind['outcome-unknown']).toBe(1);
  expect(metrics.errorsByKind['outcome-unknown']).toBe(1);
  expect(metrics.outcomeUnknown).toBe(1);
});

it('a call that never had an ambiguous attempt keeps its own error kind', async () => {
  const manager = testManager(stack, {}, { retry: { maxAttempts: 2 } });
  managers.push(manager);
  const error = await manager
    .writeWithPooling(
      async (tx) => {
        await terminateBackend(stack.superuserUrl, await backendPid(tx));
        await tx.$queryRaw`SELECT 1`;
      },
      { idempotent: true },
    )
    .catch((e: unknown) => e);
  expect(error).not.toBeInstanceOf(TransactionOutcomeUnknownError);
  expect(classifyError(error).kind).toBe('connection');
});
