import { createHistogram } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, LogLinearHistogram } from '../../../src/metrics/latency-histogram.ts';

describe('LogLinearHistogram (sparse, with HDR precision)', () => {
  it('is what the metrics use, on Node too', () => {
    expect(createLatencyHistogram()).toBeInstanceOf(LogLinearHistogram);
  });

  it('keeps only the buckets values fell in: 20,000 histograms with a few values each stay small', () => {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const kept = Array.from({ length: 20_000 }, (_, i) => {
      const h = createLatencyHistogram();
      h.record(1000 + i);
      h.record(250_000);
      return h;
    });
    const after = process.memoryUsage();
    const grown = after.rss - before.rss + (after.heapUsed - before.heapUsed);
    // Node's HDR histogram held ~370 KB each (7 GB here); the sparse ones a few hundred bytes.
    expect(kept).toHaveLength(20_000);
    expect(grown / kept.length).toBeLessThan(20_000);
  });

  it('percentiles stay right as new buckets appear between reads', () => {
    const h = new LogLinearHistogram();
    h.record(10);
    expect(h.percentile(100)).toBe(10);
    h.record(5);
    h.record(7);
    expect([h.percentile(1), h.percentile(50), h.percentile(100)]).toEqual([5, 7, 10]);
  });

  it('is empty at first and after reset', () => {
    const h = new LogLinearHistogram();
    expect([h.count, h.max, h.percentile(50)]).toEqual([0, 0, 0]);
    h.record(5);
    h.reset();
    expect([h.count, h.max, h.percentile(99)]).toEqual([0, 0, 0]);
  });

  it('small values are exact', () => {
    const h = new LogLinearHistogram();
    for (const v of [1, 2, 3, 4, 100]) h.record(v);
    expect([h.count, h.max, h.percentile(50), h.percentile(100)]).toEqual([5, 100, 3, 100]);
  });

  it('agrees with Node’s HDR histogram within 0.1% on any data', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60_000_000 }), { minLength: 1, maxLength: 300 }), (values) => {
        const ours = new LogLinearHistogram();
        const node = createHistogram();
        for (const v of values) {
          ours.record(v);
          node.record(v);
        }
        expect(ours.count).toBe(node.count);
        for (const p of [50, 95, 99]) {
          const expected = node.percentile(p);
          expect(Math.abs(ours.percentile(p) - expected) / expected).toBeLessThanOrEqual(0.001);
        }
        expect(Math.abs(ours.max - node.max) / node.max).toBeLessThanOrEqual(0.001);
      }),
      { numRuns: 200 },
    );
  });
});
