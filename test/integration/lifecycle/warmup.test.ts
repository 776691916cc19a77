/**
 * warmup() against the real stack: connections open (and idle in pg-pool, and seen by PgBouncer)
 * before the first call, which then opens none; once only; idle timeout and process exit unharmed;
 * a dead database makes warmup count failures, never throw, and the first call works once it is back.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { showClients, startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { debugCapture } from '../../support/debug-logs.ts';
import { type TestManager, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker('each');

/** PgBouncer's client connections with this application_name. */
async function pgbouncerClients(applicationName: string): Promise<number> {
  return (await showClients(stack.adminUrl)).filter((c) => c.application_name === applicationName).length;
}

const readOne = (manager: TestManager) => manager.readWithPooling((tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`);

describe('warmup() on the real stack', () => {
  it('opens connection_limit connections before the first call; the first call opens none', async () => {
    const applicationName = `warmup-${randomUUID().slice(0, 8)}`;
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=3` }, { applicationName }));
    expect(await pgbouncerClients(applicationName)).toBe(0);
    await manager.warmup();
    expect(manager.getMetrics()).toMatchObject({ pool: { total: 3, idle: 3, active: 0 }, warmupConnections: 3, warmupFailures: 0 });
    expect(await pgbouncerClients(applicationName)).toBe(3);

    let opened = 0;
    manager.pool.on('connect', () => opened++);
    expect(await readOne(manager)).toEqual([{ one: 1 }]);
    expect(opened).toBe(0);
    expect(manager.getMetrics().pool).toMatchObject({ total: 3, idle: 3 });
  });

  it('warms the read replica pool too (DATABASE_URL_READ)', async () => {
    const manager = track(
      testManager(stack, {
        DATABASE_URL: `${stack.poolerUrl}?connection_limit=2`,
        DATABASE_URL_READ: `${stack.poolerUrl}?connection_limit=3`,
      }),
    );
    await manager.warmup();
    expect(manager.getMetrics()).toMatchObject({ pool: { total: 2 }, readPool: { total: 3, idle: 3 }, warmupConnections: 5 });
  });

  it('runs once: a second call returns the same promise and opens nothing', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2` }));
    const first = manager.warmup();
    expect(manager.warmup()).toBe(first);
    await first;
    let opened = 0;
    manager.pool.on('connect', () => opened++);
    await manager.warmup();
    expect(opened).toBe(0);
    expect(manager.getMetrics().warmupConnections).toBe(2);
  });

  it('a request arriving during warmup is served by a warmup connection, not a new one', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2` }));
    let opened = 0;
    manager.pool.on('connect', () => opened++);
    const warming = manager.warmup();
    expect(await readOne(manager)).toEqual([{ one: 1 }]);
    await warming;
    // Both connections were warmup's: the request waited for one of them instead of opening its own.
    expect(manager.getMetrics()).toMatchObject({ warmupConnections: 2, pool: { total: 2 } });
    expect(opened).toBe(2);
  });

  it('runs warmupQuery once the connections are open', async () => {
    const seen: number[] = [];
    const manager = track(
      testManager(
        stack,
        { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2` },
        {
          warmupQuery: async (tx) => {
            seen.push(manager.getMetrics().pool.total);
            return tx.user.findFirst();
          },
        },
      ),
    );
    await manager.warmup();
    expect(seen).toEqual([2]);
    // Read-only, like readWithPooling, and not counted as an operation.
    expect(manager.getMetrics()).toMatchObject({ warmupFailures: 0, totalQueries: 0 });
  });

  it('a warmupQuery that fails (here: a write in the read-only transaction) is counted, not thrown', async () => {
    const manager = track(
      testManager(
        stack,
        { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2` },
        { warmupQuery: (tx) => tx.$executeRaw`CREATE TEMP TABLE warmup_write (x int)`, retry: { maxAttempts: 1 } },
      ),
    );
    await expect(manager.warmup()).resolves.toBeUndefined();
    expect(manager.getMetrics()).toMatchObject({ warmupConnections: 2, warmupFailures: 1 });
    expect(await readOne(manager)).toEqual([{ one: 1 }]);
  });

  it('does not defeat the idle timeout: warmed connections close after it', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=3` }, { pool: { idleTimeoutMs: 300 } }));
    await manager.warmup();
    expect(manager.getMetrics().pool.total).toBe(3);
    await vi.waitUntil(() => manager.getMetrics().pool.total === 0, { timeout: 10_000, interval: 50 });
  });

  it('does not keep a process alive: a script that only warms up exits on its own', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/warmup-exit.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const child = spawn(tsx, [fixture], { env: { ...process.env, DATABASE_URL: stack.poolerUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 30_000);
    });
    try {
      // The idle timeout is 60 s: only unref'd sockets let it exit before the 30 s limit.
      const outcome = await Promise.race([exited, hung]);
      expect(outcome, stderr).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ total: 3, idle: 3, warmupConnections: 3 });
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  describe("'auto'", () => {
    it('warms at first use in a serverless runtime', async () => {
      const manager = track(
        testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=3`, AWS_LAMBDA_FUNCTION_NAME: 'fn' }, { warmup: 'auto' }),
      );
      expect(await readOne(manager)).toEqual([{ one: 1 }]);
      await manager.warmup(); // the promise of the automatic run
      expect(manager.getMetrics()).toMatchObject({ pool: { total: 3 }, warmupConnections: 3 });
    });

    it('does nothing at first use outside serverless runtimes', async () => {
      const manager = track(testManager(stack, { DATABASE_URL: `${stack.poolerUrl}?connection_limit=3` }, { warmup: 'auto' }));
      expect(await readOne(manager)).toEqual([{ one: 1 }]);
      await new Promise((r) => setTimeout(r, 200));
      expect(manager.getMetrics()).toMatchObject({ pool: { total: 1 }, warmupConnections: 0 });
    });
  });
});

describe('warmup() against a dead database', () => {
  let proxy: TcpProxy;
  const capture = debugCapture('ConnectionPoolManager');
  const { lines } = capture;
  beforeAll(async () => {
    proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort, mode: 'reset' });
    capture.start();
  });
  afterAll(async () => {
    capture.stop();
    await proxy?.close();
  });

  it('does not throw, logs and counts the failures, and the first call works once the database is back', async () => {
    const manager = track(
      testManager(stack, { DATABASE_URL: `${proxy.url(stack.poolerUrl)}?connection_limit=3&connect_timeout=2` }, { warmup: true }),
    );
    await expect(manager.warmup()).resolves.toBeUndefined();
    expect(manager.getMetrics()).toMatchObject({ warmupConnections: 0, warmupFailures: 3, pool: { total: 0 } });
    const line = lines.find((l) => l.includes('warmup:'));
    expect(line).toMatch(/warmup: 0 connection\(s\) open, 3 step\(s\) failed \(connection\b/);
    expect(line).not.toContain(decodeURIComponent(new URL(stack.poolerUrl).password));
    proxy.setMode('pass');
    expect(await readOne(manager)).toEqual([{ one: 1 }]);
  });

  it('against a port nobody listens on, too', async () => {
    const closed = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
    const url = `${closed.url(stack.poolerUrl)}?connection_limit=2&connect_timeout=2`;
    await closed.close();
    const manager = track(testManager(stack, { DATABASE_URL: url }));
    await expect(manager.warmup()).resolves.toBeUndefined();
    expect(manager.getMetrics()).toMatchObject({ warmupConnections: 0, warmupFailures: 2 });
  });

  it('a bad configuration is counted, not thrown; the real call still throws it', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: 'not a url' }));
    await expect(manager.warmup()).resolves.toBeUndefined();
    expect(manager.getMetrics().warmupFailures).toBe(1);
    await expect(readOne(manager)).rejects.toThrow(/DATABASE_URL/);
  });
});
