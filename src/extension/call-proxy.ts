/**
 * How a call on `manager.prisma` reaches the call runner: a Proxy over the app's client (carrying
 * the pinning methods as a client-only `$extends`) that hands every top-level operation — a model
 * operation (`prisma.user.findFirst(…)`), `$queryRaw…` / `$executeRaw…` — to the runner, to be run
 * on the client as the app built it, and passes everything else through.
 *
 * Why not `$extends({ query: { $allOperations } })`, the way `@prisma/extension-read-replicas`
 * hooks in: any query extension, even one that only calls `query(args)`, sends every call through
 * Prisma's extension chain (a copy of the arguments, a second lazy promise per layer). Measured
 * here, that alone ran `findFirst` at 0.87–0.92 of the bare client's throughput at RTT 0
 * (docs/round-trips.md, `plain-cost`), below the 0.95 this package's whole path must reach. A
 * client with no query extension takes Prisma's direct path (`_extensions.isEmpty()` in its
 * runtime); this Proxy adds one property lookup per call.
 *
 * What it keeps of Prisma's behaviour, pinned by test/unit/extension/call-proxy.test.ts and
 * test/integration/extension/*.test.ts:
 * - laziness: a call returns a PrismaPromise that runs when awaited (`then`), not before;
 * - `$transaction([...])`: each element is still a PrismaPromise (`Symbol.toStringTag`,
 *   `requestTransaction`) that Prisma runs inside its batch, unrouted;
 * - the fluent API (`findUnique(…).posts()`) and `spec`, inherited from Prisma's own promise;
 * - inside `$transaction(async (tx) => …)` the `tx` Prisma builds is the wrapped client's, not this
 *   Proxy, so a transaction's statements run as Prisma runs them, on its one connection;
 * - an app's own `$extends` on top keeps the interception: its hooks run inside each attempt.
 */

import type { PlainOperation } from '../call/plain-call.ts';
import { forwardingProxy } from './forwarding-proxy.ts';

export type RunOperation = (operation: PlainOperation) => Promise<unknown>;

/** Prisma's model operations (runtime 7.x): each is one call the runner sees. */
const MODEL_OPERATIONS: ReadonlySet<string> = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
  'aggregate',
  'count',
  'groupBy',
]);

/** The client's raw-query methods; each is one call the runner sees. */
const RAW_OPERATIONS: ReadonlySet<string> = new Set(['$queryRaw', '$queryRawUnsafe', '$queryRawTyped', '$executeRaw', '$executeRawUnsafe']);

type AnyFunction = (...args: unknown[]) => unknown;

/** What a call hands the runner, but `query`: that is made per call (see DeferredCall). */
interface OperationName {
  readonly model: string | undefined;
  readonly operation: string;
  readonly args: unknown;
}

/**
 * A PrismaPromise whose `then` runs the call through the runner (once). What Prisma itself needs
 * of it — `requestTransaction` for `$transaction([...])`, `spec`, `Symbol.toStringTag` — is
 * forwarded to Prisma's own promise, made when the call was (so argument errors and
 * `$transaction([...])` behave as Prisma's). The fluent API
 * (`findUnique(…).posts()`) is a call of its own through the runner (see `callClass`).
 *
 * The first attempt runs that promise; a retry makes it again (`remake`): a PrismaPromise outside
 * a transaction runs once and keeps its result. A class with one prototype per shape, not
 * `Object.create(prismaPromise)`: a fresh prototype per call (a Proxy, for fluent operations)
 * cost about 7 µs a call here.
 */
class DeferredCall {
  readonly #remake: () => PrismaPromiseLike;
  readonly #name: OperationName;
  readonly #runner: RunOperation;
  #started: Promise<unknown> | undefined;
  constructor(
    readonly prismaPromise: PrismaPromiseLike,
    remake: () => PrismaPromiseLike,
    name: OperationName,
    runner: RunOperation,
  ) {
    this.#remake = remake;
    this.#name = name;
    this.#runner = runner;
  }
  #run(): Promise<unknown> {
    if (this.#started) return this.#started;
    const { model, operation, args } = this.#name;
    let first: PrismaPromiseLike | undefined = this.prismaPromise;
    const query = (): Promise<unknown> => {
      const promise = first ?? this.#remake();
      first = undefined;
      return promise as unknown as Promise<unknown>;
    };
    this.#started = this.#runner({ model, operation, args, query });
    return this.#started;
  }
  /** A fluent step (`.posts()`): the same operation with Prisma's nested selection, a call of its own. */
  chain(step: (promise: PrismaPromiseLike) => PrismaPromiseLike): DeferredCall {
    const nested = step(this.prismaPromise);
    const remake = this.#remake;
    return new (callClass(nested))(nested, () => step(remake()), this.#name, this.#runner);
  }
  // biome-ignore lint/suspicious/noThenProperty: it is a promise, as Prisma's PrismaPromise is
  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#run().then(onFulfilled, onRejected);
  }
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<unknown> {
    return this.#run().catch(onRejected);
  }
  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.#run().finally(onFinally);
  }
  requestTransaction(transaction: unknown): unknown {
    return this.prismaPromise.requestTransaction(transaction);
  }
  get spec(): unknown {
    return this.prismaPromise.spec;
  }
  get [Symbol.toStringTag](): string {
    return 'PrismaPromise';
  }
}

interface PrismaPromiseLike extends PromiseLike<unknown> {
  requestTransaction(transaction: unknown): unknown;
  readonly spec?: unknown;
}

const OWN_MEMBERS: ReadonlySet<string> = new Set(['then', 'catch', 'finally', 'requestTransaction', 'spec']);

/** One class per set of fluent methods (a model's relations), made once. */
const CALL_CLASSES = new Map<string, typeof DeferredCall>([['', DeferredCall]]);

/**
 * The class for calls whose Prisma promise looks like `sample`: Prisma's promise of `findUnique` &
 * co. carries one method per relation of the model (`posts`, `author` …); each becomes a fluent step.
 */
function callClass(sample: object): typeof DeferredCall {
  const fluent = Object.keys(sample).filter((key) => !OWN_MEMBERS.has(key));
  const shape = fluent.join(',');
  let Call = CALL_CLASSES.get(shape);
  if (Call) return Call;
  Call = class FluentCall extends DeferredCall {};
  for (const key of fluent)
    Object.defineProperty(Call.prototype, key, {
      value(this: DeferredCall, ...args: unknown[]) {
        return this.chain((promise) => (promise as unknown as Record<string, AnyFunction>)[key]?.(...args) as PrismaPromiseLike);
      },
    });
  CALL_CLASSES.set(shape, Call);
  return Call;
}

/** A model delegate (`prisma.user`) whose operations go to `run`; its other members are Prisma's. */
function delegateProxy(delegate: object, model: string, run: RunOperation): object {
  const operations = new Map<PropertyKey, AnyFunction>();
  // Not a Proxy over Prisma's delegate, itself a Proxy: see ./forwarding-proxy.ts.
  return forwardingProxy(
    () => delegate,
    (target, property) => {
      let wrapped = operations.get(property);
      if (wrapped) return wrapped;
      const value = Reflect.get(target, property, target);
      if (typeof property !== 'string' || !MODEL_OPERATIONS.has(property) || typeof value !== 'function') return value;
      const method = value as AnyFunction;
      let Call: typeof DeferredCall | undefined;
      // Prisma's own promise is made here, one frame below the app's call: Prisma records the
      // call site (`new Error()`) for its error messages, and each frame of ours made that dearer.
      wrapped = (...callArgs: unknown[]) => {
        const first = method.apply(target, callArgs) as PrismaPromiseLike;
        Call ??= callClass(first);
        const remake = () => method.apply(target, callArgs) as PrismaPromiseLike;
        return new Call(first, remake, { model, operation: property, args: callArgs[0] }, run);
      };
      operations.set(property, wrapped);
      return wrapped;
    },
  );
}

/** Prisma's model delegates carry their model's name (`$name`); nothing else on a client does. */
function modelName(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const name = (value as { $name?: unknown }).$name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * `client` with every top-level operation handed to `run`. The operations themselves are taken from
 * `operations` (default: `client`): `manager.prisma` passes the app's client as it was built, without
 * the client-only `$extends` that adds the pins — an extended client, even with no query extension,
 * sends each call through Prisma's extension path, about 10 µs a call here. `$extends` returns the
 * extended client wrapped the same way (its operations its own, so the app's extensions run), so an
 * app's own extensions keep the package's guarantees. Methods are bound to `client`: Prisma builds
 * `tx` and runs `$transaction` from the real client, never this Proxy.
 */
export function interceptCalls<C extends object>(client: C, run: RunOperation, operations: object = client): C {
  const members = new Map<PropertyKey, unknown>();
  // Not a Proxy over Prisma's client, itself a Proxy: see ./forwarding-proxy.ts.
  return forwardingProxy<C>(
    () => client,
    (target, property) => {
      const cached = members.get(property);
      if (cached !== undefined) return cached;
      const value = Reflect.get(target, property, target);
      let member: unknown = value;
      if (typeof property === 'string' && RAW_OPERATIONS.has(property) && typeof value === 'function') {
        const method = Reflect.get(operations, property, operations) as AnyFunction;
        member = (...callArgs: unknown[]) => {
          const remake = () => method.apply(operations, callArgs) as PrismaPromiseLike;
          return new DeferredCall(remake(), remake, { model: undefined, operation: property, args: callArgs }, run);
        };
      } else if (property === '$extends' && typeof value === 'function') {
        const extend = value as AnyFunction;
        member = (...extension: unknown[]) => interceptCalls(extend.apply(target, extension) as object, run);
      } else if (typeof value === 'function') {
        member = (value as AnyFunction).bind(target);
      } else {
        const model = modelName(value);
        if (model === undefined) return value;
        const delegate = operations === target ? value : Reflect.get(operations, property, operations);
        member = delegateProxy(delegate as object, model, run);
      }
      members.set(property, member);
      return member;
    },
  );
}
