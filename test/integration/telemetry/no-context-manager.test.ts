/**
 * A TracerProvider registered globally without a context manager (a BasicTracerProvider set with
 * `trace.setGlobalTracerProvider`, as in many apps and tests): `context.active()` is then always
 * the root context. The wrapper's span must still show its retries and its failure, because the
 * code that started the span annotates it directly instead of looking it up in the context.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { type TestManager, testManager } from '../../support/managers.ts';
import { installOtel, type OtelHarness, type ReadableSpan } from '../../support/otel.ts';

const stack = inject('stack');
let otel: OtelHarness;
const managers: TestManager[] = [];
beforeAll(() => {
  otel = installOtel({ contextManager: false, prisma: false, metrics: false });
});
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  await otel.uninstall();
});

const ours = (spans: ReadableSpan[]) => spans.filter((s) => s.instrumentationScope.name === 'prisma-pgbouncer-pooling');

it('retry events, error status and error.type reach the span', async () => {
  const m = testManager(stack, {}, { retry: { baseDelayMs: 5 } });
  managers.push(m);
  await m.writeWithPooling(async (tx, { attempt }) => {
    if (attempt === 1) await tx.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`);
    return tx.$queryRaw`SELECT 1`;
  });
  const [retried] = ours(otel.spans.getFinishedSpans());
  expect(retried?.events.filter((e) => e.name === 'pgpool.retry').map((e) => e.attributes?.['error.type'])).toEqual(['serialization']);
  expect(retried?.attributes['server.port']).toBe(stack.poolerPort);

  otel.spans.reset();
  await expect(m.withPooling((tx) => tx.$queryRaw`SELECT * FROM no_such_table`)).rejects.toThrow();
  const [failed] = ours(otel.spans.getFinishedSpans());
  expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
  expect(failed?.attributes).toMatchObject({ 'error.type': 'query', 'db.response.status_code': '42P01' });
});
