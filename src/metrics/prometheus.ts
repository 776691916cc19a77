import { type LatencyFigures, type MetricsSnapshot, OPERATION_KINDS } from './metrics.ts';
import type { PoolStats } from './pool-stats.ts';

/**
 * Hand-rendered Prometheus text exposition, format 0.0.4.
 * Why not prom-client: its Summary computes quantiles from its own observations, but ours already come
 * from the HDR histograms in a snapshot; re-feeding them would mean a second, divergent set of figures.
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
function family(name: string, type: 'counter' | 'gauge' | 'summary', help: string, samples: readonly Sample[]): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value, suffix = ''] of samples) lines.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`);
  return lines.join('\n');
}

/** Snapshot figures are ms with 3 decimals (whole µs): going through integer µs avoids float noise like 0.0050030000000000005. */
const msToSeconds = (ms: number): number => Math.round(ms * 1000) / 1e6;

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
  },
  pools: { primary: PoolStats; read?: PoolStats | null },
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
    family(n('pool_waits_total'), 'counter', 'Operations that started while every pool connection was busy.', [[{}, snapshot.poolWaits]]),
    family(n('pool_timeouts_total'), 'counter', 'Operations that failed with a pool acquire timeout.', [[{}, snapshot.poolTimeouts]]),
    family(n('outcome_unknown_total'), 'counter', 'Operations whose COMMIT outcome is unknown (connection lost during COMMIT).', [
      [{}, snapshot.outcomeUnknown],
    ]),
  ];
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
  // The format requires every line, the last included, to end with a line feed.
  return `${families.join('\n')}\n`;
}
