/**
 * Serverless-specific faults.
 * - An instance frozen mid-idle and thawed: its warm pool's connections died while it was frozen
 *   (PgBouncer dropped them, a NAT forgot them, the pooler restarted). The freeze is real: the
 *   event loop is blocked (Atomics.wait), so nothing notices the dead sockets until the first call
 *   after the thaw, which is issued in the same tick. That call must succeed.
 * - SIGTERM while transactions run: a child process with the recommended handler exits on its
 *   own, in bounded time, with every transaction committed or cleanly failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { ManagerClosedError } from '~/errors/errors.ts';
import { resume, startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const shared = inject('stack');

/** Blocks the whole event loop, like a platform freezing the instance. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const track = managerTracker('each');

/** Fills the pool with `n` idle connections. */
async function warm(manager: TestManager, n: number): Promise<void> {
  let inside = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      manager.withPooling(async (tx) => {
        inside++;
        await vi.waitUntil(() => inside === n, { timeout: 5000, interval: 5 });
        await tx.$queryRaw`SELECT 1`;
      }),
    ),
  );
  expect(manager.getMetrics().pool).toMatchObject({ idle: n, total: n, active: 0 });
}

describe('instance frozen mid-idle, then thawed (own stack)', () => {
  let own: LocalStack;
  let proxy: TcpProxy;
  beforeAll(async () => {
    own = await startStack();
    proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: own.poolerPort });
  });
  afterEach(async () => {
    proxy.setMode('pass');
    await resume(own.adminUrl, 'app').catch(() => {});
  });
  afterAll(async () => {
    await proxy?.close();
    await own?.stop();
  });

  const viaProxy = (params = 'connection_limit=3&connect_timeout=1&pool_timeout=2') => `${proxy.url(own.poolerUrl)}?${params}`;

  // baseDelayMs 0 is the worst case: retries follow each other with no timer in between.
  it.each([
    ['the default retry policy', {}],
    ['zero backoff', { baseDelayMs: 0 }],
  ])(
    'PgBouncer KILLs every client connection while the instance is frozen: the first call after the thaw succeeds (%s)',
    async (_, retry) => {
      const manager = track(testManager({ ...shared, ...own }, { DATABASE_URL: `${own.poolerUrl}?connection_limit=5` }, { retry }));
      await warm(manager, 5);
      // Another process drops our connections (KILL app, then RESUME) while we are frozen.
      const killer = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import pg from 'pg';
         for (const sql of ['KILL app', 'RESUME app']) {
           const c = new pg.Client({ connectionString: process.env.ADMIN_URL });
           await c.connect(); await c.query(sql); await c.end();
         }`,
        ],
        { env: { ...process.env, ADMIN_URL: own.adminUrl }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const killerExit = new Promise<number | null>((resolve) => killer.once('exit', (code) => resolve(code)));
      freeze(2500);
      // Thaw: the first call is issued before the event loop has seen a single dead socket.
      const attempts: number[] = [];
      const first = manager.writeWithPooling(async (tx, { attempt }) => {
        attempts.push(attempt);
        return (await tx.$queryRaw<[{ n: number }]>`SELECT 41 + 1 AS n`)[0].n;
      });
      await expect(first).resolves.toBe(42);
      expect(await killerExit).toBe(0);
      // The dead connections were really handed out (or found dead) and discarded, never surfaced.
      const metrics = manager.getMetrics();
      expect(metrics.failedQueries).toBe(0);
      expect(metrics.pool.total).toBeLessThanOrEqual(5);
    },
  );

  it('every connection was reset (NAT forgot them) during a freeze longer than the idle timeout: the first call succeeds', async () => {
    const manager = track(testManager({ ...shared, ...own }, { DATABASE_URL: viaProxy() }, { pool: { idleTimeoutMs: 1000 } }));
    await warm(manager, 3);
    expect(proxy.resetAll()).toBeGreaterThanOrEqual(3);
    freeze(1500); // past the idle timeout: those timers are overdue at the thaw
    const first = manager.writeWithPooling(async (tx) => (await tx.$queryRaw<[{ n: number }]>`SELECT 7 AS n`)[0].n);
    await expect(first).resolves.toBe(7);
    expect(manager.getMetrics().failedQueries).toBe(0);
  });

  // Found by the ledger soak: pg's connect timeout is a bare `Error: timeout expired`.
  it('a pooler that accepts but never answers: the connect timeout is classified connection (retried), not application', async () => {
    const manager = track(
      testManager(
        { ...shared, ...own },
        { DATABASE_URL: viaProxy('connection_limit=1&connect_timeout=1&pool_timeout=5') },
        { retry: { maxAttempts: 2 } },
      ),
    );
    proxy.setMode('blackhole');
    const error = await manager.writeWithPooling(async () => 1).catch((e: unknown) => e);
    expect((error as Error).message).toBe('timeout expired');
    expect(classifyError(error)).toMatchObject({ kind: 'connection', retryable: true });
    expect(manager.getMetrics().retriesByKind.connection).toBe(1);
    expect(manager.getMetrics().errorsByKind.connection).toBe(1);
  });

  it('the pooler is restarted and unreachable for longer than every timeout while the pool idles: the first call after succeeds', async () => {
    const manager = track(testManager({ ...shared, ...own }, { DATABASE_URL: viaProxy() }, { pool: { idleTimeoutMs: 60_000 } }));
    await warm(manager, 3);
    proxy.setMode('blackhole');
    await own.stopPgbouncer();
    await new Promise((resolve) => setTimeout(resolve, 2500)); // > connect_timeout (1 s) and pool_timeout (2 s)
    await own.startPgbouncer();
    proxy.setMode('pass');
    const first = manager.writeWithPooling(async (tx) => (await tx.$queryRaw<[{ n: number }]>`SELECT 8 AS n`)[0].n);
    await expect(first).resolves.toBe(8);
    expect(manager.getMetrics().failedQueries).toBe(0);
  });
});

describe('shutdown (shared stack)', () => {
  beforeAll(async () => {
    await sql(
      shared.directUrl,
      'CREATE TABLE IF NOT EXISTS reliability_shutdown (key text PRIMARY KEY, run_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())',
    );
  });

  it('shutdown(): new calls are refused, running ones finish, then the pool closes', async () => {
    const manager = track(testManager(shared));
    const runId = randomUUID();
    let inside = 0;
    const running = Array.from({ length: 3 }, () =>
      manager.writeWithPooling(async (tx) => {
        inside++;
        const key = randomUUID();
        await tx.$executeRaw`INSERT INTO reliability_shutdown (key, run_id) VALUES (${key}, ${runId})`;
        await tx.$executeRaw`SELECT pg_sleep(0.3)`;
        return key;
      }),
    );
    await vi.waitUntil(() => inside === 3, { timeout: 5000 });
    const pool = manager.pool;
    const closing = manager.shutdown({ timeoutMs: 5000 });
    await expect(manager.withPooling(async () => 1)).rejects.toBeInstanceOf(ManagerClosedError);
    const keys = await Promise.all(running);
    expect(await closing).toEqual({ drained: true });
    expect(pool.ended).toBe(true);
    expect(manager.closed).toBe(true);
    const rows = await sql<{ n: number }>(shared.directUrl, 'SELECT count(*)::int AS n FROM reliability_shutdown WHERE key = ANY($1)', [
      keys,
    ]);
    expect(rows[0]?.n).toBe(3);
  });

  it('rejects an invalid timeout with an error naming it', async () => {
    const manager = track(testManager(shared));
    await expect(manager.shutdown({ timeoutMs: -1 })).rejects.toThrow(/timeoutMs/);
  });

  it('SIGTERM while transactions run: the process exits on its own, every transaction committed or cleanly failed', async () => {
    const runId = randomUUID();
    const fixture = fileURLToPath(new URL('./fixtures/sigterm-app.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
    const child: ChildProcess = spawn(tsx, [fixture], {
      env: { ...process.env, DATABASE_URL: shared.poolerUrl, RUN_ID: runId, CONCURRENCY: '6', SLEEP_MS: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const events: { event: string; key?: string; kind?: string; drained?: boolean; poolEnded?: boolean; total?: number }[] = [];
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => events.push(JSON.parse(line)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    try {
      // Some transactions have committed and six are in flight.
      await vi.waitUntil(() => events.filter((e) => e.event === 'ok').length >= 6, { timeout: 30_000, interval: 20 });
      child.kill('SIGTERM');
      const sentAt = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exited,
        new Promise<'hang'>((resolve) => {
          timer = setTimeout(() => resolve('hang'), 15_000);
        }),
      ]);
      clearTimeout(timer);
      expect(result, `child did not exit within 15 s; stderr:\n${stderr}`).not.toBe('hang');
      expect(result).toEqual({ code: 0, signal: null });
      expect(performance.now() - sentAt).toBeLessThan(10_000);

      const sigtermAt = events.findIndex((e) => e.event === 'sigterm');
      expect(sigtermAt).toBeGreaterThan(0);
      // Nothing new was started after the handler ran; everything started before it settled.
      expect(events.slice(sigtermAt).filter((e) => e.event === 'start')).toEqual([]);
      const starts = events.filter((e) => e.event === 'start');
      const settled = new Map(events.filter((e) => e.event === 'ok' || e.event === 'failed').map((e) => [e.key, e]));
      for (const start of starts) expect(settled.has(start.key), `transaction ${start.key} never settled`).toBe(true);
      // The ones in flight at SIGTERM were allowed to finish.
      const finishedAfter = events.slice(sigtermAt).filter((e) => e.event === 'ok');
      expect(finishedAfter.length).toBeGreaterThan(0);
      expect(events.find((e) => e.event === 'closed')).toMatchObject({ drained: true, poolEnded: true, total: 0 });

      // The database agrees with what each caller was told.
      const rows = await sql<{ key: string }>(shared.directUrl, 'SELECT key FROM reliability_shutdown WHERE run_id = $1', [runId]);
      const committed = new Set(rows.map((r) => r.key));
      for (const [key, outcome] of settled) {
        if (outcome.event === 'ok') expect(committed.has(key as string), `acknowledged ${key} missing`).toBe(true);
        else {
          expect(['application', 'database']).not.toContain(outcome.kind);
          if (outcome.kind !== 'outcome-unknown') expect(committed.has(key as string), `failed ${key} committed`).toBe(false);
        }
      }
      expect(committed.size).toBe([...settled.values()].filter((e) => e.event === 'ok').length);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  });

  it('classifies use of a pool after it was ended as config (not application)', () => {
    expect(classifyError(new Error('Cannot use a pool after calling end on the pool')).kind).toBe('config');
  });
});
