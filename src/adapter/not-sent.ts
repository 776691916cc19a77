/**
 * Marks errors that prove a statement never left this process: the pool could not hand out a
 * connection (refused, unreachable, login failed, timed out), so nothing was sent on it. A plain
 * write (`manager.prisma.user.create`, no transaction of ours around it) that failed this way is
 * safe to run again; one that lost its connection after the statement was written may have been
 * applied, and is reported as an unknown outcome instead.
 *
 * The mark is a WeakSet membership of the error object our adapter threw (adapter-pg's
 * DriverAdapterError); Prisma keeps that object as `meta.driverAdapterError` (or `cause`) of the
 * error it raises, where `wasNotSent` finds it.
 */
const NOT_SENT = new WeakSet<object>();

/** Runs `raise` (which throws) and marks what it throws. */
export function raiseNotSent(raise: () => never): never {
  try {
    return raise();
  } catch (error) {
    if (typeof error === 'object' && error !== null) NOT_SENT.add(error);
    throw error;
  }
}

/** True when `error`, or an error it wraps (`cause`, `meta.driverAdapterError`), was marked. */
export function wasNotSent(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    if (NOT_SENT.has(current)) return true;
    const record = current as { meta?: { driverAdapterError?: unknown }; cause?: unknown };
    current = record.meta?.driverAdapterError ?? record.cause;
  }
  return false;
}
