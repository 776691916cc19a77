/**
 * The wrappers' semantics against the real stack (PgBouncer, transaction mode): retries under
 * contention, READ ONLY, batch atomicity and outcomes, kills before and during COMMIT, pool
 * exhaustion, abort, lifecycle.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { BatchError, ConfigError, ManagerClosedError, PoolTimeoutError } from '~/errors/errors.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { createConnectionPoolManager } from '~/manager/connection-pool-manager.ts';
import { sql, type TestManager, terminateBackend, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');

const track = managerTracker();

beforeAll(async () => {
  await sql(stack.directUrl, 'CREATE TABLE IF NOT EXISTS test_counter (id text PRIMARY KEY, value int NOT NULL)');
});

async function backendPid(tx: { $queryRaw: (q: TemplateStringsArray) => Promise<unknown> }): Promise<number> {
  const rows = (await tx.$queryRaw`SELECT pg_backend_pid() AS pid`) as [{ pid: number }];
  return rows[0].pid;
}

describe('writeWithPooling under contention', () => {
  it('200 concurrent Serializable increments of one counter end at exactly 200, with retries counted', async () => {
    const manager = track(testManager(stack));
    const id = randomUUID();
    await sql(stack.directUrl, 'INSERT INTO test_counter (id, value) VALUES ($1, 0)', [id]);
    await Promise.all(
      Array.from({ length: 200 }, () =>
        manager.writeWithPooling(async (tx) => {
          const [row] = await tx.$queryRaw<[{ value: number }]>`SELECT value FROM test_counter WHERE id = ${id}`;
          await tx.$executeRaw`UPDATE test_counter SET value = ${(row?.value ?? 0) + 1} WHERE id = ${id}`;
        }),
      ),
    );
    const [row] = await sql<{ value: number }>(stack.directUrl, 'SELECT value FROM test_counter WHERE id = $1', [id]);
    expect(row?.value).toBe(200);
    const metrics = manager.getMetrics();
    expect(metrics.byKind.write.totalQueries).toBe(200);
    expect(metrics.failedQueries).toBe(0);
    expect(metrics.retries).toBeGreaterThan(0);
    expect(metrics.retriesByKind.serialization).toBe(metrics.retries);
  });
});

describe('readWithPooling', () => {
  it('runs READ ONLY: a write fails with Postgres 25006 and is not retried', async () => {
    const manager = track(testManager(stack));
    let attempts = 0;
    const error = await manager
      .readWithPooling(async (tx) => {
        attempts++;
        return tx.user.create({ data: { email: `ro-${randomUUID()}@example.test` } });
      })
      .catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({ kind: 'read-only', code: '25006', retryable: false });
    expect(attempts).toBe(1);
  });

  it('routes to DATABASE_URL_READ with its own pool and budget', async () => {
    const manager = track(testManager(stack, { DATABASE_URL_READ: stack.directUrl }));
    const [{ port }] = await manager.readWithPooling((tx) => tx.$queryRaw<[{ port: number }]>`SELECT inet_server_port() AS port`);
    expect(port).toBe(stack.postgresPort);
    expect(manager.getMetrics().readPool?.total).toBeGreaterThan(0);
    expect(manager.getMetrics().pool.total).toBe(0);
  });
});

describe('batchWithPooling', () => {
  it('atomic (default): a failure halfway commits nothing', async () => {
    const manager = track(testManager(stack));
    const email = `atomic-${randomUUID()}@example.test`;
    const error = await manager
      .batchWithPooling([
        (tx) => tx.user.create({ data: { email } }),
        (tx) => tx.user.create({ data: { email } }), // unique violation
        (tx) => tx.user.create({ data: { email: `never-${email}` } }),
      ])
      .catch((e: unknown) => e);
    expect(classifyError(error).kind).toBe('constraint');
    expect(await manager.client.user.count({ where: { email: { in: [email, `never-${email}`] } } })).toBe(0);
  });

  it('parallel: rejects with every outcome, in input order, so the caller knows what committed', async () => {
    const manager = track(testManager(stack));
    const email = `par-${randomUUID()}@example.test`;
    await manager.client.user.create({ data: { email } });
    const ops = Array.from(
      { length: 7 },
      (_, i) => (tx: Parameters<Parameters<TestManager['withPooling']>[0]>[0]) =>
        tx.user.create({ data: { email: i === 3 ? email : `${i}-${email}` } }),
    );
    const error = await manager.batchWithPooling(ops, { parallel: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchError);
    const outcomes = (error as BatchError<{ email: string }>).outcomes;
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.email : null))).toEqual([
      `0-${email}`,
      `1-${email}`,
      `2-${email}`,
      null,
      `4-${email}`,
      `5-${email}`,
      `6-${email}`,
    ]);
    expect(await manager.client.user.count({ where: { email: { endsWith: `-${email}` } } })).toBe(6);
  });

  it('parallel: never runs more ops at once than the pool limit', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2` }));
    let inFlight = 0;
    let peak = 0;
    const ops = Array.from({ length: 12 }, (_, i) => async (tx: Parameters<Parameters<TestManager['withPooling']>[0]>[0]) => {
      peak = Math.max(peak, ++inFlight);
      await tx.$executeRaw`SELECT pg_sleep(0.02)`;
      inFlight--;
      return i;
    });
    expect(await manager.batchWithPooling(ops, { parallel: true })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(peak).toBe(2);
  });
});

describe('connection loss', () => {
  it('a backend killed mid-transaction (before COMMIT) is retried and succeeds once', async () => {
    const manager = track(testManager(stack));
    const email = `kill-${randomUUID()}@example.test`;
    let attempts = 0;
    const user = await manager.writeWithPooling(async (tx) => {
      attempts++;
      const created = await tx.user.create({ data: { email } });
      if (attempts === 1) {
        await terminateBackend(stack.superuserUrl, await backendPid(tx));
        await tx.$queryRaw`SELECT 1`; // fails: the server connection is gone
      }
      return created;
    });
    expect(attempts).toBe(2);
    expect(user.email).toBe(email);
    expect(await manager.client.user.count({ where: { email } })).toBe(1);
    expect(manager.getMetrics().retriesByKind.connection).toBe(1);
  });

  it('a backend killed after fn returned, before COMMIT: nothing committed (the database says so, or COMMIT never left), retried once, written once', async () => {
    const manager = track(testManager(stack));
    let attempts = 0;
    const email = `commit-${randomUUID()}@example.test`;
    const result = await manager.writeWithPooling(async (tx) => {
      attempts++;
      await tx.user.create({ data: { email } });
      if (attempts === 1) await terminateBackend(stack.superuserUrl, await backendPid(tx));
      return 'done';
    });
    expect(result).toBe('done');
    expect(attempts).toBe(2);
    expect(await manager.client.user.count({ where: { email } })).toBe(1);
    expect(manager.getMetrics().outcomeUnknown).toBe(0);
  });

  it('with idempotent: true the same case is retried', async () => {
    const manager = track(testManager(stack));
    let attempts = 0;
    const result = await manager.withPooling(
      async (tx) => {
        attempts++;
        if (attempts === 1) await terminateBackend(stack.superuserUrl, await backendPid(tx));
        return attempts;
      },
      { idempotent: true },
    );
    expect(result).toBe(2);
  });
});

describe('pool exhaustion', () => {
  it('a caller that cannot get a connection within pool_timeout gets PoolTimeoutError', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=1&pool_timeout=0.3` }));
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`); // warm: the connection exists before anyone waits
    let release: (() => void) | null = null;
    const holding = manager.withPooling(() => new Promise<void>((resolve) => (release = resolve)), { timeout: 30_000 });
    // Until `fn` runs, `release` is not there to call (a connection checked out is not enough: on a
    // loaded machine Prisma may not have entered the callback yet).
    await vi.waitUntil(() => release !== null && manager.getMetrics().pool.active === 1, { timeout: 10_000 });
    const error = await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    (release as unknown as () => void)();
    await holding;
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect(classifyError(error).kind).toBe('pool-timeout');
    expect(manager.getMetrics().poolTimeouts).toBe(1);
  });

  it('leaks no connection over 10,000 operations (successes and failures mixed)', async () => {
    const manager = track(testManager(stack));
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        const i = next++;
        await manager
          .withPooling(async (tx) => {
            await tx.$queryRaw`SELECT ${i}::int`;
            if (i % 100 === 0) throw new Error('application failure');
          })
          .catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    const { pool, totalQueries, failedQueries, errorsByKind } = manager.getMetrics();
    expect(totalQueries).toBe(10_000);
    expect(failedQueries).toBe(100);
    expect(errorsByKind.application).toBe(100);
    expect(pool.active).toBe(0);
    expect(pool.waiting).toBe(0);
    expect(pool.idle).toBe(pool.total);
    expect(pool.total).toBeLessThanOrEqual(3);
  });
});

describe('abort', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('an abort during backoff stops at once with the caller reason, with no further attempt', async () => {
    const manager = track(testManager(stack));
    vi.spyOn(Math, 'random').mockReturnValue(0.999); // backoff ≈ the whole 60 s cap
    const controller = new AbortController();
    let attempts = 0;
    const pending = manager.withPooling(
      async (tx) => {
        attempts++;
        // A real 40001 from Postgres: retryable, so the wrapper goes into backoff.
        await tx.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$`);
      },
      { retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 120_000 }, signal: controller.signal },
    );
    await vi.waitUntil(() => manager.getMetrics().retries === 1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    // Without the abort this would sit in a ~60 s backoff and the test would time out.
    await expect(pending).rejects.toBe(reason);
    expect(attempts).toBe(1);
  });

  it('an abort while waiting for a pool connection rejects at once; the transaction never runs', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=1&pool_timeout=30` }));
    let release: (() => void) | null = null;
    const holding = manager.withPooling(() => new Promise<void>((resolve) => (release = resolve)), { timeout: 30_000 });
    // Until `fn` runs, `release` is not there to call (a connection checked out is not enough: on a
    // loaded machine Prisma may not have entered the callback yet).
    await vi.waitUntil(() => release !== null && manager.getMetrics().pool.active === 1, { timeout: 10_000 });
    const controller = new AbortController();
    let ran = false;
    const waiting = manager.withPooling(
      async () => {
        ran = true;
      },
      { signal: controller.signal },
    );
    await vi.waitUntil(() => manager.getMetrics().pool.waiting === 1);
    controller.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    (release as unknown as () => void)();
    await holding;
    await vi.waitUntil(() => manager.getMetrics().pool.active === 0);
    expect(ran).toBe(false);
  });
});

describe('lifecycle', () => {
  it('a failed init (bad env) throws ConfigError and is retried once the env is fixed', async () => {
    const env: Record<string, string | undefined> = { DATABASE_URL: 'mysql://x@y/z' };
    const manager = track(createConnectionPoolManager({ createClient: (adapter) => new PrismaClient({ adapter }), env }));
    await expect(manager.withPooling(async () => 1)).rejects.toBeInstanceOf(ConfigError);
    expect(manager.initialized).toBe(false);
    env.DATABASE_URL = stack.poolerUrl;
    await expect(manager.withPooling(async () => 1)).resolves.toBe(1);
  });

  it('disconnect() is idempotent, ends the pool, and later use is a clear error', async () => {
    const manager = testManager(stack);
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    const pool = manager.pool;
    await Promise.all([manager.disconnect(), manager.disconnect()]);
    await manager.disconnect();
    expect(pool.ended).toBe(true);
    await expect(manager.withPooling(async () => 1)).rejects.toBeInstanceOf(ManagerClosedError);
  });
});
