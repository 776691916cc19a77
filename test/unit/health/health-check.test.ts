import { describe, expect, it, vi } from 'vitest';
import {
  checkHealth,
  DEFAULT_HEALTH_THRESHOLDS,
  deriveHealthStatus,
  type HealthDeps,
  type HealthInput,
  type HealthStatus,
  type PgbouncerFigures,
  type ReplicaFigures,
} from '../../../src/health/health-check.ts';
import type { PoolStats } from '../../../src/metrics/pool-stats.ts';

const ok = (latency = 5): HealthInput['database'] => ({ ok: true, latency });
const pool = (waiting = 0, utilization = 0): HealthInput['pool'] => ({ waiting, utilization });

describe('deriveHealthStatus', () => {
  it('has the documented default thresholds', () => {
    expect(DEFAULT_HEALTH_THRESHOLDS).toEqual({
      utilizationPercent: 80,
      databaseLatencyMs: 1000,
      waitingCallers: 0,
      pgbouncerClientsWaiting: 0,
    });
    expect(Object.isFrozen(DEFAULT_HEALTH_THRESHOLDS)).toBe(true);
  });

  it.each<[string, HealthInput, HealthStatus, HealthStatus, HealthStatus, HealthStatus | null]>([
    // name, input, overall, database, connectionPool, pgbouncer
    ['all quiet', { database: ok(), pool: pool() }, 'healthy', 'healthy', 'healthy', null],
    ['latency exactly 1000 ms', { database: ok(1000), pool: pool() }, 'healthy', 'healthy', 'healthy', null],
    ['latency 1000.1 ms', { database: ok(1000.1), pool: pool() }, 'degraded', 'degraded', 'healthy', null],
    [
      'database timed out',
      { database: { ok: false, latency: 2000, error: 'timeout' }, pool: pool() },
      'unhealthy',
      'unhealthy',
      'healthy',
      null,
    ],
    [
      'database refused',
      { database: { ok: false, latency: 3, error: 'connection' }, pool: pool() },
      'unhealthy',
      'unhealthy',
      'healthy',
      null,
    ],
    ['one caller waiting', { database: ok(), pool: pool(1, 0) }, 'degraded', 'healthy', 'degraded', null],
    ['utilization exactly 80 %', { database: ok(), pool: pool(0, 80) }, 'healthy', 'healthy', 'healthy', null],
    ['utilization 80.1 %', { database: ok(), pool: pool(0, 80.1) }, 'degraded', 'healthy', 'degraded', null],
    ['utilization 100 %, nobody waiting', { database: ok(), pool: pool(0, 100) }, 'degraded', 'healthy', 'degraded', null],
    [
      'saturated pool, database down',
      { database: { ok: false, latency: 2000, error: 'timeout' }, pool: pool(5, 100) },
      'unhealthy',
      'unhealthy',
      'degraded',
      null,
    ],
    [
      'pgbouncer quiet',
      { database: ok(), pool: pool(), pgbouncer: { ok: true, cl_waiting: 0 } },
      'healthy',
      'healthy',
      'healthy',
      'healthy',
    ],
    [
      'pgbouncer cl_waiting 1',
      { database: ok(), pool: pool(), pgbouncer: { ok: true, cl_waiting: 1 } },
      'degraded',
      'healthy',
      'healthy',
      'degraded',
    ],
    [
      'admin console unreachable',
      { database: ok(), pool: pool(), pgbouncer: { ok: false, error: 'auth' } },
      'degraded',
      'healthy',
      'healthy',
      'degraded',
    ],
    [
      'console unreachable and database down',
      { database: { ok: false, latency: 9, error: 'connection' }, pool: pool(), pgbouncer: { ok: false, error: 'connection' } },
      'unhealthy',
      'unhealthy',
      'healthy',
      'degraded',
    ],
    ['pgbouncer not configured (null)', { database: ok(), pool: pool(), pgbouncer: null }, 'healthy', 'healthy', 'healthy', null],
    [
      'a pooler fleet with every host up',
      {
        database: ok(),
        pool: pool(),
        hosts: [
          { host: 'a:6543', state: 'up', lastDownReason: null },
          { host: 'b:6543', state: 'up', lastDownReason: 'silent' },
        ],
      },
      'healthy',
      'healthy',
      'healthy',
      null,
    ],
    [
      'one host of a pooler fleet down (new connections skip it)',
      {
        database: ok(),
        pool: pool(),
        hosts: [
          { host: 'a:6543', state: 'down', lastDownReason: 'silent' },
          { host: 'b:6543', state: 'up', lastDownReason: null },
        ],
      },
      'degraded',
      'healthy',
      'degraded',
      null,
    ],
  ])('%s', (_name, input, status, database, connectionPool, pgbouncer) => {
    const verdict = deriveHealthStatus(input);
    expect(verdict).toMatchObject({ status, database, connectionPool, pgbouncer });
    // A reason for every non-healthy verdict, none for a healthy one.
    expect(verdict.reasons.length === 0).toBe(status === 'healthy');
  });

  it.each<[Partial<typeof DEFAULT_HEALTH_THRESHOLDS>, HealthInput, HealthStatus]>([
    [{ utilizationPercent: 100 }, { database: ok(), pool: pool(0, 100) }, 'healthy'],
    [{ waitingCallers: 2 }, { database: ok(), pool: pool(2, 0) }, 'healthy'],
    [{ waitingCallers: 2 }, { database: ok(), pool: pool(3, 0) }, 'degraded'],
    [{ databaseLatencyMs: 50 }, { database: ok(51), pool: pool() }, 'degraded'],
    [{ pgbouncerClientsWaiting: 5 }, { database: ok(), pool: pool(), pgbouncer: { ok: true, cl_waiting: 5 } }, 'healthy'],
  ])('custom thresholds %o', (overrides, input, status) => {
    expect(deriveHealthStatus(input, { ...DEFAULT_HEALTH_THRESHOLDS, ...overrides }).status).toBe(status);
  });
});

const POOL: PoolStats = { active: 1, idle: 2, total: 3, waiting: 0, limit: 3 };
const FIGURES: PgbouncerFigures = {
  database: 'app',
  cl_active: 2,
  cl_waiting: 0,
  sv_active: 1,
  sv_idle: 1,
  maxwait: 0,
  pool_mode: 'transaction',
  stats: { total_xact_count: 1, total_query_count: 2, avg_xact_time: 3, avg_query_time: 4, avg_wait_time: 5 },
};

function deps(overrides: Partial<HealthDeps> = {}): HealthDeps {
  return {
    mode: 'transaction',
    port: 6543,
    provider: 'supabase',
    poolStats: () => ({ ...POOL }),
    pingDatabase: async () => {},
    ...overrides,
  };
}

describe('checkHealth', () => {
  it('answers exactly the seed shape plus the provider, without pgbouncer when not configured', async () => {
    const report = await checkHealth(deps());
    expect(Object.keys(report)).toEqual(['status', 'checks']);
    expect(Object.keys(report.checks)).toEqual(['database', 'connectionPool']);
    expect(Object.keys(report.checks.database)).toEqual(['status', 'latency']);
    expect(report.checks.connectionPool).toEqual({
      status: 'healthy',
      mode: 'transaction',
      port: 6543,
      provider: 'supabase',
      connections: POOL,
      utilization: 33.3,
    });
    expect(report.status).toBe('healthy');
    expect(report.checks.database.latency).toBeGreaterThanOrEqual(0);
  });

  it('a probe that never answers is unhealthy (timeout) within the deadline, and its signal is aborted', async () => {
    let signal: AbortSignal | undefined;
    const started = performance.now();
    const report = await checkHealth(
      deps({
        pingDatabase: (s) => {
          signal = s;
          return new Promise<void>(() => {});
        },
      }),
      { timeoutMs: 100 },
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(report.status).toBe('unhealthy');
    expect(report.checks.database).toMatchObject({ status: 'unhealthy', error: 'timeout' });
    expect(report.checks.database.latency).toBeGreaterThanOrEqual(99);
    expect(signal?.aborted).toBe(true);
  });

  it('a failing probe reports only the classified kind, never the message', async () => {
    const secret = 'postgres://app:hunter2@db.internal:5432/app';
    const error = Object.assign(new Error(`connect ECONNREFUSED ${secret}`), { code: 'ECONNREFUSED' });
    const report = await checkHealth(deps({ pingDatabase: async () => Promise.reject(error) }));
    expect(report.checks.database).toMatchObject({ status: 'unhealthy', error: 'connection' });
    expect(JSON.stringify(report)).not.toContain('hunter2');
    expect(JSON.stringify(report)).not.toContain('ECONNREFUSED');
  });

  it('a synchronous throw from a probe is a failed check, not a rejection of checkHealth', async () => {
    const report = await checkHealth(
      deps({
        pingDatabase: () => {
          throw Object.assign(new Error('boom'), { code: '57P01' });
        },
      }),
    );
    expect(report.checks.database).toMatchObject({ status: 'unhealthy', error: 'connection' });
  });

  it('adds the pgbouncer figures when configured; an unreachable console is degraded with a kind only', async () => {
    const good = await checkHealth(deps({ readPgbouncer: async () => FIGURES }));
    expect(good.checks.pgbouncer).toMatchObject({ status: 'healthy', ...FIGURES });
    const waiting = await checkHealth(deps({ readPgbouncer: async () => ({ ...FIGURES, cl_waiting: 2 }) }));
    expect(waiting.status).toBe('degraded');
    const down = await checkHealth(deps({ readPgbouncer: async () => Promise.reject(Object.assign(new Error('x'), { code: '28P01' })) }));
    expect(down.status).toBe('degraded');
    expect(down.checks.pgbouncer).toEqual({ status: 'degraded', latency: expect.any(Number), error: 'auth' });
  });

  it.each<[string, ReplicaFigures['state'][], HealthStatus, number]>([
    ['every replica up', ['up', 'up'], 'healthy', 2],
    ['one down', ['up', 'down'], 'degraded', 1],
    ['one lagging past the bound', ['lagging', 'up'], 'degraded', 1],
    ['all down (reads fall back to the primary: still serving)', ['down', 'down'], 'degraded', 0],
    ['not polled yet', ['unknown'], 'degraded', 0],
  ])('adds a replicas check when configured: %s', async (_, states, status, available) => {
    const endpoints: ReplicaFigures[] = states.map((state, i) => ({
      url: `postgres://ro:***@replica-${i}:6543/app`,
      state,
      lagMs: state === 'up' ? 12 : null,
      replayLsn: state === 'up' ? '0/3001250' : null,
      ...(state === 'down' ? { error: 'connection' as const } : {}),
    }));
    const report = await checkHealth(deps({ readReplicas: async () => endpoints }));
    expect(Object.keys(report.checks)).toEqual(['database', 'connectionPool', 'replicas']);
    expect(report.checks.replicas).toEqual({ status, available, endpoints });
    expect(report.status).toBe(status);
  });

  it('replicas that cannot be polled in time are degraded with a kind only, never unhealthy', async () => {
    const report = await checkHealth(deps({ readReplicas: () => new Promise(() => {}) }), { timeoutMs: 20 });
    expect(report.checks.replicas).toEqual({ status: 'degraded', available: 0, endpoints: [], error: 'timeout' });
    expect(report.status).toBe('degraded');
  });

  it('probes run concurrently: two hung probes still answer in about one timeout', async () => {
    const hang = () => new Promise<never>(() => {});
    const started = performance.now();
    const report = await checkHealth(deps({ pingDatabase: hang, readPgbouncer: hang }), { timeoutMs: 300 });
    // An upper bound well below the sum of many timeouts, generous for a loaded machine.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(report.checks.pgbouncer).toMatchObject({ status: 'degraded', error: 'timeout' });
  });

  it('rejects a bad timeout with an error naming the option', async () => {
    await expect(checkHealth(deps(), { timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    await expect(checkHealth(deps(), { timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
  });

  it('leaves no timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await checkHealth(deps());
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('checkHealth: failovers and multi-host URLs', () => {
  it('reports the failover count on the database check and the host list on the pool check, only when given', async () => {
    const base = {
      mode: 'session' as const,
      port: 5432,
      provider: 'pgbouncer' as const,
      poolStats: () => ({ active: 0, idle: 1, total: 1, waiting: 0, limit: 5 }),
      pingDatabase: async () => {},
    };
    const plain = await checkHealth(base);
    expect(Object.keys(plain.checks.database)).toEqual(['status', 'latency']);
    expect(plain.checks.connectionPool.hosts).toBeUndefined();
    const multi = await checkHealth({
      ...base,
      failovers: () => 2,
      hostList: { hosts: ['db1:5432', 'db2:5432'], targetSessionAttrs: 'read-write' },
    });
    expect(multi.status).toBe('healthy');
    expect(multi.checks.database.failovers).toBe(2);
    expect(multi.checks.connectionPool).toMatchObject({ hosts: ['db1:5432', 'db2:5432'], targetSessionAttrs: 'read-write' });
  });
});
