/** The manager's public types: what an app's code sees of it. */
import type { HostHealth, ReplicaFigures } from '../health/health-check.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import type { PoolStats } from '../metrics/pool-stats.ts';
import type { ReadsByTarget } from '../routing/read-router.ts';
import type { RetryOptions } from '../transaction/retry.ts';
import type { AttemptContext, IsolationLevel } from '../transaction/run-transaction.ts';

/** A Prisma 7 client: interactive transactions and disconnect. */
export interface PrismaClientLike {
  // biome-ignore lint/suspicious/noExplicitAny: Prisma's $transaction is overloaded (array and callback forms)
  $transaction(...args: any[]): Promise<any>;
  $disconnect(): Promise<void>;
  /** Starts the engine ahead of the first query; used by `warmup()` when present. */
  $connect?(): Promise<void>;
}

/**
 * Which server a client is built for: `createClient`'s second argument, so an app can give a
 * replica's client options of its own (its own `log`, say). Host and port only, never a password.
 */
export interface DatabaseServer {
  readonly role: 'primary' | 'replica';
  readonly host: string;
  readonly port: number;
  /** The replica's position in `DATABASE_URL_READ`, from 0; null for the primary. */
  readonly replicaIndex: number | null;
  /** This client's transactions open READ ONLY (the pool's client of reads; see `createClient`). */
  readonly readOnly: boolean;
}

/** The interactive-transaction client type of a generated PrismaClient. */
// biome-ignore lint/suspicious/noExplicitAny: extracting the callback parameter of Prisma's overloaded $transaction
export type TransactionClientOf<C> = C extends { $transaction(fn: (tx: infer Tx) => any, options?: any): any } ? Tx : never;

export type TransactionFn<C, R> = (tx: TransactionClientOf<C>, context: AttemptContext) => PromiseLike<R>;

/** Results of a batch, position by position. */
export type BatchResults<Ops extends readonly unknown[]> = {
  -readonly [K in keyof Ops]: Ops[K] extends (...args: never[]) => infer P ? Awaited<P> : never;
};

export interface TransactionOptions {
  /**
   * Defaults: the database's (ReadCommitted) for `withPooling`, ReadCommitted for reads (each
   * statement sees its own snapshot, one round trip per statement; `RepeatableRead` gives the whole
   * read one snapshot for one round trip more, its COMMIT), Serializable for writes.
   */
  isolationLevel?: IsolationLevel;
  /** Prisma's wait for a connection, ms. Defaults to the pool timeout + 1000 (so the pool's own, clearer timeout fires first). */
  maxWait?: number;
  /** Prisma's limit on the whole interactive transaction, ms. Defaults to `transactionTimeoutMs` (10000). */
  timeout?: number;
  /** Stops waits and backoff at once; a transaction already running finishes first. */
  signal?: AbortSignal;
  /**
   * Running `fn` twice is harmless, so a call whose COMMIT outcome is unknown (the connection was
   * lost while COMMIT was in flight) may be retried instead of failing with
   * TransactionOutcomeUnknownError. Defaults to true for `readWithPooling` (a read-only transaction
   * changes nothing) and false for every other wrapper.
   */
  idempotent?: boolean;
  /** Per-call retry overrides. */
  retry?: RetryOptions;
}

export interface ReadOptions extends TransactionOptions {
  /**
   * A token from `consistencyToken()` (any instance): with replicas configured, the read then sees
   * every write committed before that token was made (a replica that has not replayed them yet is
   * skipped; the primary always qualifies). Without replicas every read runs on the primary, which
   * already sees them, and the token is only checked for validity. Unset, null or '' means no
   * requirement. Anything else is a ConfigError naming `after`.
   */
  after?: string | null;
}

export interface BatchOptions extends TransactionOptions {
  /** false (default): all ops in order in ONE transaction. true: each op in its own transaction, concurrently. */
  parallel?: boolean;
}

/** One of the manager's pools, as `getMetrics()` reports it. */
export interface NamedPoolStats {
  /** Its `db.client.connection.pool.name` (distinct for each pool). */
  name: string;
  /** The host it connects to (never the user or password). */
  address: string;
  port: number;
  stats: PoolStats;
}

export interface ManagerMetrics extends MetricsSnapshot {
  pool: PoolStats;
  /** The read replicas' pools, summed; null without DATABASE_URL_READ. */
  readPool: PoolStats | null;
  /** Each read replica's pool on its own, in DATABASE_URL_READ order (empty without replicas). */
  replicaPools: NamedPoolStats[];
  /** Read attempts by where they went (all zero without replicas): see docs/read-replicas.md. */
  readsByTarget: ReadsByTarget;
  /** Each replica as last observed (no I/O): state, lag (ms), replay position. */
  replicas: ReplicaFigures[];
  /** Connections `warmup()` opened (not reset by `resetMetrics()`: warmup runs once). */
  warmupConnections: number;
  /** Warmup steps that failed: connections not opened, engine start, `warmupQuery` (not reset either). */
  warmupFailures: number;
  /**
   * `db.client.connection.pool.name` of each pool (see docs/opentelemetry.md); null before the first
   * call. `read` is the first replica's; `replicaPools` names every replica.
   */
  poolNames: { primary: string; read: string | null } | null;
  /**
   * A multi-host `DATABASE_URL`'s hosts (a pooler fleet) as their monitors see them, in URL order:
   * state, times marked down / found back / probed, and connections open to each now. Empty for a
   * single-host URL or before the first call.
   */
  hosts: (HostHealth & { readonly openConnections: number })[];
}
