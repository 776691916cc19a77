/**
 * `manager.prisma`: the app's own client with the pinning methods and `$transaction` added as a
 * client-only `$extends`, wrapped by src/extension/call-proxy.ts so that every call reaches the
 * call runner (src/call/): each top-level operation — model operations and `$queryRaw` /
 * `$executeRaw` and their Unsafe and Typed forms — and `$transaction` itself, array and interactive.
 *
 * Inside a transaction nothing is routed or retried on its own: the transaction is one unit, and the
 * runner retries it as a whole. Prisma builds an interactive transaction's `tx` from the wrapped
 * client, not the Proxy, so its statements never reach the runner; Prisma marks that client with
 * `Symbol.for('prisma.client.transaction.scope_context')` (nested transactions, Prisma 7.10), which
 * is how a pin used on it is refused. test/integration/extension/transactions.test.ts pins both.
 */

import { AUTO_PIN, type Pin, withAfter, withTarget } from '../call/pin.ts';
import type { PlainOperation } from '../call/plain-call.ts';
import { ConfigError } from '../errors/errors.ts';
import { parseTokenPosition } from '../routing/consistency-token.ts';
import { interceptCalls } from './call-proxy.ts';
import { forwardingProxy } from './forwarding-proxy.ts';

/** What the extension needs of the manager. */
export interface ExtensionHost {
  /** One operation of a client pinned by `pin`. */
  run(operation: PlainOperation, pin: Pin): Promise<unknown>;
  /**
   * `$transaction(args)` called on `receiver` (`manager.prisma`, a pinned client, or a client the app
   * extended further); `transaction` is Prisma's own `$transaction`, to be called on `receiver`.
   */
  transaction(transaction: PrismaTransaction, receiver: object, args: readonly unknown[]): Promise<unknown>;
}

/** Prisma's `$transaction` (array or interactive form), called with the client as `this`. */
export type PrismaTransaction = (this: object, ...args: unknown[]) => Promise<unknown>;

/** `prisma.$transaction(fn, options)`: Prisma's options, plus whether the callback may run again. */
export interface PoolingTransactionOptions {
  maxWait?: number;
  timeout?: number;
  isolationLevel?: 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';
  /**
   * false: once `fn` has started, a failed attempt is not run again, even when the database rolled
   * it back as a whole (a serialization failure, a lost connection before COMMIT). Defaults to the
   * manager's `rerunTransactions` (true).
   */
  rerun?: boolean;
}

/** The methods `manager.prisma` adds to the app's client. Pins compose; the strictest wins (src/call/pin.ts). */
export interface PoolingClientMethods<C> {
  /** This client pinned to the primary: reads too go there (still retried, counted and traced). */
  $primary(): PoolingClient<C>;
  /**
   * This client pinned to a replica: reads (and `$executeRaw…`, as a read-only transaction) go to a
   * healthy replica whether or not it has replayed this instance's writes (the primary when none is
   * up, or none is configured). A token from `$after()` still holds. Writes go to the primary.
   */
  $replica(): PoolingClient<C>;
  /** Reads that see every write committed before `token` (from `consistencyToken()` on any instance). */
  $after(token: string | null | undefined): PoolingClient<C>;
  /** The interactive form with `rerun` (see PoolingTransactionOptions); the other forms are the client's own. */
  $transaction<R>(fn: (tx: TransactionClient<C>) => Promise<R>, options?: PoolingTransactionOptions): Promise<R>;
}

// biome-ignore lint/suspicious/noExplicitAny: extracting the callback parameter of Prisma's overloaded $transaction
type TransactionClient<C> = C extends { $transaction(fn: (tx: infer Tx) => any, options?: any): any } ? Tx : never;

/** The type of `manager.prisma`: the app's client type (results keep their precise types) plus the pinning methods. */
export type PoolingClient<C> = C & PoolingClientMethods<C>;

interface Extendable {
  $extends(extension: object): unknown;
  $transaction: PrismaTransaction;
}

/** Set on an interactive transaction's client by Prisma 7.10 (its nested-transaction scope). */
const TRANSACTION_SCOPE = Symbol.for('prisma.client.transaction.scope_context');

/** Pinned clients kept per manager: a token per request would otherwise grow it without bound. */
const MAX_PINNED_CLIENTS = 64;

/** Builds `manager.prisma` (auto) and, on demand, its pinned variants, all over `base`, each once. */
export function createPoolingClient<C extends object>(base: C, host: ExtensionHost): PoolingClient<C> {
  const extendable = base as unknown as Partial<Extendable>;
  if (typeof extendable.$extends !== 'function' || typeof extendable.$transaction !== 'function') {
    throw new TypeError('prisma-pgbouncer-pooling: manager.prisma needs a Prisma client with $extends (Prisma 7)');
  }
  // Prisma's own, taken before any layer of ours: called on the receiver, it builds the
  // transaction's client from the receiver, so `tx` keeps every extension the app added.
  const prismaTransaction = extendable.$transaction;
  const clients = new Map<string, PoolingClient<C>>();
  const clientFor = (pin: Pin): PoolingClient<C> => {
    let client = clients.get(pin.key);
    if (client) return client;
    client = build(pin);
    if (clients.size >= MAX_PINNED_CLIENTS) clients.delete(clients.keys().next().value as string);
    clients.set(pin.key, client);
    return client;
  };
  const build = (pin: Pin): PoolingClient<C> =>
    interceptCalls(
      (base as unknown as Extendable).$extends({
        name: 'prisma-pgbouncer-pooling',
        client: {
          $primary(this: object) {
            outsideTransaction(this, '$primary');
            return clientFor(withTarget(pin, 'primary'));
          },
          $replica(this: object) {
            outsideTransaction(this, '$replica');
            return clientFor(withTarget(pin, 'replica'));
          },
          $after(this: object, token: string | null | undefined) {
            outsideTransaction(this, '$after');
            return clientFor(withAfter(pin, parseTokenPosition(token, '$after')));
          },
          // Replaces the client's own; Prisma's, called on the receiver, still runs each attempt.
          $transaction(this: object, ...args: unknown[]) {
            // Inside an interactive transaction: Prisma's nested transaction (a savepoint), part of the outer one.
            if (inTransaction(this)) return prismaTransaction.apply(this, args);
            return host.transaction(prismaTransaction, this, args);
          },
        },
      }) as PoolingClient<C>,
      (operation) => host.run(operation, pin),
      base,
    );
  return clientFor(AUTO_PIN);
}

const inTransaction = (client: object): boolean => (client as Record<symbol, unknown>)[TRANSACTION_SCOPE] !== undefined;

/** A pin inside a transaction would run outside it: refused, naming the pin. */
function outsideTransaction(client: object, pin: string): void {
  if (inTransaction(client))
    throw new ConfigError(
      pin,
      'cannot be used inside $transaction: every statement of a transaction runs on its one connection to the primary (pin the client before calling $transaction)',
    );
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
  return forwardingProxy<T>(get, (client, property) => {
    const value = Reflect.get(client, property, client);
    return typeof value === 'function' ? value.bind(client) : value;
  });
}
