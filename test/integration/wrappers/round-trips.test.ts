/**
 * Round-trip-minimal transactions (src/adapter/, docs/round-trips.md) through PgBouncer 1.18 in
 * transaction mode, with nothing weaker:
 * - round trips counted without a clock: a TCP proxy in front of PgBouncer counts request flights
 *   (statements written together count once), so the counts below are exact, not timings;
 * - the isolation level and READ ONLY inside `fn` are the ones asked for (SHOW), and Postgres
 *   still rejects a write in a read (25006) in both read modes;
 * - what per-statement reads change (their own snapshot and now() per statement) and what
 *   RepeatableRead keeps (one snapshot).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
let proxy: TcpProxy;
let manager: TestManager;
const userId = `rt-${randomUUID()}`;

beforeAll(async () => {
  // A small delay each way makes the count immune to scheduling: a reply cannot overtake the
  // rest of a pipeline that was written in one tick.
  proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort, mode: { delayMs: 2 } });
  manager = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { pool: { connectionLimit: 1 } });
  await sql(stack.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@rt.test', 'rt')`, [userId]);
  // Warm: the connection (and each client's first use) exists before anything is counted.
  await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  await manager.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
  await manager.prisma.$queryRaw`SELECT 1`;
});
afterAll(async () => {
  await manager?.disconnect();
  await proxy?.close();
});

async function flights(run: () => Promise<unknown>): Promise<number> {
  const before = proxy.flights();
  await run();
  return proxy.flights() - before;
}

describe('round trips (request flights through the proxy)', () => {
  it.each([
    ['bare model query (no transaction)', 1, () => manager.client.user.findUnique({ where: { id: userId } })],
    [
      'plain model read through manager.prisma (the same count as bare)',
      1,
      () => manager.prisma.user.findUnique({ where: { id: userId } }),
    ],
    [
      'plain model write through manager.prisma (its transaction id, then COMMIT once it answered: plainWriteCommit confirmed)',
      2,
      () => manager.prisma.user.update({ where: { id: userId }, data: { name: 'rt' } }),
    ],
    ['plain $queryRaw through manager.prisma (its own READ ONLY transaction, pipelined)', 1, () => manager.prisma.$queryRaw`SELECT 1`],
    [
      'raw $transaction, 1 query (adapter-pg would take BEGIN, query, COMMIT = 3)',
      2,
      () => manager.client.$transaction((tx) => tx.user.findUnique({ where: { id: userId } })),
    ],
    ['readWithPooling, 1 query', 1, () => manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: userId } }))],
    [
      'readWithPooling RepeatableRead, 2 queries',
      3,
      () =>
        manager.readWithPooling(
          async (tx) => [await tx.user.findUnique({ where: { id: userId } }), await tx.post.count({ where: { userId } })],
          { isolationLevel: 'RepeatableRead' },
        ),
    ],
    ['withPooling, 1 query', 2, () => manager.withPooling((tx) => tx.user.findUnique({ where: { id: userId } }))],
    [
      'writeWithPooling, update + create',
      3,
      () =>
        manager.writeWithPooling(async (tx) => {
          const user = await tx.user.update({ where: { id: userId }, data: { lastActive: new Date() } });
          return tx.activityLog.create({ data: { userId: user.id, action: 'rt' } });
        }),
    ],
    [
      'batchWithPooling, 3 ops',
      4,
      () =>
        manager.batchWithPooling([
          (tx) => tx.user.findUnique({ where: { id: userId } }),
          (tx) => tx.post.count({ where: { userId } }),
          (tx) => tx.activityLog.count({ where: { userId } }),
        ]),
    ],
    ['a transaction that runs no statement', 0, () => manager.withPooling(async () => 'nothing')],
  ] as const)('%s: %d', async (_name, expected, run) => {
    expect(await flights(run)).toBe(expected);
  });
});

describe('plain writes under each plainWriteCommit (their transaction id asked for in the same flight)', () => {
  const nested = (m: TestManager) =>
    flights(() =>
      m.prisma.user.update({ where: { id: userId }, data: { name: 'rt', posts: { create: { title: `rt-${randomUUID()}` } } } }),
    );
  const plain = (m: TestManager) => flights(() => m.prisma.user.update({ where: { id: userId }, data: { name: 'rt' } }));
  async function withManager<T>(options: Parameters<typeof testManager>[2], run: (m: TestManager) => Promise<T>): Promise<T> {
    const m = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { pool: { connectionLimit: 1 }, ...options });
    try {
      await m.prisma.user.findUnique({ where: { id: userId } }); // warm
      return await run(m);
    } finally {
      await m.disconnect();
    }
  }

  it.each([
    ['one-flight', 1],
    ['confirmed', 2],
  ] as const)('%s: a plain model write takes %d flight(s)', async (plainWriteCommit, expected) => {
    expect(await withManager({ plainWriteCommit }, plain)).toBe(expected);
  });

  it('settling off (settleTimeoutMs: 0): the bare statement, 1 flight', async () => {
    expect(await withManager({ settleTimeoutMs: 0 }, plain)).toBe(1);
  });

  it('a nested write (Prisma opens the transaction) takes as many flights with its id as without', async () => {
    const without = await withManager({ settleTimeoutMs: 0 }, nested);
    expect(await withManager({}, nested)).toBe(without);
    expect(without).toBeGreaterThanOrEqual(2);
  });
});

type Tx = { $queryRawUnsafe: <T>(q: string) => Promise<T> };
const show = async (tx: Tx, setting: string): Promise<string> =>
  ((await tx.$queryRawUnsafe<Record<string, string>[]>(`SHOW ${setting}`))[0] as Record<string, string>)[setting] as string;
const settings = async (tx: Tx) => ({
  isolation: await show(tx, 'transaction_isolation'),
  readOnly: await show(tx, 'transaction_read_only'),
});

describe('the settings inside fn are the ones asked for', () => {
  it.each([
    ['readWithPooling', undefined, { isolation: 'read committed', readOnly: 'on' }],
    ['readWithPooling', 'RepeatableRead', { isolation: 'repeatable read', readOnly: 'on' }],
    ['readWithPooling', 'Serializable', { isolation: 'serializable', readOnly: 'on' }],
    ['writeWithPooling', undefined, { isolation: 'serializable', readOnly: 'off' }],
    ['writeWithPooling', 'ReadCommitted', { isolation: 'read committed', readOnly: 'off' }],
    ['withPooling', undefined, { isolation: 'read committed', readOnly: 'off' }],
    ['withPooling', 'RepeatableRead', { isolation: 'repeatable read', readOnly: 'off' }],
  ] as const)('%s, isolationLevel %s → %o', async (wrapper, isolationLevel, expected) => {
    const seen = await manager[wrapper]((tx) => settings(tx as unknown as Tx), isolationLevel ? { isolationLevel } : {});
    expect(seen).toEqual(expected);
  });
});

describe('READ ONLY is still enforced by Postgres', () => {
  it.each([['ReadCommitted (per statement)'], ['RepeatableRead'], ['Serializable']] as const)(
    '%s: a write fails with 25006, not retried',
    async (label) => {
      const isolationLevel = label.split(' ')[0] as 'ReadCommitted' | 'RepeatableRead' | 'Serializable';
      let attempts = 0;
      const error = await manager
        .readWithPooling(
          async (tx) => {
            attempts++;
            await tx.user.findUnique({ where: { id: userId } }); // the write is not the first statement
            return tx.activityLog.create({ data: { userId, action: 'must not commit' } });
          },
          { isolationLevel },
        )
        .catch((e: unknown) => e);
      expect(classifyError(error)).toMatchObject({ kind: 'read-only', code: '25006' });
      expect(attempts).toBe(1);
      const rows = await sql(stack.directUrl, `SELECT 1 FROM "ActivityLog" WHERE "userId" = $1 AND action = 'must not commit'`, [userId]);
      expect(rows).toHaveLength(0);
    },
  );

  it('the connection is clean afterwards: the next transaction is writable and in its own level', async () => {
    await manager.readWithPooling((tx) => tx.$executeRawUnsafe('CREATE TEMP TABLE nope (x int)')).catch(() => {});
    const seen = await manager.writeWithPooling((tx) => settings(tx as unknown as Tx));
    expect(seen).toEqual({ isolation: 'serializable', readOnly: 'off' });
  });
});

describe('what per-statement reads change, and what RepeatableRead keeps', () => {
  const twoClocks = async (tx: Tx) => {
    const a = await tx.$queryRawUnsafe<{ t: Date; x: string }[]>(
      'SELECT now() AS t, txid_current_if_assigned()::text AS x, pg_backend_pid()::text AS pid',
    );
    const b = await tx.$queryRawUnsafe<{ t: Date; x: string }[]>(
      'SELECT now() AS t, txid_current_if_assigned()::text AS x, pg_backend_pid()::text AS pid',
    );
    return [a[0]?.t.getTime(), b[0]?.t.getTime()];
  };

  it('ReadCommitted reads: each statement is its own transaction, so now() moves between statements', async () => {
    const [first, second] = await manager.readWithPooling((tx) => twoClocks(tx as unknown as Tx));
    expect(second).toBeGreaterThan(first as number);
  });

  it('RepeatableRead reads: one transaction, one now(), one snapshot (a concurrent commit stays invisible)', async () => {
    const [first, second] = await manager.readWithPooling((tx) => twoClocks(tx as unknown as Tx), { isolationLevel: 'RepeatableRead' });
    expect(second).toBe(first);
    const name = await manager.readWithPooling(
      async (tx) => {
        await tx.user.findUnique({ where: { id: userId } }); // takes the snapshot
        await sql(stack.directUrl, `UPDATE "User" SET name = 'changed' WHERE id = $1`, [userId]);
        return (await tx.user.findUnique({ where: { id: userId } }))?.name;
      },
      { isolationLevel: 'RepeatableRead' },
    );
    expect(name).toBe('rt');
    await sql(stack.directUrl, `UPDATE "User" SET name = 'rt' WHERE id = $1`, [userId]);
  });
});
