import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMetrics,
  type LatencyFigures,
  type Metrics,
  OPERATION_KINDS,
  WRAPPER_KINDS,
  WRAPPER_NAMES,
} from '../../../src/metrics/metrics.ts';

const ms = (value: number): bigint => BigInt(Math.round(value * 1e6));
const ok = { ok: true } as const;
const failed = (errorKind: string) => ({ ok: false, errorKind }) as const;

/** HDR histograms keep 3 significant figures: a recorded value reads back within 0.1%. */
const HDR_TOLERANCE = 0.001;
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * HDR_TOLERANCE + 0.001);
}

function expectOrdered(figures: LatencyFigures): void {
  expect(figures.p50Latency).toBeLessThanOrEqual(figures.p95Latency);
  expect(figures.p95Latency).toBeLessThanOrEqual(figures.p99Latency);
  expect(figures.p99Latency).toBeLessThanOrEqual(figures.maxLatency);
}

/** 1..n ms in a scrambled order, so nothing depends on insertion order. */
function recordUniform(metrics: Metrics, kind: (typeof OPERATION_KINDS)[number], n: number): void {
  for (let i = 0; i < n; i++) metrics.recordOperation(kind, ms(((i * 7919) % n) + 1), ok);
}

const ZERO: LatencyFigures = {
  totalQueries: 0,
  failedQueries: 0,
  retries: 0,
  avgLatency: 0,
  p50Latency: 0,
  p95Latency: 0,
  p99Latency: 0,
  maxLatency: 0,
  totalLatency: 0,
};

afterEach(() => {
  vi.useRealTimers();
});

describe('createMetrics', () => {
  it('starts with zeros everywhere (not NaN from an empty histogram)', () => {
    const snapshot = createMetrics().snapshot();
    expect(snapshot).toMatchObject(ZERO);
    for (const kind of OPERATION_KINDS) expect(snapshot.byKind[kind]).toEqual(ZERO);
    expect(snapshot.errorsByKind).toEqual({});
    expect(snapshot.retriesByKind).toEqual({});
    expect([snapshot.poolWaits, snapshot.poolTimeouts, snapshot.outcomeUnknown]).toEqual([0, 0, 0]);
    expect(new Date(snapshot.windowStartedAt).toISOString()).toBe(snapshot.windowStartedAt);
  });

  it('reads percentiles of 1..1000 ms within HDR precision, with an exact count, mean and sum', () => {
    const metrics = createMetrics();
    recordUniform(metrics, 'read', 1000);
    const { byKind, ...overall } = metrics.snapshot();
    expect(overall.totalQueries).toBe(1000);
    expect(overall.avgLatency).toBe(500.5); // exact: from the running sum, not the histogram's bucketed mean
    expect(overall.totalLatency).toBe(500_500);
    expectNear(overall.p50Latency, 500);
    expectNear(overall.p95Latency, 950);
    expectNear(overall.p99Latency, 990);
    expectNear(overall.maxLatency, 1000);
    expectOrdered(overall);
    expect(byKind.read).toEqual({ ...ZERO, ...pickFigures(overall) });
  });

  it('reports a tail the mean hides: 98% fast, 2% slow', () => {
    const metrics = createMetrics();
    for (let i = 0; i < 980; i++) metrics.recordOperation('write', ms(2), ok);
    for (let i = 0; i < 20; i++) metrics.recordOperation('write', ms(800), ok);
    const snapshot = metrics.snapshot();
    expectNear(snapshot.p50Latency, 2);
    expectNear(snapshot.p95Latency, 2);
    expectNear(snapshot.p99Latency, 800);
    expectNear(snapshot.maxLatency, 800);
    expect(snapshot.avgLatency).toBe(17.96);
    expectOrdered(snapshot);
  });

  it('accepts sub-microsecond, zero and negative durations by clamping to the histogram floor of 1 µs', () => {
    const metrics = createMetrics();
    metrics.recordOperation('default', 0n, ok);
    metrics.recordOperation('default', 400n, ok);
    metrics.recordOperation('default', -5_000n, ok);
    const snapshot = metrics.snapshot();
    expect(snapshot.totalQueries).toBe(3);
    expect(snapshot.maxLatency).toBe(0.001);
    expect(snapshot.avgLatency).toBe(0); // 400 ns over 3 operations rounds to 0.000 ms; the negative one counts as 0
  });

  it('keeps kinds apart, while the overall figures cover every kind', () => {
    const metrics = createMetrics();
    for (let i = 0; i < 10; i++) metrics.recordOperation('read', ms(1), ok);
    for (let i = 0; i < 5; i++) metrics.recordOperation('write', ms(100), failed('serialization'));
    metrics.recordOperation('batch', ms(1000), ok);
    const snapshot = metrics.snapshot();

    expect(snapshot.byKind.default).toEqual(ZERO);
    expect(snapshot.byKind.read).toMatchObject({ totalQueries: 10, failedQueries: 0, avgLatency: 1 });
    expectNear(snapshot.byKind.read.maxLatency, 1);
    expect(snapshot.byKind.write).toMatchObject({ totalQueries: 5, failedQueries: 5, avgLatency: 100 });
    expectNear(snapshot.byKind.write.p50Latency, 100);
    expect(snapshot.byKind.batch).toMatchObject({ totalQueries: 1, failedQueries: 0, avgLatency: 1000 });

    expect(snapshot).toMatchObject({ totalQueries: 16, failedQueries: 5, avgLatency: 94.375, totalLatency: 1510 });
    expectNear(snapshot.p50Latency, 1);
    expectNear(snapshot.maxLatency, 1000);
    for (const figures of [snapshot, ...Object.values(snapshot.byKind)]) expectOrdered(figures);
  });

  it('counts failed operations by their final error kind, and retries by the kind that caused them', () => {
    const metrics = createMetrics();
    metrics.recordRetry('write', 'serialization');
    metrics.recordRetry('write', 'serialization');
    metrics.recordRetry('read', 'connection');
    metrics.recordOperation('write', ms(5), ok); // succeeded after two retries
    metrics.recordOperation('read', ms(5), failed('connection'));
    metrics.recordOperation('default', ms(5), failed('pool_timeout'));
    metrics.recordOperation('default', ms(5), failed('pool_timeout'));
    const snapshot = metrics.snapshot();

    expect(snapshot.errorsByKind).toEqual({ connection: 1, pool_timeout: 2 });
    expect(snapshot.retriesByKind).toEqual({ serialization: 2, connection: 1 });
    expect(snapshot).toMatchObject({ totalQueries: 4, failedQueries: 3, retries: 3 });
    expect(snapshot.byKind.write).toMatchObject({ totalQueries: 1, failedQueries: 0, retries: 2 });
    expect(snapshot.byKind.read).toMatchObject({ totalQueries: 1, failedQueries: 1, retries: 1 });
    expect(snapshot.byKind.default).toMatchObject({ totalQueries: 2, failedQueries: 2, retries: 0 });
  });

  it('counts pool waits, pool timeouts and unknown outcomes independently', () => {
    const metrics = createMetrics();
    metrics.recordPoolWait();
    metrics.recordPoolWait();
    metrics.recordPoolWait();
    metrics.recordPoolTimeout();
    metrics.recordOutcomeUnknown();
    metrics.recordOutcomeUnknown();
    expect(metrics.snapshot()).toMatchObject({ poolWaits: 3, poolTimeouts: 1, outcomeUnknown: 2, totalQueries: 0 });
  });

  it('caps distinct error kinds so free-form strings cannot grow the maps, folding the rest into "other"', () => {
    const metrics = createMetrics();
    for (let i = 0; i < 40; i++) {
      metrics.recordOperation('default', ms(1), failed(`kind_${i}`));
      metrics.recordRetry('default', `kind_${i}`);
    }
    const { errorsByKind, retriesByKind } = metrics.snapshot();
    for (const counts of [errorsByKind, retriesByKind]) {
      expect(Object.keys(counts)).toHaveLength(32);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
      expect(counts.other).toBe(9); // kinds 31..39: the 32nd slot is "other" itself
      expect(counts.kind_0).toBe(1);
    }
  });

  it('rejects an unknown operation kind instead of dropping the record', () => {
    const metrics = createMetrics();
    expect(() => metrics.recordOperation('bulk' as never, ms(1), ok)).toThrow(TypeError);
    expect(() => metrics.recordRetry('bulk' as never, 'connection')).toThrow(/Unknown operation kind: bulk/);
    expect(metrics.snapshot().totalQueries).toBe(0);
  });

  it('returns fresh plain objects: mutating one or serializing it leaves the next intact', () => {
    const metrics = createMetrics();
    metrics.recordOperation('read', ms(3), failed('connection'));
    const first = metrics.snapshot();
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    first.totalQueries = 99;
    first.byKind.read.totalQueries = 99;
    first.errorsByKind.connection = 99;
    first.retriesByKind.connection = 99;
    const second = metrics.snapshot();
    expect(second.totalQueries).toBe(1);
    expect(second.byKind.read.totalQueries).toBe(1);
    expect(second.errorsByKind).toEqual({ connection: 1 });
    expect(second.retriesByKind).toEqual({});
  });

  it('reset() starts a new window: everything zeroed, new start time, later records counted alone', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-01T10:00:00.000Z'));
    const metrics = createMetrics();
    expect(metrics.snapshot().windowStartedAt).toBe('2026-11-01T10:00:00.000Z');
    recordUniform(metrics, 'batch', 100);
    metrics.recordOperation('write', ms(50), failed('connection'));
    metrics.recordRetry('write', 'connection');
    metrics.recordPoolWait();
    metrics.recordPoolTimeout();
    metrics.recordOutcomeUnknown();

    vi.setSystemTime(new Date('2026-11-01T10:05:00.000Z'));
    metrics.reset();
    const cleared = metrics.snapshot();
    expect(cleared).toEqual({
      ...ZERO,
      byKind: { default: ZERO, read: ZERO, write: ZERO, batch: ZERO, 'plain-read': ZERO, 'plain-write': ZERO, transaction: ZERO },
      errorsByKind: {},
      retriesByKind: {},
      poolWaits: 0,
      poolTimeouts: 0,
      poolTimeoutsByPool: { primary: 0, read: 0 },
      poolTimeoutsByName: {},
      outcomeUnknown: 0,
      failovers: 0,
      failoverCalls: 0,
      failoverRetries: 0,
      operationDuration: {
        boundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
        series: WRAPPER_KINDS.map((kind) => ({
          kind,
          operation: WRAPPER_NAMES[kind],
          collection: null,
          errorKind: null,
          bucketCounts: new Array(10).fill(0),
          count: 0,
          sumSeconds: 0,
        })),
      },
      windowStartedAt: '2026-11-01T10:05:00.000Z',
    });

    metrics.recordOperation('batch', ms(7), ok);
    const after = metrics.snapshot();
    expect(after.byKind.batch).toMatchObject({ totalQueries: 1, avgLatency: 7 });
    expectNear(after.byKind.batch.maxLatency, 7); // the 100 ms recorded before the reset is gone
  });
});

describe('operation duration buckets (OpenTelemetry boundaries)', () => {
  it('counts each call in the first bucket whose upper bound (inclusive) holds it, per kind and final error kind', () => {
    const metrics = createMetrics();
    metrics.recordOperation('read', ms(1), ok); // exactly 0.001 s: the first bucket (le is inclusive)
    metrics.recordOperation('read', ms(1.001), ok);
    metrics.recordOperation('read', ms(20_000), ok); // past 10 s: the overflow slot
    metrics.recordOperation('write', ms(70), failed('serialization'));
    const replica = (poolName: string) => ({ role: 'read' as const, address: 'r', port: 5432, namespace: null, poolName });
    metrics.recordPoolTimeout(replica('r:5432/a'));
    metrics.recordPoolTimeout(replica('r:5432/b'));
    metrics.recordPoolTimeout(replica('r:5432/b'));
    metrics.recordPoolTimeout();
    const snapshot = metrics.snapshot();
    const read = snapshot.operationDuration.series.find((s) => s.kind === 'read' && s.errorKind === null);
    expect(read).toEqual({
      kind: 'read',
      operation: 'readWithPooling',
      collection: null,
      errorKind: null,
      bucketCounts: [1, 1, 0, 0, 0, 0, 0, 0, 0, 1],
      count: 3,
      sumSeconds: 20.002001,
    });
    const write = snapshot.operationDuration.series.filter((s) => s.kind === 'write');
    expect(write.map((s) => [s.errorKind, s.count])).toEqual([
      [null, 0],
      ['serialization', 1],
    ]);
    expect(write[1]?.bucketCounts).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(snapshot.poolTimeoutsByPool).toEqual({ primary: 1, read: 3 });
    expect(snapshot.poolTimeoutsByName).toEqual({ 'r:5432/a': 1, 'r:5432/b': 2 });
    expect(snapshot.poolTimeouts).toBe(4);
  });
});

describe('memory', () => {
  /** A real collection makes heap figures meaningful; V8 can expose gc at runtime when the test runner did not. */
  function getGc(): () => void {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') return exposed;
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  }

  function heapGrowth(run: () => void): number {
    const gc = getGc();
    gc();
    const before = process.memoryUsage().heapUsed;
    run();
    gc();
    return process.memoryUsage().heapUsed - before;
  }

  const RECORDS = 100_000;
  // 100,000 retained numbers take ≥ 800 KB; a constant-size recorder stays far below this.
  const BOUND = 256 * 1024;

  it('stays flat over 100,000 records (heap growth under 256 KiB after gc)', () => {
    const metrics = createMetrics();
    recordUniform(metrics, 'read', 1000); // warm up: code paths compiled
    // The histograms are sparse: a bucket exists once a value has landed in it (at most ~1,024 per doubling of
    // the range, HDR's precision). Land every duration recorded below once, so what is measured is per record.
    for (const kind of OPERATION_KINDS) for (let d = 0; d < 5_000; d++) metrics.recordOperation(kind, BigInt(1_000 + d * 1_000), ok);
    metrics.snapshot();
    const growth = heapGrowth(() => {
      for (let i = 0; i < RECORDS; i++) {
        const kind = OPERATION_KINDS[i % OPERATION_KINDS.length] ?? 'default';
        metrics.recordOperation(kind, BigInt(1_000 + (i % 5_000) * 1_000), i % 10 === 0 ? failed('connection') : ok);
        if (i % 20 === 0) metrics.recordRetry(kind, 'serialization');
      }
    });
    expect(metrics.snapshot().totalQueries).toBe(1000 + OPERATION_KINDS.length * 5_000 + RECORDS);
    expect(growth).toBeLessThan(BOUND);
  });

  it('the probe is sharp enough to catch a recorder that keeps every duration', () => {
    const leaky: number[] = [];
    const growth = heapGrowth(() => {
      for (let i = 0; i < RECORDS; i++) leaky.push(i + 0.5);
    });
    expect(leaky).toHaveLength(RECORDS);
    expect(growth).toBeGreaterThan(BOUND);
  });
});

function pickFigures(snapshot: LatencyFigures): LatencyFigures {
  const { totalQueries, failedQueries, retries, avgLatency, p50Latency, p95Latency, p99Latency, maxLatency, totalLatency } = snapshot;
  return { totalQueries, failedQueries, retries, avgLatency, p50Latency, p95Latency, p99Latency, maxLatency, totalLatency };
}

describe('plain client calls', () => {
  it('count under their own kinds, with their Prisma operation and model in the duration series', () => {
    const metrics = createMetrics();
    const findMany = { operation: 'findMany', collection: 'User' };
    metrics.recordOperation('plain-read', 2_000_000n, { ok: true }, findMany);
    metrics.recordOperation('plain-read', 3_000_000n, { ok: true }, findMany);
    metrics.recordOperation('plain-write', 4_000_000n, { ok: false, errorKind: 'constraint' }, { operation: 'create', collection: 'User' });
    const snapshot = metrics.snapshot();
    expect(snapshot.totalQueries).toBe(3);
    expect(snapshot.byKind['plain-read'].totalQueries).toBe(2);
    expect(snapshot.byKind['plain-write'].failedQueries).toBe(1);
    const series = snapshot.operationDuration.series.filter((s) => s.kind.startsWith('plain-'));
    expect(series.map((s) => [s.operation, s.collection, s.errorKind, s.count])).toEqual([
      ['findMany', 'User', null, 2],
      ['create', 'User', null, 0],
      ['create', 'User', 'constraint', 1],
    ]);
  });
});
