/**
 * getHealth(), the handlers and the standalone server against the shared stack: healthy,
 * degraded on a saturated pool, unhealthy on a hung database (a blackholed TCP proxy), the
 * PgBouncer figures, /api/health over real HTTP and /api/metrics through the Prometheus parser.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { HealthReport } from '~/health/health-check.ts';
import { createHealthHandler } from '~/health/http.ts';
import { PROMETHEUS_CONTENT_TYPE } from '~/metrics/prometheus.ts';
import { startHealthServer } from '../../../tools/health-server/health-server.ts';
import { showPools, startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');

interface ParsedFamily {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

const cleanups: Array<() => Promise<unknown>> = [];
function track(manager: TestManager): TestManager {
  cleanups.push(() => manager.disconnect());
  return manager;
}
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Exactly the seed's keys (plus `pgbouncer` when asked for). */
function expectSeedShape(report: HealthReport, withPgbouncer: boolean): void {
  expect(Object.keys(report).sort()).toEqual(['checks', 'status']);
  expect(Object.keys(report.checks).sort()).toEqual(
    withPgbouncer ? ['connectionPool', 'database', 'pgbouncer'] : ['connectionPool', 'database'],
  );
  expect(Object.keys(report.checks.connectionPool).sort()).toEqual(['connections', 'mode', 'port', 'provider', 'status', 'utilization']);
  expect(Object.keys(report.checks.connectionPool.connections).sort()).toEqual(['active', 'idle', 'limit', 'total', 'waiting']);
  expect(['healthy', 'degraded', 'unhealthy']).toContain(report.status);
  expect(typeof report.checks.database.latency).toBe('number');
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('getHealth on the shared stack', () => {
  it('is healthy with the seed shape, mode, port and a real latency; no pgbouncer check without PGBOUNCER_ADMIN_URL', async () => {
    const manager = track(testManager(stack));
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    const report = await manager.getHealth();
    expectSeedShape(report, false);
    expect(report.status).toBe('healthy');
    expect(report.checks.database.status).toBe('healthy');
    expect(report.checks.database.latency).toBeGreaterThan(0);
    expect(report.checks.connectionPool).toMatchObject({ status: 'healthy', mode: 'transaction', port: stack.poolerPort, utilization: 0 });
    expect(report.checks.connectionPool.connections).toMatchObject({ active: 0, waiting: 0, limit: 3 });
    expect(report.checks.connectionPool.connections.total).toBeGreaterThanOrEqual(1);
  });

  it('session mode reports the direct port', async () => {
    const manager = track(testManager(stack, { DATABASE_URL: stack.directUrl, USE_TRANSACTION_MODE: 'false' }));
    const report = await manager.getHealth();
    expect(report.status).toBe('healthy');
    expect(report.checks.connectionPool).toMatchObject({ mode: 'session', port: stack.postgresPort });
  });

  it('adds PgBouncer figures from SHOW POOLS / SHOW STATS when PGBOUNCER_ADMIN_URL is set', async () => {
    const manager = track(testManager(stack, { PGBOUNCER_ADMIN_URL: stack.adminUrl }));
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    const report = await manager.getHealth();
    expectSeedShape(report, true);
    const bouncer = report.checks.pgbouncer;
    expect(bouncer).toMatchObject({ status: 'healthy', database: 'app', pool_mode: 'transaction', cl_waiting: 0, maxwait: 0 });
    for (const key of ['cl_active', 'sv_active', 'sv_idle', 'latency'] as const) expect(bouncer?.[key]).toEqual(expect.any(Number));
    expect(bouncer?.stats?.total_xact_count).toBeGreaterThan(0);
    expect(bouncer?.stats?.total_query_count).toBeGreaterThan(0);
    // The same console read directly agrees on the server side: our pool holds a server connection or it is idle.
    const direct = (await showPools(stack.adminUrl)).filter((row) => row.database === 'app');
    expect(direct.length).toBeGreaterThan(0);
    expect((bouncer?.sv_idle ?? 0) + (bouncer?.sv_active ?? 0)).toBeGreaterThan(0);
    expect(JSON.stringify(report)).not.toContain(new URL(stack.adminUrl).password);
  });

  // PgBouncer reports a failed console login with SQLSTATE 08P01, which classifies as `connection`.
  it('a wrong admin password makes the pgbouncer check degraded (kind only), the database still healthy', async () => {
    const bad = new URL(stack.adminUrl);
    bad.password = 'wrong-password';
    const manager = track(testManager(stack, { PGBOUNCER_ADMIN_URL: bad.toString() }));
    const report = await manager.getHealth();
    expect(report.status).toBe('degraded');
    expect(report.checks.database.status).toBe('healthy');
    expect(report.checks.pgbouncer).toEqual({ status: 'degraded', latency: expect.any(Number), error: 'auth' });
    expect(JSON.stringify(report)).not.toContain('wrong-password');
  });

  it('is degraded while every pool connection is held and a caller waits; the database check stays healthy; healthy again after', async () => {
    const manager = track(testManager(stack, {}, { pool: { connectionLimit: 1 } }));
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holder = manager.withPooling(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      await gate;
    });
    await until(() => manager.pool.totalCount === 1 && manager.pool.idleCount === 0, 'the holder to take the only connection');
    const waiter = manager.withPooling((tx) => tx.$queryRaw`SELECT 2`);
    await until(() => manager.pool.waitingCount >= 1, 'a caller to queue for a connection');
    try {
      const report = await manager.getHealth();
      expect(report.status).toBe('degraded');
      expect(report.checks.connectionPool).toMatchObject({ status: 'degraded', utilization: 100 });
      expect(report.checks.connectionPool.connections).toMatchObject({ active: 1, total: 1, limit: 1 });
      expect(report.checks.connectionPool.connections.waiting).toBeGreaterThanOrEqual(1);
      // The probe did not queue behind the app: the database itself is fine.
      expect(report.checks.database.status).toBe('healthy');
      const response = await createHealthHandler(manager)(new Request('http://localhost/api/health'));
      expect(response.status).toBe(200);
    } finally {
      release();
      await Promise.all([holder, waiter]);
    }
    expect((await manager.getHealth()).status).toBe('healthy');
  });
});

describe('a hung database (blackholed TCP proxy in front of PgBouncer)', () => {
  let proxy: TcpProxy;

  it('answers unhealthy (timeout) within the deadline, 503 from the handler, and recovers when the network does', async () => {
    proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
    cleanups.push(() => proxy.close());
    const manager = track(testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, { healthTimeoutMs: 1000 }));
    expect((await manager.getHealth()).status).toBe('healthy');

    proxy.setMode('blackhole');
    const handler = createHealthHandler(manager);
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const socketsBefore = sockets();
    const started = performance.now();
    const response = await handler(new Request('http://localhost/api/health'));
    const elapsed = performance.now() - started;
    // An upper bound only: 1000 ms timeout, generous for a loaded 2-core machine.
    expect(elapsed).toBeLessThan(5000);
    expect(response.status).toBe(503);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as HealthReport;
    expectSeedShape(body, false);
    expect(body.checks.database).toEqual({ status: 'unhealthy', latency: expect.any(Number), error: 'timeout', failovers: 0 });
    expect(body.checks.database.latency).toBeGreaterThanOrEqual(990);

    // The timed-out probe's socket was destroyed at once, not left waiting on the frozen peer
    // (the proxy cannot tell while it blackholes, so count our own process' sockets). 500 ms is far below pg's
    // own backstop timeout (deadline + 1000 ms), so only our abort can pass this.
    // The proxy runs in this process and keeps its own accepted end open while it blackholes: +1.
    await until(() => sockets() <= socketsBefore + 1, 'the probe socket to be destroyed', 500);

    proxy.setMode('pass');
    await until(() => proxy.connections() === 0, 'the proxy to see the probe connection closed');
    expect((await manager.getHealth()).status).toBe('healthy');
  });
});

describe('the standalone server', () => {
  it('answers GET /api/health with 200 and the exact shape, /api/metrics in Prometheus text, 404 elsewhere', async () => {
    const manager = track(testManager(stack, { PGBOUNCER_ADMIN_URL: stack.adminUrl }));
    await Promise.all([
      manager.withPooling((tx) => tx.$queryRaw`SELECT 1`),
      manager.readWithPooling((tx) => tx.$queryRaw`SELECT 1`),
      manager.readWithPooling((tx) => tx.$queryRaw`SELECT 1`),
    ]);
    const server = await startHealthServer({ port: 0, host: '127.0.0.1', manager });
    cleanups.push(() => server.close());

    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    expect(health.headers.get('cache-control')).toBe('no-store');
    const report = (await health.json()) as HealthReport;
    expectSeedShape(report, true);
    expect(report.status).toBe('healthy');

    const metrics = await fetch(`${server.url}/api/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    const families = parsePrometheus(await metrics.text());
    const operations = families.find((f) => f.name === 'pgpool_operations_total');
    const byKind = Object.fromEntries((operations?.metrics ?? []).map((m) => [m.labels?.kind, Number(m.value)]));
    expect(byKind).toEqual({ default: 1, read: 2, write: 0, batch: 0, 'plain-read': 0, 'plain-write': 0, transaction: 0 });
    const limit = families.find((f) => f.name === 'pgpool_pool_limit');
    expect(limit?.metrics.map((m) => Number(m.value))).toEqual([3]);

    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/health`, { method: 'POST' })).status).toBe(405);
    await server.close();
    await expect(fetch(`${server.url}/api/health`)).rejects.toThrow();
  });

  it('`npm run health-server` (the CLI) serves the seed curl and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/health-server/run.ts'], {
      cwd: new URL('../../../', import.meta.url),
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: stack.poolerUrl,
        USE_TRANSACTION_MODE: 'true',
        PGBOUNCER_ADMIN_URL: stack.adminUrl,
        DEBUG: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    await until(
      () => /health server on (http:\/\/\S+)\/api\/health/.test(output) || child.exitCode !== null,
      'the server to listen',
      30_000,
    );
    const base = /health server on (http:\/\/\S+)\/api\/health/.exec(output)?.[1];
    expect(base, output).toBeDefined();
    const response = await fetch(`${base}/api/health`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as HealthReport;
    expectSeedShape(report, true);
    expect(report.checks.connectionPool.port).toBe(stack.poolerPort);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
