/**
 * Which platform lifecycle a manager's pools get, chosen from the runtime detection's platform
 * entry (src/runtime/detect-runtime.ts, `lifecycle`): today the keep-alive (keep-alive.ts), fed by
 * the current request's `waitUntil`, looked up in this order:
 * 1. the manager's `waitUntil` option (e.g. `import { waitUntil } from '@vercel/functions'`): the
 *    platform's public API, preferred over the private globals below;
 * 2. the enclosing `runWithRequestContext(context, …)` (request-context-scope.ts): a handler that received
 *    its context as an argument (a Netlify function's `context`);
 * 3. the request contexts the platform publishes on globalThis, in the order its entry lists them
 *    (Vercel's `@vercel/request-context`, then Next.js's `@next/request-context`).
 * The keep-alive is attached in a running function of a platform with a lifecycle, or anywhere the
 * app passed `waitUntil`. Adding a platform's lifecycle is a line in its runtime entry.
 */
import { ConfigError } from '../errors/errors.ts';
import { detectRuntime } from '../runtime/detect-runtime.ts';
import { isFunctionInstance } from '../runtime/function-instance.ts';
import { attachKeepAlive, type ReleaseEmitter } from './keep-alive.ts';
import { explicitSource, globalContextSource, type WaitUntil, type WaitUntilSource } from './request-context.ts';
import { scopedSource } from './request-context-scope.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface PlatformLifecycleOptions {
  env: Env;
  /** The pools' `idleTimeoutMillis`. */
  idleTimeoutMs: number;
  /** The manager's `waitUntil` option (already checked by checkWaitUntilOption). */
  waitUntil?: WaitUntil;
  log: (format: string, ...args: unknown[]) => void;
}

/** The manager's `waitUntil` option: a function or unset. */
export function checkWaitUntilOption(value: unknown): WaitUntil | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new ConfigError('waitUntil', `must be a function (promise) => void, got ${typeof value}`);
  return value as WaitUntil;
}

/** Where the current request's waitUntil comes from on this platform, in order; empty: no keep-alive. */
export function waitUntilSources(env: Env, waitUntil: WaitUntil | undefined): WaitUntilSource[] {
  const detection = detectRuntime(env);
  const onPlatform = isFunctionInstance(detection, env);
  if (!onPlatform && waitUntil === undefined) return [];
  return [
    ...(waitUntil ? [explicitSource(waitUntil)] : []),
    scopedSource,
    ...(onPlatform ? (detection.lifecycle?.requestContexts ?? []).map(globalContextSource) : []),
  ];
}

/** Said once per process: a Vercel function without the option leans on Vercel's private request context. */
let toldAboutVercelOption = false;

/** Attaches the platform's lifecycle to each pool; returns their detach functions (none off such platforms). */
export function attachPlatformLifecycle(pools: readonly ReleaseEmitter[], options: PlatformLifecycleOptions): (() => void)[] {
  const { env, idleTimeoutMs, waitUntil, log } = options;
  const sources = waitUntilSources(env, waitUntil);
  if (sources.length === 0) return [];
  const label = detectRuntime(env).runtime;
  if (label === 'vercel' && waitUntil === undefined && !toldAboutVercelOption) {
    toldAboutVercelOption = true;
    log(
      "vercel: no waitUntil option, so the keep-alive reads Vercel's private request context (Symbol.for('@vercel/request-context')); " +
        "pass createConnectionPoolManager({ waitUntil }) with waitUntil from '@vercel/functions'",
    );
  }
  log(
    '%s: keeping the instance alive until idle connections close (%d ms); waitUntil from %s',
    label,
    idleTimeoutMs,
    sources.map((s) => s.name).join(', '),
  );
  return pools.map((pool) => attachKeepAlive(pool, { idleTimeoutMs, sources, label, log }));
}
