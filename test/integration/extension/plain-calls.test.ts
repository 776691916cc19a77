/**
 * `manager.prisma`: plain client calls on the shared stack (PgBouncer, transaction mode) get the
 * wrappers' guarantees — retries that never apply a write twice, every call in the metrics.
 * `prisma.$transaction` has a file of its own (transactions.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { startKillLoop } from '../../support/kill-loop.ts';
import { activityLogCounts } from '../../support/ledger.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
});
function manager(options: Parameters<typeof testManager>[2] = {}): TestManager {
  const m = testManager(stack, {}, options);
  managers.push(m);
  return m;
}
const database = decodeURIComponent(new URL(stack.poolerUrl).pathname.slice(1));

describe('plain calls through manager.prisma', () => {
  it('model reads and writes work, keep their precise result types, and every call is in the metrics', async () => {
    const m = manager();
    const prisma = m.prisma;
    const email = `plain-${randomUUID()}@example.com`;
    const created = await prisma.user.create({ data: { email }, select: { id: true, email: true } });
    const found = await prisma.user.findUnique({ where: { email }, select: { email: true } });
    // Typed: `found.email` is a string (a select'ed shape), checked by tsc on this very line.
    const upper: string | undefined = found?.email.toUpperCase();
    expect(upper).toBe(email.toUpperCase());
    expect(await prisma.user.count({ where: { id: created.id } })).toBe(1);
    const [row] = await prisma.$queryRaw<[{ n: number }]>`SELECT 41 + 1 AS n`;
    expect(row.n).toBe(42);
    expect(await prisma.$executeRawUnsafe('UPDATE "User" SET name = $1 WHERE id = $2', 'plain', created.id)).toBe(1);
    const metrics = m.getMetrics();
    expect(metrics.byKind['plain-read'].totalQueries).toBe(3);
    expect(metrics.byKind['plain-write'].totalQueries).toBe(2);
    expect(metrics.totalQueries).toBe(5);
    const named = metrics.operationDuration.series.filter((s) => s.kind.startsWith('plain-') && s.errorKind === null && s.count > 0);
    expect(named.map((s) => `${s.collection ?? ''}.${s.operation}`).sort()).toEqual(
      ['.$executeRawUnsafe', '.$queryRaw', 'User.count', 'User.create', 'User.findUnique'].sort(),
    );
  });

  it("keeps Prisma's promise semantics: lazy until awaited, the fluent API, and an app's own $extends on top", async () => {
    const m = manager();
    const prisma = m.prisma;
    const user = await prisma.user.create({ data: { email: `fluent-${randomUUID()}@example.com` } });
    await prisma.activityLog.create({ data: { userId: user.id, action: 'fluent' } });
    const before = m.getMetrics().totalQueries;
    // Never awaited: Prisma sends nothing for it, and neither does manager.prisma.
    const marker = randomUUID();
    void prisma.activityLog.create({ data: { userId: user.id, action: marker } });
    const logs = await prisma.user.findUnique({ where: { id: user.id } }).activityLogs();
    expect(logs?.map((l) => l.action)).toEqual(['fluent']);
    // The fluent step is a call of its own through the runner (a read, counted).
    expect(m.getMetrics().totalQueries - before).toBe(1);
    const [count] = await sql<{ n: number }>(stack.directUrl, 'SELECT count(*)::int AS n FROM "ActivityLog" WHERE action = $1', [marker]);
    expect(count?.n).toBe(0);
    // An app's own query extension on top still reaches the runner (counted), its hook run once per attempt.
    let hooked = 0;
    const audited = prisma.$extends({
      query: {
        $allOperations({ args, query }) {
          hooked += 1;
          return query(args);
        },
      },
    }) as unknown as typeof prisma;
    expect(await audited.user.count({ where: { id: user.id } })).toBe(1);
    expect(hooked).toBe(1);
    expect(m.getMetrics().totalQueries - before).toBe(2);
  });

  it('a $queryRaw that writes runs once, on the primary, as a write', async () => {
    const m = manager();
    const user = await m.prisma.user.create({ data: { email: `raw-${randomUUID()}@example.com` } });
    const marker = randomUUID();
    const rows = await m.prisma.$queryRaw<{ id: string }[]>`
      INSERT INTO "ActivityLog" (id, "userId", action) VALUES (${randomUUID()}, ${user.id}, ${marker}) RETURNING id`;
    expect(rows).toHaveLength(1);
    const [count] = await sql<{ n: number }>(stack.directUrl, 'SELECT count(*)::int AS n FROM "ActivityLog" WHERE action = $1', [marker]);
    expect(count?.n).toBe(1);
    expect(m.getMetrics().byKind['plain-read'].failedQueries).toBe(0);
  });
});

describe('under connection drops (PgBouncer KILL every 300 ms)', () => {
  it('reads never fail; writes are applied at most once, and every acknowledged write is there', async () => {
    const m = manager({ retry: { baseDelayMs: 10, maxAttempts: 15 } });
    const user = await m.prisma.user.create({ data: { email: `kill-${randomUUID()}@example.com` } });
    const run = randomUUID();
    const killer = startKillLoop(stack.adminUrl, database);
    const acknowledged: string[] = [];
    const unknown: string[] = [];
    const otherFailures: unknown[] = [];
    let reads = 0;
    const writer = async (w: number) => {
      for (let i = 0; i < 25; i++) {
        const action = `${run}:${w}:${i}`;
        try {
          await m.prisma.activityLog.create({ data: { userId: user.id, action } });
          acknowledged.push(action);
        } catch (error) {
          if (error instanceof TransactionOutcomeUnknownError) unknown.push(action);
          else otherFailures.push(error);
        }
      }
    };
    const reader = async () => {
      for (let i = 0; i < 40; i++) {
        await m.prisma.activityLog.count({ where: { userId: user.id } });
        reads++;
      }
    };
    try {
      await Promise.all([writer(0), writer(1), writer(2), reader(), reader()]);
    } finally {
      await killer.stop();
    }
    expect(reads).toBe(80);
    expect(otherFailures).toEqual([]);
    const counts = await activityLogCounts(stack.directUrl, { actionPrefix: `${run}:` });
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]); // nothing written twice
    expect(acknowledged.filter((a) => counts.get(a) !== 1)).toEqual([]); // nothing acknowledged lost
    expect(acknowledged.length + unknown.length).toBe(75);
    const metrics = m.getMetrics();
    expect(metrics.byKind['plain-write'].totalQueries).toBe(76);
    expect(metrics.byKind['plain-read'].failedQueries).toBe(0);
    console.log(
      `[plain-calls] KILL loop: ${acknowledged.length} writes acknowledged, ${unknown.length} outcome-unknown, ${metrics.retries} retries`,
    );
  });
});
