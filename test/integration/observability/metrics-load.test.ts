/** getMetrics() under a real concurrent load on the shared stack: exact counts, ordered percentiles, errors by kind. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { OPERATION_KINDS, WRAPPER_KINDS } from '~/metrics/metrics.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
});

describe('metrics under a real concurrent load', () => {
  it('counts every operation exactly, per kind and per error kind, with p99 ≥ p95 ≥ p50', async () => {
    const manager = testManager(stack);
    managers.push(manager);
    const tag = randomUUID();
    const owner = await manager.writeWithPooling((tx) => tx.user.create({ data: { email: `metrics-${tag}@example.com` } }));
    manager.resetMetrics();

    const ops: Promise<unknown>[] = [];
    const settle = (p: Promise<unknown>) => ops.push(p.catch((error: unknown) => error));
    for (let i = 0; i < 40; i++) settle(manager.withPooling((tx) => tx.user.findUnique({ where: { id: owner.id } })));
    for (let i = 0; i < 30; i++) settle(manager.readWithPooling((tx) => tx.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.001)`));
    for (let i = 0; i < 20; i++) settle(manager.writeWithPooling((tx) => tx.post.create({ data: { userId: owner.id, title: `p${i}` } })));
    for (let i = 0; i < 10; i++) {
      settle(
        manager.batchWithPooling([
          (tx) => tx.activityLog.create({ data: { userId: owner.id, action: `a${i}` } }),
          (tx) => tx.activityLog.count({ where: { userId: owner.id } }),
        ]),
      );
    }
    // Failures: 5 application errors (not retried) and 3 unique-constraint violations.
    for (let i = 0; i < 5; i++) {
      settle(
        manager.withPooling(async () => {
          throw new Error('application failure');
        }),
      );
    }
    for (let i = 0; i < 3; i++) settle(manager.writeWithPooling((tx) => tx.user.create({ data: { email: owner.email } })));
    await Promise.all(ops);

    const m = manager.getMetrics();
    expect(m.totalQueries).toBe(108);
    expect(m.byKind.default.totalQueries).toBe(45);
    expect(m.byKind.read.totalQueries).toBe(30);
    expect(m.byKind.write.totalQueries).toBe(23);
    expect(m.byKind.batch.totalQueries).toBe(10);
    expect(m.failedQueries).toBe(8);
    expect(m.byKind.default.failedQueries).toBe(5);
    expect(m.byKind.write.failedQueries).toBe(3);
    expect(m.byKind.read.failedQueries + m.byKind.batch.failedQueries).toBe(0);
    expect(m.errorsByKind).toEqual({ application: 5, constraint: 3 });
    // Retries may happen (Serializable writes can conflict); whatever happened adds up.
    expect(m.retries).toBe(Object.values(m.retriesByKind).reduce((a, b) => a + b, 0));
    expect(m.retries).toBe(OPERATION_KINDS.reduce((sum, kind) => sum + m.byKind[kind].retries, 0));

    // The wrapper kinds ran here; the plain-call kinds (manager.prisma) stay at zero.
    expect(m.byKind['plain-read'].totalQueries + m.byKind['plain-write'].totalQueries).toBe(0);
    for (const figures of [m, ...WRAPPER_KINDS.map((kind) => m.byKind[kind])]) {
      expect(figures.p50Latency).toBeGreaterThan(0);
      expect(figures.p95Latency).toBeGreaterThanOrEqual(figures.p50Latency);
      expect(figures.p99Latency).toBeGreaterThanOrEqual(figures.p95Latency);
      expect(figures.maxLatency).toBeGreaterThanOrEqual(figures.p99Latency);
      expect(figures.avgLatency).toBeGreaterThan(0);
      expect(figures.avgLatency).toBeLessThanOrEqual(figures.maxLatency * 1.001);
    }
    expect(m.pool).toMatchObject({ limit: 3, waiting: 0, active: 0 });
    expect(m.readPool).toBeNull();

    manager.resetMetrics();
    const fresh = manager.getMetrics();
    expect(fresh).toMatchObject({ totalQueries: 0, failedQueries: 0, retries: 0, p99Latency: 0, errorsByKind: {} });
    expect(fresh.pool.limit).toBe(3);
  });
});
