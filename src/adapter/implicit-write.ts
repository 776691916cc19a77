/**
 * A lone plain write (./outcome-record.ts, `plainWriteCommit`) committed in PostgreSQL's implicit
 * transaction instead of between BEGIN and COMMIT statements: fewer statements for the server and
 * the pooler to run, with the same guarantees.
 *
 * The extended query protocol runs every Execute up to the next Sync as one implicit transaction,
 * committed by that Sync (PostgreSQL docs, "Pipelining" in Frontend/Backend Protocol, Message Flow):
 * - `'confirmed'`, flight 1: Parse/Bind/Describe/Execute of the id question, the same four of the
 *   statement, Flush (no Sync): the server answers both and waits, the transaction open; flight 2,
 *   once the statement answered: Sync, which commits; ReadyForQuery is COMMIT's answer. COMMIT
 *   leaves only once the id is known, so a lost answer can always be settled with `pg_xact_status`.
 * - `'one-flight'`: the id question, a Flush (its answer comes back before the statement runs),
 *   the statement and the Sync, written together.
 * A failed statement aborts the transaction; the Sync then only ends it, and the connection goes
 * back to the pool. A statement that answered but must not commit (adapter-pg could not convert its
 * answer) is rolled back by closing the connection without a Sync: the server aborts an open
 * transaction whose client is gone.
 *
 * Two statements and two ReadyForQuery messages fewer per write than BEGIN; id; statement | COMMIT;
 * what that buys is in docs/round-trips.md, "A plain call's own cost" (tools/bench/plain-cost.ts).
 *
 * Leans on node-postgres' Query internals (pinned by test/unit/adapter/implicit-write.test.ts): a
 * subclass of `pg.Query` (pipeline mode refuses other submittables), its `prepare(connection)`
 * writing the statement's Parse/Bind/Describe/Execute followed by `connection.sync()`, which a
 * stand-in connection swallows here, and `_result` holding the result being built. When the installed
 * pg lacks them, `implicitWriteSupported()` is false and plain writes keep BEGIN … COMMIT.
 */

import pg from 'pg';
import { destroyClientSocket, serverMajorVersion } from '../pool/pg-internals.ts';
import { HeldConnection, type PgQueryPath } from './held-connection.ts';
import { beginTransaction, type OutcomeRecord } from './outcome-record.ts';
import { armBeginDeadline, settleLostCommit, transactionIdStatement } from './pipelined-transaction.ts';

/** The parts of pg's Query this file builds on (node-postgres lib/query.js, 8.16 – 8.23). */
interface QueryInternals {
  prepare(connection: unknown): void;
  handleCommandComplete(message: unknown, connection: unknown): void;
  handleDataRow(message: unknown): void;
  _result: pg.QueryResult;
  _canceledDueToError: unknown;
}

/** The protocol writes of pg's Connection used here (lib/connection.js), and its statement bookkeeping. */
interface ProtocolConnection {
  /** Names pg believes parsed on this connection; pg's client sets one at any ParseComplete of a named query. */
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements?: Record<string, string | undefined>;
  on?(event: 'parseComplete', listener: () => void): unknown;
  removeListener?(event: 'parseComplete', listener: () => void): unknown;
  parse(message: { text: string; name?: string; types?: unknown[] }): void;
  bind(message: { values: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string; rows: number }): void;
  flush(): void;
  sync(): void;
}

/** Whether the installed pg has what ImplicitWriteQuery overrides and reads. */
export function implicitWriteSupported(Query: unknown): boolean {
  if (typeof Query !== 'function') return false;
  const proto = (Query as { prototype?: Partial<Record<keyof QueryInternals, unknown>> }).prototype;
  if (!proto) return false;
  for (const method of ['prepare', 'handleCommandComplete', 'handleDataRow', 'handleError', 'handleReadyForQuery', 'submit'] as const)
    if (typeof (proto as Record<string, unknown>)[method] !== 'function') return false;
  try {
    // `_result` is an own field set by the constructor: checked on an instance that sends nothing.
    const probe = new (Query as typeof pg.Query)({ text: 'SELECT 1' }) as unknown as Partial<QueryInternals>;
    return typeof probe._result === 'object' && probe._result !== null && Array.isArray(probe._result.rows);
  } catch {
    return false;
  }
}

/** How an ImplicitWriteQuery writes its flight. */
export interface ImplicitWriteOptions {
  /**
   * A Flush right after the id question, so that its answer arrives before the statement has run: a
   * deadline on it then bounds the wait for a server, and a one-flight write has its id even when
   * the statement's answer is lost.
   */
  readonly flushId?: boolean;
  /** The Sync (COMMIT) in the same flight as the statement (`plainWriteCommit: 'one-flight'`). */
  readonly syncWithStatement?: boolean;
  /** Told the id question's answer, `[id, serverStartedAt]` as text, as soon as it arrives. */
  readonly onId?: (row: readonly unknown[]) => void;
}

/**
 * The id question and one statement, and a Sync only when asked (see the file comment). `statement`
 * settles when the statement answered (or failed); `ended` when ReadyForQuery arrived after the Sync
 * (or the connection failed). A pg Query, with pg's handlers.
 */
export interface ImplicitWriteQuery extends pg.Query {
  readonly statement: Promise<pg.QueryResult>;
  readonly ended: Promise<void>;
  /** Settles (never rejects) when the id question answered or the write failed first. */
  readonly idAnswered: Promise<void>;
  /** The id question's answer: `[id, serverStartedAt]` as text; null until it arrived. */
  readonly idRow: readonly unknown[] | null;
  /** Sends the Sync that commits (or ends an aborted transaction); once. */
  sync(): void;
  readonly synced: boolean;
  /** The last failure came from the server, which then answered (or will answer) the Sync: the connection is usable. */
  readonly serverAnswered: boolean;
  handleCommandComplete(message: unknown, connection: unknown): void;
  handleError(error: unknown, connection?: unknown): void;
  handleReadyForQuery(): void;
}

type ImplicitWriteQueryClass = new (config: pg.QueryConfig, idText: string, options?: ImplicitWriteOptions) => ImplicitWriteQuery;
let implicitWriteQueryClass: ImplicitWriteQueryClass | undefined;

/**
 * A new ImplicitWriteQuery. The class is made at the first call, not when this module loads: a pg
 * whose exports differ (a stub where pg cannot run, an unexpected version) must not fail the
 * package's import; `implicitWriteSupported` has said whether to come here at all.
 */
export function newImplicitWriteQuery(config: pg.QueryConfig, idText: string, options: ImplicitWriteOptions = {}): ImplicitWriteQuery {
  implicitWriteQueryClass ??= defineImplicitWriteQuery(pg.Query);
  return new implicitWriteQueryClass(config, idText, options);
}

/**
 * The connection as pg's `prepare` sees it here: its Sync swallowed. One per connection, not per
 * write: pg's `prepare` only calls the connection's write methods and mutates its statement maps,
 * never assigns to it (lib/query.js, lib/connection.js), so nothing lands on the view instead.
 */
const WITHOUT_SYNC = new WeakMap<ProtocolConnection, ProtocolConnection>();

function withoutSyncOf(connection: ProtocolConnection): ProtocolConnection {
  let view = WITHOUT_SYNC.get(connection);
  if (view === undefined) {
    view = Object.create(connection, { sync: { value: () => {} } }) as ProtocolConnection;
    WITHOUT_SYNC.set(connection, view);
  }
  return view;
}

function defineImplicitWriteQuery(Query: typeof pg.Query): ImplicitWriteQueryClass {
  const base = Query.prototype as unknown as QueryInternals;
  return class extends Query implements ImplicitWriteQuery {
    readonly statement: Promise<pg.QueryResult>;
    readonly ended: Promise<void>;
    /** The id question's answer: `[id, serverStartedAt]` as text; null until it arrived. */
    idRow: readonly unknown[] | null = null;
    /** Settles (never rejects) when the id question answered or the write failed first. */
    readonly idAnswered: Promise<void>;
    readonly #idText: string;
    readonly #options: ImplicitWriteOptions;
    #idArrived!: () => void;
    #preparing = false;
    #answers = 0;
    #synced = false;
    #serverAnswered = false;
    #failure: unknown = undefined;
    #settleStatement!: { resolve(result: pg.QueryResult): void; reject(error: unknown): void };
    #settleEnd!: { resolve(): void; reject(error: unknown): void };
    #connection: ProtocolConnection | null = null;
    /** Counts ParseCompletes while a named statement's Parse is outstanding (see #watchNamedParse). */
    #parseCompletes = 0;
    #onParseComplete: (() => void) | null = null;

    constructor(config: pg.QueryConfig, idText: string, options: ImplicitWriteOptions = {}) {
      // 'extended' even for a statement without values: the id and the statement must be Executes
      // of one implicit transaction, which a simple Query message would commit on its own.
      super({ ...config, queryMode: 'extended' } as pg.QueryConfig);
      this.#idText = idText;
      this.#options = options;
      this.idAnswered = new Promise((resolve) => {
        this.#idArrived = resolve;
      });
      this.statement = new Promise((resolve, reject) => {
        this.#settleStatement = { resolve, reject };
      });
      this.ended = new Promise((resolve, reject) => {
        this.#settleEnd = { resolve, reject };
      });
      // Read by whoever awaits them; a failure nobody awaits (the statement's, after ended) is not unhandled.
      this.statement.catch(() => {});
      this.ended.catch(() => {});
    }

    /** Called by pg's `submit` with the stream corked: both statements and a Flush (or the Sync), in one write. */
    prepare(connection: ProtocolConnection): void {
      this.#connection = connection;
      this.#preparing = true;
      connection.parse({ text: this.#idText, types: [] });
      connection.bind({ values: [] });
      connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '', rows: 0 });
      if (this.#options.flushId) connection.flush();
      this.#watchNamedParse(connection);
      // pg's own prepare writes the statement (named or not, values mapped as pg maps them) and a Sync,
      // which this stand-in swallows; if binding throws, pg reports it through handleError below.
      const withoutSync = withoutSyncOf(connection);
      try {
        base.prepare.call(this, withoutSync);
      } finally {
        this.#preparing = false;
      }
      if (this.#options.syncWithStatement) this.sync();
      else connection.flush();
    }

    handleCommandComplete(message: unknown, connection: unknown): void {
      base.handleCommandComplete.call(this, message, connection);
      const internals = this as unknown as QueryInternals;
      this.#answers++;
      if (this.#answers === 1) {
        // `[id, started]` whatever the row mode (adapter-pg asks for arrays).
        const row = internals._result.rows[0] as unknown[] | { id?: unknown; started?: unknown } | undefined;
        this.idRow = row === undefined ? null : Array.isArray(row) ? row : [row.id, row.started];
        if (this.idRow !== null) this.#options.onId?.(this.idRow);
        this.#idArrived();
        return;
      }
      // A row pg could not parse: the statement ran, but its result cannot be returned.
      if (internals._canceledDueToError) this.#settleStatement.reject(internals._canceledDueToError);
      else this.#settleStatement.resolve(internals._result);
    }

    /** Sends the Sync that commits (or ends an aborted transaction); once. */
    sync(): void {
      if (this.#synced || this.#connection === null) return;
      this.#synced = true;
      this.#connection.sync();
    }

    get synced(): boolean {
      return this.#synced;
    }

    /**
     * An ErrorResponse, a bind error, pg's query timeout, or the connection's end: the statement fails
     * if it had not answered, and so does the end.
     */
    handleError(error: unknown, _connection?: unknown): void {
      if (this.#failure === undefined) this.#failure = error;
      this.#idArrived();
      this.#settleStatement.reject(error);
      // After an ErrorResponse (a DatabaseError) the server skips to a Sync, and after a Bind pg never
      // wrote nothing is pending: the Sync sent here ends the transaction and is answered, and the
      // connection stays fit for the pool, as after any failed pg query (pg's client routes that
      // ReadyForQuery itself: lib/client.js `_handleErrorMessage` clears the active query first). A lost
      // connection, or pg's query timeout (which destroys the socket in pipeline mode), gets no answer.
      if (this.#preparing || error instanceof pg.DatabaseError) {
        if (!this.#synced) this.sync();
        this.#serverAnswered = true;
      } else this.#serverAnswered = false;
      this.#settleEnd.reject(this.#failure);
      this.#finish(error);
    }

    handleReadyForQuery(): void {
      if (this.#failure === undefined) this.#settleEnd.resolve();
      this.#finish(undefined);
    }

    /** The last failure came from the server, which then answered (or will answer) the Sync: the connection is usable. */
    get serverAnswered(): boolean {
      return this.#serverAnswered;
    }

    /**
     * pg's client records a named query's statement as parsed at the first ParseComplete it sees for
     * the query (lib/client.js `_handleParseComplete`): here that is the id question's, before the
     * statement's own Parse was answered. Should that Parse fail, pg would bind the name next time
     * without parsing it (26000). So the ParseCompletes are counted, and a name whose own (second)
     * ParseComplete never came is forgotten at the end.
     */
    #watchNamedParse(connection: ProtocolConnection): void {
      const name = (this as { name?: string }).name;
      if (!name || connection.parsedStatements[name] !== undefined || connection.submittedNamedStatements?.[name] !== undefined) return;
      if (typeof connection.on !== 'function') return;
      this.#onParseComplete = () => {
        this.#parseCompletes++;
        if (this.#parseCompletes === 2) this.#unwatchNamedParse();
      };
      connection.on('parseComplete', this.#onParseComplete);
    }

    #unwatchNamedParse(): void {
      const listener = this.#onParseComplete;
      if (listener === null) return;
      this.#onParseComplete = null;
      this.#connection?.removeListener?.('parseComplete', listener);
      const name = (this as { name?: string }).name;
      if (this.#parseCompletes < 2 && name && this.#connection) delete this.#connection.parsedStatements[name];
    }

    /** What pg's own Query does at its end: pg's query-timeout callback, and 'error' / 'end' for watchers. */
    #finish(error: unknown): void {
      this.#unwatchNamedParse();
      const callback = (this as { callback?: (error: unknown, result?: unknown) => void }).callback;
      callback?.(error, undefined);
      if (error !== undefined) {
        if (this.listenerCount('error') > 0) this.emit('error', error);
      } else this.emit('end');
    }
  };
}

/**
 * One lone plain write on its own connection, run through adapter-pg's query path (argument mapping,
 * type parsers, error conversion) as ImplicitWriteQuery. `commit()` sends the Sync and settles a lost
 * answer with the database; `rollback()` ends the transaction without committing it.
 */
export class ImplicitWrite extends HeldConnection {
  readonly #record: OutcomeRecord;
  readonly #beginTimeoutMs: number | undefined;
  readonly #oneFlight: boolean;
  #query: ImplicitWriteQuery | null = null;

  /** `oneFlight`: the Sync goes with the statement (`plainWriteCommit: 'one-flight'`). */
  constructor(conn: pg.PoolClient, path: PgQueryPath, record: OutcomeRecord, oneFlight: boolean, beginTimeoutMs?: number) {
    super(conn, path);
    this.#oneFlight = oneFlight;
    this.#record = record;
    this.#beginTimeoutMs = beginTimeoutMs;
  }

  /** Called by adapter-pg's `performIO` (as `this.client.query`): the id question and the statement. */
  query(config: pg.QueryConfig): Promise<pg.QueryResult> {
    if (this.#query !== null) return Promise.reject(new Error('an implicit-transaction write runs one statement'));
    const record = this.#record;
    beginTransaction(record);
    const deadline = this.#beginTimeoutMs;
    const query = newImplicitWriteQuery(config, transactionIdStatement(serverMajorVersion(this.conn)), {
      flushId: this.#oneFlight || deadline !== undefined,
      syncWithStatement: this.#oneFlight,
      // Answers come in order: with 'confirmed' the record has the id before COMMIT can leave.
      onId: ([id, started]) => {
        if (typeof id === 'string') record.xid = id;
        if (typeof started === 'string') record.serverStartedAt = started;
      },
    });
    this.#query = query;
    if (this.#oneFlight) record.commitSent = true;
    this.conn.query(query);
    // As BEGIN's deadline in a pipelined transaction: bounds the wait for a server, not the statement.
    if (deadline !== undefined) armBeginDeadline(this.conn, query.idAnswered, deadline);
    return query.statement;
  }

  /** Sends the Sync (COMMIT) and waits for ReadyForQuery; a lost answer is settled by the database. */
  async commit(): Promise<void> {
    const query = this.#query;
    if (query === null) return this.releaseConnection();
    this.#record.commitSent = true;
    query.sync();
    try {
      await query.ended;
    } catch (error) {
      this.#releaseAfter(query, error);
      if ((await settleLostCommit(this.#record, error)) === 'committed') return;
      return this.path.onError(error);
    }
    this.#record.commitAnswered = true;
    this.releaseConnection();
  }

  /**
   * Ends the transaction without committing it: after a failed statement the server has aborted it
   * and the Sync sent then ends it; a statement that answered is still open, and closing the
   * connection without a Sync aborts it. A one-flight write's Sync left with the statement: the
   * server already ended the transaction, and a lost answer is settled into the record for the
   * attempt to read (never thrown from here).
   */
  async rollback(): Promise<void> {
    const query = this.#query;
    if (query === null) return this.releaseConnection();
    if (!query.synced) {
      destroyClientSocket(this.conn);
      return this.releaseConnection(new Error('implicit-transaction write rolled back by closing its connection'));
    }
    try {
      await query.ended;
    } catch (error) {
      this.#releaseAfter(query, error);
      if (this.#record.commitSent) await settleLostCommit(this.#record, error);
      return;
    }
    this.releaseConnection();
  }

  /**
   * A failure the server answered (a statement's error) leaves the connection reusable, as pg-pool
   * keeps a client whose query failed; its ReadyForQuery may still be on the way, and pg holds the
   * next query until it arrives. Any other failure closes the connection.
   */
  #releaseAfter(query: ImplicitWriteQuery, error: unknown): void {
    this.releaseConnection(query.serverAnswered ? undefined : error);
  }
}
