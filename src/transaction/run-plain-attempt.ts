/**
 * One attempt of a plain client call (`manager.prisma.user.create(…)`, no transaction of ours
 * around it): admission, then the call; its failure classified once.
 *
 * Commit ambiguity without a callback to watch: a write that lost its connection may have been
 * applied (Postgres commits a lone statement as it finishes, and Prisma's own transaction for a
 * nested write commits inside the call). Only a failure that proves nothing was sent — no
 * connection could be had (src/adapter/not-sent.ts) — leaves a `connection` error retryable; any
 * other lost connection of a write becomes TransactionOutcomeUnknownError, never a blind retry.
 */
import { wasNotSent } from '../adapter/not-sent.ts';
import { classifyError } from '../errors/classify-error.ts';
import { type OutcomeUnknownDuring, TransactionOutcomeUnknownError } from '../errors/errors.ts';
import { AttemptFailure } from './retry.ts';

/**
 * Runs one plain call (`write`: it may change data). Rejects with an AttemptFailure (the error,
 * classified once). Admission and routing are the call runner's (src/call/call-runner.ts).
 */
export async function runPlainAttempt<R>(write: boolean, run: () => Promise<R>, during: OutcomeUnknownDuring = 'write'): Promise<R> {
  try {
    return await run();
  } catch (error) {
    // A write asked for no READ ONLY: a 25006 means the server is read-only (a fenced primary), a failover.
    const classification = classifyError(error, { readOnly: write ? false : undefined });
    if (write && classification.kind === 'connection' && !wasNotSent(error)) {
      const unknown = new TransactionOutcomeUnknownError({ cause: error, during });
      throw new AttemptFailure(unknown, classifyError(unknown));
    }
    throw new AttemptFailure(error, classification);
  }
}

/**
 * A raw query routed as a read met READ ONLY (25006): it writes. It did not run, so the caller
 * runs it once more as a write on the primary.
 */
export class WriteInDisguise extends Error {
  override name = 'WriteInDisguise';
}
