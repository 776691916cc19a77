/**
 * `manager.prisma`: the app's own client, extended (Prisma's `$extends`, the way
 * `@prisma/extension-read-replicas` and Accelerate hook in) so that every top-level operation —
 * model operations and `$queryRaw` / `$executeRaw` and their Unsafe and Typed forms — runs through
 * the manager: classified retries, metrics and spans, replica routing with read-your-writes.
 *
 * Inside `prisma.$transaction(...)` (interactive or array form) nothing is routed or retried on
 * its own: the transaction is one unit. Prisma tells an extension so only through its private
 * `__internalParams.transaction` (`itx` | `batch`): test/integration/extension/plain-calls.test.ts pins it
 * (operations inside both transaction forms must not reach the metrics, and a read inside one must
 * see the transaction's own write): a Prisma release without the field fails that test before it
 * could route a transaction's reads away from it.
 */
import type { PrismaClientLike } from '../manager/types.ts';

/** Where a call may run: chosen per call (`auto`), or pinned by `$primary()` / `$replica()`. */
export type Pin = 'auto' | 'primary' | 'replica';

/** One top-level operation, as the extension hands it over. */
export interface PlainCall {
  readonly model: string | undefined;
  readonly operation: string;
  readonly args: unknown;
  /** Runs it on the client it was called on (the primary's); calling again runs it again. */
  readonly query: (args: unknown) => Promise<unknown>;
}

/** What the extension needs of the manager. */
export interface ExtensionHost {
  run(call: PlainCall, pin: Pin, after: string | null): Promise<unknown>;
}

/** The methods `manager.prisma` adds to the app's client. */
export interface PoolingClientMethods<C> {
  /** This client pinned to the primary: reads too go there (still retried, counted and traced). */
  $primary(): PoolingClient<C>;
  /**
   * This client pinned to a replica: reads go to a healthy replica whether or not it has replayed
   * this instance's writes (the primary when none is up, or none is configured). Writes still go to
   * the primary.
   */
  $replica(): PoolingClient<C>;
  /** Reads that see every write committed before `token` (from `consistencyToken()` on any instance). */
  $after(token: string | null | undefined): PoolingClient<C>;
}

/** The type of `manager.prisma`: the app's client type (results keep their precise types) plus the pinning methods. */
export type PoolingClient<C> = C & PoolingClientMethods<C>;

/** Prisma's `$allOperations` parameters (runtime 7.x). */
interface AllOperationsParams {
  model?: string;
  operation: string;
  args: unknown;
  query: (args: unknown) => Promise<unknown>;
  __internalParams?: { transaction?: unknown };
}

interface Extendable {
  $extends(extension: object): unknown;
}

/** Builds `manager.prisma` (auto) and, on demand, its pinned variants, all over `base`. */
export function createPoolingClient<C extends PrismaClientLike>(base: C, host: ExtensionHost): PoolingClient<C> {
  if (typeof (base as unknown as Partial<Extendable>).$extends !== 'function') {
    throw new TypeError('prisma-pgbouncer-pooling: manager.prisma needs a Prisma client with $extends (Prisma 7)');
  }
  const pinned = new Map<Pin, PoolingClient<C>>();
  const build = (pin: Pin, after: string | null): PoolingClient<C> =>
    (base as unknown as Extendable).$extends({
      name: 'prisma-pgbouncer-pooling',
      query: {
        $allOperations(params: AllOperationsParams) {
          // Inside a transaction: one unit, run as Prisma runs it.
          if (params.__internalParams?.transaction) return params.query(params.args);
          return host.run({ model: params.model, operation: params.operation, args: params.args, query: params.query }, pin, after);
        },
      },
      client: {
        $primary: () => pinnedClient('primary'),
        $replica: () => pinnedClient('replica'),
        $after: (token: string | null | undefined) => (token ? build(pin, token) : pinnedClient(pin)),
      },
    }) as PoolingClient<C>;
  const pinnedClient = (pin: Pin): PoolingClient<C> => {
    let client = pinned.get(pin);
    if (!client) {
      client = build(pin, null);
      pinned.set(pin, client);
    }
    return client;
  };
  return pinnedClient('auto');
}

/**
 * A stand-in for `manager.prisma` that builds the real one at first use, so that the service
 * file's `export const prisma = connectionPoolManager.prisma` reads no environment and opens
 * nothing at import.
 */
export function lazyClient<T extends object>(resolve: () => T): T {
  let real: T | null = null;
  return proxyClient(() => {
    real ??= resolve();
    return real;
  });
}

/**
 * A stand-in that asks `get` for the real client at every use (the caller caches): in a request
 * scope (Cloudflare Workers) each request's calls then reach that request's own client, although
 * the service file took `manager.prisma` once, at module scope.
 */
export function proxyClient<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get(_target, property) {
      const client = get();
      const value = Reflect.get(client, property, client);
      return typeof value === 'function' ? value.bind(client) : value;
    },
    has: (_target, property) => Reflect.has(get(), property),
    set: (_target, property, value) => Reflect.set(get(), property, value),
    ownKeys: () => Reflect.ownKeys(get()),
    getOwnPropertyDescriptor: (_target, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(get(), property);
      // A proxy may not report a non-configurable property its target lacks.
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
  });
}
