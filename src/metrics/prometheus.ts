import { type LatencyFigures, type MetricsSnapshot, OPERATION_KINDS } from './metrics.ts';
import type { PoolStats } from './pool-stats.ts';

/**
 * Hand-rendered Prometheus text exposition, format 0.0.4.
 * Why not prom-client: its Summary computes quantiles from its own observations, but ours already come
 * from the latency histograms in a snapshot; re-feeding them would mean a second, divergent set of figures.
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const QUANTILES = [
  ['0.5', 'p50Latency'],
  ['0.95', 'p95Latency'],
  ['0.99', 'p99Latency'],
] as const satisfies ReadonlyArray<readonly [string, keyof LatencyFigures]>;

type Labels = Readonly<Record<string, string>>;
type Sample = readonly [labels: Labels, value: number, suffix?: string];

/** Label values escape backslash, double quote and line feed (in that order, so escapes are not re-escaped). */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** One metric family: HELP and TYPE first, then every sample (a family may have none, e.g. no errors yet). */
function family(name: string, type: 'counter' | 'gauge' | 'summary' | 'histogram', help: string, samples: readonly Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value, suffix = ''] of samples) lines.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  return lines.join('\n');
}

/** Snapshot figures are ms with 3 decimals (whole µs): going through integer µs avoids float noise like 0.0050030000000000005. */
const msToSeconds = (ms: number): number => Math.round(ms * 1000) / 1e6;

/** The pools to render; `names` are their `db.client.connection.pool.name` (defaults: `primary`, `read`). */
export interface PrometheusPools {
  primary: PoolStats;
  /** The replicas' pools summed (`pgpool_pool_*{pool="read"}`). */
  read?: PoolStats | null;
  /** Each replica's pool under its own name (the `db_client_connection_*` families); without it, `read` under one name. */
  replicas?: ReadonlyArray<{ name: string; stats: PoolStats }> | null;
  names?: { primary: string; read?: string | null } | null;
}

/**
 * The families named as OpenTelemetry's database conventions are named once exported to Prometheus
 * (dots → underscores, the unit `s` → `_seconds`, a counter's `_total`), with the same labels, so
 * one dashboard reads a scrape of this text and OTLP from the same app alike (docs/opentelemetry.md).
 * Never prefixed: these are the standard names.
 */
function openTelemetryFamilies(snapshot: MetricsSnapshot, pools: PrometheusPools): string[] {
  const { boundaries, series } = snapshot.operationDuration;
  const duration: Sample[] = [];
  for (const s of series) {
    const labels: Record<string, string> = { db_system_name: 'postgresql', db_operation_name: s.operation };
    if (s.collection !== null) labels.db_collection_name = s.collection;
    if (s.errorKind !== null) labels.error_type = s.errorKind;
    let cumulative = 0;
    boundaries.forEach((boundary, i) => {
      cumulative += s.bucketCounts[i] ?? 0;
      duration.push([{ ...labels, le: String(boundary) }, cumulative, '_bucket']);
    });
    duration.push([{ ...labels, le: '+Inf' }, s.count, '_bucket']);
    duration.push([labels, s.sumSeconds, '_sum']);
    duration.push([labels, s.count, '_count']);
  }
  const poolList: Array<[string, PoolStats, number]> = [
    [pools.names?.primary ?? 'primary', pools.primary, snapshot.poolTimeoutsByPool.primary],
  ];
  if (pools.replicas && pools.replicas.length > 0) {
    for (const { name, stats } of pools.replicas) poolList.push([name, stats, snapshot.poolTimeoutsByName?.[name] ?? 0]);
  } else if (pools.read) {
    poolList.push([pools.names?.read ?? 'read', pools.read, snapshot.poolTimeoutsByPool.read]);
  }
  const pool = (name: string) => ({ db_client_connection_pool_name: name });
  return [
    family(
      'db_client_operation_duration_seconds',
      'histogram',
      'Duration of database client operations: one wrapper call, all attempts included.',
      duration,
    ),
    family(
      'db_client_connection_count',
      'gauge',
      'The number of connections that are currently in state described by the state attribute.',
      poolList.flatMap(([name, stats]): Sample[] => [
        [{ ...pool(name), db_client_connection_state: 'idle' }, stats.idle],
        [{ ...pool(name), db_client_connection_state: 'used' }, stats.active],
      ]),
    ),
    family(
      'db_client_connection_max',
      'gauge',
      'The maximum number of open connections allowed.',
      poolList.map(([name, stats]): Sample => [pool(name), stats.limit]),
    ),
    family(
      'db_client_connection_pending_requests',
      'gauge',
      'The number of current pending requests for an open connection.',
      poolList.map(([name, stats]): Sample => [pool(name), stats.waiting]),
    ),
    family(
      'db_client_connection_timeouts_total',
      'counter',
      'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
      poolList.map(([name, , timeouts]): Sample => [pool(name), timeouts]),
    ),
  ];
}

/**
 * Renders a snapshot plus pool stats. Latency quantiles are NaN for a kind with no operations (what the
 * official Go client does), because a 0 would read as "instant" on a dashboard.
 */
export function renderPrometheus(
  snapshot: MetricsSnapshot & {
    /** Read attempts by target (`replica`, `primary-fallback`, `primary-consistency`), from `getMetrics()`; absent → no family. */
    readsByTarget?: Readonly<Record<string, number>>;
    /** Each read replica as last observed, from `getMetrics()`; absent or empty → no families. */
    replicas?: ReadonlyArray<{ url: string; state: string; lagMs: number | null }>;
    /** What `warmup()` did, from `getMetrics()`; absent → no families. */
    warmupConnections?: number;
    warmupFailures?: number;
    /** A multi-host URL's hosts as their monitors see them, from `getMetrics()`; absent or empty → no families. */
    hosts?: ReadonlyArray<{ host: string; state: string; downs: number; probes: number }>;
  },
  pools: PrometheusPools,
  prefix = 'pgpool_',
): string {
  if (prefix !== '' && !METRIC_NAME.test(prefix)) {
    throw new TypeError(`Invalid option "prefix": ${JSON.stringify(prefix)} must match ${METRIC_NAME.source}`);
  }
  const n = (name: string) => `${prefix}${name}`;
  const perKind = (pick: (figures: LatencyFigures) => number): Sample[] =>
    OPERATION_KINDS.map((kind) => [{ kind }, pick(snapshot.byKind[kind])]);
  const perErrorKind = (counts: Record<string, number>): Sample[] =>
    Object.keys(counts)
      .sort()
      .map((errorKind) => [{ error_kind: errorKind }, counts[errorKind] ?? 0]);

  const latency: Sample[] = [];
  for (const kind of OPERATION_KINDS) {
    const figures = snapshot.byKind[kind];
    const empty = figures.totalQueries === 0;
    for (const [quantile, key] of QUANTILES) latency.push([{ kind, quantile }, empty ? Number.NaN : msToSeconds(figures[key])]);
    latency.push([{ kind }, msToSeconds(figures.totalLatency), '_sum']);
    latency.push([{ kind }, figures.totalQueries, '_count']);
  }

  const poolList: Array<[string, PoolStats]> = [['primary', pools.primary]];
  if (pools.read) poolList.push(['read', pools.read]);
  const connections: Sample[] = poolList.flatMap(([pool, stats]): Sample[] => [
    [{ pool, state: 'active' }, stats.active],
    [{ pool, state: 'idle' }, stats.idle],
    [{ pool, state: 'waiting' }, stats.waiting],
  ]);

  const families = [
    family(
      n('operations_total'),
      'counter',
      'Wrapper operations finished (all attempts), by operation kind.',
      perKind((f) => f.totalQueries),
    ),
    family(
      n('operations_failed_total'),
      'counter',
      'Wrapper operations that failed after their last attempt.',
      perKind((f) => f.failedQueries),
    ),
    family(
      n('retries_total'),
      'counter',
      'Attempts retried, by operation kind.',
      perKind((f) => f.retries),
    ),
    family(n('errors_total'), 'counter', 'Failed operations by classified kind of their final error.', perErrorKind(snapshot.errorsByKind)),
    family(n('operation_latency_seconds'), 'summary', 'Wrapper operation latency including retries (HDR histogram quantiles).', latency),
    family(n('pool_connections'), 'gauge', 'pg.Pool connections by state (waiting = queued callers).', connections),
    family(
      n('pool_limit'),
      'gauge',
      'Configured maximum connections of the pg.Pool.',
      poolList.map(([pool, stats]): Sample => [{ pool }, stats.limit]),
    ),
    family(n('pool_waits_total'), 'counter', 'Transaction attempts (retries included) that found every pool connection busy.', [
      [{}, snapshot.poolWaits],
    ]),
    family(n('pool_timeouts_total'), 'counter', 'Operations that failed with a pool acquire timeout.', [[{}, snapshot.poolTimeouts]]),
    family(n('outcome_unknown_total'), 'counter', 'Operations whose COMMIT outcome is unknown (connection lost during COMMIT).', [
      [{}, snapshot.outcomeUnknown],
    ]),
    family(
      n('failovers_total'),
      'counter',
      'Failovers ridden through: episodes of errors meaning the primary is moving (docs/failover.md).',
      [[{}, snapshot.failovers]],
    ),
    family(n('failover_calls_total'), 'counter', 'Calls that entered a failover window (retried until failoverTimeoutMs).', [
      [{}, snapshot.failoverCalls],
    ]),
  ];
  if (snapshot.warmupConnections !== undefined && snapshot.warmupFailures !== undefined) {
    families.push(
      family(n('warmup_connections_total'), 'counter', 'Connections warmup() opened ahead of the first request.', [
        [{}, snapshot.warmupConnections],
      ]),
      family(
        n('warmup_failures_total'),
        'counter',
        'warmup() steps that failed (a connection, the engine start, warmupQuery); never thrown.',
        [[{}, snapshot.warmupFailures]],
      ),
    );
  }
  const reads = snapshot.readsByTarget;
  if (reads) {
    families.push(
      family(
        n('reads_total'),
        'counter',
        'Read attempts by target: replica, primary-fallback (no replica usable), primary-consistency (no replica had replayed the writes the read must see).',
        Object.keys(reads)
          .sort()
          .map((target): Sample => [{ target }, reads[target] ?? 0]),
      ),
    );
  }
  const replicas = snapshot.replicas ?? [];
  if (replicas.length > 0) {
    families.push(
      family(
        n('replica_up'),
        'gauge',
        'Whether reads may use the replica (1: state up; 0: down, lagging or not polled yet). Label: the redacted URL.',
        replicas.map((r): Sample => [{ replica: r.url }, r.state === 'up' ? 1 : 0]),
      ),
      family(
        n('replica_lag_seconds'),
        'gauge',
        'How far the replica is behind the primary (sampled from WAL positions); NaN when unknown.',
        replicas.map((r): Sample => [{ replica: r.url }, r.lagMs === null ? Number.NaN : r.lagMs / 1000]),
      ),
    );
  }
  const hosts = snapshot.hosts ?? [];
  if (hosts.length > 0) {
    families.push(
      family(
        n('host_up'),
        'gauge',
        'Whether new connections may go to the host of a multi-host URL (1: up; 0: down until its monitor finds it back). Label: host:port.',
        hosts.map((h): Sample => [{ host: h.host }, h.state === 'up' ? 1 : 0]),
      ),
      family(
        n('host_downs_total'),
        'counter',
        'Times the host was marked down (refused, timed out or went silent).',
        hosts.map((h): Sample => [{ host: h.host }, h.downs]),
      ),
      family(
        n('host_probes_total'),
        'counter',
        "Connections the host's monitor opened to find it back.",
        hosts.map((h): Sample => [{ host: h.host }, h.probes]),
      ),
    );
  }
  families.push(...openTelemetryFamilies(snapshot, pools));
  // The format requires every line, the last included, to end with a line feed.
  return `${families.join('\n')}\n`;
}
