import { createDurationBuckets, type DurationBuckets, OPERATION_DURATION_BUCKETS, recordDuration } from './duration-buckets.ts';
import { createLatencyHistogram, type LatencyHistogram } from './latency-histogram.ts';
import type { LostCommitOutcome, OperationSink, PoolRole, PoolTarget } from './sink.ts';

/**
 * What ran the operation: a wrapper (`withPooling` is `default`), or a call through
 * `manager.prisma` (`plain-read`: findMany, count, $queryRaw …; `plain-write`: every other plain
 * call; `transaction`: `prisma.$transaction(...)`, array or interactive form).
 */
export type OperationKind = 'default' | 'read' | 'write' | 'batch' | 'plain-read' | 'plain-write' | 'transaction';

export const OPERATION_KINDS: readonly OperationKind[] = Object.freeze([
  'default',
  'read',
  'write',
  'batch',
  'plain-read',
  'plain-write',
  'transaction',
]);

/** The wrapper kinds (what `withPooling` and friends record). */
export type WrapperKind = Exclude<OperationKind, 'plain-read' | 'plain-write' | 'transaction'>;

export const WRAPPER_KINDS: readonly WrapperKind[] = Object.freeze(['default', 'read', 'write', 'batch']);

/**
 * OpenTelemetry's `db.operation.name` of each kind: the wrapper function, or for plain calls a
 * fallback used only when the call's own Prisma operation is unknown.
 */
export const WRAPPER_NAMES = Object.freeze({
  default: 'withPooling',
  read: 'readWithPooling',
  write: 'writeWithPooling',
  batch: 'batchWithPooling',
  'plain-read': 'read',
  'plain-write': 'write',
  transaction: '$transaction',
} as const satisfies Record<OperationKind, string>);

/** A plain client call's own name: Prisma's operation (`findMany`, `$queryRaw`) and model (`User`, null for raw queries). */
export interface OperationName {
  readonly operation: string;
  readonly collection: string | null;
}

/** Latencies are in milliseconds, rounded to 3 decimals (the recording resolution is 1 µs); 0 when there is no data. */
export interface LatencyFigures {
  totalQueries: number;
  failedQueries: number;
  retries: number;
  /** Exact mean: computed from a running sum of the raw durations, not from the histogram. */
  avgLatency: number;
  /** Percentiles and max come from a histogram with HDR's precision (3 significant figures, so within ±0.1%). */
  p50Latency: number;
  p95Latency: number;
  p99Latency: number;
  maxLatency: number;
  /** Exact sum of all operation durations (ms). Feeds Prometheus' `_sum`; an addition to the original contract. */
  totalLatency: number;
}

export interface MetricsSnapshot extends LatencyFigures {
  byKind: Record<OperationKind, LatencyFigures>;
  /** Classified error kind -> number of FAILED operations whose final error had that kind. */
  errorsByKind: Record<string, number>;
  /** Classified error kind that caused each retry -> count. */
  retriesByKind: Record<string, number>;
  /** Transaction attempts (a retry is one more) that found every pool connection busy and waited for one. */
  poolWaits: number;
  /** Operations that failed with a pool acquire timeout. */
  poolTimeouts: number;
  /** `poolTimeouts` by the role of the pool that timed out (`read`: all replicas together). */
  poolTimeoutsByPool: Record<PoolRole, number>;
  /** `poolTimeouts` by the `db.client.connection.pool.name` of the pool that timed out (each replica on its own). */
  poolTimeoutsByName: Record<string, number>;
  /**
   * Wrapper-call durations in the buckets of OpenTelemetry's `db.client.operation.duration`
   * (`boundaries` in seconds), per wrapper and final error kind (`errorKind` null: succeeded);
   * what the Prometheus text renders as `db_client_operation_duration_seconds`.
   */
  operationDuration: { boundaries: number[]; series: OperationDurationSeries[] };
  /** Operations that ended in TransactionOutcomeUnknownError. */
  outcomeUnknown: number;
  /**
   * Transactions whose COMMIT answer was lost, by what the database said when asked
   * (`pg_xact_status`, docs/reliability.md): `committed` (the call succeeded, or a plain write
   * reported WriteCommittedResultLostError), `aborted` (retried), `unknown` (it could not tell).
   */
  lostCommits: Record<LostCommitOutcome, number>;
  /**
   * Failovers ridden through (docs/failover.md): episodes of "the primary is moving" errors, a new
   * one when none was seen for FAILOVER_EPISODE_GAP_MS. `calls`: calls that entered a failover
   * window; `retries`: their failover retries (also in `retries`).
   */
  failovers: number;
  failoverCalls: number;
  failoverRetries: number;
  /** ISO time of creation or of the last reset. */
  windowStartedAt: string;
}

export interface OperationDurationSeries {
  kind: OperationKind;
  /** `db.operation.name`: the wrapper, or the plain call's Prisma operation. */
  operation: string;
  /** `db.collection.name`: the plain call's model; null for wrappers and raw queries. */
  collection: string | null;
  errorKind: string | null;
  /** Per-bucket counts, not cumulative; the last one is the overflow (> the last boundary). */
  bucketCounts: number[];
  count: number;
  sumSeconds: number;
}

export interface Metrics {
  /** One finished wrapper operation (all its attempts). durationNs from process.hrtime.bigint() differences. */
  recordOperation(
    kind: OperationKind,
    durationNs: bigint,
    outcome: { ok: true } | { ok: false; errorKind: string },
    name?: OperationName,
  ): void;
  recordRetry(kind: OperationKind, errorKind: string): void;
  recordPoolWait(): void;
  /** The pool that timed out; null when unknown (counted as the primary's). */
  recordPoolTimeout(pool?: PoolTarget | null): void;
  recordOutcomeUnknown(): void;
  /** A lost COMMIT answer, settled with the database. */
  recordLostCommit(outcome: LostCommitOutcome): void;
  /** A retry after a "primary is moving" error inside a failover window; `callStarted` for a call's first. */
  recordFailoverRetry(callStarted: boolean): void;
  /** Fresh plain objects on every call: safe to JSON.stringify and to mutate. */
  snapshot(): MetricsSnapshot;
  /** Starts a new window: histograms and counters back to zero, windowStartedAt = now. */
  reset(): void;
}

/**
 * Error kinds come from our classifier's closed union, so these maps stay tiny. The cap only guards
 * constant memory against a caller passing free-form strings (e.g. error messages): extra kinds are
 * folded into `other` (which keeps the last slot).
 */
const MAX_ERROR_KINDS = 32;

/** Failover retries further apart than this belong to separate failovers, ms. */
export const FAILOVER_EPISODE_GAP_MS = 5000;
const OVERFLOW_KIND = 'other';

/** One latency series: a sparse histogram with HDR's precision (./latency-histogram.ts) plus plain counters. */
interface Series {
  histogram: LatencyHistogram;
  /** Sum of raw durations in ns, kept as a double: exact far beyond any realistic window (2^53 ns ≈ 104 days). */
  sumNs: number;
  failed: number;
  retries: number;
}

/** The OpenTelemetry-bucketed durations of one operation name: succeeded, and failed per error kind. */
interface NamedDurations {
  readonly kind: OperationKind;
  readonly name: OperationName;
  succeeded: DurationBuckets;
  failedByKind: Map<string, DurationBuckets>;
}

function createSeries(): Series {
  return { histogram: createLatencyHistogram(), sumNs: 0, failed: 0, retries: 0 };
}

/** Bounds memory against free-form names: past this many, further names share one slot. */
const MAX_OPERATION_NAMES = 256;

function resetSeries(series: Series): void {
  series.histogram.reset();
  series.sumNs = 0;
  series.failed = 0;
  series.retries = 0;
}

function record(series: Series, durationNs: number): void {
  // A negative duration can only be a caller bug (swapped hrtime readings); count it as ~0 rather than throw mid-request.
  // The histogram takes integers ≥ 1, so record microseconds and clamp sub-microsecond (or negative) durations to 1 µs.
  series.histogram.record(Math.max(1, Math.round(durationNs / 1000)));
  series.sumNs += durationNs;
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const microsToMs = (micros: number): number => round3(micros / 1000);

function figures(series: Series): LatencyFigures {
  const { histogram } = series;
  const count = histogram.count;
  // An empty histogram reports mean NaN and min 2^63: answer zeros instead, as the contract says.
  if (count === 0) {
    return {
      totalQueries: 0,
      failedQueries: series.failed,
      retries: series.retries,
      avgLatency: 0,
      p50Latency: 0,
      p95Latency: 0,
      p99Latency: 0,
      maxLatency: 0,
      totalLatency: 0,
    };
  }
  return {
    totalQueries: count,
    failedQueries: series.failed,
    retries: series.retries,
    avgLatency: round3(series.sumNs / count / 1e6),
    p50Latency: microsToMs(histogram.percentile(50)),
    p95Latency: microsToMs(histogram.percentile(95)),
    p99Latency: microsToMs(histogram.percentile(99)),
    // The histogram's max (not an exact one) so that p99 ≤ max always holds: both are bucket upper bounds.
    maxLatency: microsToMs(histogram.max),
    totalLatency: round3(series.sumNs / 1e6),
  };
}

/** The map key for an error kind, folded into `other` past the cap. */
function slotOf(counts: Map<string, unknown>, key: string): string {
  return counts.has(key) || counts.size < MAX_ERROR_KINDS - 1 ? key : OVERFLOW_KIND;
}

function increment(counts: Map<string, number>, key: string): void {
  const slot = slotOf(counts, key);
  counts.set(slot, (counts.get(slot) ?? 0) + 1);
}

function durationSeries(named: NamedDurations, errorKind: string | null, buckets: DurationBuckets): OperationDurationSeries {
  return {
    kind: named.kind,
    operation: named.name.operation,
    collection: named.name.collection,
    errorKind,
    bucketCounts: [...buckets.counts],
    count: buckets.counts.reduce((total, n) => total + n, 0),
    sumSeconds: Math.round(buckets.sumSeconds * 1e6) / 1e6,
  };
}

export function createMetrics(now: () => number = () => performance.now()): Metrics {
  const overall = createSeries();
  const byKind = new Map<OperationKind, Series>(OPERATION_KINDS.map((kind) => [kind, createSeries()]));
  const errorsByKind = new Map<string, number>();
  const retriesByKind = new Map<string, number>();
  let poolWaits = 0;
  let poolTimeouts = 0;
  const poolTimeoutsByPool: Record<PoolRole, number> = { primary: 0, read: 0 };
  const poolTimeoutsByName = new Map<string, number>();
  let outcomeUnknown = 0;
  const lostCommits: Record<LostCommitOutcome, number> = { committed: 0, aborted: 0, unknown: 0 };
  const failover = { episodes: 0, calls: 0, retries: 0, lastAt: Number.NEGATIVE_INFINITY };
  let windowStartedAt = new Date();
  /** By `kind operation collection`; the wrappers' four always exist (a dashboard sees them at 0). */
  const durations = new Map<string, NamedDurations>();
  const durationsKey = (kind: OperationKind, name: OperationName): string => `${kind}\u0000${name.operation}\u0000${name.collection ?? ''}`;
  const addDurations = (kind: OperationKind, name: OperationName): NamedDurations => {
    const named: NamedDurations = { kind, name, succeeded: createDurationBuckets(), failedByKind: new Map() };
    durations.set(durationsKey(kind, name), named);
    return named;
  };
  const wrapperNames = new Map<OperationKind, OperationName>(
    OPERATION_KINDS.map((kind) => [kind, Object.freeze({ operation: WRAPPER_NAMES[kind], collection: null })]),
  );
  const addWrapperDurations = () => {
    for (const kind of WRAPPER_KINDS) addDurations(kind, wrapperNames.get(kind) as OperationName);
  };
  addWrapperDurations();
  /** The same entries by kind, operation and collection: a call finds its own without building a key string. */
  const byName = new Map<OperationKind, Map<string, Map<string | null, NamedDurations>>>();
  function durationsOf(kind: OperationKind, name: OperationName | undefined): NamedDurations {
    const resolved = name ?? (wrapperNames.get(kind) as OperationName);
    const known = byName.get(kind)?.get(resolved.operation)?.get(resolved.collection);
    if (known) return known;
    const found = durations.get(durationsKey(kind, resolved));
    if (found) {
      const operations = byName.get(kind) ?? new Map<string, Map<string | null, NamedDurations>>();
      byName.set(kind, operations);
      const collections = operations.get(resolved.operation) ?? new Map<string | null, NamedDurations>();
      operations.set(resolved.operation, collections);
      collections.set(resolved.collection, found);
      return found;
    }
    // Past the cap a new name is folded into the kind's own (bounded memory whatever the caller passes).
    if (durations.size >= MAX_OPERATION_NAMES)
      return (
        durations.get(durationsKey(kind, wrapperNames.get(kind) as OperationName)) ??
        addDurations(kind, wrapperNames.get(kind) as OperationName)
      );
    return addDurations(kind, { operation: resolved.operation, collection: resolved.collection });
  }

  function seriesOf(kind: OperationKind): Series {
    const series = byKind.get(kind);
    // Types already forbid this; the check keeps a JS caller from silently losing data.
    if (!series) throw new TypeError(`Unknown operation kind: ${String(kind)} (expected one of ${OPERATION_KINDS.join(', ')})`);
    return series;
  }

  return {
    recordOperation(kind, durationNs, outcome, name) {
      const series = seriesOf(kind);
      const named = durationsOf(kind, name);
      const ns = Math.max(0, Number(durationNs));
      record(overall, ns);
      record(series, ns);
      if (!outcome.ok) {
        overall.failed += 1;
        series.failed += 1;
        increment(errorsByKind, outcome.errorKind);
        const slot = slotOf(named.failedByKind, outcome.errorKind);
        let buckets = named.failedByKind.get(slot);
        if (!buckets) {
          buckets = createDurationBuckets();
          named.failedByKind.set(slot, buckets);
        }
        recordDuration(buckets, ns / 1e9);
      } else {
        recordDuration(named.succeeded, ns / 1e9);
      }
    },
    recordRetry(kind, errorKind) {
      const series = seriesOf(kind);
      overall.retries += 1;
      series.retries += 1;
      increment(retriesByKind, errorKind);
    },
    recordPoolWait() {
      poolWaits += 1;
    },
    recordPoolTimeout(pool = null) {
      poolTimeouts += 1;
      poolTimeoutsByPool[pool?.role ?? 'primary'] += 1;
      if (pool) increment(poolTimeoutsByName, pool.poolName);
    },
    recordOutcomeUnknown() {
      outcomeUnknown += 1;
    },
    recordLostCommit(outcome) {
      lostCommits[outcome] += 1;
    },
    recordFailoverRetry(callStarted) {
      const at = now();
      const newEpisode = at - failover.lastAt > FAILOVER_EPISODE_GAP_MS;
      failover.lastAt = at;
      failover.retries += 1;
      if (callStarted) failover.calls += 1;
      if (newEpisode) failover.episodes += 1;
    },
    snapshot() {
      return {
        ...figures(overall),
        byKind: {
          default: figures(seriesOf('default')),
          read: figures(seriesOf('read')),
          write: figures(seriesOf('write')),
          batch: figures(seriesOf('batch')),
          'plain-read': figures(seriesOf('plain-read')),
          'plain-write': figures(seriesOf('plain-write')),
          transaction: figures(seriesOf('transaction')),
        },
        errorsByKind: Object.fromEntries(errorsByKind),
        retriesByKind: Object.fromEntries(retriesByKind),
        poolWaits,
        poolTimeouts,
        poolTimeoutsByPool: { ...poolTimeoutsByPool },
        poolTimeoutsByName: Object.fromEntries(poolTimeoutsByName),
        outcomeUnknown,
        lostCommits: { ...lostCommits },
        failovers: failover.episodes,
        failoverCalls: failover.calls,
        failoverRetries: failover.retries,
        operationDuration: {
          boundaries: [...OPERATION_DURATION_BUCKETS],
          series: [...durations.values()].flatMap((named) => [
            durationSeries(named, null, named.succeeded),
            ...[...named.failedByKind].map(([errorKind, buckets]) => durationSeries(named, errorKind, buckets)),
          ]),
        },
        windowStartedAt: windowStartedAt.toISOString(),
      };
    },
    reset() {
      resetSeries(overall);
      for (const series of byKind.values()) resetSeries(series);
      durations.clear();
      byName.clear();
      addWrapperDurations();
      errorsByKind.clear();
      retriesByKind.clear();
      poolWaits = 0;
      poolTimeouts = 0;
      poolTimeoutsByPool.primary = 0;
      poolTimeoutsByPool.read = 0;
      poolTimeoutsByName.clear();
      outcomeUnknown = 0;
      lostCommits.committed = 0;
      lostCommits.aborted = 0;
      lostCommits.unknown = 0;
      failover.episodes = 0;
      failover.calls = 0;
      failover.retries = 0;
      windowStartedAt = new Date();
    },
  };
}

const SUCCEEDED = Object.freeze({ ok: true } as const);

/**
 * The built-in metrics as an operation sink. Latency is recorded once per wrapper call; pool
 * timeouts and unknown outcomes once per transaction (see `OperationScope`).
 */
export function createMetricsSink(metrics: Metrics): OperationSink {
  return {
    operationFinished(event) {
      const { kind, scope, durationNs, error } = event;
      if (scope !== 'parallel-batch') {
        if (error?.kind === 'outcome-unknown') metrics.recordOutcomeUnknown();
        else if (error?.kind === 'pool-timeout') metrics.recordPoolTimeout(event.pool);
      }
      if (scope !== 'parallel-batch-item')
        metrics.recordOperation(kind, durationNs, error ? { ok: false, errorKind: error.kind } : SUCCEEDED, event.name);
    },
    attemptRetried({ kind, error, failoverStarted }) {
      metrics.recordRetry(kind, error.kind);
      if (error.failover && failoverStarted !== undefined) metrics.recordFailoverRetry(failoverStarted);
    },
    poolWaited() {
      metrics.recordPoolWait();
    },
    commitSettled({ outcome }) {
      metrics.recordLostCommit(outcome);
    },
  };
}
