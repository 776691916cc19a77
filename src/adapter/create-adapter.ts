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
import type pg from 'pg';
import { IncompatibleDependencyError } from '../errors/errors.ts';
import { beginStatement, isPgQueryPath, type PgQueryPath, PipelinedTransaction, runsPerStatement } from './pipelined-transaction.ts';

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
}

/** A Prisma driver adapter over `pool`, whose clients must run in pipeline mode. We own the pool's lifecycle. */
export function createAdapter(pool: pg.Pool, options: AdapterOptions): SqlDriverAdapterFactory {
  const { statementName } = options;
  const inner = new PrismaPg(pool, {
    schema: options.schema ?? undefined,
    statementNameGenerator: statementName ? (query) => statementName(query.sql) : undefined,
    disposeExternalPool: false,
  });
  return new PipelinedAdapterFactory(
    inner,
    Object.freeze({ pool, readOnly: options.readOnly ?? false, beginTimeoutMs: options.beginTimeoutMs }),
  );
}

/** What every transaction of one adapter factory is opened with. */
interface TransactionSettings {
  readonly pool: pg.Pool;
  readonly readOnly: boolean;
  readonly beginTimeoutMs: number | undefined;
}

class PipelinedAdapterFactory implements SqlDriverAdapterFactory {
  readonly provider: SqlDriverAdapterFactory['provider'];
  readonly adapterName: string;
  readonly #inner: SqlDriverAdapterFactory;
  readonly #settings: TransactionSettings;

  constructor(inner: SqlDriverAdapterFactory, settings: TransactionSettings) {
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
    this.#inner = inner;
    this.#settings = settings;
  }

  async connect(): Promise<SqlDriverAdapter> {
    const adapter = await this.#inner.connect();
    if (!isPgQueryPath(adapter)) {
      await adapter.dispose();
      throw new IncompatibleDependencyError('@prisma/adapter-pg', 'a connected adapter with client, performIO and onError');
    }
    return new PipelinedAdapter(adapter, this.#settings);
  }
}

/** adapter-pg's adapter, with `startTransaction` replaced. */
class PipelinedAdapter implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;
  readonly #path: PgQueryPath;
  readonly #settings: TransactionSettings;

  constructor(path: PgQueryPath, settings: TransactionSettings) {
    this.provider = path.provider;
    this.adapterName = path.adapterName;
    this.#path = path;
    this.#settings = settings;
  }

  queryRaw: SqlDriverAdapter['queryRaw'] = (query) => this.#path.queryRaw(query);
  executeRaw: SqlDriverAdapter['executeRaw'] = (query) => this.#path.executeRaw(query);
  executeScript: SqlDriverAdapter['executeScript'] = (script) => this.#path.executeScript(script);
  getConnectionInfo: NonNullable<SqlDriverAdapter['getConnectionInfo']> = () =>
    this.#path.getConnectionInfo?.() ?? { supportsRelationJoins: false };
  dispose: SqlDriverAdapter['dispose'] = () => this.#path.dispose();

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const { pool, readOnly, beginTimeoutMs } = this.#settings;
    const begin = beginStatement(isolationLevel, readOnly);
    let conn: pg.PoolClient;
    try {
      conn = await pool.connect();
    } catch (error) {
      return this.#path.onError(error); // the DriverAdapterError adapter-pg would throw
    }
    return new PipelinedTransaction(conn, this.#path, begin, runsPerStatement(isolationLevel, readOnly), beginTimeoutMs);
  }
}
