/**
 * A request scope for handlers that receive their platform's context as an argument instead of
 * finding it on `globalThis`: a Netlify function's `(request, context)`, a Lambda-style adapter.
 *
 *   export default (request: Request, context: Context) =>
 *     runWithRequestContext(context, () => handle(request));
 *
 * Any pool release inside `fn` (awaits included) then hands its keep-alive promise to that
 * context's `waitUntil`. Built on AsyncLocalStorage, as @vercel/functions and Next.js build theirs.
 * The storage lives on `globalThis`, so two copies of this package in one process (a bundled one
 * and an external one) share it.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import type { RequestContext, WaitUntilSource } from './request-context.ts';

const STORAGE = Symbol.for('prisma-pgbouncer-pooling.request-scope');

function storage(): AsyncLocalStorage<RequestContext> {
  const holder = globalThis as { [STORAGE]?: AsyncLocalStorage<RequestContext> };
  holder[STORAGE] ??= new (nodeBuiltin('node:async_hooks').AsyncLocalStorage)<RequestContext>();
  return holder[STORAGE];
}

/** Runs `fn` with `context` (anything with a `waitUntil` method) as the current request's context. */
export function runWithRequestContext<R>(context: RequestContext, fn: () => R): R {
  return storage().run(context, fn);
}

/** The context of the enclosing runWithRequestContext, if any (none, and no storage created, before the first). */
export const scopedSource: WaitUntilSource = {
  name: 'runWithRequestContext',
  read: () => (globalThis as { [STORAGE]?: AsyncLocalStorage<RequestContext> })[STORAGE]?.getStore(),
};
