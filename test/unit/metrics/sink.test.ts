import { describe, expect, it } from 'vitest';
import type { ErrorClassification } from '~/errors/classify-error.ts';
import { createMetrics, createMetricsSink, FAILOVER_EPISODE_GAP_MS } from '~/metrics/metrics.ts';
import { fanOutSinks, type OperationFinished, type OperationSink } from '~/metrics/sink.ts';

const failure = (kind: ErrorClassification['kind'], code: string | null = null): ErrorClassification => ({
  kind,
  code,
  retryable: false,
  failover: false,
  sent: true,
});
const finished = (overrides: Partial<OperationFinished>): OperationFinished => ({
  kind: 'write',
  scope: 'call',
  durationNs: 2_000_000n,
  error: null,
  pool: { role: 'primary', address: 'db', port: 6543, namespace: 'app', poolName: 'db:6543/app' },
  ...overrides,
});

describe('createMetricsSink', () => {
  it('a call: latency once, and its pool timeout / unknown outcome counted', () => {
    const metrics = createMetrics();
    const sink = createMetricsSink(metrics);
    sink.operationFinished(finished({}));
    sink.operationFinished(finished({ error: failure('pool-timeout') }));
    sink.operationFinished(finished({ error: failure('outcome-unknown') }));
    const snapshot = metrics.snapshot();
    expect(snapshot.totalQueries).toBe(3);
    expect(snapshot.failedQueries).toBe(2);
    expect(snapshot.byKind.write.totalQueries).toBe(3);
    expect(snapshot.errorsByKind).toEqual({ 'pool-timeout': 1, 'outcome-unknown': 1 });
    expect(snapshot.poolTimeouts).toBe(1);
    expect(snapshot.outcomeUnknown).toBe(1);
  });

  it('a parallel batch: latency once for the batch, timeouts and unknown outcomes once per transaction', () => {
    const metrics = createMetrics();
    const sink = createMetricsSink(metrics);
    sink.operationFinished(finished({ kind: 'batch', scope: 'parallel-batch-item' }));
    sink.operationFinished(finished({ kind: 'batch', scope: 'parallel-batch-item', error: failure('outcome-unknown') }));
    sink.operationFinished(finished({ kind: 'batch', scope: 'parallel-batch', error: failure('outcome-unknown') }));
    const snapshot = metrics.snapshot();
    expect(snapshot.byKind.batch.totalQueries).toBe(1);
    expect(snapshot.byKind.batch.failedQueries).toBe(1);
    expect(snapshot.outcomeUnknown).toBe(1);
  });

  it('retries and pool waits', () => {
    const metrics = createMetrics();
    const sink = createMetricsSink(metrics);
    sink.attemptRetried({ kind: 'read', attempt: 1, error: failure('connection', '57P01'), delayMs: 3 });
    sink.poolWaited('read');
    const snapshot = metrics.snapshot();
    expect(snapshot.byKind.read.retries).toBe(1);
    expect(snapshot.retriesByKind).toEqual({ connection: 1 });
    expect(snapshot.poolWaits).toBe(1);
  });
});

describe('failover counts', () => {
  const moving = { kind: 'connection', code: 'ECONNREFUSED', retryable: true, failover: true, sent: false } as const;

  it('counts calls that entered a failover window, their retries, and episodes apart by more than the gap', () => {
    let now = 0;
    const metrics = createMetrics(() => now);
    const sink = createMetricsSink(metrics);
    for (const call of [1, 2]) {
      sink.attemptRetried({ kind: 'write', attempt: 1, error: moving, delayMs: 0, failoverStarted: true });
      sink.attemptRetried({ kind: 'write', attempt: 2, error: moving, delayMs: 0, failoverStarted: false });
      now += call * 100;
    }
    now += FAILOVER_EPISODE_GAP_MS + 1;
    sink.attemptRetried({ kind: 'read', attempt: 1, error: moving, delayMs: 0, failoverStarted: true });
    // A failover-class error retried outside a window (failoverTimeoutMs 0) is an ordinary retry.
    sink.attemptRetried({ kind: 'read', attempt: 1, error: moving, delayMs: 0 });
    const snapshot = metrics.snapshot();
    expect(snapshot).toMatchObject({ failovers: 2, failoverCalls: 3, failoverRetries: 5, retries: 6 });
    metrics.reset();
    expect(metrics.snapshot()).toMatchObject({ failovers: 0, failoverCalls: 0, failoverRetries: 0 });
  });
});

describe('fanOutSinks', () => {
  const recorder = (log: string[], name: string): OperationSink => ({
    operationFinished: (e) => log.push(`${name}:finished:${e.kind}`),
    attemptRetried: (e) => log.push(`${name}:retried:${e.attempt}`),
    poolWaited: (kind) => log.push(`${name}:waited:${kind}`),
  });

  it('calls every sink in order, for every event', () => {
    const log: string[] = [];
    const sink = fanOutSinks([recorder(log, 'a'), recorder(log, 'b')]);
    sink.operationFinished(finished({ kind: 'read' }));
    sink.attemptRetried({ kind: 'read', attempt: 2, error: failure('serialization'), delayMs: 0 });
    sink.poolWaited('default');
    expect(log).toEqual(['a:finished:read', 'b:finished:read', 'a:retried:2', 'b:retried:2', 'a:waited:default', 'b:waited:default']);
  });

  it('one sink is returned as is (no extra call on the hot path)', () => {
    const only = recorder([], 'only');
    expect(fanOutSinks([only])).toBe(only);
  });
});

describe('commitSettled', () => {
  it('the metrics sink counts each outcome; fanOutSinks forwards it, skipping sinks without the hook', () => {
    const metrics = createMetrics();
    const seen: string[] = [];
    const sink = fanOutSinks([
      createMetricsSink(metrics),
      { operationFinished() {}, attemptRetried() {}, poolWaited() {} }, // written before the hook existed
      { operationFinished() {}, attemptRetried() {}, poolWaited() {}, commitSettled: (e) => seen.push(`${e.kind}:${e.outcome}`) },
    ]);
    sink.commitSettled?.({ kind: 'write', outcome: 'committed' });
    sink.commitSettled?.({ kind: 'plain-write', outcome: 'aborted' });
    sink.commitSettled?.({ kind: 'plain-write', outcome: 'aborted' });
    sink.commitSettled?.({ kind: 'default', outcome: 'unknown' });
    expect(metrics.snapshot().lostCommits).toEqual({ committed: 1, aborted: 2, unknown: 1 });
    expect(seen).toEqual(['write:committed', 'plain-write:aborted', 'plain-write:aborted', 'default:unknown']);
  });
});
