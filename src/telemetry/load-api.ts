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
import type * as OpenTelemetryApiModule from '@opentelemetry/api';
import { nodeBuiltin } from '../runtime/node-builtins.ts';

export type OpenTelemetryApi = typeof OpenTelemetryApiModule;

type RequireFn = (id: string) => unknown;

let cached: OpenTelemetryApi | null | undefined;

/** The API module, or null when it is not installed. `load` is for tests. */
export function loadOpenTelemetryApi(load?: RequireFn): OpenTelemetryApi | null {
  if (load) return tryLoad(load);
  if (cached === undefined) {
    // Nothing registered a provider: telemetry would be off anyway (no meter, no tracer), so skip the
    // require, which on a cold start costs a module-path search (and the API's ~20 files when installed).
    if (!providersRegistered()) return null;
    const nodeRequire = moduleRequire();
    cached = nodeRequire ? tryLoad(nodeRequire) : null;
  }
  return cached;
}

/**
 * Whether any copy of the API has registered a global provider: the API keeps them in one object on
 * `globalThis` under `Symbol.for('opentelemetry.js.api.<major>')`, with a `trace` / `metrics` entry per
 * registered provider (open-telemetry/opentelemetry-js api/src/internal/global-utils.ts). Not cached:
 * an app may register its providers after importing this package, before its first call.
 */
function providersRegistered(): boolean {
  const registry = (globalThis as Record<symbol, unknown>)[Symbol.for('opentelemetry.js.api.1')] as
    | { trace?: unknown; metrics?: unknown }
    | undefined;
  return registry?.trace !== undefined || registry?.metrics !== undefined;
}

/**
 * This module's `require`, or null where modules have no file URL (a workerd bundle:
 * `import.meta.url` is undefined there and createRequire throws; telemetry is then simply off).
 * Returned as a value and called elsewhere on purpose: a bundler that sees
 * `createRequire(import.meta.url)(id)` in one expression treats it as a `require` with a dynamic
 * id and compiles it to a throwing stub (Next.js 16's Turbopack does; the Next.js example's
 * browser test counts the spans that prove telemetry is on).
 */
function moduleRequire(): RequireFn | null {
  try {
    return nodeBuiltin('node:module').createRequire(import.meta.url);
  } catch {
    return null;
  }
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
