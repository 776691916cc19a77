/**
 * Load shedding (`maxWaitingCallers`): past N callers waiting for a connection, calls fail fast
 * with PoolSaturatedError instead of queueing without end; the callers already queued still get
 * their turn, and metrics count the shed calls.
 */
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { PoolSaturatedError } from '~/errors/errors.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');

const managers: TestManager[] = [];
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
});

/** One connection, held by a transaction until `release()`. */
async function saturated(maxWaitingCallers: number) {
  const manager = testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=1&pool_timeout=20` }, { maxWaitingCallers });
  managers.push(manager);
  let release: (() => void) | null = null;
  const holding = manager.withPooling(() => new Promise<void>((resolve) => (release = resolve)), { timeout: 30_000 });
  // Until the callback runs, the holder is still in BEGIN: wait for it, not just for the connection.
  await vi.waitUntil(() => release !== null, { timeout: 5000 });
  return { manager, holding, release: () => release?.() };
}

type Outcome = { ok: true; value: number } | { ok: false; error: unknown; afterMs: number };

function settle(promise: Promise<number>): Promise<Outcome> {
  const started = performance.now();
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error, afterMs: performance.now() - started }),
  );
}

describe('maxWaitingCallers', () => {
  it('callers beyond N waiting fail fast with PoolSaturatedError; the N queued ones and the holder succeed', async () => {
    const { manager, holding, release } = await saturated(2);
    const queued = [1, 2].map((i) =>
      settle(manager.withPooling(async (tx) => (await tx.$queryRaw<[{ n: number }]>`SELECT ${i}::int AS n`)[0].n)),
    );
    await vi.waitUntil(() => manager.getMetrics().pool.waiting === 2, { timeout: 5000 });
    const shed = await settle(manager.withPooling(async () => 3));
    expect(shed.ok).toBe(false);
    const error = (shed as Extract<Outcome, { ok: false }>).error;
    expect(error).toBeInstanceOf(PoolSaturatedError);
    expect((error as PoolSaturatedError).waiting).toBe(2);
    expect(classifyError(error)).toMatchObject({ kind: 'pool-saturated', retryable: false });
    // Fast: no pool wait, no retry backoff.
    expect((shed as Extract<Outcome, { ok: false }>).afterMs).toBeLessThan(200);
    release();
    await holding;
    expect(await Promise.all(queued)).toEqual([
      { ok: true, value: 1 },
      { ok: true, value: 2 },
    ]);
    const metrics = manager.getMetrics();
    expect(metrics.errorsByKind['pool-saturated']).toBe(1);
    expect(metrics.failedQueries).toBe(1);
    expect(metrics.totalQueries).toBe(4);
    expect(metrics.retries).toBe(0);
    expect(metrics.pool).toMatchObject({ active: 0, waiting: 0 });
  });

  it('a burst arriving in one tick is bounded too: N wait, the rest are shed at once', async () => {
    const { manager, holding, release } = await saturated(2);
    // Ten callers in the same tick: none of them has reached pg.Pool's queue when the next one
    // checks, so a check on pool.waitingCount alone would let all ten queue.
    const burst = Array.from({ length: 10 }, (_, i) =>
      settle(manager.withPooling(async (tx) => (await tx.$queryRaw<[{ n: number }]>`SELECT ${i}::int AS n`)[0].n)),
    );
    await vi.waitUntil(() => manager.getMetrics().errorsByKind['pool-saturated'] === 8, { timeout: 5000 });
    expect(manager.getMetrics().pool.waiting).toBe(2);
    release();
    await holding;
    const outcomes = await Promise.all(burst);
    expect(outcomes.filter((o) => o.ok).map((o) => (o as { value: number }).value)).toEqual([0, 1]);
    for (const o of outcomes.filter((o) => !o.ok)) expect((o as { error: unknown }).error).toBeInstanceOf(PoolSaturatedError);
  });

  it('maxWaitingCallers: 0 never queues: with the pool busy every caller is shed, with a free connection it runs', async () => {
    const { manager, holding, release } = await saturated(0);
    await expect(manager.withPooling(async () => 1)).rejects.toBeInstanceOf(PoolSaturatedError);
    release();
    await holding;
    await expect(manager.withPooling(async () => 2)).resolves.toBe(2);
  });

  it('rejects an invalid option with an error naming it', () => {
    expect(() => testManager(stack, {}, { maxWaitingCallers: -1 })).toThrow(/maxWaitingCallers/);
    expect(() => testManager(stack, {}, { maxWaitingCallers: 1.5 })).toThrow(/maxWaitingCallers/);
  });
});
