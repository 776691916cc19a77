import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createMetrics, type MetricsSnapshot, OPERATION_KINDS } from '../../../src/metrics/metrics.ts';
import { type PoolStats, utilization } from '../../../src/metrics/pool-stats.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../../../src/metrics/prometheus.ts';

/** parse-prometheus-text-format (a port of the official Python client's parser) ships no types: declare what we read. */
interface ParsedSample {
  value?: string;
  labels?: Record<string, string>;
  quantiles?: Record<string, string>;
}
interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  metrics: ParsedSample[];
}
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => ParsedFamily[];

const PRIMARY: PoolStats = { active: 2, idle: 1, total: 3, waiting: 4, limit: 3 };
const READ: PoolStats = { active: 0, idle: 2, total: 2, waiting: 0, limit: 5 };
const ms = (value: number): bigint => BigInt(Math.round(value * 1e6));

function sampleSnapshot(): MetricsSnapshot {
  const metrics = createMetrics();
  for (let i = 1; i <= 100; i++) metrics.recordOperation('read', ms(i), { ok: true });
  metrics.recordRetry('write', 'serialization');
  metrics.recordRetry('write', 'serialization');
  metrics.recordOperation('write', ms(40), { ok: true });
  metrics.recordOperation('write', ms(60), { ok: false, errorKind: 'serialization' });
  metrics.recordOperation('default', ms(5), { ok: false, errorKind: 'pool_timeout' });
  metrics.recordPoolWait();
  metrics.recordPoolWait();
  metrics.recordPoolTimeout();
  metrics.recordOutcomeUnknown();
  for (const started of [true, false, true, true]) metrics.recordFailoverRetry(started);
  return metrics.snapshot();
}

function familyOf(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

/** Label set -> value, so assertions do not depend on sample order. */
function valuesOf(family: ParsedFamily): Record<string, number> {
  return Object.fromEntries(family.metrics.map((s) => [JSON.stringify(s.labels ?? {}), Number(s.value)]));
}
function mergedValues(families: ParsedFamily[], name: string): Record<string, number> {
  return Object.assign({}, ...families.filter((f) => f.name === name).map(valuesOf));
}
const key = (labels: Record<string, string>): string => JSON.stringify(labels);

/**
 * The parser folds a *labelled* summary into one quantile map (its prom2json-compatible output has no
 * room for per-series labels). To read every summary sample through the same real parser, re-parse
 * with that family declared untyped: quantile, _sum and _count lines then come back one by one (as
 * several same-named untyped groups, since each series interleaves them; `mergedValues` joins them).
 */
function parseSummaryAsUntyped(text: string, name: string): ParsedFamily[] {
  const declared = `# TYPE ${name} summary`;
  expect(text).toContain(declared);
  return parse(text.replace(declared, `# TYPE ${name} untyped`));
}

const EXPECTED_FAMILIES = [
  ['pgpool_operations_total', 'COUNTER'],
  ['pgpool_operations_failed_total', 'COUNTER'],
  ['pgpool_retries_total', 'COUNTER'],
  ['pgpool_errors_total', 'COUNTER'],
  ['pgpool_operation_latency_seconds', 'SUMMARY'],
  ['pgpool_pool_connections', 'GAUGE'],
  ['pgpool_pool_limit', 'GAUGE'],
  ['pgpool_pool_waits_total', 'COUNTER'],
  ['pgpool_pool_timeouts_total', 'COUNTER'],
  ['pgpool_outcome_unknown_total', 'COUNTER'],
  ['pgpool_failovers_total', 'COUNTER'],
  ['pgpool_failover_calls_total', 'COUNTER'],
  // Named as OpenTelemetry's conventions come out of an OTLP → Prometheus export (docs/opentelemetry.md).
  ['db_client_operation_duration_seconds', 'HISTOGRAM'],
  ['db_client_connection_count', 'GAUGE'],
  ['db_client_connection_max', 'GAUGE'],
  ['db_client_connection_pending_requests', 'GAUGE'],
  ['db_client_connection_timeouts_total', 'COUNTER'],
];

describe('renderPrometheus', () => {
  it('declares the 0.0.4 text content type', () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('parses into exactly the expected families, each with HELP and TYPE, ending with a line feed', () => {
    const text = renderPrometheus(sampleSnapshot(), { primary: PRIMARY, read: READ });
    expect(text.endsWith('\n')).toBe(true);
    const families = parse(text);
    // A summary's _sum/_count lines must join their family; under a wrong TYPE they would split off as extra families.
    expect(families.map((f) => [f.name, f.type])).toEqual(EXPECTED_FAMILIES);
    for (const family of families) expect(family.help.length).toBeGreaterThan(10);
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) )?(pgpool|db_client)_[a-z_]+[{ ]/);
  });

  it('renders counters per operation kind and per error kind, plus the plain counters', () => {
    const families = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY }));
    const perKind = (counts: Record<string, number>) =>
      Object.fromEntries(OPERATION_KINDS.map((kind) => [key({ kind }), counts[kind] ?? 0]));
    expect(valuesOf(familyOf(families, 'pgpool_operations_total'))).toEqual(perKind({ read: 100, write: 2, default: 1 }));
    expect(valuesOf(familyOf(families, 'pgpool_operations_failed_total'))).toEqual(perKind({ write: 1, default: 1 }));
    expect(valuesOf(familyOf(families, 'pgpool_retries_total'))).toEqual(perKind({ write: 2 }));
    expect(valuesOf(familyOf(families, 'pgpool_errors_total'))).toEqual({
      [key({ error_kind: 'pool_timeout' })]: 1,
      [key({ error_kind: 'serialization' })]: 1,
    });
    expect(valuesOf(familyOf(families, 'pgpool_pool_waits_total'))).toEqual({ '{}': 2 });
    expect(valuesOf(familyOf(families, 'pgpool_pool_timeouts_total'))).toEqual({ '{}': 1 });
    expect(valuesOf(familyOf(families, 'pgpool_outcome_unknown_total'))).toEqual({ '{}': 1 });
    expect(valuesOf(familyOf(families, 'pgpool_failovers_total'))).toEqual({ '{}': 1 });
    expect(valuesOf(familyOf(families, 'pgpool_failover_calls_total'))).toEqual({ '{}': 3 });
  });

  it('renders latency as a summary in seconds per kind, with _sum and _count, NaN quantiles for an idle kind', () => {
    const snapshot = sampleSnapshot();
    const name = 'pgpool_operation_latency_seconds';
    const families = parseSummaryAsUntyped(renderPrometheus(snapshot, { primary: PRIMARY }), name);
    const quantiles = mergedValues(families, name);
    const sums = mergedValues(families, `${name}_sum`);
    const counts = mergedValues(families, `${name}_count`);
    const seconds = (latencyMs: number) => Math.round(latencyMs * 1000) / 1e6;

    const read = snapshot.byKind.read;
    expect(quantiles[key({ kind: 'read', quantile: '0.5' })]).toBe(seconds(read.p50Latency));
    expect(quantiles[key({ kind: 'read', quantile: '0.95' })]).toBe(seconds(read.p95Latency));
    expect(quantiles[key({ kind: 'read', quantile: '0.99' })]).toBe(seconds(read.p99Latency));
    expect(quantiles[key({ kind: 'read', quantile: '0.99' })]).toBeCloseTo(0.099, 3);
    expect(sums[key({ kind: 'read' })]).toBe(5.05); // exact: 1 + 2 + … + 100 ms
    expect(counts[key({ kind: 'read' })]).toBe(100);
    expect(sums[key({ kind: 'write' })]).toBe(0.1);
    expect(counts[key({ kind: 'write' })]).toBe(2);
    expect(quantiles[key({ kind: 'batch', quantile: '0.5' })]).toBeNaN();
    expect(counts[key({ kind: 'batch' })]).toBe(0);
    expect(Object.keys(quantiles)).toHaveLength(OPERATION_KINDS.length * 3);
  });

  it('labels pool gauges by pool and state, and adds the read pool only when there is one', () => {
    const withRead = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY, read: READ }));
    expect(valuesOf(familyOf(withRead, 'pgpool_pool_connections'))).toEqual({
      [key({ pool: 'primary', state: 'active' })]: 2,
      [key({ pool: 'primary', state: 'idle' })]: 1,
      [key({ pool: 'primary', state: 'waiting' })]: 4,
      [key({ pool: 'read', state: 'active' })]: 0,
      [key({ pool: 'read', state: 'idle' })]: 2,
      [key({ pool: 'read', state: 'waiting' })]: 0,
    });
    expect(valuesOf(familyOf(withRead, 'pgpool_pool_limit'))).toEqual({ [key({ pool: 'primary' })]: 3, [key({ pool: 'read' })]: 5 });

    for (const read of [null, undefined]) {
      const families = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY, read }));
      expect(valuesOf(familyOf(families, 'pgpool_pool_limit'))).toEqual({ [key({ pool: 'primary' })]: 3 });
      expect(Object.keys(valuesOf(familyOf(families, 'pgpool_pool_connections')))).toHaveLength(3);
    }
  });

  it('adds the warmup counters only when given', () => {
    const without = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY }));
    expect(without.some((f) => f.name === 'pgpool_warmup_connections_total')).toBe(false);
    const families = parse(renderPrometheus({ ...sampleSnapshot(), warmupConnections: 3, warmupFailures: 1 }, { primary: PRIMARY }));
    expect(familyOf(families, 'pgpool_warmup_connections_total').type).toBe('COUNTER');
    expect(valuesOf(familyOf(families, 'pgpool_warmup_connections_total'))).toEqual({ [key({})]: 3 });
    expect(valuesOf(familyOf(families, 'pgpool_warmup_failures_total'))).toEqual({ [key({})]: 1 });
  });

  it('adds reads by target only when given (a manager with replicas always gives all three)', () => {
    const without = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY }));
    expect(without.some((f) => f.name === 'pgpool_reads_total')).toBe(false);
    const readsByTarget = { replica: 7, 'primary-fallback': 2, 'primary-consistency': 3 };
    const families = parse(renderPrometheus({ ...sampleSnapshot(), readsByTarget }, { primary: PRIMARY }));
    const family = familyOf(families, 'pgpool_reads_total');
    expect(family.type).toBe('COUNTER');
    expect(valuesOf(family)).toEqual({
      [key({ target: 'primary-consistency' })]: 3,
      [key({ target: 'primary-fallback' })]: 2,
      [key({ target: 'replica' })]: 7,
    });
  });

  it('adds replica up and lag gauges per replica, NaN lag when unknown', () => {
    const replicas = [
      { url: 'postgres://ro:***@r1:6543/app', state: 'up', lagMs: 1500 },
      { url: 'postgres://ro:***@r2:6543/app', state: 'down', lagMs: null },
    ];
    const families = parse(renderPrometheus({ ...sampleSnapshot(), replicas }, { primary: PRIMARY }));
    expect(valuesOf(familyOf(families, 'pgpool_replica_up'))).toEqual({
      [key({ replica: 'postgres://ro:***@r1:6543/app' })]: 1,
      [key({ replica: 'postgres://ro:***@r2:6543/app' })]: 0,
    });
    const lag = valuesOf(familyOf(families, 'pgpool_replica_lag_seconds'));
    expect(lag[key({ replica: 'postgres://ro:***@r1:6543/app' })]).toBe(1.5);
    expect(lag[key({ replica: 'postgres://ro:***@r2:6543/app' })]).toBeNaN();
    expect(
      parse(renderPrometheus({ ...sampleSnapshot(), replicas: [] }, { primary: PRIMARY })).some((f) => f.name === 'pgpool_replica_up'),
    ).toBe(false);
  });

  it('adds host up, downs and probes per host of a multi-host URL (a pooler fleet); none for a single host', () => {
    const hosts = [
      { host: 'pgb1:6543', state: 'up', downs: 1, probes: 4 },
      { host: 'pgb2:6543', state: 'down', downs: 2, probes: 3 },
    ];
    const families = parse(renderPrometheus({ ...sampleSnapshot(), hosts }, { primary: PRIMARY }));
    expect(valuesOf(familyOf(families, 'pgpool_host_up'))).toEqual({ [key({ host: 'pgb1:6543' })]: 1, [key({ host: 'pgb2:6543' })]: 0 });
    expect(valuesOf(familyOf(families, 'pgpool_host_downs_total'))).toEqual({
      [key({ host: 'pgb1:6543' })]: 1,
      [key({ host: 'pgb2:6543' })]: 2,
    });
    expect(valuesOf(familyOf(families, 'pgpool_host_probes_total'))).toEqual({
      [key({ host: 'pgb1:6543' })]: 4,
      [key({ host: 'pgb2:6543' })]: 3,
    });
    expect(parse(renderPrometheus({ ...sampleSnapshot(), hosts: [] }, { primary: PRIMARY })).some((f) => f.name === 'pgpool_host_up')).toBe(
      false,
    );
  });

  it('renders db_client_operation_duration_seconds as a cumulative histogram per wrapper, error_type on failures', () => {
    const name = 'db_client_operation_duration_seconds';
    const text = renderPrometheus(sampleSnapshot(), { primary: PRIMARY });
    const declared = `# TYPE ${name} histogram`;
    expect(text).toContain(declared);
    // The parser keeps no labels for histogram samples: read them as untyped lines instead.
    const families = parse(text.replace(declared, `# TYPE ${name} untyped`));
    const buckets = mergedValues(families, `${name}_bucket`);
    const sums = mergedValues(families, `${name}_sum`);
    const counts = mergedValues(families, `${name}_count`);
    const read = { db_system_name: 'postgresql', db_operation_name: 'readWithPooling' };
    // 100 reads of 1 … 100 ms.
    const le = (bound: string) => buckets[key({ ...read, le: bound })];
    expect([le('0.001'), le('0.005'), le('0.01'), le('0.05'), le('0.1'), le('0.5'), le('10'), le('+Inf')]).toEqual([
      1, 5, 10, 50, 100, 100, 100, 100,
    ]);
    expect(sums[key(read)]).toBe(5.05);
    expect(counts[key(read)]).toBe(100);
    const writeFailed = { db_system_name: 'postgresql', db_operation_name: 'writeWithPooling', error_type: 'serialization' };
    expect(counts[key(writeFailed)]).toBe(1);
    expect(buckets[key({ ...writeFailed, le: '0.05' })]).toBe(0);
    expect(buckets[key({ ...writeFailed, le: '0.1' })]).toBe(1);
    expect(counts[key({ db_system_name: 'postgresql', db_operation_name: 'writeWithPooling' })]).toBe(1);
    // Every wrapper has its success series even when idle, so a rate() over it starts at 0, not at "no data".
    expect(counts[key({ db_system_name: 'postgresql', db_operation_name: 'batchWithPooling' })]).toBe(0);
  });

  it('renders the pool gauges and timeouts under db_client_connection_* with the pool names given', () => {
    const families = parse(
      renderPrometheus(sampleSnapshot(), { primary: PRIMARY, read: READ, names: { primary: 'db:6543/app', read: 'replica:6543/app' } }),
    );
    const primary = { db_client_connection_pool_name: 'db:6543/app' };
    const read = { db_client_connection_pool_name: 'replica:6543/app' };
    expect(valuesOf(familyOf(families, 'db_client_connection_count'))).toEqual({
      [key({ ...primary, db_client_connection_state: 'idle' })]: 1,
      [key({ ...primary, db_client_connection_state: 'used' })]: 2,
      [key({ ...read, db_client_connection_state: 'idle' })]: 2,
      [key({ ...read, db_client_connection_state: 'used' })]: 0,
    });
    expect(valuesOf(familyOf(families, 'db_client_connection_max'))).toEqual({ [key(primary)]: 3, [key(read)]: 5 });
    expect(valuesOf(familyOf(families, 'db_client_connection_pending_requests'))).toEqual({ [key(primary)]: 4, [key(read)]: 0 });
    expect(valuesOf(familyOf(families, 'db_client_connection_timeouts_total'))).toEqual({ [key(primary)]: 1, [key(read)]: 0 });
    // Without names (a snapshot from before the first call), the pool roles stand in.
    const unnamed = parse(renderPrometheus(sampleSnapshot(), { primary: PRIMARY }));
    expect(valuesOf(familyOf(unnamed, 'db_client_connection_max'))).toEqual({ [key({ db_client_connection_pool_name: 'primary' })]: 3 });
  });

  it('escapes backslash, double quote and line feed in label values so they survive a parse', () => {
    const nasty = 'C:\\dir "quoted"\nsecond line';
    const metrics = createMetrics();
    metrics.recordOperation('default', ms(1), { ok: false, errorKind: nasty });
    const text = renderPrometheus(metrics.snapshot(), { primary: PRIMARY });
    expect(text).toContain('{error_kind="C:\\\\dir \\"quoted\\"\\nsecond line"} 1\n');
    expect(valuesOf(familyOf(parse(text), 'pgpool_errors_total'))).toEqual({ [key({ error_kind: nasty })]: 1 });
  });

  it('is checked by a parser that does reject a broken label value (so the escaping test can fail)', () => {
    expect(() => parse('pgpool_errors_total{error_kind="a"b"} 1\n')).toThrow(/invalid line/i);
  });

  it('uses a custom prefix, accepts an empty one, and rejects one that is not a metric name', () => {
    const snapshot = sampleSnapshot();
    expect(parse(renderPrometheus(snapshot, { primary: PRIMARY }, 'app_db_')).map((f) => f.name)).toEqual(
      // The OpenTelemetry-named families keep their standard names.
      EXPECTED_FAMILIES.map(([name]) => name?.replace(/^pgpool_/, 'app_db_')),
    );
    expect(parse(renderPrometheus(snapshot, { primary: PRIMARY }, ''))[0]?.name).toBe('operations_total');
    expect(() => renderPrometheus(snapshot, { primary: PRIMARY }, 'my-app ')).toThrow(/"prefix"/);
  });
});

describe('utilization', () => {
  it.each([
    [{ active: 0, limit: 3 }, 0],
    [{ active: 1, limit: 3 }, 33.3],
    [{ active: 2, limit: 3 }, 66.7],
    [{ active: 3, limit: 3 }, 100],
    [{ active: 5, limit: 3 }, 100], // clamped: never over 100%
    [{ active: 2, limit: 0 }, 0], // no limit configured: not a division by zero
  ])('%o -> %d%%', ({ active, limit }, expected) => {
    expect(utilization({ active, idle: 0, total: active, waiting: 0, limit })).toBe(expected);
  });
});
