/**
 * A Proxy that stands for another object without having it as its target.
 *
 * ECMAScript checks every `get` on a Proxy against the Proxy's target: once the trap has answered,
 * the target's own [[GetOwnProperty]] is read to enforce the invariants (ECMA-262, Proxy [[Get]]).
 * When that target is itself a Proxy — Prisma's client and its model delegates are — the check runs
 * the target's getOwnPropertyDescriptor trap, which in Prisma's runtime builds a descriptor object:
 * twice for every call through `manager.prisma` (counted; the bare client runs none). With an empty
 * object as target the check is an ordinary lookup. The other traps forward to the real object and
 * report its properties as configurable: a Proxy may not report a non-configurable property that
 * its target lacks.
 */
export function forwardingProxy<T extends object>(real: () => object, get: (real: object, property: PropertyKey) => unknown): T {
  return new Proxy({} as T, {
    get: (_target, property) => get(real(), property),
    has: (_target, property) => Reflect.has(real(), property),
    set: (_target, property, value) => Reflect.set(real(), property, value),
    ownKeys: () => Reflect.ownKeys(real()),
    getOwnPropertyDescriptor: (_target, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(real(), property);
      return descriptor ? { ...descriptor, configurable: true } : undefined;
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  });
}
