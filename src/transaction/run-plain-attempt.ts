/**
 * One attempt of a plain client call (`manager.prisma.user.create(…)`, no transaction of ours
 * around it): admission, then the call; its failure classified once.
 *
 * Commit ambiguity without a callback to watch: a write that lost its connection may have been
 * applied (Postgres commits a lone statement as it finishes, and Prisma's own transaction for a
 * nested write commits inside the call). Only a failure that proves nothing was sent — no
 * connection could be had, a pooler refused before linking a server: the classifier's `sent: false`
 * — leaves a `connection` error retryable; any
 * other lost connection of a write becomes TransactionOutcomeUnknownError, never a blind retry.
 */
import { classifyError } from '../errors/classify-error.ts';
import { TransactionOutcomeUnknownError } from '../errors/errors.ts';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationSink, TraceHandle } from '../metrics/sink.ts';
import type { PoolAdmission } from '../pool/pool-admission.ts';
import { AttemptFailure } from './retry.ts';

/** What one attempt reports besides its result. */
export interface PlainAttemptState {
  /** The attempt had to queue: every connection of its pool was taken. */
  waited: boolean;
}

export interface PlainAttempt {
  readonly admission: PoolAdmission;
  readonly sink: OperationSink;
  readonly kind: OperationKind;
  readonly trace: TraceHandle | undefined;
  /** A write: a lost connection after sending is an unknown outcome. */
  readonly write: boolean;
}

/** Rejects with an AttemptFailure (the error, classified once). */
export async function runPlainAttempt(
  attempt: PlainAttempt,
  run: () => Promise<unknown>,
  state: PlainAttemptState = { waited: false },
): Promise<unknown> {
  state.waited = attempt.admission.admit();
  if (state.waited) attempt.sink.poolWaited(attempt.kind, attempt.trace);
  try {
    return await run();
  } catch (error) {
    // A write asked for no READ ONLY: a 25006 means the server is read-only (a fenced primary), a failover.
    const classification = classifyError(error, { readOnly: attempt.write ? false : undefined });
    if (attempt.write && classification.kind === 'connection' && classification.sent) {
      const unknown = new TransactionOutcomeUnknownError({ cause: error });
      throw new AttemptFailure(unknown, classifyError(unknown));
    }
    throw new AttemptFailure(error, classification);
  } finally {
    attempt.admission.settle();
  }
}

/**
 * A raw query routed as a read met READ ONLY (25006): it writes. It did not run, so the caller
 * runs it once more as a write on the primary.
 */
export class WriteInDisguise extends Error {
  override name = 'WriteInDisguise';
}
