/**
 * With a global MeterProvider and TracerProvider registered (the SDK's in-memory reader and span
 * exporter) and Prisma's instrumentation enabled, wrapper calls through the real PgBouncer stack
 * emit the semantic-convention metrics and one span per call.
 */
import { randomUUID } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { createMetricsHandler } from '~/health/http.ts';
import { startProxy, type TcpProxy } from '../../../tools/stack/faults/index.ts';
import { dropNextFlight } from '../../support/drop-flight.ts';
import { type TestManager, testManager } from '../../support/managers.ts';
import {
  type HistogramMetricData,
  installOtel,
  type OtelHarness,
  parentIdOf,
  type ReadableSpan,
  type SumMetricData,
} from '../../support/otel.ts';

const stack = inject('stack');
const pooler = new URL(stack.poolerUrl);
const DATABASE = decodeURIComponent(pooler.pathname.slice(1));
const SCOPE = 'prisma-pgbouncer-pooling';

let otel: OtelHarness;
let proxy: TcpProxy;
const managers: TestManager[] = [];
beforeAll(async () => {
  otel = installOtel();
  proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await otel.uninstall();
  await proxy?.close();
});
beforeEach(() => otel.spans.reset());

function manager(options: Parameters<typeof testManager>[2] = {}): TestManager {
  const m = testManager(stack, {}, options);
  managers.push(m);
  return m;
}

/** A manager whose connections go through the fault proxy (a COMMIT can be lost on the way). */
function proxied(options: Parameters<typeof testManager>[2] = {}): TestManager {
  const m = testManager(stack, { DATABASE_URL: proxy.url(stack.poolerUrl) }, options);
  managers.push(m);
  return m;
}

const histogram = (metrics: Map<string, unknown>, name: string): HistogramMetricData => {
  const metric = metrics.get(name) as HistogramMetricData | undefined;
  expect(metric, name).toBeDefined();
  expect(metric?.dataPointType).toBe(DataPointType.HISTOGRAM);
  return metric as HistogramMetricData;
};
const sum = (metrics: Map<string, unknown>, name: string): SumMetricData => {
  const metric = metrics.get(name) as SumMetricData | undefined;
  expect(metric, name).toBeDefined();
  expect(metric?.dataPointType).toBe(DataPointType.SUM);
  return metric as SumMetricData;
};
/** Data points of one pool (the metrics provider is shared by every manager of this file). */
const ofPool = <P extends { attributes: Record<string, unknown> }>(points: P[], poolName: string): P[] =>
  points.filter((p) => p.attributes['db.client.connection.pool.name'] === poolName);
const ours = (spans: ReadableSpan[]) => spans.filter((s) => s.instrumentationScope.name === SCOPE);

describe('metrics', () => {
  it('db.client.operation.duration: one record per wrapper call, semconv unit, buckets and attributes; error.type and SQLSTATE on failure', async () => {
    // A pool name of our own, so this test's points are told apart from other managers' in this file.
    const poolName = `duration-${randomUUID()}`;
    const m = manager({ telemetry: { poolName } });
    for (let i = 0; i < 3; i++) await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    for (let i = 0; i < 2; i++) await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    await m.writeWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    await m.batchWithPooling([(tx) => tx.$queryRaw`SELECT 1`, (tx) => tx.$queryRaw`SELECT 2`, (tx) => tx.$queryRaw`SELECT 3`], {
      parallel: true,
    });
    await m.batchWithPooling([(tx) => tx.$queryRaw`SELECT 1`, (tx) => tx.$queryRaw`SELECT 2`]);
    const failure = await m.withPooling((tx) => tx.$queryRaw`SELECT 1 / 0`).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);

    const collected = await otel.collect();
    const duration = histogram(collected, 'db.client.operation.duration');
    expect(duration.descriptor.unit).toBe('s');
    const points = duration.dataPoints.filter((p) => p.attributes['server.port'] === stack.poolerPort);
    const countOf = (operation: string, failed: boolean) =>
      points
        .filter((p) => p.attributes['db.operation.name'] === operation && 'error.type' in p.attributes === failed)
        .reduce((total, p) => total + p.value.count, 0);
    // Other tests in this file add points with the same attributes; this test runs first in the file.
    expect(countOf('withPooling', false)).toBe(3);
    expect(countOf('readWithPooling', false)).toBe(2);
    expect(countOf('writeWithPooling', false)).toBe(1);
    // The parallel batch is ONE wrapper call (three transactions), the sequential one another.
    expect(countOf('batchWithPooling', false)).toBe(2);
    expect(countOf('withPooling', true)).toBe(1);
    for (const point of points) {
      expect(point.value.buckets.boundaries).toEqual([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
      expect(point.attributes).toMatchObject({
        'db.system.name': 'postgresql',
        'db.namespace': DATABASE,
        'server.address': pooler.hostname,
        'server.port': stack.poolerPort,
      });
    }
    const failed = points.find((p) => 'error.type' in p.attributes);
    // Division by zero: our classified kind, and Postgres' SQLSTATE 22012.
    expect(failed?.attributes).toMatchObject({
      'error.type': 'data',
      'db.response.status_code': '22012',
      'db.operation.name': 'withPooling',
    });
    // A second of SELECT 1 would be absurd: the values are seconds, not ms.
    expect(failed?.value.max ?? Number.POSITIVE_INFINITY).toBeLessThan(5);

    // Pool metrics from the same pool: one acquisition per transaction (3 + 2 + 1 + 3 + 1 + 1 = 11).
    const transactions = 11;
    const waits = ofPool(histogram(collected, 'db.client.connection.wait_time').dataPoints, poolName);
    const uses = ofPool(histogram(collected, 'db.client.connection.use_time').dataPoints, poolName);
    const creates = ofPool(histogram(collected, 'db.client.connection.create_time').dataPoints, poolName);
    expect(waits.reduce((t, p) => t + p.value.count, 0)).toBe(transactions);
    expect(uses.reduce((t, p) => t + p.value.count, 0)).toBe(transactions);
    const created = creates.reduce((t, p) => t + p.value.count, 0);
    expect(created).toBeGreaterThanOrEqual(1);
    expect(created).toBeLessThanOrEqual(m.config.connectionLimit);
    for (const name of ['db.client.connection.wait_time', 'db.client.connection.use_time', 'db.client.connection.create_time'])
      expect(histogram(collected, name).descriptor.unit).toBe('s');

    const count = sum(collected, 'db.client.connection.count');
    expect(count.descriptor.unit).toBe('{connection}');
    const states = ofPool(count.dataPoints, poolName);
    expect(states.map((p) => p.attributes['db.client.connection.state']).sort()).toEqual(['idle', 'used']);
    const idle = states.find((p) => p.attributes['db.client.connection.state'] === 'idle')?.value;
    const used = states.find((p) => p.attributes['db.client.connection.state'] === 'used')?.value;
    expect(idle).toBe(m.pool.idleCount);
    expect(used).toBe(0);
    const max = sum(collected, 'db.client.connection.max');
    expect(max.descriptor.unit).toBe('{connection}');
    expect(ofPool(max.dataPoints, poolName).map((p) => p.value)).toEqual([m.config.connectionLimit]);
    const pending = sum(collected, 'db.client.connection.pending_requests');
    expect(pending.descriptor.unit).toBe('{request}');
    expect(ofPool(pending.dataPoints, poolName).map((p) => p.value)).toEqual([0]);

    // The same manager's Prometheus text: the same names (as an OTLP → Prometheus export spells them),
    // labels and counts, so one dashboard reads either.
    const text = await (await createMetricsHandler(m)(new Request('http://local/metrics'))).text();
    const line = (series: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${series} `))
          ?.split(' ')[1],
      );
    const labels = (operation: string, extra = '') => `{db_system_name="postgresql",db_operation_name="${operation}"${extra}}`;
    expect(line(`db_client_operation_duration_seconds_count${labels('withPooling')}`)).toBe(3);
    expect(line(`db_client_operation_duration_seconds_count${labels('readWithPooling')}`)).toBe(2);
    expect(line(`db_client_operation_duration_seconds_count${labels('batchWithPooling')}`)).toBe(2);
    expect(line(`db_client_operation_duration_seconds_count${labels('withPooling', ',error_type="data"')}`)).toBe(1);
    expect(line(`db_client_connection_max{db_client_connection_pool_name="${poolName}"}`)).toBe(m.config.connectionLimit);
    expect(line(`db_client_connection_count{db_client_connection_pool_name="${poolName}",db_client_connection_state="idle"}`)).toBe(idle);
  });

  it('db.client.connection.timeouts counts pool acquire timeouts; the call records error.type pool-timeout', async () => {
    const poolName = `timeouts-${randomUUID()}`;
    const m = manager({ telemetry: { poolName }, pool: { connectionLimit: 1, poolTimeoutMs: 300 } });
    // The one connection opened first: pg-pool applies the same 300 ms to opening a new connection,
    // which a loaded machine can exceed (a connection error, retried), and this test is about waiting.
    await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    let release: () => void = () => {};
    let holds = false;
    const holding = m.withPooling(
      () =>
        new Promise<void>((resolve) => {
          holds = true;
          release = resolve;
        }),
    );
    // Wait until the first call runs inside its transaction, holding the only connection.
    while (!holds) await new Promise((r) => setTimeout(r, 10));
    const pendingBefore = ofPool(sum(await otel.collect(), 'db.client.connection.pending_requests').dataPoints, poolName);
    expect(pendingBefore.map((p) => p.value)).toEqual([0]);
    const timedOut = m.withPooling((tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    while (m.pool.waitingCount < 1) await new Promise((r) => setTimeout(r, 10));
    const whileWaiting = await otel.collect();
    expect(ofPool(sum(whileWaiting, 'db.client.connection.pending_requests').dataPoints, poolName).map((p) => p.value)).toEqual([1]);
    expect(
      ofPool(sum(whileWaiting, 'db.client.connection.count').dataPoints, poolName).find(
        (p) => p.attributes['db.client.connection.state'] === 'used',
      )?.value,
    ).toBe(1);
    expect(await timedOut).toBeInstanceOf(Error);
    release();
    await holding;
    const collected = await otel.collect();
    expect(ofPool(sum(collected, 'db.client.connection.timeouts').dataPoints, poolName).map((p) => p.value)).toEqual([1]);
    expect(sum(collected, 'db.client.connection.timeouts').descriptor.unit).toBe('{timeout}');
    const failed = histogram(collected, 'db.client.operation.duration').dataPoints.filter(
      (p) => p.attributes['error.type'] === 'pool-timeout',
    );
    expect(failed.reduce((t, p) => t + p.value.count, 0)).toBe(1);
    expect(m.getMetrics().poolTimeouts).toBe(1);
  });
});

describe('read replica', () => {
  it('a read served by DATABASE_URL_READ carries the replica’s address, port and pool name', async () => {
    const direct = new URL(stack.directUrl);
    const m = testManager(stack, { DATABASE_URL_READ: stack.directUrl });
    managers.push(m);
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    await m.writeWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    const names = m.getMetrics().poolNames;
    expect(names).toEqual({
      primary: `${pooler.hostname}:${stack.poolerPort}/${DATABASE}`,
      read: `${direct.hostname}:${stack.postgresPort}/${decodeURIComponent(direct.pathname.slice(1))}`,
    });
    const [read, write] = ours(otel.spans.getFinishedSpans());
    expect(read?.attributes).toMatchObject({
      'pgpool.pool': 'read',
      'server.port': stack.postgresPort,
      'db.operation.name': 'readWithPooling',
    });
    expect(write?.attributes).toMatchObject({ 'pgpool.pool': 'primary', 'server.port': stack.poolerPort });
    const collected = await otel.collect();
    const readPoints = histogram(collected, 'db.client.operation.duration').dataPoints.filter(
      (p) => p.attributes['server.port'] === stack.postgresPort,
    );
    expect(readPoints.map((p) => [p.attributes['db.operation.name'], p.value.count])).toEqual([['readWithPooling', 1]]);
    expect(ofPool(sum(collected, 'db.client.connection.max').dataPoints, names?.read ?? '').map((p) => p.value)).toEqual([
      m.config.read?.connectionLimit,
    ]);
  });
});

describe('spans', () => {
  it('one CLIENT span per wrapper call, child of the active span; Prisma query spans nest inside it', async () => {
    const m = manager();
    await m.withPooling((tx) => tx.$queryRaw`SELECT 1`); // pools and connections exist before the traced part
    otel.spans.reset();
    const tracer = trace.getTracer('test');
    const rootId = await tracer.startActiveSpan('request', async (root) => {
      await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
      await m.readWithPooling((tx) => tx.$queryRaw`SELECT 2`);
      await m.batchWithPooling([(tx) => tx.$queryRaw`SELECT 1`, (tx) => tx.$queryRaw`SELECT 2`], { parallel: true });
      root.end();
      return root.spanContext().spanId;
    });
    const spans = otel.spans.getFinishedSpans();
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const calls = ours(spans).filter((s) => parentIdOf(s) === rootId);
    expect(calls.map((s) => s.attributes['db.operation.name'])).toEqual(['withPooling', 'readWithPooling', 'batchWithPooling']);
    for (const span of calls) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.name).toBe(`${span.attributes['db.operation.name']} ${DATABASE}`);
      expect(span.status.code).toBe(SpanStatusCode.UNSET);
      expect(span.attributes).toMatchObject({
        'db.system.name': 'postgresql',
        'db.namespace': DATABASE,
        'server.address': pooler.hostname,
        'server.port': stack.poolerPort,
      });
      expect(span.attributes['error.type']).toBeUndefined();
    }
    // The parallel batch's two transactions are spans of their own, inside the batch's span.
    const batch = calls[2] as ReadableSpan;
    const items = ours(spans).filter((s) => parentIdOf(s) === batch.spanContext().spanId);
    expect(items).toHaveLength(2);
    expect(ours(spans)).toHaveLength(5);

    // Every Prisma span sits under one of ours (Prisma's transaction and query spans are its own scope).
    const prismaSpans = spans.filter((s) => s.name.startsWith('prisma:'));
    expect(prismaSpans.length).toBeGreaterThan(0);
    const oursIds = new Set(ours(spans).map((s) => s.spanContext().spanId));
    const ancestorIsOurs = (span: ReadableSpan): boolean => {
      for (let parent = parentIdOf(span); parent; parent = byId.get(parent) ? parentIdOf(byId.get(parent) as ReadableSpan) : undefined)
        if (oursIds.has(parent)) return true;
      return false;
    };
    expect(prismaSpans.filter((s) => !ancestorIsOurs(s)).map((s) => s.name)).toEqual([]);
    // The SQL Prisma ran is in Prisma's db_query spans, under the wrapper span.
    expect(prismaSpans.some((s) => s.name === 'prisma:client:db_query' || s.name === 'prisma:engine:db_query')).toBe(true);
  });

  it('a retried attempt is an event with its error.type, SQLSTATE and backoff; a failed call has error status and error.type', async () => {
    const m = manager({ retry: { baseDelayMs: 5 } });
    await m.writeWithPooling(async (tx, { attempt }) => {
      // A real 40001 from Postgres on the first attempt: retried as a serialization failure.
      if (attempt === 1) await tx.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`);
      return tx.$queryRaw`SELECT 1`;
    });
    const [retried] = ours(otel.spans.getFinishedSpans());
    expect(retried?.status.code).toBe(SpanStatusCode.UNSET);
    const retries = retried?.events.filter((e) => e.name === 'pgpool.retry') ?? [];
    expect(retries).toHaveLength(1);
    expect(retries[0]?.attributes).toMatchObject({
      'pgpool.attempt': 1,
      'error.type': 'serialization',
      'db.response.status_code': '40001',
    });
    expect(typeof retries[0]?.attributes?.['pgpool.backoff_ms']).toBe('number');
    // A retried error is handled: the call succeeded, so no error.type on the span (recording-errors.md).
    expect(retried?.attributes['error.type']).toBeUndefined();

    otel.spans.reset();
    await expect(m.withPooling((tx) => tx.$queryRaw`SELECT * FROM no_such_table`)).rejects.toThrow();
    const [failed] = ours(otel.spans.getFinishedSpans());
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes).toMatchObject({ 'error.type': 'query', 'db.response.status_code': '42P01' });
  });

  it('a plain call through manager.prisma: its own span and duration record, named by Prisma’s operation and model', async () => {
    const m = manager();
    await m.prisma.user.findMany({ take: 1 });
    const [span] = ours(otel.spans.getFinishedSpans());
    expect(span?.name).toBe('findMany User');
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toMatchObject({
      'db.operation.name': 'findMany',
      'db.collection.name': 'User',
      'server.port': stack.poolerPort,
    });
    const metrics = await otel.collect();
    const points = histogram(metrics, 'db.client.operation.duration').dataPoints.filter(
      (p) => p.attributes['db.operation.name'] === 'findMany',
    );
    expect(points).toHaveLength(1);
    expect(points[0]?.attributes).toMatchObject({ 'db.collection.name': 'User', 'db.system.name': 'postgresql' });
  });

  it('outcome-unknown: error status, error.type outcome-unknown and pgpool.outcome_unknown', async () => {
    // Settling off: the lost COMMIT answer stays unknown (what the database cannot tell ends the same way).
    const m = proxied({ settleTimeoutMs: 0 });
    const error = await m
      .writeWithPooling(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        dropNextFlight(proxy); // the COMMIT is lost on the way
        return 1;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError);
    const [span] = ours(otel.spans.getFinishedSpans());
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.status.message).toMatch(/may or may not have committed/);
    expect(span?.attributes).toMatchObject({ 'error.type': 'outcome-unknown', 'pgpool.outcome_unknown': true });
  });

  it('a lost COMMIT settled by the database: a pgpool.commit_settled event with its outcome, then the retry', async () => {
    const m = proxied();
    let attempts = 0;
    const value = await m.writeWithPooling(async (tx) => {
      attempts++;
      await tx.$queryRaw`SELECT 1`;
      if (attempts === 1) dropNextFlight(proxy); // never reaches the server: the database says aborted
      return attempts;
    });
    expect(value).toBe(2);
    const [span] = ours(otel.spans.getFinishedSpans());
    const events = (span?.events ?? []).map((e) => [e.name, e.attributes?.['pgpool.commit_outcome'] ?? null]);
    expect(events).toContainEqual(['pgpool.commit_settled', 'aborted']);
    expect(events.findIndex((e) => e[0] === 'pgpool.commit_settled')).toBeLessThan(events.findIndex((e) => e[0] === 'pgpool.retry'));
    expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('no password, URL secret or query parameter value in any span or metric attribute', async () => {
    const secret = `secret-${randomUUID()}`;
    const m = manager();
    await m.withPooling((tx) => tx.$queryRaw`SELECT ${secret}::text AS v`);
    await m.withPooling((tx) => tx.$queryRaw`SELECT ${secret}::int AS v`).catch(() => {}); // 22P02 quotes the value in its message
    const password = decodeURIComponent(pooler.password);
    expect(password.length).toBeGreaterThan(0);
    const texts = [
      ...ours(otel.spans.getFinishedSpans()).map((s) => JSON.stringify({ a: s.attributes, e: s.events, st: s.status, n: s.name })),
      ...[...(await otel.collect()).values()].map((metric) => JSON.stringify(metric.dataPoints.map((p) => p.attributes))),
    ].join('\n');
    expect(texts).toContain('postgresql');
    expect(texts).not.toContain(password);
    expect(texts).not.toContain(secret);
  });
});
