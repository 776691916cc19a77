/**
 * One attempt of a plain client call (`manager.prisma.user.create(…)`, no transaction of ours
 * around it), its failure classified once. Admission and routing are the call runner's
 * (src/call/call-runner.ts).
 *
 * Commit ambiguity without a callback to watch: a write that lost its connection may have been
 * applied (Postgres commits a lone statement as it finishes, and Prisma's own transaction for a
 * nested write commits inside the call). Only a failure that proves nothing was sent — no
 * connection could be had, a pooler refused before linking a server: the classifier's `sent: false`
 * — leaves a `connection` error retryable; any other lost connection of a write becomes
 * TransactionOutcomeUnknownError, never a blind retry.
 *
 * With `settle`, a write runs with an outcome record (src/adapter/outcome-record.ts): our adapter
 * runs a lone statement as its own transaction that reports its id (`plainWriteCommit`) and gives
 * the transactions Prisma opens itself (a nested write, `$transaction([...])`) an id too, and the
 * database settles a lost COMMIT:
 * - committed, result received: the adapter reports success, the call returns the result;
 * - committed, result never arrived: WriteCommittedResultLostError (it happened; do not redo it);
 * - aborted, or COMMIT never left: retryable, as a write that was not sent;
 * - unknown (no id, or the database cannot tell): TransactionOutcomeUnknownError.
 */
import {
  createOutcomeRecord,
  type OutcomeRecord,
  type PlainWriteCommit,
  runWithOutcomeRecord,
  type SettleOutcome,
} from '../adapter/outcome-record.ts';
import { classifyError, type ErrorClassification } from '../errors/classify-error.ts';
import { type OutcomeUnknownDuring, TransactionOutcomeUnknownError, WriteCommittedResultLostError } from '../errors/errors.ts';
import { poolingLog } from '../logging/loggers.ts';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationSink, TraceHandle } from '../metrics/sink.ts';
import { AttemptFailure, thrownBy } from './retry.ts';
import { reportSettled } from './run-transaction.ts';

/** How a write attempt settles a lost COMMIT; every field optional (none: writes run as Prisma sends them). */
export interface PlainWriteSettling {
  /**
   * Settles a lost COMMIT of a write with the database (src/transaction/settle-outcome.ts,
   * `settleOnPool(primaryPool)`). Unset: a lost connection after sending is TransactionOutcomeUnknownError.
   */
  readonly settle?: SettleOutcome | undefined;
  /** How a lone plain write is committed (see PlainWriteCommit). Defaults to DEFAULT_PLAIN_WRITE_COMMIT. */
  readonly plainWriteCommit?: PlainWriteCommit | undefined;
  /** Where a settled COMMIT is counted (`commitSettled`), with the call's kind and span. */
  readonly sink?: OperationSink | undefined;
  readonly kind?: OperationKind | undefined;
  readonly trace?: TraceHandle | undefined;
}

/** The default `plainWriteCommit` (docs/reliability.md, "Plain writes: confirmed or one flight"). */
export const DEFAULT_PLAIN_WRITE_COMMIT: PlainWriteCommit = 'confirmed';

/**
 * The failure of a write attempt, given its classification and what its outcome record says.
 * Exported for unit tests: pure over its inputs.
 */
export function plainWriteFailure(
  error: unknown,
  classification: ErrorClassification,
  record: OutcomeRecord | undefined,
  during: OutcomeUnknownDuring = 'write',
): AttemptFailure {
  if (record?.settled === 'committed' || record?.earlierCommitted === true) {
    // Committed, yet the call failed: the statement's answer never arrived (one flight), or a
    // transaction of the same call committed before this one failed.
    const lost = new WriteCommittedResultLostError({ cause: error });
    return new AttemptFailure(lost, classifyError(lost));
  }
  if (record?.settled === 'aborted' || (record?.began === true && !record.commitSent && classification.kind === 'connection')) {
    // Nothing was committed: the database said so, or the transaction's COMMIT never left. A lost
    // connection that committed nothing is how a pooler losing its server (a switchover, a restart)
    // shows itself to a plain write: retried inside the failover window, like a refused connect,
    // not within the 3 ordinary attempts that a pooler's few seconds without a server outlast.
    return new AttemptFailure(error, {
      ...classification,
      retryable: true,
      failover: classification.failover || classification.kind === 'connection',
    });
  }
  if (classification.kind === 'connection' && classification.sent) {
    const unknown = new TransactionOutcomeUnknownError({ cause: error, during });
    return new AttemptFailure(unknown, classifyError(unknown));
  }
  return new AttemptFailure(error, classification);
}

/**
 * Runs one plain read attempt. Rejects with an AttemptFailure (the error, classified once). Not
 * async: `run()`'s promise (Prisma's) passes through one `then` of ours, the fewest a classified
 * failure allows.
 */
export function runPlainRead<R>(run: () => PromiseLike<R>): Promise<R> {
  let started: PromiseLike<R>;
  try {
    started = run();
  } catch (error) {
    return Promise.reject(new AttemptFailure(error, classifyError(error)));
  }
  // Prisma's promise's own `then` (a native promise back): no thenable job of `Promise.resolve` in between.
  return started.then(undefined, (error: unknown) => {
    throw new AttemptFailure(error, classifyError(error));
  }) as Promise<R>;
}

/**
 * Runs one plain call (`write`: it may change data). Rejects with an AttemptFailure (the error,
 * classified once).
 */
export function runPlainAttempt<R>(
  write: boolean,
  run: () => PromiseLike<R>,
  during: OutcomeUnknownDuring = 'write',
  settling: PlainWriteSettling = {},
): Promise<R> {
  if (!write) return runPlainRead(run);
  const record = settling.settle
    ? createOutcomeRecord({ settle: settling.settle, plainWriteCommit: settling.plainWriteCommit ?? DEFAULT_PLAIN_WRITE_COMMIT })
    : undefined;
  const failed = (error: unknown): never => {
    reportSettled(record, settling);
    // A write asked for no READ ONLY: a 25006 means the server is read-only (a fenced primary), a failover.
    const classification = classifyError(error, { readOnly: false });
    const failure = plainWriteFailure(error, classification, record, during);
    if (failure.error instanceof TransactionOutcomeUnknownError) logUnknown(record, classification);
    throw failure;
  };
  let started: PromiseLike<R>;
  try {
    // Started inside the record's async context, so the adapter sees it (see runWithOutcomeRecord).
    started = record ? runWithOutcomeRecord(record, async () => await run()) : run();
  } catch (error) {
    return Promise.reject(thrownBy(failed, error));
  }
  // Not async, like runPlainRead: one `then` of ours on the way back.
  return started.then((result) => {
    reportSettled(record, settling);
    return result;
  }, failed) as Promise<R>;
}

/** What the record held when a write's outcome stayed unknown: where the answer was lost, and why. */
function logUnknown(record: OutcomeRecord | undefined, classification: ErrorClassification): void {
  poolingLog(
    'plain write outcome unknown (%s%s): %s',
    classification.kind,
    classification.code === null ? '' : ` ${classification.code}`,
    record === undefined
      ? 'no outcome record'
      : `began=${record.began} xid=${record.xid !== null} serverStartedAt=${record.serverStartedAt !== null} commitSent=${record.commitSent} resultReceived=${record.resultReceived} settled=${record.settled}`,
  );
}

/**
 * A raw query routed as a read met READ ONLY (25006): it writes. It did not run, so the caller
 * runs it once more as a write on the primary.
 */
export class WriteInDisguise extends Error {
  override name = 'WriteInDisguise';
}
