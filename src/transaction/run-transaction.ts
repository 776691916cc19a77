/**
 * One attempt: `client.$transaction(fn)` with commit-ambiguity detection and an abortable wait
 * for the connection.
 *
 * Prisma commits only after the callback resolves and rethrows a COMMIT failure, so a flag set
 * when the callback returns tells "failed during COMMIT" apart from "failed inside fn" (DESIGN.md,
 * verified). A lost connection at that point leaves the outcome unknown: with 08P01 at COMMIT the
 * row *was* committed in more than half of the observed cases, so a blind retry could apply the
 * write twice.
 */
import { classifyError, DEFINITE_ROLLBACK_KINDS } from '../errors/classify-error.ts';
import { PoolTimeoutError, TransactionOutcomeUnknownError } from '../errors/errors.ts';

export type IsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

/** The part of a Prisma 7 client the wrappers use: interactive `$transaction`. */
export interface TransactionCapable<Tx> {
  $transaction<R>(
    fn: (tx: Tx) => Promise<R>,
    options?: { maxWait?: number; timeout?: number; isolationLevel?: IsolationLevel },
  ): Promise<R>;
}

/** What `fn` receives besides `tx`. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly signal: AbortSignal | undefined;
}

export interface AttemptOptions {
  isolationLevel: IsolationLevel | undefined;
  /** Prisma's wait for a connection to start the transaction. */
  maxWait: number;
  /** Prisma's limit on the whole interactive transaction. */
  timeout: number;
  readOnly: boolean;
  /** Pool acquire timeout, for the PoolTimeoutError message. */
  poolTimeoutMs: number;
  signal: AbortSignal | undefined;
}

interface RawExecutor {
  $executeRawUnsafe(sql: string): Promise<number>;
}

/** Runs `fn` once inside a transaction; throws TransactionOutcomeUnknownError / PoolTimeoutError where they apply. */
export async function runTransactionAttempt<Tx, R>(
  client: TransactionCapable<Tx>,
  fn: (tx: Tx, context: AttemptContext) => PromiseLike<R>,
  attempt: number,
  options: AttemptOptions,
): Promise<R> {
  const { signal } = options;
  let started = false;
  let callbackReturned = false;
  const transaction = client.$transaction(
    async (tx) => {
      // The caller gave up while we waited for a connection: do nothing and roll back.
      signal?.throwIfAborted();
      started = true;
      // First statement of the transaction, so Postgres itself rejects any write (25006).
      if (options.readOnly) await (tx as unknown as RawExecutor).$executeRawUnsafe('SET TRANSACTION READ ONLY');
      const value = await fn(tx, { attempt, signal });
      callbackReturned = true;
      return value;
    },
    { isolationLevel: options.isolationLevel, maxWait: options.maxWait, timeout: options.timeout },
  );
  try {
    return await abortableUntilStarted(transaction, signal, () => started);
  } catch (error) {
    const { kind, code } = classifyError(error);
    if (callbackReturned && !DEFINITE_ROLLBACK_KINDS.has(kind)) throw new TransactionOutcomeUnknownError({ cause: error });
    if (kind === 'pool-timeout' && !(error instanceof PoolTimeoutError)) {
      // P2028 here is Prisma's own maxWait firing first; otherwise it is pg-pool's acquire timeout.
      throw new PoolTimeoutError(code === 'P2028' ? options.maxWait : options.poolTimeoutMs, { cause: error });
    }
    throw error;
  }
}

/**
 * Rejects with the abort reason while the transaction still waits for a connection; once the
 * callback has started it waits for the real outcome (abandoning a running transaction would
 * make its outcome unknown to the caller).
 */
function abortableUntilStarted<R>(transaction: Promise<R>, signal: AbortSignal | undefined, hasStarted: () => boolean): Promise<R> {
  if (!signal) return transaction;
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
