/**
 * `prisma.$transaction(...)` through `manager.prisma`, array and interactive form, on the shared
 * stack: one call of the runner each (counted under `transaction`, drained by `shutdown()`),
 * retried as a whole only where nothing can run twice, and Prisma's private markers of "inside a
 * transaction" pinned (`__internalParams.transaction`, the interactive client's scope symbol).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ConfigError, TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { startKillLoop } from '../../support/kill-loop.ts';
import { activityLogCounts } from '../../support/ledger.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
});
function manager(options: Parameters<typeof testManager>[2] = {}): TestManager {
  const m = testManager(stack, {}, { globalKey: null, ...options });
  managers.push(m);
  return m;
}
const database = decodeURIComponent(new URL(stack.poolerUrl).pathname.slice(1));
const email = (tag: string) => `${tag}-${randomUUID()}@example.com`;

describe('prisma.$transaction through manager.prisma', () => {
  it('the interactive form is one call of kind `transaction`: its reads see its own writes, and nothing inside is counted apart', async () => {
    const m = manager();
    const address = email('itx');
    const seen = await m.prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { email: address } });
      return tx.user.findUnique({ where: { email: address } });
    });
    expect(seen?.email).toBe(address);
    const metrics = m.getMetrics();
    expect(metrics.byKind.transaction.totalQueries).toBe(1);
    expect(metrics.byKind['plain-read'].totalQueries + metrics.byKind['plain-write'].totalQueries).toBe(0);
    const series = metrics.operationDuration.series.filter((s) => s.kind === 'transaction' && s.count > 0);
    expect(series.map((s) => s.operation)).toEqual(['$transaction']);
  });

  it('the array form is one call too, and returns each result in order', async () => {
    const m = manager();
    const address = email('batch');
    const [created, count] = await m.prisma.$transaction([
      m.prisma.user.create({ data: { email: address } }),
      m.prisma.user.count({ where: { email: address } }),
    ]);
    expect(created.email).toBe(address);
    expect(count).toBe(1);
    expect(m.getMetrics().byKind.transaction.totalQueries).toBe(1);
    expect(m.getMetrics().totalQueries).toBe(1);
  });

  it('a callback that throws rolls back and fails the call once, with its own error', async () => {
    const m = manager();
    const address = email('rollback');
    let runs = 0;
    await expect(
      m.prisma.$transaction(async (tx) => {
        runs++;
        await tx.user.create({ data: { email: address } });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(runs).toBe(1);
    expect(await m.prisma.user.count({ where: { email: address } })).toBe(0);
    expect(m.getMetrics().byKind.transaction.failedQueries).toBe(1);
  });

  it('serialization failures roll the whole transaction back: it runs again until it commits (20 concurrent increments end at 20)', async () => {
    const m = manager({ pool: { connectionLimit: 4 } });
    const address = email('counter');
    const user = await m.prisma.user.create({ data: { email: address, name: '0' } });
    let runs = 0;
    const increment = () =>
      m.prisma.$transaction(
        async (tx) => {
          runs++;
          const row = await tx.user.findUniqueOrThrow({ where: { id: user.id } });
          await new Promise((resolve) => setTimeout(resolve, 10));
          await tx.user.update({ where: { id: user.id }, data: { name: String(Number(row.name) + 1) } });
        },
        { isolationLevel: 'Serializable' },
      );
    await Promise.all(Array.from({ length: 20 }, increment));
    const after = await m.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(after.name).toBe('20');
    expect(runs).toBeGreaterThan(20); // some attempts conflicted and ran again
    expect(m.getMetrics().byKind.transaction.retries).toBe(runs - 20);
  });

  it('{ rerun: false } (and rerunTransactions: false) never runs the callback twice: a conflict fails the call', async () => {
    for (const [m, options] of [
      [manager({ pool: { connectionLimit: 4 } }), { rerun: false }],
      [manager({ pool: { connectionLimit: 4 }, rerunTransactions: false }), {}],
    ] as const) {
      const user = await m.prisma.user.create({ data: { email: email('once'), name: '0' } });
      let runs = 0;
      const increment = () =>
        m.prisma.$transaction(
          async (tx) => {
            runs++;
            const row = await tx.user.findUniqueOrThrow({ where: { id: user.id } });
            await new Promise((resolve) => setTimeout(resolve, 20));
            await tx.user.update({ where: { id: user.id }, data: { name: String(Number(row.name) + 1) } });
          },
          { isolationLevel: 'Serializable', ...options },
        );
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, increment));
      expect(runs).toBe(8);
      const failed = outcomes.filter((o) => o.status === 'rejected');
      expect(failed.length).toBeGreaterThan(0);
      const after = await m.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
      expect(Number(after.name)).toBe(8 - failed.length);
    }
    await expect(manager().prisma.$transaction(async () => 1, { rerun: 'no' as unknown as boolean })).rejects.toThrow(ConfigError);
  });

  it('a pin inside a transaction is a ConfigError naming it (Prisma marks the interactive client; pinned here)', async () => {
    const m = manager();
    const marker = Symbol.for('prisma.client.transaction.scope_context');
    await m.prisma.$transaction(async (tx) => {
      // Prisma 7.10's nested-transaction scope: what the extension reads to know it is inside one.
      expect((tx as unknown as Record<symbol, unknown>)[marker]).toBeDefined();
      expect((m.prisma as unknown as Record<symbol, unknown>)[marker]).toBeUndefined();
      const pinnable = tx as unknown as { $primary(): unknown; $replica(): unknown; $after(t: string): unknown };
      expect(() => pinnable.$primary()).toThrow(ConfigError);
      expect(() => pinnable.$primary()).toThrow('$primary');
      expect(() => pinnable.$replica()).toThrow('$replica');
      expect(() => pinnable.$after('v1.0.1')).toThrow('$after');
    });
  });

  it('shutdown() waits for a running $transaction, which commits', async () => {
    const m = manager();
    const address = email('drain');
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const running = m.prisma.$transaction(async (tx) => {
      entered();
      await tx.$executeRaw`SELECT pg_sleep(0.3)`;
      return tx.user.create({ data: { email: address } });
    });
    await inside;
    const { drained } = await m.shutdown({ timeoutMs: 10_000 });
    expect(drained).toBe(true);
    await expect(running).resolves.toMatchObject({ email: address });
    const [row] = await sql<{ n: number }>(stack.directUrl, 'SELECT count(*)::int AS n FROM "User" WHERE email = $1', [address]);
    expect(row?.n).toBe(1);
  });

  it('under PgBouncer KILL every 300 ms: interactive and array transactions are applied at most once, every acknowledged one is there', async () => {
    const m = manager({ retry: { baseDelayMs: 10, maxAttempts: 15 } });
    const user = await m.prisma.user.create({ data: { email: email('kill-tx') } });
    const run = randomUUID();
    const killer = startKillLoop(stack.adminUrl, database);
    const acknowledged: string[] = [];
    const unknown: string[] = [];
    const otherFailures: unknown[] = [];
    let calls = 0;
    // Until the pooler has dropped every connection 5 times (bounded: 5,000 transactions a writer).
    const writer = async (w: number) => {
      for (let i = 0; i < 5000 && killer.kills < 5; i++) {
        calls++;
        const action = `${run}:${w}:${i}`;
        try {
          if (i % 2 === 0)
            await m.prisma.$transaction(async (tx) => {
              await tx.activityLog.create({ data: { userId: user.id, action } });
              await tx.activityLog.count({ where: { userId: user.id } });
            });
          else await m.prisma.$transaction([m.prisma.activityLog.create({ data: { userId: user.id, action } })]);
          acknowledged.push(action);
        } catch (error) {
          if (error instanceof TransactionOutcomeUnknownError) unknown.push(action);
          else otherFailures.push(error);
        }
      }
    };
    try {
      await Promise.all([writer(0), writer(1), writer(2)]);
    } finally {
      await killer.stop();
    }
    expect(otherFailures).toEqual([]);
    const counts = await activityLogCounts(stack.directUrl, { actionPrefix: `${run}:` });
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]); // nothing written twice
    expect(acknowledged.filter((a) => counts.get(a) !== 1)).toEqual([]); // nothing acknowledged lost
    expect(killer.kills).toBeGreaterThanOrEqual(5);
    expect(acknowledged.length + unknown.length).toBe(calls);
    expect(m.getMetrics().byKind.transaction.totalQueries).toBe(calls);
    // The drops were met (retried or reported), not missed.
    expect(m.getMetrics().retries + unknown.length).toBeGreaterThan(0);
    console.log(
      `[transactions] KILL loop: ${acknowledged.length} acknowledged, ${unknown.length} outcome-unknown, ${m.getMetrics().retries} retries`,
    );
  });
});
