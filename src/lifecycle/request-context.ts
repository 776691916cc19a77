/**
 * Request contexts: where the current request's `waitUntil` comes from. A platform publishes its
 * context on `globalThis` under a `Symbol.for` key whose `.get()` returns the current request's
 * `{ waitUntil }` (Vercel: `@vercel/request-context`, read by @vercel/functions' get-context.ts;
 * Next.js: `@next/request-context`, read by next/dist/server/after/builtin-request-context.js and
 * published by Netlify's Next.js runtime). Which keys a platform publishes is data on its entry in
 * src/runtime/detect-runtime.ts.
 *
 * Pure: no imports. Every read and every `waitUntil` call is guarded: these are other packages'
 * private contracts, called from pg-pool's `release` event, where a throw would reach pg.
 */

/** `@vercel/functions`' `waitUntil`, Netlify's `context.waitUntil`, a Worker's `ctx.waitUntil`. */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** What a request context carries that we use (a subset of @vercel/functions' `Context` and Next's `BuiltinRequestContextValue`). */
export interface RequestContext {
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** One place to look for the current request's waitUntil; `name` says which in the logs. */
export interface WaitUntilSource {
  readonly name: string;
  /** The current request's context, or undefined outside a request. Never throws. */
  read(): RequestContext | undefined;
}

export const VERCEL_REQUEST_CONTEXT = Symbol.for('@vercel/request-context');
export const NEXT_REQUEST_CONTEXT = Symbol.for('@next/request-context');

type ContextHolder = { get?: () => RequestContext | undefined };

/** The context a platform publishes under `Symbol.for(key)`; undefined outside a request or when the holder is not the expected shape. */
export function readGlobalRequestContext(key: string): RequestContext | undefined {
  try {
    const holder = (globalThis as Record<symbol, ContextHolder | undefined>)[Symbol.for(key)];
    const context = typeof holder?.get === 'function' ? holder.get() : undefined;
    return context && typeof context.waitUntil === 'function' ? context : undefined;
  } catch {
    return undefined;
  }
}

/** A source over a platform's global request context. */
export const globalContextSource = (key: string): WaitUntilSource => ({ name: key, read: () => readGlobalRequestContext(key) });

/** A source over a `waitUntil` the app handed over (the manager's `waitUntil` option): always "in a request". */
export const explicitSource = (waitUntil: WaitUntil): WaitUntilSource => {
  const context: RequestContext = { waitUntil };
  return { name: 'the waitUntil option', read: () => context };
};

/** The first source with a context, or undefined. */
export function firstRequestContext(sources: readonly WaitUntilSource[]): { context: RequestContext; source: string } | undefined {
  for (const source of sources) {
    const context = source.read();
    if (context?.waitUntil) return { context, source: source.name };
  }
  return undefined;
}

/**
 * Hands `promise` to the context's waitUntil, as a method call (a Worker's `ctx.waitUntil` throws
 * "Illegal invocation" when called detached). False when it threw (e.g. the request has already
 * finished): the instance may then be suspended with connections open, which the pooler's idle
 * timeout cleans up, as without the keep-alive.
 */
export function handToWaitUntil(context: RequestContext, promise: Promise<unknown>): boolean {
  try {
    context.waitUntil?.(promise);
    return true;
  } catch {
    return false;
  }
}
