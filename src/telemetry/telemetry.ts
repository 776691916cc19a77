/**
 * OpenTelemetry for one manager: the spec's database metrics and one span per wrapper call, from
 * the meter and tracer the app registered globally (a library never registers providers itself).
 *
 * Decided once, when the manager first needs it (its first call): no `@opentelemetry/api`
 * installed, or neither a MeterProvider nor a TracerProvider registered by then → `null`, and the
 * manager runs exactly as without telemetry (no wrapper, no sink, no pool listeners). Register the
 * providers before the first database call (Next.js `instrumentation.ts`, `node --import`), as for
 * every OpenTelemetry instrumentation.
 */
import type pg from 'pg';
import type { OperationKind, OperationName } from '../metrics/metrics.ts';
import { fanOutSinks, type OperationSink, type PoolTarget, type TraceHandle } from '../metrics/sink.ts';
import { loadOpenTelemetryApi, type OpenTelemetryApi } from './load-api.ts';
import { createOperationDurationSink } from './operation-metrics.ts';
import { createOperationSpans } from './operation-spans.ts';
import { createPoolMetrics, type PoolMetrics } from './pool-metrics.ts';
import type { TelemetryOptions } from './telemetry-options.ts';

/** The instrumentation scope name of our meter and tracer. */
export const INSTRUMENTATION_SCOPE = 'prisma-pgbouncer-pooling';

export interface Telemetry {
  /** Receives the manager's per-operation events. */
  readonly sink: OperationSink;
  /**
   * Runs one wrapper call inside its span (`target`: the pool expected to serve it; `run` gets the
   * handle the call's events carry); null when no TracerProvider is registered.
   */
  readonly trace:
    | (<R>(kind: OperationKind, target: PoolTarget | null, run: (handle: TraceHandle) => Promise<R>, name?: OperationName) => Promise<R>)
    | null;
  /** Starts pool metrics for one of the manager's pools; returns what stops them. */
  observePool(pool: pg.Pool, limit: number, target: PoolTarget): () => void;
  /** Stops every pool observation. */
  dispose(): void;
}

/** Null when telemetry is off, `@opentelemetry/api` is absent, or the app registered no provider. */
export function createTelemetry(
  options: Readonly<TelemetryOptions>,
  api: OpenTelemetryApi | null = loadOpenTelemetryApi(),
): Telemetry | null {
  if (options.enabled === false || api === null) return null;
  const meter = api.metrics.getMeter(INSTRUMENTATION_SCOPE);
  const tracer = api.trace.getTracer(INSTRUMENTATION_SCOPE);
  // No MeterProvider registered: the API hands out its one no-op meter. No TracerProvider: a
  // ProxyTracer (a registered provider hands out its own tracer instead). Either way: nothing to do.
  const metering = meter !== api.createNoopMeter();
  const tracing = !(tracer instanceof api.ProxyTracer);
  if (!metering && !tracing) return null;

  const sinks: OperationSink[] = [];
  if (metering) sinks.push(createOperationDurationSink(meter));
  const spans = tracing ? createOperationSpans(api, tracer) : null;
  if (spans) sinks.push(spans.sink);
  const poolMetrics: PoolMetrics | null = metering ? createPoolMetrics(meter) : null;
  const stops = new Set<() => void>();

  return {
    sink: fanOutSinks(sinks),
    trace: spans ? (kind, target, run, name) => spans.trace(kind, target, run, name) : null,
    observePool(pool, limit, target) {
      const stopPool = poolMetrics?.observe(pool, limit, target);
      const stop = () => {
        stops.delete(stop);
        stopPool?.();
      };
      stops.add(stop);
      return stop;
    },
    dispose() {
      for (const stop of [...stops]) stop();
      poolMetrics?.dispose();
    },
  };
}
