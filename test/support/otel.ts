/**
 * The app side of OpenTelemetry for tests: global MeterProvider and TracerProvider with the SDK's
 * in-memory reader and span exporter, an AsyncLocalStorage context manager, and Prisma's own
 * instrumentation. `uninstall()` unregisters everything, so the next test file starts clean.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type HistogramMetricData, MeterProvider, type MetricData, MetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { PrismaInstrumentation } from '@prisma/instrumentation';

/** A pull reader: `collect()` on demand, nothing exported on a timer. */
class InMemoryReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

export interface OtelHarness {
  readonly spans: InMemorySpanExporter;
  readonly tracerProvider: BasicTracerProvider;
  /** Every metric of every scope, by name (the last collection). */
  collect(): Promise<Map<string, MetricData>>;
  uninstall(): Promise<void>;
}

export function installOtel(
  options: { metrics?: boolean; traces?: boolean; prisma?: boolean; contextManager?: boolean } = {},
): OtelHarness {
  const { metrics: withMetrics = true, traces: withTraces = true, prisma = true } = options;
  // Without one (a BasicTracerProvider set globally, as many apps do), context.active() is always the root.
  const contextManager = options.contextManager === false ? null : new AsyncLocalStorageContextManager().enable();
  if (contextManager) context.setGlobalContextManager(contextManager);
  const reader = new InMemoryReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  if (withMetrics) metrics.setGlobalMeterProvider(meterProvider);
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  let instrumentation: PrismaInstrumentation | null = null;
  if (withTraces) {
    trace.setGlobalTracerProvider(tracerProvider);
    if (prisma) {
      instrumentation = new PrismaInstrumentation();
      instrumentation.setTracerProvider(tracerProvider);
      instrumentation.enable();
    }
  }
  return {
    spans,
    tracerProvider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
    async uninstall() {
      instrumentation?.disable();
      metrics.disable();
      trace.disable();
      context.disable();
      contextManager?.disable();
      await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
    },
  };
}

export type { HistogramMetricData, ReadableSpan, SumMetricData };

/** The parent span id of a finished span (SDK 2.x: `parentSpanContext`). */
export const parentIdOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
