/**
 * OpenTelemetry for the example, registered by instrumentation.ts before the first request: a
 * TracerProvider whose one span processor counts finished spans by name, so the status panel can
 * show the manager's spans without a collector. A real app exports instead (docs/opentelemetry.md):
 * replace the processor with `new BatchSpanProcessor(new OTLPTraceExporter())`, or use `@vercel/otel`.
 *
 * The counts live on globalThis: Next.js bundles instrumentation.ts and the pages separately, so a
 * module-level variable here would be two variables.
 */
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';

const COUNTS = Symbol.for('next-app-example.span-counts');
type Counts = Record<string, number>;

function counts(): Counts {
  const store = globalThis as { [COUNTS]?: Counts };
  store[COUNTS] ??= {};
  return store[COUNTS];
}

class CountingSpanProcessor implements SpanProcessor {
  onStart(_span: Span, _context: Context): void {}
  onEnd(span: ReadableSpan): void {
    // The manager's spans follow the database conventions; Next.js's own spans do not carry this.
    if (span.attributes['db.system.name'] !== 'postgresql') return;
    const all = counts();
    all[span.name] = (all[span.name] ?? 0) + 1;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Registers the global TracerProvider (Node.js runtime only: called from instrumentation.ts). */
export async function registerTelemetry(): Promise<void> {
  const { trace } = await import('@opentelemetry/api');
  const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new CountingSpanProcessor()] }));
}

/** Finished spans of the pooling manager (one per wrapper call). */
export function finishedSpans(): number {
  return Object.values(counts()).reduce((sum, n) => sum + n, 0);
}
