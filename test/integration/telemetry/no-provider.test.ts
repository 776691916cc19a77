/**
 * The free path: without a registered provider (or without `@opentelemetry/api` at all) the
 * manager does no telemetry work on a call — no pool listeners, no wrapped `pool.connect`, no
 * span — and a provider registered after the first call is not picked up (decided once).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { context, metrics, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createTelemetry } from '~/telemetry/telemetry.ts';
import { type TestManager, testManager } from '../../support/managers.ts';
import { installOtel, type OtelHarness } from '../../support/otel.ts';

const stack = inject('stack');
const managers: TestManager[] = [];
let otel: OtelHarness | null = null;

beforeAll(() => {
  // Nothing registered, whatever ran before in this worker.
  metrics.disable();
  trace.disable();
  context.disable();
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await otel?.uninstall();
});

it('no provider registered: no telemetry object, no pool instrumentation, and a provider registered later is ignored', async () => {
  expect(createTelemetry({})).toBeNull();
  const m = testManager(stack);
  managers.push(m);
  await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  expect(Object.hasOwn(m.pool, 'connect')).toBe(false);
  expect(m.pool.listenerCount('acquire')).toBe(0);
  expect(m.pool.listenerCount('release')).toBe(0);
  expect(m.pool.listenerCount('connect')).toBe(0);

  // Registered after the manager's first call: the decision was taken once, nothing is looked up per call.
  otel = installOtel();
  await trace.getTracer('test').startActiveSpan('request', async (root) => {
    await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    root.end();
  });
  const names = [...(await otel.collect()).keys()].filter((name) => name.startsWith('db.client.'));
  expect(names).toEqual([]);
  expect(otel.spans.getFinishedSpans().filter((s) => s.instrumentationScope.name === 'prisma-pgbouncer-pooling')).toEqual([]);

  // A manager whose first call comes after registration does emit (the contrast that makes the above meaningful).
  const late = testManager(stack);
  managers.push(late);
  await late.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  expect([...(await otel.collect()).keys()]).toContain('db.client.operation.duration');
  expect(Object.hasOwn(late.pool, 'connect')).toBe(true);
});

it('telemetry: false keeps it off even with providers registered', async () => {
  otel ??= installOtel();
  const m = testManager(stack, {}, { telemetry: false });
  managers.push(m);
  await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  expect(Object.hasOwn(m.pool, 'connect')).toBe(false);
  expect(m.pool.listenerCount('acquire')).toBe(0);
});

it('without @opentelemetry/api installed the package imports and runs', async () => {
  const fixture = fileURLToPath(new URL('./fixtures/without-otel-api.ts', import.meta.url));
  const blocker = fileURLToPath(new URL('./fixtures/block-otel-api.mjs', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
  const { stdout } = await promisify(execFile)(tsx, [fixture], {
    env: { ...process.env, DATABASE_URL: stack.poolerUrl, NODE_OPTIONS: `--import ${blocker}` },
    timeout: 60_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
  expect(result).toEqual({ one: 1, two: 2, totalQueries: 2, requireBlocked: true, importBlocked: true, poolPatched: false });
});

it('only a TracerProvider registered: spans, and no meter work (pool not instrumented)', async () => {
  await otel?.uninstall();
  otel = installOtel({ metrics: false });
  const m = testManager(stack);
  managers.push(m);
  await m.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  const spans = otel.spans.getFinishedSpans().filter((s) => s.instrumentationScope.name === 'prisma-pgbouncer-pooling');
  expect(spans.map((s) => s.attributes['db.operation.name'])).toEqual(['withPooling']);
  expect(Object.hasOwn(m.pool, 'connect')).toBe(false);
  expect(m.pool.listenerCount('acquire')).toBe(0);
  expect([...(await otel.collect()).keys()]).toEqual([]);
});
