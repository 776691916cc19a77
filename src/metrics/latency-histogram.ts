/**
 * The latency histogram behind the percentiles: log-linear buckets with HDR's precision (3 significant
 * figures, the same bucket bounds as Node's `perf_hooks.createHistogram`, which a unit test checks),
 * kept sparse: only the buckets a value has landed in exist.
 *
 * Why not Node's HDR histogram: it allocates its whole counts array up front, about 370 KB for its
 * default range (1 to 2^53 at 3 figures), and a manager keeps one per operation kind (7). Measured in
 * the scale bench: ~2.5 MB of native memory per manager before its first query, which made 10,000
 * simulated instances run out of memory, and which each real instance pays at its cold start. A
 * sparse histogram holds the few hundred buckets a workload's latencies actually fall in. It is also
 * what workerd needs, whose `node:perf_hooks` `createHistogram` throws "not implemented"
 * (workerd src/node/internal/perf_hooks). Hand-written rather than hdr-histogram-js: 50 lines with no
 * dependency, where the library is dense too.
 */

/** What metrics.ts uses of a histogram: values are integers ≥ 1. */
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
  return new LogLinearHistogram();
}

/** 2^11 sub-buckets per power of two: relative error < 1/1024, HDR's 3 significant figures. */
const SUB_BUCKET_BITS = 11;

/** Values below 2^11 are exact; above, the low bits below the 11 most significant are dropped. */
function bucketUpperBound(value: number): number {
  const v = Math.max(1, Math.floor(value));
  // The bit length of v: clz32 for the µs of any call under 71 minutes, log2 beyond.
  const bits = v < 2 ** 32 ? 32 - Math.clz32(v) : Math.floor(Math.log2(v)) + 1;
  const shift = Math.max(0, bits - SUB_BUCKET_BITS);
  if (shift === 0) return v;
  const unit = 2 ** shift;
  return Math.floor(v / unit) * unit + unit - 1;
}

export class LogLinearHistogram implements LatencyHistogram {
  #counts = new Map<number, number>();
  /** The buckets in ascending order, rebuilt only when a new bucket appeared since the last percentile. */
  #sorted: number[] = [];
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
    if (this.#sorted.length !== this.#counts.size) this.#sorted = [...this.#counts.keys()].sort((a, b) => a - b);
    for (const bucket of this.#sorted) {
      seen += this.#counts.get(bucket) ?? 0;
      if (seen >= target) return bucket;
    }
    return this.#max;
  }

  reset(): void {
    this.#counts.clear();
    this.#sorted = [];
    this.#count = 0;
    this.#max = 0;
  }
}
