import { createHistogram } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, LogLinearHistogram } from '../../../src/metrics/latency-histogram.ts';

describe('LogLinearHistogram (where perf_hooks.createHistogram is missing, e.g. workerd)', () => {
  it('on Node the HDR histogram is used', () => {
    expect(createLatencyHistogram()).not.toBeInstanceOf(LogLinearHistogram);
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
