/**
 * The health check: the seed's JSON shape, documented thresholds, and a timeout that always wins.
 *
 * No `pg` here: the probes (src/pool/health-probes.ts) arrive as functions, so this file is tested
 * with fakes and the manager wires in the real ones. `deriveHealthStatus` is the pure part.
 *
 * | check          | unhealthy                          | degraded                                                    |
 * |----------------|------------------------------------|-------------------------------------------------------------|
 * | database       | `SELECT 1` failed or timed out     | answered, but latency > 1000 ms                             |
 * | connectionPool | never                              | callers waiting for a connection (waiting > 0), or utilization > 80 % |
 * | pgbouncer      | never                              | `cl_waiting > 0`, or the admin console is unreachable       |
 * | replicas       | never                              | any replica down, lagging past `maxReplicaLagMs`, or not answering in time |
 * | overall        | any check unhealthy                | any check degraded                                          |
 *
 * Why the pool and PgBouncer are never `unhealthy`: saturation means callers wait, not fail, and
 * the instance still serves; `unhealthy` (HTTP 503) makes a load balancer pull the instance, which
 * only helps when the database is unreachable from it. An unreachable admin console is a monitoring
 * side channel (wrong `stats_users` password, console disabled): if PgBouncer itself were down,
 * the database check, which goes through it, would already say `unhealthy`. Replicas likewise:
 * without them reads fall back to the primary, so the instance still serves.
 */
import type { ProviderId } from '../config/providers.ts';
import { classifyError, type ErrorKind } from '../errors/classify-error.ts';
import { type PoolStats, utilization as poolUtilization } from '../metrics/pool-stats.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface DatabaseCheck {
  status: HealthStatus;
  /** Connect + `SELECT 1` on a fresh connection, ms (0.1 ms resolution); the elapsed time up to the timeout when it failed. */
  latency: number;
  /** Only when the check failed: the classified kind (`timeout` when the deadline passed). Never a message. */
  error?: ErrorKind;
  /**
   * Failovers the app's calls rode through since start or the last metrics reset (metrics'
   * `failovers`, see docs/failover.md); present when the manager reports it.
   */
  failovers?: number;
}

export interface ConnectionPoolCheck {
  status: HealthStatus;
  mode: 'transaction' | 'session';
  port: number;
  /** The managed pooler the URL points at (`config.provider`). */
  provider: ProviderId;
  connections: PoolStats;
  /** Busy share of the pool, percent (active / limit). */
  utilization: number;
  /** Only for a multi-host URL: the hosts tried, in order (`host:port`, no credentials). */
  hosts?: string[];
  /** Only for a multi-host URL: what a host must be to be kept (libpq's `target_session_attrs`). */
  targetSessionAttrs?: string;
  /** Only for a multi-host URL: each host as its monitor sees it (src/pool/host-monitor.ts), in URL order. */
  hostStates?: HostHealth[];
}

/** One host of a multi-host URL as its monitor sees it: `down` hosts get no new connections. */
export interface HostHealth {
  /** `host:port`, no credentials. */
  readonly host: string;
  readonly state: 'up' | 'down';
  /** Times it was marked down / found back / probed since the pool opened. */
  readonly downs: number;
  readonly recoveries: number;
  readonly probes: number;
  /** The error kind that marked it down last (`connection`, `silent`); null if it never was. */
  readonly lastDownReason: string | null;
}

export interface PgbouncerCheck {
  status: HealthStatus;
  /** The admin console round trip (`SHOW POOLS` + `SHOW STATS`), ms. */
  latency: number;
  /** Only when the console could not be read: the classified kind. The figures below are then absent. */
  error?: ErrorKind;
  database?: string;
  pool_mode?: string | null;
  cl_active?: number;
  cl_waiting?: number;
  sv_active?: number;
  sv_idle?: number;
  /** Seconds the oldest waiting client has waited. */
  maxwait?: number;
  stats?: PgbouncerStatsFigures;
}

/** One read replica (DATABASE_URL_READ entry) as the router last saw it. */
export interface ReplicaFigures {
  /** Redacted URL. */
  url: string;
  /** `up`: used for reads; `lagging`: behind by more than `maxReplicaLagMs`; `down`: not answering; `unknown`: not polled yet. */
  state: 'unknown' | 'up' | 'lagging' | 'down';
  /** How far behind the primary, ms (sampled, see src/routing/replica-lag.ts); null when unknown. */
  lagMs: number | null;
  /** `pg_last_wal_replay_lsn()`, e.g. `0/3001250`; null when unknown. */
  replayLsn: string | null;
  /** Only when `down`: the classified kind of the failure. */
  error?: ErrorKind;
}

export interface ReplicasCheck {
  status: HealthStatus;
  /** Replicas in state `up`. */
  available: number;
  endpoints: ReplicaFigures[];
  /** Only when the replicas could not be polled within the deadline. */
  error?: ErrorKind;
}

export interface PgbouncerStatsFigures {
  total_xact_count: number;
  total_query_count: number;
  /** µs, PgBouncer's average over its last stats period. */
  avg_xact_time: number;
  avg_query_time: number;
  avg_wait_time: number;
}

/** What `readPgbouncer` resolves with (see src/pool/health-probes.ts). */
export interface PgbouncerFigures {
  database: string;
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  maxwait: number;
  pool_mode: string | null;
  stats: PgbouncerStatsFigures;
}

export interface HealthReport {
  status: HealthStatus;
  checks: {
    database: DatabaseCheck;
    connectionPool: ConnectionPoolCheck;
    /** Only when `PGBOUNCER_ADMIN_URL` is set. */
    pgbouncer?: PgbouncerCheck;
    /** Only when `DATABASE_URL_READ` is set. */
    replicas?: ReplicasCheck;
  };
}

export interface HealthThresholds {
  /** `degraded` above this pool utilization, percent. Defaults to 80. */
  utilizationPercent: number;
  /** `degraded` above this `SELECT 1` latency, ms. Defaults to 1000. */
  databaseLatencyMs: number;
  /** `degraded` when more callers than this wait for a pool connection. Defaults to 0. */
  waitingCallers: number;
  /** `degraded` when PgBouncer has more waiting clients than this. Defaults to 0. */
  pgbouncerClientsWaiting: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: Readonly<HealthThresholds> = Object.freeze({
  utilizationPercent: 80,
  databaseLatencyMs: 1000,
  waitingCallers: 0,
  pgbouncerClientsWaiting: 0,
});

/** Defaults to 2000 ms. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

/** The measurements `deriveHealthStatus` judges. */
export interface HealthInput {
  database: { ok: true; latency: number } | { ok: false; latency: number; error: ErrorKind };
  pool: { waiting: number; utilization: number };
  /** Absent/null when the admin console is not configured. */
  pgbouncer?: { ok: true; cl_waiting: number } | { ok: false; error: ErrorKind } | null;
  /** Absent/null without read replicas. */
  replicas?: { ok: true; states: readonly ReplicaFigures['state'][] } | { ok: false; error: ErrorKind } | null;
  /** A multi-host URL's hosts as their monitors see them; absent/null otherwise. */
  hosts?: readonly Pick<HostHealth, 'host' | 'state' | 'lastDownReason'>[] | null;
}

export interface HealthVerdict {
  status: HealthStatus;
  database: HealthStatus;
  connectionPool: HealthStatus;
  /** null when the admin console is not configured. */
  pgbouncer: HealthStatus | null;
  /** null without read replicas. */
  replicas: HealthStatus | null;
  /** Why it is not healthy, in words (no figures that could be secrets); empty when healthy. */
  reasons: string[];
}

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };
const worst = (statuses: readonly HealthStatus[]): HealthStatus =>
  statuses.reduce<HealthStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'healthy');

/** Pure: measurements + thresholds → per-check and overall status (see the table at the top of this file). */
export function deriveHealthStatus(input: HealthInput, thresholds: Readonly<HealthThresholds> = DEFAULT_HEALTH_THRESHOLDS): HealthVerdict {
  const reasons: string[] = [];

  let database: HealthStatus = 'healthy';
  if (!input.database.ok) {
    database = 'unhealthy';
    reasons.push(`database check failed (${input.database.error})`);
  } else if (input.database.latency > thresholds.databaseLatencyMs) {
    database = 'degraded';
    reasons.push(`database latency ${input.database.latency} ms > ${thresholds.databaseLatencyMs} ms`);
  }

  let connectionPool: HealthStatus = 'healthy';
  if (input.pool.waiting > thresholds.waitingCallers) {
    connectionPool = 'degraded';
    reasons.push(`${input.pool.waiting} caller(s) waiting for a pool connection`);
  }
  if (input.pool.utilization > thresholds.utilizationPercent) {
    connectionPool = 'degraded';
    reasons.push(`pool utilization ${input.pool.utilization}% > ${thresholds.utilizationPercent}%`);
  }
  // A host of a fleet that is down: new connections skip it, so the app still works with less room.
  const down = input.hosts?.filter((h) => h.state === 'down') ?? [];
  if (down.length > 0) {
    connectionPool = 'degraded';
    reasons.push(`${down.length} of ${input.hosts?.length} host(s) down: ${down.map((h) => `${h.host} (${h.lastDownReason})`).join(', ')}`);
  }

  let pgbouncer: HealthStatus | null = null;
  if (input.pgbouncer) {
    pgbouncer = 'healthy';
    if (!input.pgbouncer.ok) {
      pgbouncer = 'degraded';
      reasons.push(`pgbouncer admin console unreachable (${input.pgbouncer.error})`);
    } else if (input.pgbouncer.cl_waiting > thresholds.pgbouncerClientsWaiting) {
      pgbouncer = 'degraded';
      reasons.push(`pgbouncer: ${input.pgbouncer.cl_waiting} client(s) waiting for a server connection`);
    }
  }

  let replicas: HealthStatus | null = null;
  if (input.replicas) {
    replicas = 'healthy';
    if (!input.replicas.ok) {
      replicas = 'degraded';
      reasons.push(`read replicas not polled in time (${input.replicas.error})`);
    } else {
      const notUp = input.replicas.states.filter((state) => state !== 'up');
      if (notUp.length > 0) {
        replicas = 'degraded';
        reasons.push(`${notUp.length} of ${input.replicas.states.length} read replica(s) not in use (${[...new Set(notUp)].join(', ')})`);
      }
    }
  }

  const status = worst([database, connectionPool, ...(pgbouncer ? [pgbouncer] : []), ...(replicas ? [replicas] : [])]);
  return { status, database, connectionPool, pgbouncer, replicas, reasons };
}

export interface HealthDeps {
  mode: 'transaction' | 'session';
  port: number;
  provider: ProviderId;
  /** Live pool figures (read synchronously after the probes, so they describe "now"). */
  poolStats: () => PoolStats;
  /** Resolves once the database answered `SELECT 1`; must release everything when `signal` aborts. */
  pingDatabase: (signal: AbortSignal) => Promise<void>;
  /** Present only when the admin console is configured. */
  readPgbouncer?: ((signal: AbortSignal) => Promise<PgbouncerFigures>) | null;
  /** Present only with read replicas: polls them now and reports each. */
  readReplicas?: ((signal: AbortSignal) => Promise<ReplicaFigures[]>) | null;
  /** A multi-host URL's hosts and `target_session_attrs` (src/config/host-list.ts); absent otherwise. */
  hostList?: { readonly hosts: readonly string[]; readonly targetSessionAttrs: string } | null;
  /** A multi-host URL's hosts as their monitors see them now (no I/O); absent/null otherwise. */
  hostStates?: (() => readonly HostHealth[] | null) | null;
  /** Failovers ridden through so far (metrics); absent: not reported. */
  failovers?: (() => number) | null;
}

export interface HealthOptions {
  /** Each probe's deadline, ms. Defaults to 2000. */
  timeoutMs?: number;
  thresholds?: Partial<HealthThresholds>;
}

export interface DetailedHealth {
  report: HealthReport;
  verdict: HealthVerdict;
}

type Probe<T> = { ok: true; value: T; latency: number } | { ok: false; error: ErrorKind; latency: number };

const roundLatency = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * Runs `probe` against a deadline. The timer is unref'd and always cleared; on timeout the probe's
 * signal aborts (the probe then destroys its connection) and we answer at once, without waiting for it.
 */
async function timed<T>(probe: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<Probe<T>> {
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    unrefTimer(timer);
  });
  const work = Promise.resolve()
    .then(() => probe(controller.signal))
    .then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  try {
    const outcome = await Promise.race([work, deadline]);
    const latency = roundLatency(performance.now() - started);
    if (outcome === 'timeout') {
      controller.abort();
      return { ok: false, error: 'timeout', latency };
    }
    if (outcome.ok) return { ok: true, value: outcome.value, latency };
    return { ok: false, error: classifyError(outcome.error).kind, latency };
  } finally {
    clearTimeout(timer);
  }
}

function validateTimeout(timeoutMs: number): number {
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new TypeError(`checkHealth: timeoutMs must be a positive number of ms, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

/** The report plus the verdict behind it (the manager logs the verdict's reasons on a status change). */
export async function checkHealthDetailed(deps: HealthDeps, options: HealthOptions = {}): Promise<DetailedHealth> {
  const timeoutMs = validateTimeout(options.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS);
  const thresholds: HealthThresholds = { ...DEFAULT_HEALTH_THRESHOLDS, ...options.thresholds };
  // Both probes at once: the caller waits about one timeout at most, never the sum.
  const [db, bouncer, replicas] = await Promise.all([
    timed(deps.pingDatabase, timeoutMs),
    deps.readPgbouncer ? timed(deps.readPgbouncer, timeoutMs) : Promise.resolve(null),
    deps.readReplicas ? timed(deps.readReplicas, timeoutMs) : Promise.resolve(null),
  ]);
  const connections = deps.poolStats();
  const utilization = poolUtilization(connections);
  const hostStates = deps.hostStates?.() ?? null;

  const verdict = deriveHealthStatus(
    {
      database: db.ok ? { ok: true, latency: db.latency } : { ok: false, latency: db.latency, error: db.error },
      pool: { waiting: connections.waiting, utilization },
      hosts: hostStates,
      pgbouncer: bouncer && (bouncer.ok ? { ok: true, cl_waiting: bouncer.value.cl_waiting } : { ok: false, error: bouncer.error }),
      replicas: replicas && (replicas.ok ? { ok: true, states: replicas.value.map((r) => r.state) } : { ok: false, error: replicas.error }),
    },
    thresholds,
  );

  const database: DatabaseCheck = { status: verdict.database, latency: db.latency };
  if (!db.ok) database.error = db.error;
  if (deps.failovers) database.failovers = deps.failovers();
  const report: HealthReport = {
    status: verdict.status,
    checks: {
      database,
      connectionPool: {
        status: verdict.connectionPool,
        mode: deps.mode,
        port: deps.port,
        provider: deps.provider,
        connections: { ...connections },
        utilization,
        ...(deps.hostList ? { hosts: [...deps.hostList.hosts], targetSessionAttrs: deps.hostList.targetSessionAttrs } : {}),
        ...(hostStates ? { hostStates: hostStates.map((h) => ({ ...h })) } : {}),
      },
    },
  };
  if (bouncer && verdict.pgbouncer) {
    report.checks.pgbouncer = bouncer.ok
      ? { status: verdict.pgbouncer, latency: bouncer.latency, ...bouncer.value, stats: { ...bouncer.value.stats } }
      : { status: verdict.pgbouncer, latency: bouncer.latency, error: bouncer.error };
  }
  if (replicas && verdict.replicas) {
    report.checks.replicas = replicas.ok
      ? {
          status: verdict.replicas,
          available: replicas.value.filter((r) => r.state === 'up').length,
          endpoints: replicas.value.map((r) => ({ ...r })),
        }
      : { status: verdict.replicas, available: 0, endpoints: [], error: replicas.error };
  }
  return { report, verdict };
}

/** The health report in the seed's shape (plus `pgbouncer` when the admin console is configured). */
export async function checkHealth(deps: HealthDeps, options: HealthOptions = {}): Promise<HealthReport> {
  return (await checkHealthDetailed(deps, options)).report;
}
