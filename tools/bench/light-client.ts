/**
 * The scale bench's light instance client: what a simulated instance keeps when N runs into the
 * thousands. A PrismaClient per instance costs ~3–4 MB and tens of ms of CPU per first query
 * (its query compiler), so 10,000 of them do not fit on this machine (docs/benchmarks.md says
 * what the simulation keeps and drops). This client stands in for PrismaClient behind the manager:
 *
 * - kept: the instance's own manager (config, budget, retry, metrics), its own `pg.Pool` and its real
 *   TCP connections through PgBouncer, and our driver adapter (src/adapter/: the pipelined BEGIN, the
 *   READ ONLY adapter for reads, commit-outcome handling). It drives the adapter the way Prisma 7's
 *   transaction manager does (`@prisma/client/runtime`: `startTransaction(isolationLevel)`, the
 *   callback's queries on that transaction, then `commit()` — no COMMIT statement when
 *   `options.usePhantomQuery` — or `rollback()` after a failure), and runs the SQL Prisma sends for
 *   the same operations (tools/bench/workload.ts `runLightStep`).
 * - dropped: Prisma's query compiler and result mapping (its per-query CPU is measured on its own in
 *   the overhead rows), Prisma's own `maxWait`/`timeout` timers (the pool's timeout still applies).
 */
import type { ArgType, IsolationLevel, SqlDriverAdapter, SqlDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';

/** What a light transaction callback gets: parameterized SQL on the instance's transaction. */
export interface LightTransaction {
  query(sql: string, ...args: string[]): Promise<number>;
}

export interface LightClient {
  $transaction<R>(fn: (tx: LightTransaction) => PromiseLike<R>, options?: { isolationLevel?: string }): Promise<R>;
  $disconnect(): Promise<void>;
}

/** Prisma's option names → the adapter's levels, as Prisma's transaction manager maps them. */
const ISOLATION: Readonly<Record<string, IsolationLevel>> = Object.freeze({
  ReadUncommitted: 'READ UNCOMMITTED',
  ReadCommitted: 'READ COMMITTED',
  RepeatableRead: 'REPEATABLE READ',
  Snapshot: 'SNAPSHOT',
  Serializable: 'SERIALIZABLE',
});

function toAdapterIsolation(level: string | undefined): IsolationLevel | undefined {
  if (level === undefined) return undefined;
  const mapped = ISOLATION[level];
  if (!mapped) throw new Error(`light client: unknown isolation level ${level}`);
  return mapped;
}

const TEXT: ArgType = Object.freeze({ scalarType: 'string', arity: 'scalar' });

/** A LightClient over the adapter factory the manager hands to `createClient`. */
export function createLightClient(factory: SqlDriverAdapterFactory): LightClient {
  // adapter-pg's connect() over the manager's pool opens no connection itself (like Prisma's $connect).
  let adapter: Promise<SqlDriverAdapter> | null = null;
  return {
    async $transaction<R>(fn: (tx: LightTransaction) => PromiseLike<R>, options?: { isolationLevel?: string }): Promise<R> {
      adapter ??= factory.connect();
      const tx: Transaction = await (await adapter).startTransaction(toAdapterIsolation(options?.isolationLevel));
      if (!tx.options.usePhantomQuery) {
        await tx.rollback().catch(() => {});
        throw new Error('light client: expects our adapter (usePhantomQuery transactions)');
      }
      const client: LightTransaction = {
        query: async (sql, ...args) => (await tx.queryRaw({ sql, args, argTypes: args.map(() => TEXT) })).rows.length,
      };
      let result: R;
      try {
        result = await fn(client);
      } catch (error) {
        await tx.rollback().catch(() => {});
        throw error;
      }
      await tx.commit();
      return result;
    },
    async $disconnect() {
      const current = adapter;
      adapter = null;
      if (current) await (await current).dispose();
    },
  };
}
