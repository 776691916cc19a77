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
 * built on the request's first database call and ended through `ctx.waitUntil` once the response
 * body has been sent and the app's own `ctx.waitUntil` work has settled (a streaming body — React
 * Router, Remix, Hono on Workers — reads the database after the handler returned), so the
 * request's sockets close while the runtime still lets them.
 */
import { ConfigError } from '../../errors/errors.ts';
import { createRequestScope, type RequestScope, runInRequestScope } from '../../lifecycle/request-scope.ts';
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
 *
 * The request's state is closed when the response is over, not when the handler returns: after the
 * response body has been read to its end (or cancelled, or failed) — a body that streams from the
 * database keeps its pool — and after every promise the app handed to `ctx.waitUntil` has settled
 * (the handler sees a `ctx` whose `waitUntil` also tells the scope). A `ctx` without `waitUntil`
 * (or none) is a ConfigError naming `ctx`, thrown before anything is opened.
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
    // Without waitUntil nothing could close the request's pool once the response is out: refuse
    // before a pool exists, with the error that says why (not a TypeError from a finally block).
    if (typeof (ctx as Partial<WorkerContext> | null | undefined)?.waitUntil !== 'function') {
      throw new ConfigError(
        'ctx',
        "must be the Worker's ExecutionContext (fetch(request, env, ctx)): withWorkerRequest closes the request's connections through ctx.waitUntil",
      );
    }
    // The bindings are read at the request's first database call, so a route that needs no
    // database costs nothing and a missing binding surfaces there as a ConfigError.
    const scope = createRequestScope(() => workerEnvironment(env as Record<string, unknown>, binding));
    try {
      return holdUntilSent(await runInRequestScope(scope, () => handler(request, env, scopedContext(ctx, scope))), scope);
    } finally {
      // After the response (its body sent, the app's waitUntil work settled): end this request's
      // pool and clients while its I/O context lives. A handler that threw has no body to wait for.
      ctx.waitUntil(scope.close().catch((error: unknown) => managerLog('worker request scope: close failed (%s)', String(error))));
    }
  };
}

/**
 * `ctx` as the handler sees it: the same object in every respect but `waitUntil`, which also hands
 * the promise to the scope so that the scope outlives it. A Proxy, not a copy: the runtime's
 * methods (`passThroughOnException`, …) are called on the real context (workerd checks `this`).
 */
function scopedContext<Ctx extends WorkerContext>(ctx: Ctx, scope: RequestScope): Ctx {
  const waitUntil = (promise: Promise<unknown>): void => {
    scope.waitFor(promise);
    ctx.waitUntil(promise);
  };
  return new Proxy(ctx, {
    get(target, property) {
      if (property === 'waitUntil') return waitUntil;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * The response with its body wrapped so that the scope waits until the body has been read to its end,
 * cancelled (the client went away) or failed. A response without a body (204, a redirect, a
 * WebSocket upgrade) is returned as it is: nothing of it reads the database any more.
 */
function holdUntilSent(response: Response, scope: RequestScope): Response {
  // Optional chaining: a handler that returned no Response gets the runtime's own error for that.
  const body = (response as Partial<Response> | undefined)?.body;
  if (body === null || body === undefined) return response;
  let sent!: () => void;
  scope.waitFor(
    new Promise<void>((resolve) => {
      sent = resolve;
    }),
  );
  const reader = body.getReader();
  // The runtime pulls the body outside the handler's async context: each read runs in the scope so
  // that the app's stream (whose pull is called from inside `read()`) finds this request's state.
  const tracked = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await runInRequestScope(scope, () => reader.read());
          if (done) {
            controller.close();
            sent();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          controller.error(error);
          sent();
        }
      },
      async cancel(reason) {
        try {
          await runInRequestScope(scope, () => reader.cancel(reason));
        } finally {
          sent();
        }
      },
    },
    // highWaterMark 0: read from the app's body only when the runtime asks, as it would unwrapped.
    { highWaterMark: 0 },
  );
  // `new Response(body, response)` keeps status, statusText and headers (and, on workerd, `cf`).
  return new Response(tracked, response);
}
