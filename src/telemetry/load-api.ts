/**
 * `@opentelemetry/api` is an optional peer dependency: this package imports it nowhere statically
 * (every other file here uses `import type`, erased at build time), and loads it here, once, when a
 * manager first needs it. Without it installed, telemetry is simply off.
 *
 * Why `createRequire` and not `import()`: the manager initializes synchronously on its first call,
 * and telemetry must be decided by then. Both ways reach the same registered providers: the API
 * keeps them on `globalThis` under a versioned `Symbol.for` key, so an app that registered them
 * through its own (ESM or CJS) copy of the API is seen here too
 * (open-telemetry/opentelemetry-js api/src/internal/global-utils.ts).
 */
import { createRequire } from 'node:module';
import type * as OpenTelemetryApiModule from '@opentelemetry/api';

export type OpenTelemetryApi = typeof OpenTelemetryApiModule;

type RequireFn = (id: string) => unknown;

let cached: OpenTelemetryApi | null | undefined;

/** The API module, or null when it is not installed. `load` is for tests. */
export function loadOpenTelemetryApi(load?: RequireFn): OpenTelemetryApi | null {
  if (load) return tryLoad(load);
  // Inside tryLoad's catch: where modules have no file URL (a workerd bundle: `import.meta.url` is
  // undefined there) createRequire itself throws, and telemetry is then simply off.
  cached ??= tryLoad((id) => createRequire(import.meta.url)(id));
  return cached;
}

function tryLoad(load: RequireFn): OpenTelemetryApi | null {
  try {
    const api = load('@opentelemetry/api') as Partial<OpenTelemetryApi> | null;
    // Anything without the two entry points we use is treated as absent rather than crashing a call.
    return api && typeof api.metrics?.getMeter === 'function' && typeof api.trace?.getTracer === 'function'
      ? (api as OpenTelemetryApi)
      : null;
  } catch {
    return null;
  }
}
