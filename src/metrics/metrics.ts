import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Which wrapper ran the operation (`withPooling` is `default`). */
export type OperationKind = 'default' | 'read' | 'write' | 'batch';

export const OPERATION_KINDS: readonly OperationKind[] = Object.freeze(['default', 'read', 'write', 'batch']);

/** Latencies are in milliseconds, rounded to 3 decimals (the recording resolution is 1 µs); 0 when there is no data. */
export interface LatencyFigures {
  totalQueries: number;
  failedQueries: number;
  retries: number;
  /** Exact mean: computed from a running sum of the raw durations, not from the histogram. */
  avgLatency: number;
  /** Percentiles and max come from an HDR histogram (3 significant figures, so within ±0.1%). */
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
  /** Operations that ended in TransactionOutcomeUnknownError. */
  outcomeUnknown: number;
  /** ISO time of creation or of the last reset. */
  windowStartedAt: string;
}

export interface Metrics {
  /** One finished wrapper operation (all its attempts). durationNs from process.hrtime.bigint() differences. */
  recordOperation(kind: OperationKind, durationNs: bigint, outcome: { ok: true } | { ok: false; errorKind: string }): void;
  recordRetry(kind: OperationKind, errorKind: string): void;
  recordPoolWait(): void;
  recordPoolTimeout(): void;
  recordOutcomeUnknown(): void;
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
const OVERFLOW_KIND = 'other';

/** One latency series: an HDR histogram (fixed size) plus plain counters. */
interface Series {
  histogram: RecordableHistogram;
  /** Sum of raw durations in ns, kept as a double: exact far beyond any realistic window (2^53 ns ≈ 104 days). */
  sumNs: number;
  failed: number;
  retries: number;
}

function createSeries(): Series {
  return { histogram: createHistogram(), sumNs: 0, failed: 0, retries: 0 };
}

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

function increment(counts: Map<string, number>, key: string): void {
  const slot = counts.has(key) || counts.size < MAX_ERROR_KINDS - 1 ? key : OVERFLOW_KIND;
  counts.set(slot, (counts.get(slot) ?? 0) + 1);
}

export function createMetrics(): Metrics {
  const overall = createSeries();
  const byKind = new Map<OperationKind, Series>(OPERATION_KINDS.map((kind) => [kind, createSeries()]));
  const errorsByKind = new Map<string, number>();
  const retriesByKind = new Map<string, number>();
  let poolWaits = 0;
  let poolTimeouts = 0;
  let outcomeUnknown = 0;
  let windowStartedAt = new Date();

  function seriesOf(kind: OperationKind): Series {
    const series = byKind.get(kind);
    // Types already forbid this; the check keeps a JS caller from silently losing data.
    if (!series) throw new TypeError(`Unknown operation kind: ${String(kind)} (expected one of ${OPERATION_KINDS.join(', ')})`);
    return series;
  }

  return {
    recordOperation(kind, durationNs, outcome) {
      const series = seriesOf(kind);
      const ns = Math.max(0, Number(durationNs));
      record(overall, ns);
      record(series, ns);
      if (!outcome.ok) {
        overall.failed += 1;
        series.failed += 1;
        increment(errorsByKind, outcome.errorKind);
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
    recordPoolTimeout() {
      poolTimeouts += 1;
    },
    recordOutcomeUnknown() {
      outcomeUnknown += 1;
    },
    snapshot() {
      return {
        ...figures(overall),
        byKind: {
          default: figures(seriesOf('default')),
          read: figures(seriesOf('read')),
          write: figures(seriesOf('write')),
          batch: figures(seriesOf('batch')),
        },
        errorsByKind: Object.fromEntries(errorsByKind),
        retriesByKind: Object.fromEntries(retriesByKind),
        poolWaits,
        poolTimeouts,
        outcomeUnknown,
        windowStartedAt: windowStartedAt.toISOString(),
      };
    },
    reset() {
      resetSeries(overall);
      for (const series of byKind.values()) resetSeries(series);
      errorsByKind.clear();
      retriesByKind.clear();
      poolWaits = 0;
      poolTimeouts = 0;
      outcomeUnknown = 0;
      windowStartedAt = new Date();
    },
  };
}
