/**
 * Found by the ledger soak (3-minute run): an idempotent call whose first attempt lost its
 * COMMIT answer (outcome unknown, retried) and whose last attempt then failed with a connection
 * error was reported as a plain connection failure, although the first attempt had committed.
 * Once any attempt's outcome is unknown, the call's final error must say so.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { dropNextFlight } from '../../support/drop-flight.ts';
import { sql, type TestManager, terminateBackend, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
let proxy: TcpProxy;
const userId = `ca-${randomUUID()}`;
beforeAll(async () => {
  proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
  await sql(stack.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@ca.test', 'ca')`, [userId]);
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await proxy?.close();
});

async function backendPid(tx: { $queryRaw: (q: TemplateStringsArray) => Promise<unknown> }): Promise<number> {
  const rows = (await tx.$queryRaw`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
  return rows[0].pid;
}

it('idempotent: outcome unknown on attempt 1, connection error on the last attempt → TransactionOutcomeUnknownError', async () => {
  // Settling off (settleTimeoutMs: 0): attempt 1's lost COMMIT stays unknown, as it does for what the database cannot tell.
  const manager = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { retry: { maxAttempts: 2 }, settleTimeoutMs: 0 });
  managers.push(manager);
  let attempts = 0;
  const error = await manager
    .writeWithPooling(
      async (tx) => {
        attempts++;
        const pid = await backendPid(tx);
        // Attempt 1 returns: its COMMIT is lost on the way. Attempt 2 fails before COMMIT.
        if (attempts === 1) dropNextFlight(proxy);
        else {
          await terminateBackend(stack.superuserUrl, pid);
          await tx.$queryRaw`SELECT 1`;
        }
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

it('settled: a COMMIT lost before it reached the server is "aborted" by the database, and the write runs again once', async () => {
  const manager = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) });
  managers.push(manager);
  const action = `aborted-${randomUUID()}`;
  let attempts = 0;
  const id = await manager.writeWithPooling(async (tx) => {
    attempts++;
    const row = await tx.activityLog.create({ data: { userId, action } });
    if (attempts === 1) dropNextFlight(proxy);
    return row.id;
  });
  expect(attempts).toBe(2);
  expect(typeof id).toBe('string');
  const rows = await sql(stack.directUrl, `SELECT id FROM "ActivityLog" WHERE action = $1`, [action]);
  expect(rows).toEqual([{ id }]);
  const metrics = manager.getMetrics();
  expect(metrics.lostCommits).toEqual({ committed: 0, aborted: 1, unknown: 0 });
  expect(metrics.outcomeUnknown).toBe(0);
});

it.each([
  ['confirmed', 'its COMMIT never left: retried, the row written once', 1],
  ['one-flight', 'its COMMIT left with it and no answer came: TransactionOutcomeUnknownError (nothing was written)', 0],
] as const)('plain write (%s), its one flight lost on the way: %s', async (plainWriteCommit, _what, rowsExpected) => {
  const manager = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { plainWriteCommit, pool: { connectionLimit: 1 } });
  managers.push(manager);
  const action = `plain-${plainWriteCommit}-${randomUUID()}`;
  // Warm: the connection exists, so the next flight is the write itself.
  await manager.prisma.user.findFirst();
  dropNextFlight(proxy);
  const outcome = await manager.prisma.activityLog.create({ data: { userId, action } }).then(
    (row) => row,
    (error: unknown) => error,
  );
  const rows = await sql(stack.directUrl, `SELECT id FROM "ActivityLog" WHERE action = $1`, [action]);
  expect(rows).toHaveLength(rowsExpected);
  if (rowsExpected === 1) expect(rows).toEqual([{ id: (outcome as { id: string }).id }]);
  else expect(outcome).toBeInstanceOf(TransactionOutcomeUnknownError);
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
