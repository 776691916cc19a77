/**
 * The latency histogram behind the percentiles: Node's HDR histogram (`perf_hooks.createHistogram`),
 * or, where the runtime has none, a small log-linear one with the same precision.
 *
 * Why a fallback: workerd's `node:perf_hooks` exports `createHistogram` but it throws "not
 * implemented" (workerd src/node/internal/perf_hooks), and the manager creates its histograms when
 * it is constructed, which on Workers is at module scope. Why hand-written rather than
 * hdr-histogram-js: 40 lines with no dependency, used only where Node's is missing.
 */
import { createHistogram } from 'node:perf_hooks';

/** What metrics.ts uses of Node's `RecordableHistogram`: values are integers ≥ 1. */
export interface LatencyHistogram {
  readonly count: number;
  /** The highest recorded value's bucket upper bound. */
  readonly max: number;
  record(value: number): void;
  /** The value at `percentile` (0–100], as a bucket upper bound (like HDR's `valueAtPercentile`). */
  percentile(percentile: number): number;
  reset(): void;
}

export function createLatencyHistogram(): LatencyHistogram {
  try {
    return createHistogram();
  } catch {
    return new LogLinearHistogram();
  }
}

/** 2^11 sub-buckets per power of two: relative error < 1/1024, HDR's 3 significant figures. */
const SUB_BUCKET_BITS = 11;

/** Values below 2^11 are exact; above, the low bits below the 11 most significant are dropped. */
function bucketUpperBound(value: number): number {
  const v = Math.max(1, Math.floor(value));
  const shift = Math.max(0, Math.floor(Math.log2(v)) + 1 - SUB_BUCKET_BITS);
  if (shift === 0) return v;
  const unit = 2 ** shift;
  return Math.floor(v / unit) * unit + unit - 1;
}

export class LogLinearHistogram implements LatencyHistogram {
  #counts = new Map<number, number>();
  #count = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  record(value: number): void {
    const bucket = bucketUpperBound(value);
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#count++;
    if (bucket > this.#max) this.#max = bucket;
  }

  percentile(percentile: number): number {
    if (this.#count === 0) return 0;
    // HDR's rank: the count at the percentile rounded half up (HdrHistogram getValueAtPercentile).
    const target = Math.max(1, Math.floor((Math.min(100, Math.max(0, percentile)) / 100) * this.#count + 0.5));
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket) ?? 0;
      if (seen >= target) return bucket;
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.clear();
    this.#count = 0;
    this.#max = 0;
  }
}
