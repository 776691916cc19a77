/**
 * The bucket boundaries (seconds) of `db.client.operation.duration`, as the OpenTelemetry database
 * semantic conventions advise them (docs/db/database-metrics.md, v1.44): used by the OpenTelemetry
 * histogram and by the same-named histogram in our Prometheus text, so both bucket alike.
 */
export const OPERATION_DURATION_BUCKETS: readonly number[] = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);

/** Per-bucket counts (not cumulative): one slot per boundary (`value ≤ boundary`), plus one for the overflow. */
export interface DurationBuckets {
  readonly counts: number[];
  /** Sum of the recorded durations, seconds. */
  sumSeconds: number;
}

export function createDurationBuckets(): DurationBuckets {
  return { counts: new Array<number>(OPERATION_DURATION_BUCKETS.length + 1).fill(0), sumSeconds: 0 };
}

export function recordDuration(buckets: DurationBuckets, seconds: number): void {
  let slot = 0;
  while (slot < OPERATION_DURATION_BUCKETS.length && seconds > (OPERATION_DURATION_BUCKETS[slot] ?? Number.POSITIVE_INFINITY)) slot++;
  buckets.counts[slot] = (buckets.counts[slot] ?? 0) + 1;
  buckets.sumSeconds += seconds;
}
