/**
 * Marks errors that prove a statement never left this process: the pool could not hand out a
 * connection (refused, unreachable, login failed or cut short, timed out), so nothing was sent on
 * it. The classifier (src/errors/classify-error.ts) reports such errors with `sent: false`, which
 * makes a write that failed this way safe to run again.
 *
 * Why a mark and not only the classifier's message rules: a login cut short (PgBouncer KILL or a
 * reset during connect) fails with the same "Connection terminated unexpectedly" as a connection
 * lost after a statement was written; only this place knows the statement was not written yet.
 * The mark sits on the error object our adapter throws (adapter-pg's DriverAdapterError); Prisma
 * keeps that object as `meta.driverAdapterError` (or `cause`) of the error it raises, where the
 * classifier finds it.
 */
import { classifyError } from '../errors/classify-error.ts';
import { markNotSent } from '../errors/not-sent-mark.ts';

/** Runs `raise` (which throws) and marks what it throws. */
export function raiseNotSent(raise: () => never): never {
  try {
    return raise();
  } catch (error) {
    markNotSent(error);
    throw error;
  }
}

/** True when `error`, or an error it wraps (`cause`, `meta.driverAdapterError`), proves nothing was sent: the classifier's `sent: false`. */
export function wasNotSent(error: unknown): boolean {
  return !classifyError(error).sent;
}
