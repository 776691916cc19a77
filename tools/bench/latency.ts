/** Merged latency figures from raw integer-µs samples, through one `perf_hooks` HDR histogram. */
import { createHistogram } from 'node:perf_hooks';

export interface LatencySummary {
  count: number;
  /** Milliseconds, 2 decimals; 0 when there are no samples. */
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

const ms = (us: number): number => Math.round(us / 10) / 100;

export function summarize(samplesUs: Iterable<number>): LatencySummary {
  const histogram = createHistogram();
  for (const us of samplesUs) histogram.record(Math.max(1, Math.round(us)));
  if (histogram.count === 0) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  return {
    count: histogram.count,
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.percentile(50)),
    p95Ms: ms(histogram.percentile(95)),
    p99Ms: ms(histogram.percentile(99)),
    maxMs: ms(histogram.max),
  };
}
