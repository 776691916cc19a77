/**
 * Composes config → pool → Prisma client → retry → metrics, and owns their lifecycle:
 * lazy init-once (a failed init is retried on the next call), dispose-once.
 *
 * Follow one call: `writeWithPooling(fn)` → `#execute()` (its span, when OpenTelemetry is on) →
 * `#run()` (the operation sink: src/metrics/sink.ts; load shedding) → `retry()`
 * (src/transaction/retry.ts) → `runTransactionAttempt()` (src/transaction/run-transaction.ts) →
 * `client.$transaction` → our adapter (src/adapter/: one pipelined BEGIN, adapter-pg's query path) →
 * the `pg.Pool` built in src/pool/create-pool.ts.
 */
import type pg from 'pg';
import type { SqlDriverAdapterFactory } from '../adapter/create-adapter.ts';
import { type PoolConfig, type ResolveOptions, resolvePoolConfig } from '../config/resolve-pool-config.ts';
import { classifyError, type ErrorClassification } from '../errors/classify-error.ts';
import { BatchError, ConfigError, ManagerClosedError, PoolSaturatedError } from '../errors/errors.ts';
import {
  checkHealthDetailed,
  type HealthReport,
  type HealthStatus,
  type HealthThresholds,
  type ReplicaFigures,
} from '../health/health-check.ts';
import { attachVercelKeepAlive } from '../lifecycle/vercel-fluid.ts';
import { autoWarmup, checkWarmupMode, runWarmup, type WarmupMode } from '../lifecycle/warmup.ts';
import { managerLog, poolingLog } from '../logging/loggers.ts';
import { createMetrics, createMetricsSink, type Metrics, type MetricsSnapshot, type OperationKind } from '../metrics/metrics.ts';
import type { PoolStats } from '../metrics/pool-stats.ts';
import { fanOutSinks, type OperationScope, type OperationSink, type PoolRole } from '../metrics/sink.ts';
import { buildClientSettings } from '../pool/client-settings.ts';
import { createPool } from '../pool/create-pool.ts';
import { pingDatabase, readPgbouncerPools } from '../pool/health-probes.ts';
import { PoolAdmission } from '../pool/pool-admission.ts';
import { readPoolStats } from '../pool/read-pool-stats.ts';
import { fetchCommitPosition } from '../routing/commit-position.ts';
import { encodeConsistencyToken, parseConsistencyToken } from '../routing/consistency-token.ts';
import { createReadRouter, type ReadDecision, type ReadRouter, type ReadsByTarget } from '../routing/read-router.ts';
import {
  type ReplicaRoutingOptions,
  type ResolvedReplicaRoutingOptions,
  replicaStartTimeoutMs,
  resolveReplicaRoutingOptions,
} from '../routing/routing-options.ts';
import { describePoolTarget, type PoolTarget } from '../telemetry/pool-target.ts';
import { createTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { resolveTelemetryOptions, type TelemetryOptions } from '../telemetry/telemetry-options.ts';
import { mapBounded } from '../transaction/map-bounded.ts';
import {
  AttemptFailure,
  type ResolvedRetryOptions,
  type RetryEvent,
  type RetryHooks,
  type RetryOptions,
  resolveRetryOptions,
  retry,
  toAttemptFailure,
} from '../transaction/retry.ts';
import {
  type AttemptContext,
  type AttemptOptions,
  type IsolationLevel,
  runTransactionAttempt,
  type TransactionCapable,
} from '../transaction/run-transaction.ts';

/** A Prisma 7 client: interactive transactions and disconnect. */
export interface PrismaClientLike {
  // biome-ignore lint/suspicious/noExplicitAny: Prisma's $transaction is overloaded (array and callback forms)
  $transaction(...args: any[]): Promise<any>;
  $disconnect(): Promise<void>;
  /** Starts the engine ahead of the first query; used by `warmup()` when present. */
  $connect?(): Promise<void>;
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
  /** Defaults: the database's (ReadCommitted) for `withPooling`, ReadCommitted for reads, Serializable for writes. */
  isolationLevel?: IsolationLevel;
  /** Prisma's wait for a connection, ms. Defaults to the pool timeout + 1000 (so the pool's own, clearer timeout fires first). */
  maxWait?: number;
  /** Prisma's limit on the whole interactive transaction, ms. Defaults to 10000. */
  timeout?: number;
  /** Stops waits and backoff at once; a transaction already running finishes first. */
  signal?: AbortSignal;
  /** Also retry when COMMIT's outcome is unknown (only if running `fn` twice is harmless). Defaults to false. */
  idempotent?: boolean;
  /** Per-call retry overrides. */
  retry?: RetryOptions;
}

export interface ReadOptions extends TransactionOptions {
  /**
   * A token from `consistencyToken()` (any instance): the read then sees every write committed
   * before that token was made (a replica that has not replayed them yet is skipped). Unset,
   * null or '' means no requirement. Anything else is a ConfigError naming `after`.
   */
  after?: string | null;
}

export interface BatchOptions extends TransactionOptions {
  /** false (default): all ops in order in ONE transaction. true: each op in its own transaction, concurrently. */
  parallel?: boolean;
}

export interface ConnectionPoolManagerOptions<C extends PrismaClientLike> extends ReplicaRoutingOptions {
  /**
   * Builds the Prisma client on the adapter we create, e.g. `(adapter) => new PrismaClient({ adapter })`.
   * Called at most twice per pool, each time at first need: for the client of writes and
   * `withPooling` (and `manager.client`), and for the client of reads, whose transactions open
   * READ ONLY (Prisma passes an adapter no "read only" flag).
   */
  createClient: (adapter: SqlDriverAdapterFactory) => C;
  /** Environment to read (DATABASE_URL …). Defaults to `process.env`, read at first use. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides for the pool settings derived from the environment. */
  pool?: ResolveOptions;
  /** Retry policy defaults for every call. */
  retry?: RetryOptions;
  /** Default interactive-transaction timeout, ms. Defaults to 10000. */
  transactionTimeoutMs?: number;
  /** Fail fast with PoolSaturatedError when this many callers already wait for a connection. Defaults to no limit. */
  maxWaitingCallers?: number;
  /** Shown in pg_stat_activity. Defaults to `connection-pool-manager`. */
  applicationName?: string;
  /** Deadline of each health probe (`SELECT 1`, the PgBouncer console), ms. Defaults to 2000. */
  healthTimeoutMs?: number;
  /** Overrides for the `degraded` thresholds of `getHealth()` (see src/health/health-check.ts). */
  healthThresholds?: Partial<HealthThresholds>;
  /**
   * Reuse the live manager kept on `globalThis` under this key, so a dev server that re-evaluates
   * the service file on hot reload keeps one pool instead of opening another per reload (the
   * pattern Prisma documents for PrismaClient). `null` always makes a new manager. Defaults to
   * `'default'` when `env` is not given and `NODE_ENV` is not `production`, otherwise `null`.
   */
  globalKey?: string | null;
  /**
   * OpenTelemetry metrics and spans through the app's globally registered providers, when
   * `@opentelemetry/api` is installed (see docs/opentelemetry.md). Defaults to true: on if the app
   * registered a MeterProvider or TracerProvider before the first call, free otherwise.
   */
  telemetry?: boolean | TelemetryOptions;
  /**
   * Warm the manager at its first use (see `warmup()`): `'auto'` in serverless runtimes only, `true`
   * everywhere, `false` never (call `warmup()` yourself, e.g. at module scope). Defaults to false.
   * Worth it where one instance serves concurrent requests (Vercel Fluid, Cloud Run): the requests
   * that arrive with the first one find connections open. docs/serverless-platforms.md.
   */
  warmup?: WarmupMode;
  /**
   * A query `warmup()` runs once on each pool after the connections are open, in a read-only
   * transaction like `readWithPooling`'s (not retried, not in the metrics), e.g. `(tx) => tx.user.findFirst()`.
   * Prisma's first model query in a transaction spends tens of ms of CPU in its query compiler;
   * this moves that out of the first request. Defaults to none.
   */
  warmupQuery?: (tx: TransactionClientOf<C>) => PromiseLike<unknown>;
}

interface PoolHandle<C> {
  readonly role: PoolRole;
  /** Host, port, namespace and `db.client.connection.pool.name` (telemetry and the Prometheus text). */
  readonly target: PoolTarget;
  /** Built on first use (a read-first instance never builds it): see #primaryClient. */
  client: C | null;
  readonly adapter: SqlDriverAdapterFactory;
  /** Built on first read: its transactions open READ ONLY (one BEGIN, Postgres enforces it). */
  readOnlyClient: C | null;
  readonly readOnlyAdapter: SqlDriverAdapterFactory;
  readonly pool: pg.Pool;
  readonly limit: number;
  readonly admission: PoolAdmission;
  /** Stops this pool's telemetry; null without telemetry. */
  readonly stopTelemetry: (() => void) | null;
}

interface State<C> {
  readonly config: PoolConfig;
  readonly primary: PoolHandle<C>;
  /** One per DATABASE_URL_READ entry. */
  readonly replicas: readonly PoolHandle<C>[];
  /** Picks primary or replica for each read attempt (src/routing); null without replicas. */
  readonly router: ReadRouter<PoolHandle<C>> | null;
}

export interface ManagerMetrics extends MetricsSnapshot {
  pool: PoolStats;
  /** The read replicas' pools, summed; null without DATABASE_URL_READ. */
  readPool: PoolStats | null;
  /** Read attempts by where they went (all zero without replicas): see docs/read-replicas.md. */
  readsByTarget: ReadsByTarget;
  /** Each replica as last observed (no I/O): state, lag (ms), replay position. */
  replicas: ReplicaFigures[];
  /** Connections `warmup()` opened (not reset by `resetMetrics()`: warmup runs once). */
  warmupConnections: number;
  /** Warmup steps that failed: connections not opened, engine start, `warmupQuery` (not reset either). */
  warmupFailures: number;
  /** `db.client.connection.pool.name` of each pool (see docs/opentelemetry.md); null before the first call. */
  poolNames: { primary: string; read: string | null } | null;
}

/** Where a call runs; `scope` tells the sinks what a finished record stands for (see OperationScope). */
interface Route {
  readOnly: boolean;
  useReplica: boolean;
  /** Defaults to `call`. */
  scope?: OperationScope;
}

const EMPTY_POOL: PoolStats = Object.freeze({ active: 0, idle: 0, total: 0, waiting: 0, limit: 0 });

const addPoolStats = (a: PoolStats, b: PoolStats): PoolStats => ({
  active: a.active + b.active,
  idle: a.idle + b.idle,
  total: a.total + b.total,
  waiting: a.waiting + b.waiting,
  limit: a.limit + b.limit,
});

/**
 * The one rule for an unknown COMMIT outcome: retried only when the call is idempotent
 * (`idempotent`, which defaults to true for reads and false otherwise).
 */
const retryableStrict = (c: ErrorClassification): boolean => c.retryable;
const retryableIdempotent = (c: ErrorClassification): boolean => c.retryable || c.kind === 'outcome-unknown';

/** Transaction timing options: Prisma requires both > 0, and Node's timers cap at 2^31-1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
function validMs(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMER_MS))
    throw new ConfigError(name, `must be a number of ms in (0, ${MAX_TIMER_MS}], got ${String(value)}`);
  return value;
}

/** One wrapper call: everything its attempts need, in one object (no per-attempt closures). */
interface Call<C, R> extends AttemptOptions {
  readonly client: TransactionCapable<TransactionClientOf<C>>;
  readonly fn: TransactionFn<C, R>;
  readonly admission: PoolAdmission;
  readonly onPoolWait: () => void;
}

/** One attempt: admission (load shedding, the pool-wait count), then the transaction. */
function attemptCall<C, R>(call: Call<C, R>, attempt: number): Promise<R> {
  if (call.admission.admit()) call.onPoolWait();
  return runTransactionAttempt(call.client, call.fn, attempt, call).finally(call.admission.settle);
}

export class ConnectionPoolManager<C extends PrismaClientLike> {
  readonly #options: ConnectionPoolManagerOptions<C>;
  readonly #retry: ResolvedRetryOptions;
  readonly #routing: ResolvedReplicaRoutingOptions;
  readonly #transactionTimeoutMs: number;
  /** Retry hooks per operation kind and unknown-outcome rule, built once (a call allocates none). */
  readonly #hooks: { readonly strict: Record<OperationKind, RetryHooks>; readonly idempotent: Record<OperationKind, RetryHooks> };
  /** The pool-wait record per operation kind, built once. */
  readonly #poolWaited: Record<OperationKind, () => void>;
  readonly #metrics: Metrics = createMetrics();
  /** Every per-operation record goes here: the built-in metrics, plus telemetry once resolved. */
  #sink: OperationSink = createMetricsSink(this.#metrics);
  readonly #telemetryOptions: Readonly<TelemetryOptions>;
  /** undefined until the first call decides; null when off. */
  #telemetry: Telemetry | null | undefined;
  #state: State<C> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Wrapper calls that have not settled yet, and who waits for that number to reach 0. */
  #inFlight = 0;
  readonly #onDrained: (() => void)[] = [];
  /** The last reported health status, to log changes only. */
  #lastHealth: HealthStatus | null = null;
  #healthInFlight: Promise<HealthReport> | null = null;
  #warmup: Promise<void> | null = null;
  readonly #warmupCounts = { connections: 0, failures: 0 };
  /** Detaches the Vercel keep-alive of each pool (empty off Vercel). */
  readonly #detach: (() => void)[] = [];

  constructor(options: ConnectionPoolManagerOptions<C>) {
    if (typeof options?.createClient !== 'function') throw new ConfigError('createClient', 'must be a function');
    this.#options = options;
    // Bound, so an app can export them destructured: `export const { withPooling } = manager`.
    this.withPooling = this.withPooling.bind(this);
    this.readWithPooling = this.readWithPooling.bind(this);
    this.writeWithPooling = this.writeWithPooling.bind(this);
    this.batchWithPooling = this.batchWithPooling.bind(this);
    this.getMetrics = this.getMetrics.bind(this);
    this.getHealth = this.getHealth.bind(this);
    this.#retry = resolveRetryOptions(options.retry);
    this.#routing = resolveReplicaRoutingOptions(options);
    this.#telemetryOptions = resolveTelemetryOptions(options.telemetry);
    if (options.maxWaitingCallers !== undefined && !(Number.isInteger(options.maxWaitingCallers) && options.maxWaitingCallers >= 0)) {
      throw new ConfigError('maxWaitingCallers', `must be an integer ≥ 0, got ${String(options.maxWaitingCallers)}`);
    }
    if (options.healthTimeoutMs !== undefined && !(Number.isFinite(options.healthTimeoutMs) && options.healthTimeoutMs > 0)) {
      throw new ConfigError('healthTimeoutMs', `must be a positive number of ms, got ${String(options.healthTimeoutMs)}`);
    }
    this.#transactionTimeoutMs = validMs('transactionTimeoutMs', options.transactionTimeoutMs) ?? 10_000;
    const kinds = ['default', 'read', 'write', 'batch'] as const;
    const hooks = (isRetryable: RetryHooks['isRetryable']) =>
      Object.fromEntries(kinds.map((kind) => [kind, { isRetryable, onRetry: this.#onRetry.bind(this, kind) }])) as Record<
        OperationKind,
        RetryHooks
      >;
    this.#hooks = { strict: hooks(retryableStrict), idempotent: hooks(retryableIdempotent) };
    this.#poolWaited = Object.fromEntries(kinds.map((kind) => [kind, () => this.#sink.poolWaited(kind)])) as Record<
      OperationKind,
      () => void
    >;
    const warmupProblem = checkWarmupMode(options.warmup);
    if (warmupProblem) throw new ConfigError('warmup', warmupProblem);
    if (options.warmupQuery !== undefined && typeof options.warmupQuery !== 'function')
      throw new ConfigError('warmupQuery', 'must be a function (tx) => Promise');
  }

  /** The resolved (redacted, frozen) config; initializes the manager. Throws ConfigError on bad input. */
  get config(): PoolConfig {
    return this.#init().config;
  }

  /** The primary Prisma client, for queries outside the wrappers. */
  get client(): C {
    return this.#primaryClient(this.#init().primary);
  }

  /** The primary pg.Pool (health checks, diagnostics). */
  get pool(): pg.Pool {
    return this.#init().primary.pool;
  }

  /** The first read replica's pool, or null without DATABASE_URL_READ. */
  get readPool(): pg.Pool | null {
    return this.#init().replicas[0]?.pool ?? null;
  }

  /** True after `disconnect()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once the pools exist (the first call or `config` access creates them). */
  get initialized(): boolean {
    return this.#state !== null;
  }

  /** Decided once, at the first call: see src/telemetry/telemetry.ts. */
  #resolveTelemetry(): Telemetry | null {
    if (this.#telemetry !== undefined) return this.#telemetry;
    this.#telemetry = createTelemetry(this.#telemetryOptions);
    if (this.#telemetry) this.#sink = fanOutSinks([this.#sink, this.#telemetry.sink]);
    managerLog('OpenTelemetry %s', this.#telemetry ? `on (tracing ${this.#telemetry.trace ? 'on' : 'off'})` : 'off');
    return this.#telemetry;
  }

  #init(): State<C> {
    if (this.#closed) throw new ManagerClosedError();
    if (this.#state) return this.#state;
    this.#resolveTelemetry();
    // Synchronous and side-effect free until it succeeds: a failure (bad env, a client factory
    // that throws) leaves no pool behind and the next call simply tries again.
    const config = resolvePoolConfig(this.#options.env ?? process.env, this.#options.pool);
    managerLog(
      'mode %s (%s); runtime %s; url %s; connection_limit %d (%s)',
      config.mode,
      config.reason,
      config.runtime,
      config.databaseUrl,
      config.connectionLimit,
      config.connectionLimitSource,
    );
    for (const warning of config.warnings) managerLog('warning: %s', warning);
    // One line per URL whose TLS encrypts without verifying (Prisma 6's sslmode=require): how to verify.
    for (const hint of [config.tls.verifyHint, ...config.readReplicas.map((r) => r.tls.verifyHint)]) if (hint) managerLog('tls: %s', hint);
    const poolName = this.#telemetryOptions.poolName;
    const primaryTarget = describePoolTarget('primary', config.connectionString, config.schema, { poolName });
    const primary = this.#createHandle(
      config,
      { connectionString: config.connectionString, connectionLimit: config.connectionLimit, tls: config.tls },
      primaryTarget,
    );
    const replicas: PoolHandle<C>[] = [];
    try {
      for (const replica of config.readReplicas) {
        const target = describePoolTarget('read', replica.connectionString, config.schema, {
          poolName,
          primaryPoolName: primaryTarget.poolName,
        });
        replicas.push(this.#createHandle(config, replica, target));
      }
    } catch (error) {
      for (const handle of [primary, ...replicas]) {
        handle.stopTelemetry?.();
        void handle.pool.end();
      }
      throw error;
    }
    const router =
      replicas.length === 0
        ? null
        : createReadRouter({
            handles: replicas,
            config,
            options: this.#routing,
            primaryPool: primary.pool,
            applicationName: this.#options.applicationName ?? 'connection-pool-manager',
            log: managerLog,
          });
    this.#state = { config, primary, replicas, router };
    this.#attachLifecycle(config);
    return this.#state;
  }

  #createHandle(
    config: PoolConfig,
    target: { connectionString: string; connectionLimit: number; tls: PoolConfig['tls'] },
    poolTarget: PoolTarget,
  ): PoolHandle<C> {
    const role = poolTarget.role;
    const { connectionString, connectionLimit, tls } = target;
    const variable = role === 'read' ? 'DATABASE_URL_READ' : 'DATABASE_URL';
    const { pool, adapter, readOnlyAdapter } = createPool({ connectionString, connectionLimit, tls, variable }, config, {
      // A replica behind PgBouncer that lost its server hangs a connected client instead of refusing
      // it: bound the wait so the read can still fall back to the primary within the pool timeout.
      beginTimeoutMs: role === 'read' ? replicaStartTimeoutMs(config) : undefined,
      applicationName: this.#options.applicationName ?? 'connection-pool-manager',
      onIdleError: (error) => managerLog('%s pool: idle connection error (%s), discarded', role, classifyError(error).kind),
    });
    try {
      managerLog(
        '%s pool created: max %d, pool timeout %d ms, connect timeout %d ms, idle %d ms, named statements %s',
        role,
        target.connectionLimit,
        config.poolTimeoutMs,
        config.connectTimeoutMs,
        config.idleTimeoutMs,
        config.statementCache ? 'on' : 'off',
      );
      const admission = new PoolAdmission(pool, target.connectionLimit, this.#options.maxWaitingCallers);
      const stopTelemetry = this.#telemetry?.observePool(pool, target.connectionLimit, poolTarget) ?? null;
      return {
        role,
        target: poolTarget,
        client: null,
        adapter,
        readOnlyClient: null,
        readOnlyAdapter,
        pool,
        limit: target.connectionLimit,
        admission,
        stopTelemetry,
      };
    } catch (error) {
      void pool.end();
      throw error;
    }
  }

  /** Vercel keep-alive (inert off Vercel) and the automatic warmup, once the pools exist. */
  #attachLifecycle(config: PoolConfig): void {
    const state = this.#state as State<C>;
    const env = this.#options.env ?? process.env;
    for (const handle of [state.primary, ...state.replicas]) {
      const detach = attachVercelKeepAlive(handle.pool, env, { idleTimeoutMs: config.idleTimeoutMs, log: managerLog });
      if (detach) this.#detach.push(detach);
    }
    if (this.#detach.length > 0)
      managerLog('vercel: keeping the instance alive until idle connections close (%d ms)', config.idleTimeoutMs);
    if (autoWarmup(this.#options.warmup, config.serverless)) void this.warmup();
  }

  /**
   * Opens every pool connection (up to `connection_limit` each) concurrently and starts Prisma's
   * engine, so the first request does not pay for them in series; the connections then sit idle in
   * the pool and close after the idle timeout like any other. Do not await it at module scope:
   * `void manager.warmup()`. Never rejects (failures are logged and counted in `getMetrics()`;
   * the first real call connects as usual). Runs once: later calls return the first call's promise.
   */
  warmup(): Promise<void> {
    // Deferred a microtask so that #init, which may itself trigger warmup ('auto'), sees it started.
    this.#warmup ??= Promise.resolve().then(() => this.#runWarmup());
    return this.#warmup;
  }

  async #runWarmup(): Promise<void> {
    let state: State<C>;
    try {
      state = this.#init();
    } catch (error) {
      if (!(error instanceof ManagerClosedError)) this.#warmupCounts.failures++;
      managerLog('warmup skipped: %s', classifyError(error).kind);
      return;
    }
    const handles = [state.primary, ...state.replicas];
    const query = this.#options.warmupQuery;
    const result = await runWarmup({
      // Readers get a client of their own (#readOnlyClient): its engine starts here too.
      startEngine: async () => {
        await Promise.all(handles.flatMap((h) => [this.#primaryClient(h).$connect?.(), this.#readOnlyClient(h).$connect?.()]));
      },
      targets: handles,
      // Once per pool, on the client readWithPooling uses, as its transaction, but not an app
      // operation: no retry, no metrics, no span. The failure itself, not its AttemptFailure wrapper.
      query: query
        ? () =>
            Promise.all(
              handles.map((h) =>
                runTransactionAttempt(this.#readOnlyClient(h) as TransactionCapable<TransactionClientOf<C>>, (tx) => query(tx), 1, {
                  transaction: {
                    isolationLevel: 'ReadCommitted',
                    maxWait: state.config.poolTimeoutMs + 1000,
                    timeout: this.#transactionTimeoutMs,
                  },
                  poolTimeoutMs: state.config.poolTimeoutMs,
                  signal: undefined,
                }).catch((caught: unknown) => {
                  throw toAttemptFailure(caught).error;
                }),
              ),
            )
        : undefined,
      log: managerLog,
    });
    this.#warmupCounts.connections += result.opened;
    this.#warmupCounts.failures += result.failures;
  }

  /** A transaction with the retry policy; isolation is the database default unless given. */
  withPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#execute('default', fn, options, { readOnly: false, useReplica: false });
  }

  /**
   * ReadCommitted, READ ONLY; retried on any transient error. With DATABASE_URL_READ it runs on a
   * replica that has replayed this instance's writes (and `options.after`), else on the primary.
   */
  readWithPooling<R>(fn: TransactionFn<C, R>, options: ReadOptions = {}): Promise<R> {
    return this.#execute('read', fn, { isolationLevel: 'ReadCommitted', ...options }, { readOnly: true, useReplica: true });
  }

  /** Serializable by default, always the primary; retried on conflicts and pre-COMMIT connection errors. */
  writeWithPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#execute('write', fn, { isolationLevel: 'Serializable', ...options }, { readOnly: false, useReplica: false });
  }

  /**
   * `parallel: false` (default): ops run in order inside ONE transaction — all or nothing.
   * `parallel: true`: each op in its own transaction, at most `connection_limit` at a time,
   * results in input order; if any fails, rejects with BatchError whose `outcomes` say which committed.
   */
  async batchWithPooling<const Ops extends readonly TransactionFn<C, unknown>[]>(
    ops: Ops,
    options: BatchOptions = {},
  ): Promise<BatchResults<Ops>> {
    const { parallel = false, ...txOptions } = options;
    if (!Array.isArray(ops) || ops.some((op) => typeof op !== 'function')) throw new ConfigError('ops', 'must be an array of functions');
    if (!parallel) {
      return this.#execute(
        'batch',
        async (tx, context) => {
          const results: unknown[] = [];
          for (const op of ops) results.push(await op(tx, context));
          return results as BatchResults<Ops>;
        },
        txOptions,
        { readOnly: false, useReplica: false },
      );
    }
    const trace = this.#resolveTelemetry()?.trace;
    const run = () => this.#parallelBatch(ops, txOptions) as Promise<BatchResults<Ops>>;
    return trace ? trace('batch', run) : run();
  }

  /**
   * A token that makes `readWithPooling(fn, { after: token })` on any instance see every write
   * this instance committed before the call. Opaque and short (`v1.0.3001250`): carry it in a
   * cookie or a header. One query on the primary unless the position is already known.
   */
  async consistencyToken(): Promise<string> {
    const state = this.#init();
    if (state.router) return state.router.consistencyToken();
    return encodeConsistencyToken(await fetchCommitPosition(state.primary.pool));
  }

  async #parallelBatch(ops: readonly TransactionFn<C, unknown>[], txOptions: TransactionOptions): Promise<unknown[]> {
    const startedAt = process.hrtime.bigint();
    const outcomes = await mapBounded(ops, this.#init().primary.limit, (op) =>
      this.#execute('batch', op, txOptions, { readOnly: false, useReplica: false, scope: 'parallel-batch-item' }),
    );
    const failed = outcomes.find((o) => o.status === 'rejected');
    this.#sink.operationFinished({
      kind: 'batch',
      scope: 'parallel-batch',
      durationNs: process.hrtime.bigint() - startedAt,
      error: failed ? classifyError(failed.reason) : null,
      pool: 'primary',
    });
    if (failed) throw new BatchError(outcomes);
    return outcomes.map((o) => (o as { value: unknown }).value);
  }

  /** One wrapper call (or one transaction of a parallel batch), inside its span when tracing. */
  #execute<R>(kind: OperationKind, fn: TransactionFn<C, R>, options: ReadOptions, route: Route): Promise<R> {
    const trace = this.#resolveTelemetry()?.trace;
    return trace ? trace(kind, () => this.#run(kind, fn, options, route)) : this.#run(kind, fn, options, route);
  }

  async #run<R>(kind: OperationKind, fn: TransactionFn<C, R>, options: ReadOptions, route: Route): Promise<R> {
    const startedAt = process.hrtime.bigint();
    const scope = route.scope ?? 'call';
    let pool: PoolRole | null = null;
    this.#inFlight++;
    try {
      const state = this.#init();
      const policy = options.retry ? resolveRetryOptions(options.retry, this.#retry) : this.#retry;
      const hooks = (options.idempotent ?? route.readOnly) ? this.#hooks.idempotent : this.#hooks.strict;
      const transaction = {
        isolationLevel: options.isolationLevel,
        maxWait: validMs('maxWait', options.maxWait) ?? state.config.poolTimeoutMs + 1000,
        timeout: validMs('timeout', options.timeout) ?? this.#transactionTimeoutMs,
      };
      let result: R;
      if (route.useReplica && state.router) {
        // Reads with replicas: each attempt is routed afresh (src/routing), so a replica that could
        // not serve one attempt is skipped by the next.
        const after = parseConsistencyToken(options.after, 'after');
        const { router, primary } = state;
        const routed = async (_: null, attempt: number): Promise<R> => {
          const decision: ReadDecision<PoolHandle<C>> = router.route(after);
          const handle = decision.handle ?? primary;
          pool = handle.role;
          // On a replica, a shorter start deadline leaves time to fall back to the primary within the pool timeout.
          const maxWait = decision.handle ? Math.min(transaction.maxWait, replicaStartTimeoutMs(state.config)) : transaction.maxWait;
          const call = this.#call(kind, handle, fn, route, { ...transaction, maxWait }, state.config.poolTimeoutMs, options.signal);
          try {
            return await attemptCall(call, attempt);
          } catch (caught) {
            if (!decision.handle) throw caught;
            const failure = toAttemptFailure(caught);
            // The replica could not serve: the next attempt goes to the primary, whatever the kind.
            if (!router.replicaFailed(decision, failure.classification)) throw failure;
            throw new AttemptFailure(failure.error, { ...failure.classification, retryable: true });
          }
        };
        result = await retry(routed, null, policy, hooks[kind], options.signal);
      } else {
        // Without replicas (no router) every call, reads included, runs on the primary.
        const handle = state.primary;
        pool = handle.role;
        const call = this.#call(kind, handle, fn, route, transaction, state.config.poolTimeoutMs, options.signal);
        result = await retry(attemptCall, call, policy, hooks[kind], options.signal);
      }
      this.#sink.operationFinished({ kind, scope, durationNs: process.hrtime.bigint() - startedAt, error: null, pool });
      return result;
    } catch (caught) {
      const { error, classification } = toAttemptFailure(caught);
      const { kind: errorKind, code } = classification;
      if (errorKind === 'outcome-unknown') poolingLog('%s: connection lost during COMMIT, outcome unknown (not retried)', kind);
      else if (error instanceof PoolSaturatedError) poolingLog('shedding load: %d callers already waiting', error.waiting);
      this.#sink.operationFinished({ kind, scope, durationNs: process.hrtime.bigint() - startedAt, error: classification, pool });
      poolingLog('%s failed: %s%s', kind, errorKind, code ? ` ${code}` : '');
      throw error;
    } finally {
      // Whatever the outcome, a primary transaction may have committed a write: reads catch up with it.
      if (!route.readOnly) this.#state?.router?.noteWrite();
      if (--this.#inFlight === 0) for (const notify of this.#onDrained.splice(0)) notify();
    }
  }

  /** Everything one call's attempts on `handle` need, in one object. */
  #call<R>(
    kind: OperationKind,
    handle: PoolHandle<C>,
    fn: TransactionFn<C, R>,
    route: Route,
    transaction: AttemptOptions['transaction'],
    poolTimeoutMs: number,
    signal: AbortSignal | undefined,
  ): Call<C, R> {
    return {
      client: (route.readOnly ? this.#readOnlyClient(handle) : this.#primaryClient(handle)) as TransactionCapable<TransactionClientOf<C>>,
      fn,
      admission: handle.admission,
      onPoolWait: this.#poolWaited[kind],
      transaction,
      poolTimeoutMs,
      signal,
    };
  }

  /**
   * Built at first use, not with the pool: a first request that reads would otherwise pay for a
   * client it does not use (a PrismaClient takes milliseconds to construct; docs/benchmarks.md, cold start).
   */
  #primaryClient(handle: PoolHandle<C>): C {
    handle.client ??= this.#options.createClient(handle.adapter);
    return handle.client;
  }

  /** A read-only transaction needs a client of its own: Prisma passes the adapter no "read only" flag. */
  #readOnlyClient(handle: PoolHandle<C>): C {
    handle.readOnlyClient ??= this.#options.createClient(handle.readOnlyAdapter);
    return handle.readOnlyClient;
  }

  #onRetry(kind: OperationKind, { attempt, classification, delayMs }: RetryEvent): void {
    this.#sink.attemptRetried({ kind, attempt, error: classification, delayMs });
    poolingLog(
      '%s attempt %d failed (%s%s); retrying in %d ms',
      kind,
      attempt,
      classification.kind,
      classification.code ? ` ${classification.code}` : '',
      delayMs,
    );
  }

  /** Counters and latency percentiles since creation or the last `resetMetrics()`, plus live pool figures. */
  getMetrics(): ManagerMetrics {
    const state = this.#state;
    const replicaPools = state?.replicas.map((h) => readPoolStats(h.pool, h.limit)) ?? [];
    return {
      ...this.#metrics.snapshot(),
      pool: state ? readPoolStats(state.primary.pool, state.primary.limit) : { ...EMPTY_POOL },
      readPool: replicaPools.length === 0 ? null : replicaPools.reduce(addPoolStats),
      readsByTarget: state?.router?.readsByTarget() ?? { replica: 0, 'primary-fallback': 0, 'primary-consistency': 0 },
      replicas: state?.router?.figures() ?? [],
      warmupConnections: this.#warmupCounts.connections,
      warmupFailures: this.#warmupCounts.failures,
      poolNames: state ? { primary: state.primary.target.poolName, read: state.replicas[0]?.target.poolName ?? null } : null,
    };
  }

  /** Starts a new metrics window. */
  resetMetrics(): void {
    this.#metrics.reset();
    this.#state?.router?.resetCounts();
  }

  /**
   * The seed's health report: `SELECT 1` on a fresh connection (never queued behind the app's
   * transactions; see src/pool/health-probes.ts), the primary pool's figures, and PgBouncer's
   * when `PGBOUNCER_ADMIN_URL` is set. Answers within about `healthTimeoutMs`, whatever the database does.
   */
  getHealth(): Promise<HealthReport> {
    // Single flight: callers that arrive while a probe runs share its answer, so a burst of
    // health requests (a load balancer, `autocannon -c 100`) costs one probe, not a hundred connects.
    this.#healthInFlight ??= this.#probeHealth().finally(() => {
      this.#healthInFlight = null;
    });
    return this.#healthInFlight;
  }

  async #probeHealth(): Promise<HealthReport> {
    const { config, primary, router } = this.#init();
    const timeoutMs = this.#options.healthTimeoutMs ?? 2000;
    const applicationName = `${this.#options.applicationName ?? 'connection-pool-manager'}:health`;
    // pg's own timeouts are a backstop only: the deadline in checkHealth decides (and aborts the probe).
    const probe = { timeoutMs: timeoutMs + 1000, applicationName };
    const adminUrl = config.pgbouncerAdminConnectionString;
    const { report, verdict } = await checkHealthDetailed(
      {
        mode: config.mode,
        port: config.port,
        provider: config.provider,
        poolStats: () => readPoolStats(primary.pool, primary.limit),
        // The pool's own settings builder (inside the probe: an unreadable CA file is a failed check, not a throw).
        pingDatabase: (signal) => pingDatabase(buildClientSettings(config.connectionString, { tls: config.tls }), { ...probe, signal }),
        readPgbouncer: adminUrl ? (signal) => readPgbouncerPools(adminUrl, config.database ?? '', { ...probe, signal }) : null,
        readReplicas: router ? (signal) => router.health(signal) : null,
      },
      { timeoutMs, thresholds: this.#options.healthThresholds },
    );
    if (report.status !== this.#lastHealth) {
      managerLog(
        'health %s -> %s%s',
        this.#lastHealth ?? 'unknown',
        report.status,
        verdict.reasons.length > 0 ? ` (${verdict.reasons.join('; ')})` : '',
      );
      this.#lastHealth = report.status;
    }
    return report;
  }

  /**
   * Graceful shutdown (SIGTERM): new calls fail at once with ManagerClosedError, calls already
   * running finish (commit or fail as they would), then the pools close. Waits at most
   * `timeoutMs` (default 10000) for running calls before closing anyway. Resolves with
   * `drained: false` when it had to stop waiting. Idempotent with `disconnect()`.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<{ drained: boolean }> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0))
      throw new ConfigError('timeoutMs', `must be a number ≥ 0, got ${String(options.timeoutMs)}`);
    this.#closed = true; // new calls are refused; running ones keep their pool handle
    let drained = this.#inFlight === 0;
    if (!drained) {
      let timer: NodeJS.Timeout | undefined;
      drained = await Promise.race([
        new Promise<boolean>((resolve) => this.#onDrained.push(() => resolve(true))),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
          timer.unref(); // running calls keep the process alive on their own; this timer must not
        }),
      ]);
      clearTimeout(timer);
    }
    managerLog('shutdown: %s', drained ? 'every running call settled' : `stopped waiting after ${timeoutMs} ms`);
    await this.disconnect();
    return { drained };
  }

  /** Ends the pools and the clients. Idempotent; later calls to the wrappers throw ManagerClosedError. */
  disconnect(): Promise<void> {
    this.#closing ??= this.#dispose();
    return this.#closing;
  }

  async #dispose(): Promise<void> {
    this.#closed = true;
    const state = this.#state;
    this.#state = null;
    if (!state) return;
    await state.router?.close();
    const handles = [state.primary, ...state.replicas];
    for (const h of handles) h.stopTelemetry?.();
    this.#telemetry?.dispose();
    const clients = handles.flatMap((h) => [h.client, h.readOnlyClient].filter((c): c is C => c !== null));
    await Promise.all(
      clients.map((client) =>
        client.$disconnect().catch((error: unknown) => managerLog('client disconnect failed: %s', classifyError(error).kind)),
      ),
    );
    await Promise.all(handles.map((h) => h.pool.end()));
    // After pool.end: its `remove` events have already settled any Vercel keep-alive promise.
    for (const detach of this.#detach.splice(0)) detach();
    managerLog('disconnected');
  }
}

/**
 * An app's manager, usually created once in its service file. With a `globalKey` (the default in
 * development, see the option) a live manager created earlier under the same key is returned
 * instead of a new one.
 */
export function createConnectionPoolManager<C extends PrismaClientLike>(
  options: ConnectionPoolManagerOptions<C>,
): ConnectionPoolManager<C> {
  const key = options?.globalKey === undefined ? defaultGlobalKey(options) : options.globalKey;
  if (key === null) return new ConnectionPoolManager(options);
  if (typeof key !== 'string' || key === '') throw new ConfigError('globalKey', `must be a non-empty string or null, got ${String(key)}`);
  const slot = Symbol.for(`prisma-pgbouncer-pooling.manager:${key}`);
  const store = globalThis as unknown as Record<symbol, ConnectionPoolManager<C> | undefined>;
  const existing = store[slot];
  // Duck-typed: after a reload the class object may be a different copy of the same code.
  if (existing && typeof existing === 'object' && existing.closed === false) return existing;
  const manager = new ConnectionPoolManager(options);
  store[slot] = manager;
  return manager;
}

function defaultGlobalKey(options: ConnectionPoolManagerOptions<PrismaClientLike> | undefined): string | null {
  return options?.env === undefined && process.env.NODE_ENV !== 'production' ? 'default' : null;
}
