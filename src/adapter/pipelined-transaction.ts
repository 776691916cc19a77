/**
 * Round-trip-minimal interactive transactions over adapter-pg's query path (docs/round-trips.md).
 *
 * How Prisma 7 drives an adapter (read in @prisma/client/runtime, TransactionManager): it calls
 * `startTransaction(isolationLevel)`, runs the transaction's queries one at a time through the
 * returned object's `queryRaw` / `executeRaw`, and — because our transaction says
 * `usePhantomQuery: true` — sends no BEGIN / COMMIT / ROLLBACK statement of its own: it calls
 * `commit()` / `rollback()` instead. @prisma/adapter-pg's own transaction answers
 * `usePhantomQuery: false` and sends `BEGIN`, then `SET TRANSACTION ISOLATION LEVEL …`, each
 * waiting for the last; Prisma then sends `COMMIT` as a query: three round trips around `fn`.
 *
 * Here instead:
 * - `startTransaction` only takes a connection (no I/O);
 * - one statement opens the transaction with its settings (`BEGIN ISOLATION LEVEL … READ ONLY`),
 *   written together with the transaction's first statement on a pg client in pipeline mode
 *   (`pipeline: true`, node-postgres ≥ 8.17: each query carries its own Sync and goes out at once),
 *   so it costs no round trip of its own;
 * - `commit()` sends `COMMIT` (one round trip, as before) and `rollback()` `ROLLBACK`; a
 *   transaction that never ran a statement never opened one and costs nothing;
 * - read-only ReadCommitted (and ReadUncommitted, which Postgres runs as ReadCommitted): each
 *   statement runs as its own `BEGIN … READ ONLY; statement; COMMIT`, all three pipelined — one
 *   round trip per statement, and `commit()` has nothing left to send. Under ReadCommitted every
 *   statement takes its own snapshot anyway; what differs is listed in docs/round-trips.md.
 *
 * Postgres still enforces every setting: READ ONLY rejects a write with 25006, the isolation level
 * is the one asked for, and a COMMIT whose answer is lost is still reported as a failure at commit
 * (TransactionOutcomeUnknownError upstream).
 *
 * The statements themselves go through adapter-pg's own query path (./held-connection.ts); this
 * transaction's `query` adds the pipelining.
 */

import type { IsolationLevel, Transaction } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { classifyError, DEFINITE_ROLLBACK_KINDS } from '../errors/classify-error.ts';
import { TransactionRolledBackError } from '../errors/errors.ts';
import { destroyClientSocket, serverMajorVersion } from '../pool/pg-internals.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';
import { HeldConnection, type PgQueryPath } from './held-connection.ts';
import { beginTransaction, type OutcomeRecord, type SettledOutcome } from './outcome-record.ts';

const LEVELS: ReadonlySet<string> = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']);

/** The one statement that opens a transaction with its settings. */
export function beginStatement(isolationLevel: IsolationLevel | undefined, readOnly: boolean): string {
  if (isolationLevel !== undefined && !LEVELS.has(isolationLevel)) {
    // Prisma already refuses anything else (SNAPSHOT is SQL Server's); this keeps the SQL text closed.
    throw new RangeError(`isolation level ${String(isolationLevel)} is not supported by PostgreSQL`);
  }
  const level = isolationLevel === undefined ? '' : ` ISOLATION LEVEL ${isolationLevel}`;
  return `BEGIN${level}${readOnly ? ' READ ONLY' : ''}`;
}

/** True when each statement may run as its own read-only transaction (see the file comment). */
export function runsPerStatement(isolationLevel: IsolationLevel | undefined, readOnly: boolean): boolean {
  return readOnly && (isolationLevel === 'READ COMMITTED' || isolationLevel === 'READ UNCOMMITTED');
}

/**
 * The statement that asks for the transaction's id, written in the first flight of a write
 * transaction (after BEGIN, before the first statement): it costs no round trip, and the id is
 * known before COMMIT leaves. `pg_current_xact_id()` (PostgreSQL ≥ 13) assigns the id at once; a
 * server older than 13 (known from the `server_version` it reported at login) gets
 * `txid_current()`, the same 64-bit number under its older name. Both return xid8-compatible
 * values that `pg_xact_status` / `txid_status` take (PostgreSQL docs, System Information Functions).
 */
export function transactionIdStatement(serverMajor: number | undefined): string {
  const id = serverMajor !== undefined && serverMajor < 13 ? 'txid_current()' : 'pg_current_xact_id()';
  // The server's start time rides along: an id is only that transaction's on the server that
  // gave it (src/transaction/settle-outcome.ts, "a server that restarted").
  return `SELECT ${id}::text AS id, pg_postmaster_start_time()::text AS started`;
}

/** What a write transaction reports to its attempt (./outcome-record.ts). */
export interface TransactionOutcome {
  readonly record: OutcomeRecord;
  /**
   * COMMIT is written with the first statement (a lone plain write, `plainWriteCommit: 'one-flight'`):
   * the transaction holds exactly one statement, and `commit()` only waits for COMMIT's answer.
   */
  readonly commitWithFirst: boolean;
}

/**
 * COMMIT's answer was lost (`error`): asks the database what became of the transaction, through
 * the record's `settle`, and writes the answer into the record. Null when there is nothing to ask:
 * the error proves COMMIT never left (`sent: false`) or that the transaction was rolled back.
 */
export async function settleLostCommit(record: OutcomeRecord, error: unknown): Promise<SettledOutcome | null> {
  const classification = classifyError(error);
  if (!classification.sent || DEFINITE_ROLLBACK_KINDS.has(classification.kind)) return null;
  if (record.xid === null || record.settle === undefined) {
    record.settled = 'unknown';
    return record.settled;
  }
  try {
    record.settled = await record.settle(record.xid, record.serverStartedAt);
  } catch {
    record.settled = 'unknown';
  }
  return record.settled;
}

const TRANSACTION_OPTIONS = Object.freeze({ usePhantomQuery: true });
const COMMIT = 'COMMIT';
const ROLLBACK = 'ROLLBACK';

/**
 * Closes `conn` when `begin` has no answer within `ms`: every query sent on it then fails as a lost
 * connection (classified `connection`). BEGIN travels with the first statement but is answered
 * before it, so this bounds the wait for a server, not the statement's own run time.
 */
export function armBeginDeadline(conn: pg.PoolClient, begin: Promise<unknown>, ms: number): void {
  // destroyClientSocket never throws: this timer fires exactly when a replica hangs, and must not crash the process then.
  const timer = setTimeout(() => destroyClientSocket(conn), ms);
  unrefTimer(timer);
  void settled(begin).then(() => clearTimeout(timer));
}

function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => {},
    () => {},
  );
}

export class PipelinedTransaction extends HeldConnection implements Transaction {
  readonly options = TRANSACTION_OPTIONS;
  readonly provider: Transaction['provider'];
  readonly adapterName: string;
  readonly #begin: string;
  readonly #perStatement: boolean;
  readonly #beginTimeoutMs: number | undefined;
  /** A transaction is open on the server (BEGIN sent, no COMMIT/ROLLBACK yet). */
  #open = false;
  /** The last statement sent (per-statement mode), so the connection goes back to the pool idle. */
  #last: Promise<unknown> | null = null;
  readonly #outcome: TransactionOutcome | undefined;
  /** COMMIT written with the first statement (`commitWithFirst`), awaiting its answer. */
  #committing: Promise<pg.QueryResult> | null = null;

  constructor(
    conn: pg.PoolClient,
    path: PgQueryPath,
    begin: string,
    perStatement: boolean,
    beginTimeoutMs?: number,
    outcome?: TransactionOutcome,
  ) {
    super(conn, path);
    // A read-only per-statement transaction writes nothing: it has no outcome to settle.
    this.#outcome = perStatement ? undefined : outcome;
    this.provider = path.provider;
    this.adapterName = path.adapterName;
    this.#begin = begin;
    this.#perStatement = perStatement;
    this.#beginTimeoutMs = beginTimeoutMs;
  }

  /** Called by adapter-pg's `performIO` (as `this.client.query`): the statement, with BEGIN in front when due. */
  query(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const conn = this.conn;
    if (this.#perStatement) {
      const begin = this.#sendBegin();
      const result = conn.query(config);
      const commit = conn.query(COMMIT);
      const all = Promise.all([begin, result, commit]);
      this.#last = all;
      // Rejects with BEGIN's error first, then the statement's: a failed BEGIN never passes for success.
      return all.then((answers) => answers[1]);
    }
    if (this.#open) return conn.query(config);
    this.#open = true;
    const begin = this.#sendBegin();
    const outcome = this.#outcome;
    if (!outcome) return Promise.all([begin, conn.query(config)]).then((answers) => answers[1]);
    beginTransaction(outcome.record);
    const id = this.#sendId(outcome.record);
    const result = conn.query(config);
    if (outcome.commitWithFirst) {
      this.#open = false;
      this.#committing = this.#sendCommit();
      this.#committing.catch(() => {}); // awaited by commit() / rollback()
    }
    // Rejects with BEGIN's error first, then the id's, then the statement's (answers come in order).
    return Promise.all([begin, id, result]).then((answers) => answers[2]);
  }

  /** Asks for the transaction's id; the answer goes into the record as soon as it arrives. */
  #sendId(record: OutcomeRecord): Promise<pg.QueryResult> {
    const id = this.conn.query(transactionIdStatement(serverMajorVersion(this.conn)));
    id.then(
      (answer) => {
        const row = answer.rows[0] as { id?: unknown; started?: unknown } | undefined;
        if (typeof row?.id === 'string') record.xid = row.id;
        if (typeof row?.started === 'string') record.serverStartedAt = row.started;
      },
      () => {},
    );
    return id;
  }

  #sendCommit(): Promise<pg.QueryResult> {
    const record = this.#outcome?.record;
    if (record) record.commitSent = true;
    const answer = this.conn.query(COMMIT);
    if (record)
      answer.then(
        (result) => {
          // A COMMIT that answers ROLLBACK (a statement had failed) committed nothing.
          record.commitAnswered = result.command === 'COMMIT';
        },
        () => {},
      );
    return answer;
  }

  #sendBegin(): Promise<pg.QueryResult> {
    const begin = this.conn.query(this.#begin);
    if (this.#beginTimeoutMs !== undefined) armBeginDeadline(this.conn, begin, this.#beginTimeoutMs);
    return begin;
  }

  commit(): Promise<void> {
    return this.#end(COMMIT);
  }

  rollback(): Promise<void> {
    return this.#end(ROLLBACK);
  }

  /**
   * Ends the open transaction (if any) with `statement`, then returns the connection. A COMMIT that
   * Postgres answers with ROLLBACK (the transaction had failed and `fn` swallowed the error) is an
   * error: reporting success would tell the caller that writes happened which did not.
   */
  async #end(statement: typeof COMMIT | typeof ROLLBACK): Promise<void> {
    if (this.#committing) return this.#endCommitted(statement);
    if (!this.#open) return this.#release(this.#last);
    this.#open = false;
    let answer: pg.QueryResult;
    try {
      answer = await (statement === COMMIT ? this.#sendCommit() : this.conn.query(statement));
    } catch (error) {
      this.#release(null, error);
      // COMMIT's answer was lost: the database says whether it committed; if it did, so does this call.
      if (statement === COMMIT && this.#outcome && (await settleLostCommit(this.#outcome.record, error)) === 'committed') return;
      return this.path.onError(error);
    }
    this.#release(null);
    if (statement === COMMIT && answer.command === 'ROLLBACK') throw new TransactionRolledBackError();
  }

  /**
   * A transaction whose COMMIT went out with its statement (`commitWithFirst`): waits for COMMIT's
   * answer. `rollback()` (the statement failed) never throws: the server already ended the
   * transaction, and a lost answer is settled into the record for the attempt to read.
   */
  async #endCommitted(statement: typeof COMMIT | typeof ROLLBACK): Promise<void> {
    const committing = this.#committing as Promise<pg.QueryResult>;
    this.#committing = null;
    let answer: pg.QueryResult;
    try {
      answer = await committing;
    } catch (error) {
      this.#release(null, error);
      const settled = this.#outcome ? await settleLostCommit(this.#outcome.record, error) : null;
      if (statement === ROLLBACK || settled === 'committed') return;
      return this.path.onError(error);
    }
    this.#release(null);
    if (statement === COMMIT && answer.command === 'ROLLBACK') throw new TransactionRolledBackError();
  }

  // Savepoints (nested `$transaction`) need one open transaction; per-statement mode has none,
  // and being read-only it has nothing a savepoint could undo.
  async createSavepoint(name: string): Promise<void> {
    if (!this.#perStatement) await this.executeRaw({ sql: `SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    if (!this.#perStatement) await this.executeRaw({ sql: `ROLLBACK TO SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  async releaseSavepoint(name: string): Promise<void> {
    if (!this.#perStatement) await this.executeRaw({ sql: `RELEASE SAVEPOINT ${name}`, args: [], argTypes: [] });
  }

  /**
   * Returns the connection once whatever was sent has answered. A connection that is not idle
   * (`I` in the last ReadyForQuery) or that failed is destroyed, never handed to the next caller.
   */
  #release(pending: Promise<unknown> | null, error?: unknown): Promise<void> | undefined {
    if (this.released) return undefined;
    if (pending) return settled(pending).then(() => this.#release(null, error));
    this.releaseConnection(error);
    return undefined;
  }
}
