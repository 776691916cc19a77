/**
 * The driver adapter handed to the app's `createClient`: typed by Prisma's own adapter interface
 * (`SqlDriverAdapterFactory`, what `new PrismaClient({ adapter })` accepts), built here over the
 * `pg.Pool` that src/pool/create-pool.ts creates.
 *
 * It is @prisma/adapter-pg for everything but interactive transactions, which open with one
 * pipelined statement (src/adapter/pipelined-transaction.ts). A Prisma transaction carries no
 * "read only" flag to the adapter (only the isolation level), so read-only transactions come from
 * an adapter made read-only (`readOnly: true`) and a client of their own.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import type { IsolationLevel, SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { classifyError } from '../errors/classify-error.ts';
import { IncompatibleDependencyError, PreparedStatementsNotTrackedError } from '../errors/errors.ts';
import { isPgQueryPath, type PgQueryPath } from './held-connection.ts';
import { ImplicitWrite, implicitWriteSupported } from './implicit-write.ts';
import { raiseNotSent } from './not-sent.ts';
import { currentOutcomeRecord, type OutcomeRecord, runsAlone } from './outcome-record.ts';
import { beginStatement, PipelinedTransaction, runsPerStatement } from './pipelined-transaction.ts';

export type { SqlDriverAdapterFactory };

export interface AdapterOptions {
  /** Postgres schema (adapter-pg's `schema`); null for the server's search_path. */
  readonly schema: string | null;
  /** Named statements (`statementNameGenerator`); unnamed when absent, as PgBouncer < 1.21 in transaction mode needs. */
  readonly statementName?: (sql: string) => string;
  /** Every interactive transaction opens READ ONLY (Postgres rejects writes with 25006). Defaults to false. */
  readonly readOnly?: boolean;
  /**
   * How long a transaction's BEGIN may wait for its answer, ms; past it the connection is closed and
   * the attempt fails as a lost connection. For replicas: PgBouncer keeps a connected client waiting
   * for a server that is gone (up to its query_wait_timeout), and the caller must fall back to the
   * primary in time. Defaults to no deadline.
   */
  readonly beginTimeoutMs?: number;
  /**
   * Called once per adapter factory when `statementName` is set and the installed adapter-pg does not
   * name statements (`statementNameGenerator` exists from @prisma/adapter-pg 7.6.0; an older one
   * ignores it and every statement stays unnamed).
   */
  readonly onStatementNamesIgnored?: () => void;
}

/** A Prisma driver adapter over `pool`, whose clients must run in pipeline mode. We own the pool's lifecycle. */
export function createAdapter(pool: pg.Pool, options: AdapterOptions): SqlDriverAdapterFactory {
  const { statementName } = options;
  // Not an object literal at the call: adapter-pg < 7.6 types have no statementNameGenerator, and the
  // package must compile against the oldest adapter it supports too (it then ignores the option).
  const pgOptions = {
    schema: options.schema ?? undefined,
    statementNameGenerator: statementName ? (query: { sql: string }) => statementName(query.sql) : undefined,
    disposeExternalPool: false,
  };
  const inner = new PrismaPg(pool, pgOptions);
  return new PipelinedAdapterFactory(
    inner,
    Object.freeze({
      pool,
      readOnly: options.readOnly ?? false,
      beginTimeoutMs: options.beginTimeoutMs,
      namedStatements: statementName !== undefined,
    }),
    statementName !== undefined ? options.onStatementNamesIgnored : undefined,
  );
}

/**
 * Whether adapter-pg hands the statement names to pg: its own `performIO` runs over a stand-in client
 * that records the query config and sends nothing. adapter-pg < 7.6.0 passes no `name`.
 */
async function adapterNamesStatements(path: PgQueryPath): Promise<boolean> {
  let named = false;
  const recorder = {
    query(config: { name?: unknown }) {
      named = typeof config?.name === 'string' && config.name.length > 0;
      return Promise.resolve({ command: 'SELECT', rowCount: 0, fields: [], rows: [] });
    },
  };
  const probe = Object.create(path, { client: { value: recorder } }) as PgQueryPath;
  await probe.performIO({ sql: 'SELECT 1', args: [], argTypes: [] }).catch(() => {});
  return named;
}

/** active_sql_transaction: "VACUUM cannot be executed within a pipeline" (or "inside a transaction block"). */
const OUTSIDE_TRANSACTIONS_ONLY = '25001';

/** 42P05 duplicate_prepared_statement, 26000 invalid_sql_statement_name. */
const STATEMENT_NAME_STATES = new Set(['42P05', '26000']);

/**
 * adapter-pg's query path whose `onError` turns a statement-name error into a
 * `PreparedStatementsNotTrackedError` naming the option; every other error goes to adapter-pg's own
 * conversion. adapter-pg's `performIO` reports through `this.onError`, and its conversion rethrows
 * an error it does not know unchanged, so the error reaches the caller as it is (pinned by
 * test/integration/pool/named-statements-untracked.test.ts).
 */
function withStatementNameErrors(path: PgQueryPath): PgQueryPath {
  return Object.create(path, {
    onError: {
      value(error: unknown): never {
        const code = (error as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && STATEMENT_NAME_STATES.has(code))
          throw new PreparedStatementsNotTrackedError(code, { cause: error });
        return path.onError(error);
      },
    },
  }) as PgQueryPath;
}

/** Checked once: the installed pg's Query has what an implicit-transaction write builds on. */
const IMPLICIT_WRITE = implicitWriteSupported(pg.Query);

/** What every transaction of one adapter factory is opened with. */
interface TransactionSettings {
  readonly pool: pg.Pool;
  readonly readOnly: boolean;
  readonly beginTimeoutMs: number | undefined;
  /** Named statements are on: statement-name errors name the option (withStatementNameErrors). */
  readonly namedStatements: boolean;
}

class PipelinedAdapterFactory implements SqlDriverAdapterFactory {
  readonly provider: SqlDriverAdapterFactory['provider'];
  readonly adapterName: string;
  readonly #inner: SqlDriverAdapterFactory;
  readonly #settings: TransactionSettings;
  /** Told once when named statements are asked for and the adapter does not name them. */
  #onStatementNamesIgnored: (() => void) | undefined;

  constructor(inner: SqlDriverAdapterFactory, settings: TransactionSettings, onStatementNamesIgnored: (() => void) | undefined) {
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
    this.#inner = inner;
    this.#settings = settings;
    this.#onStatementNamesIgnored = onStatementNamesIgnored;
  }

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await this.#inner.connect();
    if (!isPgQueryPath(adapter)) {
      await adapter.dispose();
      throw new IncompatibleDependencyError('@prisma/adapter-pg', 'a connected adapter with client, performIO and onError');
    }
    const tell = this.#onStatementNamesIgnored;
    this.#onStatementNamesIgnored = undefined;
    if (tell && !(await adapterNamesStatements(adapter))) tell();
    return new PipelinedAdapter(this.#settings.namedStatements ? withStatementNameErrors(adapter) : adapter, this.#settings);
  }
}

/** adapter-pg's adapter, with `startTransaction` replaced. */
class PipelinedAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;
  readonly #path: PgQueryPath;
  readonly #settings: TransactionSettings;
  readonly #paths = new WeakMap<pg.PoolClient, PgQueryPath>();

  constructor(path: PgQueryPath, settings: TransactionSettings) {
    this.provider = path.provider;
    this.adapterName = path.adapterName;
    this.#path = path;
    this.#settings = settings;
  }

  // A statement outside a transaction: on a connection of its own, so that a failure to get one
  // is told apart from a failure after the statement was sent (./not-sent.ts). A read-only
  // adapter runs it as its own pipelined `BEGIN READ ONLY; statement; COMMIT` (one round trip),
  // so a raw query routed as a read cannot write: Postgres answers 25006.
  // A plain write (an attempt's outcome record asks for it) runs as a transaction of its own that
  // reports its id (./outcome-record.ts), so a lost answer can be settled by the database.
  queryRaw: SqlDriverAdapter['queryRaw'] = (query) => {
    if (this.#settings.readOnly) return this.#readOnly((tx) => tx.queryRaw(query));
    const record = currentOutcomeRecord();
    if (record?.plainWriteCommit) return this.#plainWrite(record, (tx) => tx.queryRaw(query));
    return this.#onConnection((path) => path.queryRaw(query));
  };
  executeRaw: SqlDriverAdapter['executeRaw'] = (query) => {
    if (this.#settings.readOnly) return this.#readOnly((tx) => tx.executeRaw(query));
    const record = currentOutcomeRecord();
    if (record?.plainWriteCommit) return this.#plainWrite(record, (tx) => tx.executeRaw(query));
    return this.#onConnection((path) => path.executeRaw(query));
  };
  executeScript: SqlDriverAdapter['executeScript'] = (script) => this.#path.executeScript(script);
  getConnectionInfo: NonNullable<SqlDriverAdapter['getConnectionInfo']> = () =>
    this.#path.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  dispose: SqlDriverAdapter['dispose'] = () => this.#path.dispose();

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const { readOnly, beginTimeoutMs } = this.#settings;
    const begin = beginStatement(isolationLevel, readOnly);
    // A write transaction of an attempt that keeps an outcome record reports its id and COMMIT.
    const record = readOnly ? undefined : currentOutcomeRecord();
    const conn = await this.#connect();
    return new PipelinedTransaction(
      conn,
      this.#path,
      begin,
      runsPerStatement(isolationLevel, readOnly),
      beginTimeoutMs,
      record ? { record, commitWithFirst: false } : undefined,
    );
  }

  /**
   * One lone statement of a plain write as its own transaction with its id: the id question and the
   * statement in PostgreSQL's implicit transaction, and its Sync (the COMMIT) once the statement
   * answered (`'confirmed'`) or with it (`'one-flight'`) (./implicit-write.ts). On a pg whose Query
   * internals differ: `BEGIN; SELECT pg_current_xact_id(); statement` and COMMIT, the same way. A
   * lost COMMIT answer is settled by the database: committed returns the statement's result as if
   * nothing happened.
   */
  async #plainWrite<T>(record: OutcomeRecord, run: (tx: Pick<Transaction, 'queryRaw' | 'executeRaw'>) => Promise<T>): Promise<T> {
    const conn = await this.#connect();
    const oneFlight = record.plainWriteCommit === 'one-flight';
    const tx = IMPLICIT_WRITE
      ? new ImplicitWrite(conn, this.#path, record, oneFlight, this.#settings.beginTimeoutMs)
      : new PipelinedTransaction(conn, this.#path, 'BEGIN', false, this.#settings.beginTimeoutMs, { record, commitWithFirst: oneFlight });
    let result: T;
    try {
      result = await run(tx);
    } catch (error) {
      await tx.rollback().catch(() => {});
      // A statement PostgreSQL runs only outside a transaction block (`VACUUM`, `CREATE INDEX
      // CONCURRENTLY` … through `$executeRaw`) refuses the id question's transaction with 25001
      // before it does anything; the failed transaction committed nothing. So it runs once more,
      // alone, as the bare client runs it: with no id, a lost answer then stays unknown.
      if (classifyError(error).code === OUTSIDE_TRANSACTIONS_ONLY) {
        runsAlone(record);
        return this.#onConnection((path) => run(path));
      }
      throw error;
    }
    record.resultReceived = true;
    await tx.commit();
    return result;
  }

  /** A pool connection; a failure to get one throws adapter-pg's DriverAdapterError, marked as sending nothing. */
  async #connect(): Promise<pg.PoolClient> {
    try {
      return await this.#settings.pool.connect();
    } catch (error) {
      return raiseNotSent(() => this.#path.onError(error));
    }
  }

  /** adapter-pg's query path on a connection of its own, released afterwards (destroyed after an error, as pg-pool's `query` does). */
  async #onConnection<T>(run: (path: PgQueryPath) => Promise<T>): Promise<T> {
    const conn = await this.#connect();
    try {
      const result = await run(this.#pathOn(conn));
      conn.release();
      return result;
    } catch (error) {
      conn.release(error instanceof Error ? error : new Error('query failed'));
      throw error;
    }
  }

  /** adapter-pg's query path with `client` set to `conn`: made once per connection, not per statement. */
  #pathOn(conn: pg.PoolClient): PgQueryPath {
    let path = this.#paths.get(conn);
    if (path === undefined) {
      path = Object.create(this.#path, { client: { value: conn } }) as PgQueryPath;
      this.#paths.set(conn, path);
    }
    return path;
  }

  /** One statement as its own read-only transaction (per-statement mode: one round trip). */
  async #readOnly<T>(run: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await this.startTransaction('READ COMMITTED');
    try {
      const result = await run(tx);
      await tx.commit();
      return result;
    } catch (error) {
      await tx.rollback().catch(() => {});
      throw error;
    }
  }
}
