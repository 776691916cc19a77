/**
 * One attempt: `client.$transaction(fn)` with commit-ambiguity detection and an abortable wait
 * for the connection.
 *
 * Prisma commits only after the callback resolves and rethrows a COMMIT failure, so a flag set
 * when the callback returns tells "failed during COMMIT" apart from "failed inside fn" (verified by
 * test/integration/reliability/commit-ambiguity.test.ts). A lost connection at that point leaves the outcome unknown: with 08P01 at COMMIT the
 * row *was* committed in more than half of the observed cases, so a blind retry could apply the
 * write twice.
 *
 * With `settle` (src/transaction/settle-outcome.ts) the database settles it: the attempt keeps an
 * outcome record (src/adapter/outcome-record.ts), our adapter asks for the transaction's id in its
 * first flight and, when COMMIT's answer is lost, asks `pg_xact_status` on a fresh connection.
 * Committed: COMMIT reports success to Prisma and the call returns `fn`'s result. Aborted: nothing
 * happened, the attempt fails as retryable. Only what the database cannot tell stays
 * TransactionOutcomeUnknownError.
 */
import { createOutcomeRecord, type OutcomeRecord, runWithOutcomeRecord, type SettleOutcome } from '../adapter/outcome-record.ts';
import { classifyError, DEFINITE_ROLLBACK_KINDS } from '../errors/classify-error.ts';
import { PoolTimeoutError, TransactionOutcomeUnknownError } from '../errors/errors.ts';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationSink, TraceHandle } from '../metrics/sink.ts';
import { AttemptFailure } from './retry.ts';

export type IsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/** What `$transaction` receives: built once per call, shared by its attempts. */
export interface PrismaTransactionOptions {
  maxWait: number;
  timeout: number;
  isolationLevel?: IsolationLevel;
}

/** The part of a Prisma 7 client the wrappers use: interactive `$transaction`. */
export interface TransactionCapable<Tx> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: PrismaTransactionOptions): Promise<R>;
}

/** What `fn` receives besides `tx`. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly signal: AbortSignal | undefined;
}

export interface AttemptOptions {
  readonly transaction: PrismaTransactionOptions;
  /** Pool acquire timeout, for the PoolTimeoutError message. */
  readonly poolTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /**
   * Whether the transaction asked for READ ONLY. False makes a 25006 a failover signal (the server
   * itself is read-only: a standby, a fenced or demoted primary); true or unset never retries it.
   */
  readonly readOnly?: boolean;
  /**
   * Settles a lost COMMIT answer with the database (src/transaction/settle-outcome.ts,
   * `settleOnPool(primaryPool)`). Unset: the transaction asks for no id, and a lost COMMIT is
   * TransactionOutcomeUnknownError. Ignored for READ ONLY transactions (nothing to settle).
   */
  readonly settle?: SettleOutcome;
  /** Where a settled COMMIT is counted (`commitSettled`), with the call's kind and span. */
  readonly sink?: OperationSink;
  readonly kind?: OperationKind;
  readonly trace?: TraceHandle | undefined;
}

/** Tells the sink what the database said about a lost COMMIT, if it was asked. */
export function reportSettled(
  record: OutcomeRecord | undefined,
  report: { readonly sink?: OperationSink; readonly kind?: OperationKind; readonly trace?: TraceHandle | undefined },
): void {
  const outcome = record?.settled;
  if (outcome && report.sink && report.kind) report.sink.commitSettled?.({ kind: report.kind, outcome, trace: report.trace });
}

/**
 * A failure at COMMIT, given what the outcome record says the database answered: aborted → the
 * error, retryable (nothing happened); anything else → TransactionOutcomeUnknownError.
 */
export function lostCommitFailure(error: unknown, record: OutcomeRecord | undefined): AttemptFailure {
  if (record?.settled === 'aborted') {
    const classification = classifyError(error);
    return new AttemptFailure(error, { ...classification, retryable: true });
  }
  const unknown = new TransactionOutcomeUnknownError({ cause: error });
  return new AttemptFailure(unknown, classifyError(unknown));
}

/**
 * Runs `fn` once inside a transaction. Rejects with an AttemptFailure (the error, classified once):
 * TransactionOutcomeUnknownError / PoolTimeoutError where they apply, else the error as thrown.
 */
export async function runTransactionAttempt<Tx, R>(
  client: TransactionCapable<Tx>,
  fn: (tx: Tx, context: AttemptContext) => PromiseLike<R>,
  attempt: number,
  options: AttemptOptions,
): Promise<R> {
  const { signal } = options;
  // Where the attempt got to: 1 = inside the callback (a connection was obtained), 2 = the
  // callback returned, so a failure from here on is COMMIT's.
  let reached = 0;
  const record = options.settle && options.readOnly !== true ? createOutcomeRecord({ settle: options.settle }) : undefined;
  const start = () =>
    client.$transaction(async (tx) => {
      // The caller gave up while we waited for a connection: do nothing and roll back.
      signal?.throwIfAborted();
      reached = 1;
      const value = await fn(tx, { attempt, signal });
      reached = 2;
      return value;
    }, options.transaction);
  // Started inside the record's async context, so the adapter sees it (see runWithOutcomeRecord).
  const transaction = record ? runWithOutcomeRecord(record, async () => await start()) : start();
  try {
    const value = await (signal ? abortableUntilStarted(transaction, signal, () => reached > 0) : transaction);
    reportSettled(record, options);
    return value;
  } catch (error) {
    reportSettled(record, options);
    const classification = classifyError(error, { readOnly: options.readOnly });
    // A COMMIT that provably never left (`sent: false`: the client was already dead) cannot have committed.
    if (reached === 2 && classification.sent && !DEFINITE_ROLLBACK_KINDS.has(classification.kind)) {
      throw lostCommitFailure(error, record);
    }
    if (classification.kind === 'pool-timeout' && !(error instanceof PoolTimeoutError)) {
      // P2028 here is Prisma's own maxWait firing first; otherwise it is pg-pool's acquire timeout.
      const waited = classification.code === 'P2028' ? options.transaction.maxWait : options.poolTimeoutMs;
      throw new AttemptFailure(new PoolTimeoutError(waited, { cause: error }), classification);
    }
    throw new AttemptFailure(error, classification);
  }
}

/**
 * Rejects with the abort reason while the transaction still waits for a connection; once the
 * callback has started it waits for the real outcome (abandoning a running transaction would
 * make its outcome unknown to the caller).
 */
function abortableUntilStarted<R>(transaction: Promise<R>, signal: AbortSignal, hasStarted: () => boolean): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => {
      if (hasStarted()) return;
      transaction.catch(() => {}); // it will roll back on its own; nobody awaits it any more
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    transaction.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
