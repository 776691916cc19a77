/**
 * The two `debug` namespaces (`DEBUG=ConnectionPoolManager,DatabasePooling`). Callers pass only
 * redacted URLs and never query parameter values: nothing here redacts for them.
 *
 * `debug` is loaded at the first log line written while `DEBUG` is set, not at import: loading it
 * (CommonJS, plus its failed look-up of the optional `supports-color`) cost about as much as the rest
 * of this package's import, on every cold start of every app that never turns logging on (see the
 * cold-start section of docs/benchmarks.md). `debug`'s own `enable()` writes `process.env.DEBUG`
 * (debug/src/node.js `save()`), so turning it on programmatically works as before; test/unit/logging
 * pins that.
 */
import type createDebugType from 'debug';
import { nodeBuiltin } from '../runtime/node-builtins.ts';

export type Logger = (formatter: string, ...args: unknown[]) => void;

let createDebug: typeof createDebugType | undefined;

/** A logger for `namespace` that costs one `process.env` read per line until `DEBUG` is set. */
export function lazyLogger(namespace: string, env: { readonly DEBUG?: string | undefined } = process.env): Logger {
  let log: Logger | undefined;
  return (formatter, ...args) => {
    if (log === undefined) {
      if (!env.DEBUG) return;
      createDebug ??= nodeBuiltin('node:module').createRequire(import.meta.url)('debug') as typeof createDebugType;
      log = createDebug(namespace);
    }
    log(formatter, ...args);
  };
}

/** Lifecycle: mode decision, pool creation, disconnect, health changes. */
export const managerLog = lazyLogger('ConnectionPoolManager');
/** Per operation: retries with kind and delay, commit ambiguity, load shedding. */
export const poolingLog = lazyLogger('DatabasePooling');
