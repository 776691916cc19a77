/**
 * One pool connection held for the statements of a transaction (./pipelined-transaction.ts) or of
 * a plain write (./implicit-write.ts), run through adapter-pg's own query path (argument mapping,
 * type parsers, error conversion to DriverAdapterError): an object whose prototype is adapter-pg's
 * connected adapter, with `client` pointing at the holder, whose `query` — the subclass's — decides
 * what goes on the wire around each statement.
 */
import type { SqlDriverAdapter, SqlQuery, SqlResultSet } from '@prisma/driver-adapter-utils';
import type pg from 'pg';
import { trackTransactionStatus, transactionStatus } from '../pool/pg-internals.ts';

/** The part of adapter-pg's connected adapter (its `PgQueryable`) this layer builds on. */
export interface PgQueryPath extends SqlDriverAdapter {
  /** The pg Pool (or Client) its `performIO` calls `query` on. */
  readonly client: unknown;
  /** Throws the DriverAdapterError adapter-pg makes of a pg error. */
  onError(error: unknown): never;
  performIO(query: SqlQuery): Promise<unknown>;
}

export function isPgQueryPath(adapter: SqlDriverAdapter): adapter is PgQueryPath {
  const candidate = adapter as Partial<PgQueryPath>;
  return 'client' in adapter && typeof candidate.performIO === 'function' && typeof candidate.onError === 'function';
}

/**
 * pg-pool removes its idle 'error' listener while a client is checked out; a connection error
 * between statements would then be an unhandled 'error' event (a crash). adapter-pg listens for
 * the transaction's lifetime; so do we. The error itself reaches the next query or COMMIT.
 */
function ignoreConnectionError(): void {}

export abstract class HeldConnection {
  protected readonly conn: pg.PoolClient;
  protected readonly path: PgQueryPath;
  /** adapter-pg's query path, bound to this holder (its `client`). */
  readonly #queryable: PgQueryPath;
  #released = false;

  constructor(conn: pg.PoolClient, path: PgQueryPath) {
    this.conn = conn;
    this.path = path;
    this.#queryable = Object.create(path, { client: { value: this } }) as PgQueryPath;
    conn.on('error', ignoreConnectionError);
    trackTransactionStatus(conn);
  }

  /** Called by adapter-pg's `performIO` (as `this.client.query`) for each statement. */
  abstract query(config: pg.QueryConfig): Promise<pg.QueryResult>;

  queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return this.#queryable.queryRaw(query);
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.#queryable.executeRaw(query);
  }

  /**
   * Returns the connection, once. A connection that is not idle (`I` in the last ReadyForQuery) or
   * that failed is destroyed, never handed to the next caller.
   */
  protected releaseConnection(error?: unknown): void {
    if (this.#released) return;
    this.#released = true;
    this.conn.removeListener('error', ignoreConnectionError);
    const idle = error === undefined && transactionStatus(this.conn) === 'I';
    this.conn.release(idle ? undefined : error instanceof Error ? error : new Error('connection not idle after the transaction'));
  }

  protected get released(): boolean {
    return this.#released;
  }
}
