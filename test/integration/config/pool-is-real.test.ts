/**
 * The URL parameters Prisma 7 ignores are really applied by us: connection_limit caps server
 * connections, pool_timeout times out a waiting caller, socket_timeout limits one query, and
 * statement caching follows the mode.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { PoolTimeoutError } from '~/errors/errors.ts';
import { adapterNamesStatements } from '../../support/installed-versions.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
afterAll(() => Promise.all(managers.map((m) => m.disconnect())));

describe('connection_limit, pool_timeout and socket_timeout are real', () => {
  it('socket_timeout=1 fails a 3 s query as a timeout, not retried; without it the query completes', async () => {
    const url = new URL(stack.poolerUrl);
    url.searchParams.set('socket_timeout', '1');
    const limited = testManager(stack, { DATABASE_URL: url.toString() });
    const unlimited = testManager(stack);
    managers.push(limited, unlimited);
    expect(limited.config.socketTimeoutMs).toBe(1000);
    expect(unlimited.config.socketTimeoutMs).toBeNull();
    const error = await limited.withPooling((tx) => tx.$executeRaw`SELECT pg_sleep(3)`).catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({ kind: 'timeout', retryable: false });
    expect(limited.getMetrics().retries).toBe(0);
    await expect(unlimited.withPooling((tx) => tx.$executeRaw`SELECT pg_sleep(1.2)`)).resolves.toBeDefined();
  });

  it('connection_limit=2 caps the pool at 2 server connections under 40 concurrent transactions', async () => {
    const app = `cap-${randomUUID().slice(0, 8)}`;
    // Session mode, direct to Postgres: each pool connection is exactly one server backend.
    const manager = testManager(
      stack,
      { DATABASE_URL: `${stack.directUrl}?connection_limit=2`, USE_TRANSACTION_MODE: 'false' },
      { applicationName: app },
    );
    managers.push(manager);
    expect(manager.config.connectionLimit).toBe(2);
    let peak = 0;
    const sample = async () => {
      const [row] = await sql<{ n: string }>(stack.superuserUrl, 'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [
        app,
      ]);
      peak = Math.max(peak, Number(row?.n));
    };
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await manager.withPooling((tx) => tx.$executeRaw`SELECT pg_sleep(0.01)`);
        if (i % 5 === 0) await sample();
      }),
    );
    await sample();
    expect(peak).toBe(2);
    expect(manager.getMetrics().pool.total).toBe(2);
  });

  it('pool_timeout=0.5 makes a waiting caller fail with PoolTimeoutError after about half a second, not never', async () => {
    const manager = testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=1&pool_timeout=0.5` });
    managers.push(manager);
    expect(manager.config.poolTimeoutMs).toBe(500);
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    let release: (() => void) | null = null;
    const holding = manager.withPooling(() => new Promise<void>((r) => (release = r)), { timeout: 30_000 });
    // `fn` must be running (holding the connection and `release` set), not only the connection checked out.
    await vi.waitUntil(() => release !== null && manager.getMetrics().pool.active === 1, { timeout: 10_000 });
    const started = performance.now();
    const error = await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    const waited = performance.now() - started;
    (release as unknown as () => void)();
    await holding;
    expect(error).toBeInstanceOf(PoolTimeoutError);
    expect((error as PoolTimeoutError).timeoutMs).toBe(500);
    expect(waited).toBeGreaterThanOrEqual(450); // it did wait for the pool timeout (no upper bound: not a speed test)
  });
});

describe('statement caching follows the mode', () => {
  const preparedCount = (manager: TestManager) =>
    manager.withPooling(async (tx) => {
      await tx.user.findMany({ take: 1 });
      await tx.user.findMany({ take: 1 });
      const [row] = await tx.$queryRaw<[{ n: bigint }]>`SELECT count(*) AS n FROM pg_prepared_statements`;
      return Number(row.n);
    });

  it('session mode: unnamed statements by default (no measured gain from named ones)', async () => {
    const manager = testManager(stack, { DATABASE_URL: stack.directUrl, USE_TRANSACTION_MODE: 'false' });
    managers.push(manager);
    expect(manager.config.statementCache).toBe(false);
    expect(await preparedCount(manager)).toBe(0);
  });

  it('session mode with statement_cache_size > 0: adapter-pg uses named (cached) prepared statements (adapter-pg < 7.6: none, and one warning)', async () => {
    const url = new URL(stack.directUrl);
    url.searchParams.set('statement_cache_size', '100');
    const warnings: string[] = [];
    const manager = testManager(
      stack,
      { DATABASE_URL: url.toString(), USE_TRANSACTION_MODE: 'false' },
      { onWarning: (w) => warnings.push(w.code) },
    );
    managers.push(manager);
    expect(manager.config.statementCache).toBe(true);
    if (adapterNamesStatements) expect(await preparedCount(manager)).toBeGreaterThan(0);
    else expect(await preparedCount(manager)).toBe(0);
    expect(warnings.includes('PGPOOL_ADAPTER_NO_STATEMENT_NAMES')).toBe(!adapterNamesStatements);
  });

  it('transaction mode: unnamed statements only (what PgBouncer 1.18 needs)', async () => {
    // Direct URL so pg_prepared_statements shows exactly this connection's statements.
    const manager = testManager(stack, { DATABASE_URL: stack.directUrl, USE_TRANSACTION_MODE: 'true' });
    managers.push(manager);
    expect(manager.config.statementCache).toBe(false);
    expect(await preparedCount(manager)).toBe(0);
  });

  it('transaction mode through PgBouncer: 300 concurrent model queries, zero prepared-statement errors', async () => {
    const manager = testManager(stack);
    managers.push(manager);
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) => manager.withPooling((tx) => tx.user.findMany({ where: { name: `n${i % 7}` }, take: 1 }))),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(manager.getMetrics().errorsByKind['prepared-statement'] ?? 0).toBe(0);
  });
});
