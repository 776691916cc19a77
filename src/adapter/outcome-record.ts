/**
 * The link between one attempt of a call and the transaction our adapter runs for it: the attempt
 * creates an `OutcomeRecord` and runs the Prisma call inside it (`runWithOutcomeRecord`); the
 * adapter finds it (`currentOutcomeRecord`) when Prisma opens a transaction or sends a lone
 * statement, and fills it in: the transaction's id, whether COMMIT left and was answered, and — when
 * COMMIT's answer was lost — what the database said about the transaction (`settled`).
 *
 * Why AsyncLocalStorage: Prisma calls the adapter from its own code (`$transaction`, a model
 * query, a nested write's own transaction) with nothing of the caller's in hand; the async context
 * is the one thread from the caller to the adapter. It comes from `node:async_hooks` through
 * `process.getBuiltinModule` (src/runtime/node-builtins.ts), created at the first attempt that
 * asks for it. A runtime without it runs the call without a record: every lost COMMIT then stays
 * an unknown outcome, as it would without this module.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { nodeBuiltin } from '../runtime/node-builtins.ts';

/** What PostgreSQL answered about a transaction whose COMMIT answer was lost (`pg_xact_status`). */
export type SettledOutcome = 'committed' | 'aborted' | 'unknown';

/**
 * Asks the database, on a fresh connection, what became of transaction `xid`, which the server
 * started at `serverStartedAt` (`pg_postmaster_start_time()`, when known) gave out
 * (src/transaction/settle-outcome.ts).
 */
export type SettleOutcome = (xid: string, serverStartedAt?: string | null) => Promise<SettledOutcome>;

/**
 * How a plain write (a lone statement Prisma sends without a transaction) is committed (the
 * default, `'confirmed'`, is chosen in src/transaction/run-plain-attempt.ts), both in PostgreSQL's
 * implicit transaction (src/adapter/implicit-write.ts):
 * - `'one-flight'`: `SELECT pg_current_xact_id()`, the statement and the Sync that commits written
 *   together, one round trip, as many as the bare statement. A lost answer is resolved when the
 *   id's answer arrived before the connection died.
 * - `'confirmed'`: the id and the statement in one flight, the Sync in a second once the statement
 *   answered: one round trip more, and every lost COMMIT is resolvable (its id is always known).
 */
export type PlainWriteCommit = 'one-flight' | 'confirmed';

export const PLAIN_WRITE_COMMIT_MODES: readonly PlainWriteCommit[] = Object.freeze(['one-flight', 'confirmed']);

export interface OutcomeRecord {
  /** For a plain write attempt: how its lone statements are wrapped. null leaves lone statements as they are. */
  readonly plainWriteCommit: PlainWriteCommit | null;
  /** Resolves a lost COMMIT; without it a lost COMMIT stays unknown. */
  readonly settle: SettleOutcome | undefined;
  /** The adapter opened a write transaction for this attempt (BEGIN written). */
  began: boolean;
  /** The id of that transaction (xid8, as text), once its answer arrived; null before. */
  xid: string | null;
  /** `pg_postmaster_start_time()` of the server that gave the id, with it; null before. */
  serverStartedAt: string | null;
  /** COMMIT was handed to the connection. */
  commitSent: boolean;
  /** COMMIT's answer arrived, and it committed (not a COMMIT answered with ROLLBACK). */
  commitAnswered: boolean;
  /** A lone plain write's statement answered (its result reached the adapter). */
  resultReceived: boolean;
  /** What the database said after COMMIT's answer was lost; null when nothing was asked. */
  settled: SettledOutcome | null;
  /**
   * An earlier transaction of this attempt committed (a Prisma call that ran two lone statements,
   * each its own transaction): whatever happens to a later one, running the call again would
   * repeat that write.
   */
  earlierCommitted: boolean;
}

export interface OutcomeRecordOptions {
  readonly settle?: SettleOutcome;
  readonly plainWriteCommit?: PlainWriteCommit | null;
}

export function createOutcomeRecord(options: OutcomeRecordOptions = {}): OutcomeRecord {
  return {
    plainWriteCommit: options.plainWriteCommit ?? null,
    settle: options.settle,
    began: false,
    xid: null,
    serverStartedAt: null,
    commitSent: false,
    commitAnswered: false,
    resultReceived: false,
    settled: null,
    earlierCommitted: false,
  };
}

/** Clears what a previous transaction of the same attempt left (a call whose Prisma work opens two). */
export function beginTransaction(record: OutcomeRecord): void {
  if (record.began && ((record.commitAnswered && record.settled === null) || record.settled === 'committed'))
    record.earlierCommitted = true;
  clearTransaction(record, true);
}

/**
 * The attempt's statement runs outside any transaction of ours after all (one PostgreSQL refuses
 * inside a transaction block): it has no id, and nothing of its own to settle. What an earlier
 * transaction of the attempt committed is kept.
 */
export function runsAlone(record: OutcomeRecord): void {
  clearTransaction(record, false);
}

function clearTransaction(record: OutcomeRecord, began: boolean): void {
  record.began = began;
  record.xid = null;
  record.serverStartedAt = null;
  record.commitSent = false;
  record.commitAnswered = false;
  record.resultReceived = false;
  record.settled = null;
}

/** undefined: not created yet; null: the runtime has no AsyncLocalStorage. */
let storage: AsyncLocalStorage<OutcomeRecord> | null | undefined;
/** Attempts running inside a record now; the storage is switched off when none is. */
let running = 0;

function outcomeStorage(): AsyncLocalStorage<OutcomeRecord> | null {
  if (storage === undefined) {
    try {
      storage = new (nodeBuiltin('node:async_hooks').AsyncLocalStorage)<OutcomeRecord>();
    } catch {
      storage = null;
    }
  }
  return storage;
}

/**
 * Runs `fn` with `record` as the current outcome record. `fn` must start the Prisma call itself
 * (and await it): Prisma's promises are lazy, and a call started outside would not see the record.
 *
 * The storage is on only while an attempt runs inside a record: before Node 24 (AsyncContextFrame)
 * an enabled AsyncLocalStorage installs a promise hook that every promise of the process then
 * pays, reads included, until `disable()` (Node docs, "Class: AsyncLocalStorage"; measured here:
 * a bare `findFirst` cost 186 µs of CPU without one, 207 µs with one). `run` enables it again.
 */
export function runWithOutcomeRecord<T>(record: OutcomeRecord, fn: () => Promise<T>): Promise<T> {
  const store = outcomeStorage();
  if (!store) return fn();
  running++;
  let started: Promise<T>;
  try {
    started = store.run(record, fn);
  } catch (error) {
    leave(store);
    throw error;
  }
  return started.then(
    (value) => {
      leave(store);
      return value;
    },
    (error: unknown) => {
      leave(store);
      throw error;
    },
  );
}

/** Whether `disable()` works here: workerd's AsyncLocalStorage throws "not implemented" (and has no hook to save). */
let canDisable = true;

function leave(store: AsyncLocalStorage<OutcomeRecord>): void {
  running--;
  if (running !== 0 || !canDisable) return;
  // Also ends the record for whatever the attempt left behind (a timer, a socket's callbacks).
  // Never the attempt's failure: whatever disable() throws only stops us calling it.
  try {
    store.disable();
  } catch {
    canDisable = false;
  }
}

/** The record of the attempt this code runs for, if any. Free when no attempt ever made one. */
export function currentOutcomeRecord(): OutcomeRecord | undefined {
  return storage?.getStore();
}
