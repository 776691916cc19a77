/**
 * Cloudflare Workers: one pool and one Prisma client per request, closed through `ctx.waitUntil`.
 *
 * The platform's rules (developers.cloudflare.com/hyperdrive/concepts/connection-lifecycle/,
 * /workers/runtime-apis/handlers/fetch/, Prisma's "Deploy to Cloudflare Workers" guide):
 * - an I/O object created while serving one request cannot be used by another, so a pool kept
 *   across requests answers one and hangs the next (prisma/prisma#30255);
 * - no I/O and no timers at module scope;
 * - at most 6 simultaneous outgoing connections per request;
 * - Hyperdrive pools the real database connections, so opening a connection to it per request is
 *   cheap, and closing it when the request ends is how its pooler gets the connection back.
 *
 * So the manager keeps what may outlive a request in the isolate (options, metrics, health
 * history), and `withWorkerRequest` gives each request its own state: the config resolved from
 * that request's bindings (Hyperdrive's `connectionString` as DATABASE_URL), a pool of at most
 * `connection_limit` (≤ 3 in transaction mode) connections, and the Prisma clients on it. They are
 * built on the request's first database call and ended through `ctx.waitUntil` after the
 * response, so the request's sockets close while the runtime still lets them.
 */
import { ConfigError } from '../../errors/errors.ts';
import { createRequestScope, runInRequestScope } from '../../lifecycle/request-scope.ts';
import { managerLog } from '../../logging/loggers.ts';
import { DEFAULT_HYPERDRIVE_BINDING, workerEnvironment } from './worker-env.ts';

/** The parts of a Worker's `ExecutionContext` used here. */
export interface WorkerContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** A module Worker's fetch handler. */
export type WorkerFetch<Env, Ctx extends WorkerContext = WorkerContext> = (request: Request, env: Env, ctx: Ctx) => Promise<Response>;

export interface WorkerRequestOptions {
  /** The Hyperdrive binding whose `connectionString` becomes DATABASE_URL. Defaults to `HYPERDRIVE`. */
  hyperdriveBinding?: string;
}

/**
 * Wraps a Worker's `fetch` so that every database call it makes through `manager` (its wrappers,
 * `client`, `prisma`, `getHealth()`) runs on state scoped to that request:
 *
 * ```ts
 * import { withWorkerRequest } from 'prisma-pgbouncer-pooling';
 * import { connectionPoolManager } from './services/connection-pool-manager.server';
 * export default { fetch: withWorkerRequest(connectionPoolManager, (request, env, ctx) => route(request)) };
 * ```
 *
 * `manager` is only the key of the request's state here (any object works: several managers in
 * one Worker each get their own per-request state). A configuration error (no binding) is thrown
 * from the first database call, like anywhere else.
 */
export function withWorkerRequest<Env extends object, Ctx extends WorkerContext>(
  _manager: object,
  handler: WorkerFetch<Env, Ctx>,
  options: WorkerRequestOptions = {},
): WorkerFetch<Env, Ctx> {
  if (typeof _manager !== 'object' || _manager === null) throw new ConfigError('manager', "must be the app's connection pool manager");
  if (typeof handler !== 'function') throw new ConfigError('handler', 'must be a function (request, env, ctx) => Response');
  const binding = options.hyperdriveBinding ?? DEFAULT_HYPERDRIVE_BINDING;
  if (typeof binding !== 'string' || binding === '') throw new ConfigError('hyperdriveBinding', 'must be a non-empty binding name');
  return async (request, env, ctx) => {
    // The bindings are read at the request's first database call, so a route that needs no
    // database costs nothing and a missing binding surfaces there as a ConfigError.
    const scope = createRequestScope(() => workerEnvironment(env as Record<string, unknown>, binding));
    try {
      return await runInRequestScope(scope, () => handler(request, env, ctx));
    } finally {
      // After the response: end this request's pool and clients while its I/O context lives.
      ctx.waitUntil(scope.close().catch((error: unknown) => managerLog('worker request scope: close failed (%s)', String(error))));
    }
  };
}
