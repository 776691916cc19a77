/**
 * A lost COMMIT answer, settled by the database (src/transaction/settle-outcome.ts), made
 * deterministic: on a stack of its own whose `app` role commits with `synchronous_commit =
 * remote_write` towards a standby that does not exist (`synchronous_standby_names = nobody`),
 * every write's COMMIT is written locally and then waits (`SyncRep`); terminating that backend
 * then loses COMMIT's answer of a transaction that DID commit ("the transaction has already
 * committed locally", PostgreSQL docs, Synchronous Replication). The caller must get its result,
 * not an error, and the row must exist once.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutcomeRecord, runWithOutcomeRecord } from '~/adapter/outcome-record.ts';
import { reconnect } from '../../../tools/stack/faults/index.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

let own: LocalStack;
const managers: TestManager[] = [];
const userId = `lc-${randomUUID()}`;

beforeAll(async () => {
  own = await startStack({ postgresSettings: { synchronous_standby_names: 'nobody', synchronous_commit: 'local' } });
  await sql(own.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@lc.test', 'lc')`, [userId]);
  await sql(own.superuserUrl, `ALTER ROLE app SET synchronous_commit = 'remote_write'`);
  // Server connections opened before the ALTER keep the old setting.
  await reconnect(own.adminUrl, 'app');
}, 60_000);
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await own?.stop();
});

function manager(options: Parameters<typeof testManager>[2] = {}): TestManager {
  const m = testManager(own, {}, options);
  managers.push(m);
  return m;
}

/** Terminates the first `app` backend found waiting for synchronous replication: its COMMIT is written, its answer lost. */
async function loseNextCommitAnswer(): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const [row] = await sql<{ done: boolean }>(
      own.superuserUrl,
      `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE usename = 'app' AND wait_event = 'SyncRep' LIMIT 1`,
    );
    if (row?.done) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no COMMIT waited for synchronous replication');
}

async function postsTitled(title: string): Promise<number> {
  const [row] = await sql<{ n: number }>(own.directUrl, `SELECT count(*)::int AS n FROM "Post" WHERE title = $1`, [title]);
  return row?.n ?? -1;
}

describe('a COMMIT that committed, its answer lost', () => {
  it('writeWithPooling returns its function’s result; the row exists once', async () => {
    const m = manager();
    const title = `wrapped-${randomUUID()}`;
    let attempts = 0;
    const call = m.writeWithPooling(async (tx) => {
      attempts++;
      return (await tx.post.create({ data: { userId, title } })).id;
    });
    await loseNextCommitAnswer();
    const id = await call;
    expect(typeof id).toBe('string');
    expect(attempts).toBe(1);
    expect(await postsTitled(title)).toBe(1);
    expect(m.getMetrics().lostCommits).toEqual({ committed: 1, aborted: 0, unknown: 0 });
    expect(m.getMetrics().outcomeUnknown).toBe(0);
  });

  it.each(['one-flight', 'confirmed'] as const)(
    'a plain create through prisma (%s) returns the created row; the row exists once',
    async (mode) => {
      const m = manager({ plainWriteCommit: mode });
      const title = `plain-${mode}-${randomUUID()}`;
      // Prisma's promises are lazy: `.then` starts the call.
      const call = m.prisma.post.create({ data: { userId, title } }).then((post) => post);
      await loseNextCommitAnswer();
      const post = await call;
      expect(post).toMatchObject({ userId, title });
      expect(await postsTitled(title)).toBe(1);
      expect(m.getMetrics().lostCommits.committed).toBe(1);
    },
  );

  it('a nested write (Prisma opens its own transaction) returns its result', async () => {
    const m = manager();
    const title = `nested-${randomUUID()}`;
    const email = `${randomUUID()}@lc.test`;
    const call = m.prisma.user
      .create({ data: { email, name: 'nested', posts: { create: [{ title }] } }, include: { posts: true } })
      .then((user) => user);
    await loseNextCommitAnswer();
    const user = await call;
    expect(user.posts).toHaveLength(1);
    expect(await postsTitled(title)).toBe(1);
  });

  it('with settling off (settleTimeoutMs: 0) the same loss is TransactionOutcomeUnknownError', async () => {
    const m = manager({ settleTimeoutMs: 0 });
    const title = `off-${randomUUID()}`;
    const call = m.writeWithPooling((tx) => tx.post.create({ data: { userId, title } })).catch((e: unknown) => e);
    await loseNextCommitAnswer();
    expect(((await call) as Error).name).toBe('TransactionOutcomeUnknownError');
    expect(await postsTitled(title)).toBe(1);
  });
});

it('the outcome record holds the transaction id the server assigned, before COMMIT', async () => {
  // A manager without the SyncRep wait would do as well; this one commits once the backend is terminated.
  const m = manager();
  const record = createOutcomeRecord({ settle: async () => 'unknown' });
  let seen = '';
  const call = runWithOutcomeRecord(record, async () => {
    await m.client.$transaction(async (tx) => {
      await tx.post.create({ data: { userId, title: `xid-${randomUUID()}` } });
      const [row] = await tx.$queryRaw<{ id: string }[]>`SELECT pg_current_xact_id()::text AS id`;
      seen = row?.id ?? '';
      expect(record.xid).toBe(seen);
      expect(record.commitSent).toBe(false);
    });
  }).catch((e: unknown) => e); // handled at once: it rejects while loseNextCommitAnswer is still returning
  await loseNextCommitAnswer();
  expect(((await call) as Error).name).toBe('DriverAdapterError');
  expect(seen).toMatch(/^\d+$/);
  expect(record.commitSent).toBe(true);
  expect(record.settled).toBe('unknown');
});
