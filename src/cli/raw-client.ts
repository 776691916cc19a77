/**
 * A schema-free stand-in for a generated PrismaClient, so `prisma-pgbouncer-pooling check` can
 * drive the real wrappers, pool and driver adapter in an app whose generated client we cannot
 * import (its path and models are the app's own).
 *
 * It speaks Prisma's driver-adapter interface (`@prisma/driver-adapter-utils`: `connect()` →
 * `startTransaction()` → `queryRaw` / `executeRaw` → COMMIT) exactly as Prisma 7's transaction
 * manager does: it sends `COMMIT` / `ROLLBACK` itself unless the adapter's transaction says
 * `usePhantomQuery`, and then calls `commit()` / `rollback()` (which release the connection).
 * Typed structurally here, so the package's public types do not depend on that internal package.
 */

/** Prisma's `IsolationLevel` names as the wrappers pass them. */
type PrismaIsolationLevel = 'ReadUncommitted' | 'ReadCommitted' | 'RepeatableRead' | 'Serializable';

const SQL_ISOLATION: Readonly<Record<PrismaIsolationLevel, string>> = {
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Serializable: 'SERIALIZABLE',
};

interface AdapterQuery {
  sql: string;
  args: unknown[];
  argTypes: { scalarType: 'unknown'; arity: 'scalar' }[];
}

interface AdapterQueryable {
  queryRaw(query: AdapterQuery): Promise<{ columnNames: string[]; rows: unknown[][] }>;
  executeRaw(query: AdapterQuery): Promise<number>;
}

interface AdapterTransaction extends AdapterQueryable {
  readonly options: { readonly usePhantomQuery: boolean };
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

interface Adapter extends AdapterQueryable {
  startTransaction(isolationLevel?: string): Promise<AdapterTransaction>;
  dispose(): Promise<void>;
}

/** What the client factory receives: Prisma's `SqlDriverAdapterFactory`, structurally. */
export interface AdapterFactory {
  connect(): Promise<unknown>;
}

/** The `tx` a check's transaction callback receives. */
export interface RawTransaction {
  /** Rows as objects, parameters as `$1, $2 …`. */
  $queryRawUnsafe<T = Record<string, unknown>>(sql: string, ...args: unknown[]): Promise<T[]>;
  /** Affected row count. */
  $executeRawUnsafe(sql: string, ...args: unknown[]): Promise<number>;
}

const query = (sql: string, args: unknown[]): AdapterQuery => ({
  sql,
  args,
  argTypes: args.map(() => ({ scalarType: 'unknown', arity: 'scalar' })),
});

function toObjects<T>({ columnNames, rows }: { columnNames: string[]; rows: unknown[][] }): T[] {
  return rows.map((row) => Object.fromEntries(columnNames.map((name, i) => [name, row[i]])) as T);
}

function bind(queryable: AdapterQueryable): RawTransaction {
  return {
    $queryRawUnsafe: async <T>(sql: string, ...args: unknown[]) => toObjects<T>(await queryable.queryRaw(query(sql, args))),
    $executeRawUnsafe: (sql, ...args) => queryable.executeRaw(query(sql, args)),
  };
}

export class RawClient {
  readonly #adapter: Promise<Adapter>;

  constructor(factory: AdapterFactory) {
    this.#adapter = factory.connect() as Promise<Adapter>;
    // Surfaced by the first call that awaits it; never an unhandled rejection meanwhile.
    this.#adapter.catch(() => {});
  }

  /** One statement outside a transaction. */
  async $queryRawUnsafe<T = Record<string, unknown>>(sql: string, ...args: unknown[]): Promise<T[]> {
    return bind(await this.#adapter).$queryRawUnsafe<T>(sql, ...args);
  }

  async $executeRawUnsafe(sql: string, ...args: unknown[]): Promise<number> {
    return bind(await this.#adapter).$executeRawUnsafe(sql, ...args);
  }

  /**
   * An interactive transaction. `maxWait` and `timeout` are Prisma's own limits and are not
   * enforced here: the pool's acquire timeout still bounds the wait for a connection.
   */
  async $transaction<R>(fn: (tx: RawTransaction) => Promise<R>, options: { isolationLevel?: PrismaIsolationLevel } = {}): Promise<R> {
    const adapter = await this.#adapter;
    const level = options.isolationLevel ? SQL_ISOLATION[options.isolationLevel] : undefined;
    const transaction = await adapter.startTransaction(level);
    const phantom = transaction.options.usePhantomQuery;
    let value: R;
    try {
      value = await fn(bind(transaction));
    } catch (error) {
      try {
        if (!phantom) await transaction.executeRaw(query('ROLLBACK', []));
      } catch {
        // The connection may be gone; the pool discards it. The callback's error is the one to report.
      } finally {
        await transaction.rollback().catch(() => {});
      }
      throw error;
    }
    if (phantom) {
      await transaction.commit();
      return value;
    }
    try {
      await transaction.executeRaw(query('COMMIT', []));
    } catch (error) {
      await transaction.rollback().catch(() => {});
      throw error;
    }
    await transaction.commit();
    return value;
  }

  async $disconnect(): Promise<void> {
    const adapter = await this.#adapter.catch(() => null);
    await adapter?.dispose();
  }
}
