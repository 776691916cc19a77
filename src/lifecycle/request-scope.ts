/**
 * A request scope: state that lives for one request only, found through `AsyncLocalStorage`.
 *
 * Why: Cloudflare Workers forbid using an I/O object (a socket) created by one request in another
 * ("Cannot perform I/O on behalf of a different request", developers.cloudflare.com/workers/runtime-apis/
 * nodejs/asynclocalstorage and /workers/databases/connecting-to-databases), so a module-scope pg pool
 * answers one request and hangs the next (prisma/prisma#30255). Inside a scope, whoever asks
 * `requestScoped(owner, …)` gets a value built for this request (the manager: its pools and Prisma
 * clients), and `close()` disposes of every such value when the request ends. Outside a scope the
 * answer is undefined and the caller uses its process-wide state, so Node apps are unaffected.
 *
 * `node:async_hooks` is available on Node, Bun, Deno and workerd (`nodejs_compat`); creating the
 * storage is neither I/O nor a timer; it is still made at first use, not at import, so that importing
 * the package evaluates nothing of node:async_hooks (an edge bundle that only reaches the edge guard).
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { PoolingError } from '../errors/errors.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';

type Env = Readonly<Record<string, string | undefined>>;

interface Slot {
  readonly value: unknown;
  readonly dispose: () => Promise<void>;
}

export interface RequestScope {
  /** The environment this request's state is configured from (e.g. a Worker's bindings); read at first use. */
  readonly env: Env;
  /**
   * Work that may still use this scope's values after the handler returned (a response body that
   * streams from the database, the app's own `ctx.waitUntil` promises): `close()` waits for every
   * promise handed here to settle — including ones handed in while it waits — before disposing.
   */
  waitFor(work: PromiseLike<unknown>): void;
  /**
   * Disposes of every value built in this scope once the work handed to `waitFor` has settled;
   * idempotent. Values built while it waits are disposed of too; asked for afterwards, refused.
   */
  close(): Promise<void>;
}

class Scope implements RequestScope {
  readonly slots = new Map<object, Slot>();
  #env: Env | (() => Env);
  #closing: Promise<void> | null = null;
  #disposing = false;
  readonly #pending = new Set<PromiseLike<unknown>>();
  constructor(env: Env | (() => Env)) {
    this.#env = env;
  }
  /** A function is called once, at first use: its ConfigError then surfaces from the first database call. */
  get env(): Env {
    if (typeof this.#env === 'function') this.#env = Object.freeze({ ...this.#env() });
    return this.#env;
  }
  get closed(): boolean {
    return this.#disposing;
  }
  waitFor(work: PromiseLike<unknown>): void {
    if (this.#disposing) return;
    this.#pending.add(work);
  }
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Settle everything handed to waitFor, again while new work arrives during the wait (a
      // waitUntil called from a streaming body's pull): its failures are its owner's to report.
      while (this.#pending.size > 0) {
        const batch = [...this.#pending];
        this.#pending.clear();
        await Promise.allSettled(batch);
      }
      this.#disposing = true;
      const slots = [...this.slots.values()];
      this.slots.clear();
      // allSettled: one owner's failed dispose must not keep another's sockets open.
      await Promise.allSettled(slots.map((slot) => slot.dispose()));
    })();
    return this.#closing;
  }
}

let created: AsyncLocalStorage<Scope> | null = null;
const storage = (): AsyncLocalStorage<Scope> => {
  created ??= new (nodeBuiltin('node:async_hooks').AsyncLocalStorage)<Scope>();
  return created;
};

/**
 * A new scope over `env` (or a function computing it at first use); run code in it with
 * `runInRequestScope`, end it with `close()`.
 */
export function createRequestScope(env: Env | (() => Env)): RequestScope {
  return new Scope(env);
}

/** Runs `fn` so that `requestScoped()` calls made by it (and by everything it awaits) see `scope`. */
export function runInRequestScope<R>(scope: RequestScope, fn: () => R): R {
  if (!(scope instanceof Scope)) throw new TypeError('runInRequestScope: scope must come from createRequestScope()');
  return storage().run(scope, fn);
}

/**
 * The running request's scope, or undefined outside one. Before any scope has run there can be none,
 * and the storage is not created: an app that never uses request scopes (anything but Workers) does
 * not load node:async_hooks on its first call.
 */
export function currentRequestScope(): RequestScope | undefined {
  return created?.getStore();
}

/**
 * The value `owner` keeps for the current request: built from the scope's env at first use,
 * disposed of when the scope closes. Undefined outside a scope. In a scope that has already closed
 * (a stray call after the response) nothing would dispose of a new value, so that is an Error.
 */
export function requestScoped<T>(owner: object, build: (env: Env) => T, dispose: (value: T) => Promise<void>): T | undefined {
  const scope = created?.getStore();
  if (scope === undefined) return undefined;
  const existing = scope.slots.get(owner);
  if (existing) return existing.value as T;
  if (scope.closed)
    throw new PoolingError('the request has ended: database work after the response needs ctx.waitUntil() inside the handler');
  const value = build(scope.env);
  scope.slots.set(owner, { value, dispose: () => dispose(value) });
  return value;
}

/** The value `owner` already built in the current request, without building one. */
export function peekRequestScoped<T>(owner: object): T | undefined {
  return created?.getStore()?.slots.get(owner)?.value as T | undefined;
}
