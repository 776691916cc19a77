/**
 * The composition root: config → pools (./pool-set.ts) → retry → metrics and telemetry, and the
 * lifecycle around them: lazy init-once (a failed init is retried on the next call), dispose-once.
 *
 * Follow one call: `writeWithPooling(fn)` → `#execute()` (its span, when OpenTelemetry is on) →
 * `#run()` (the operation sink: src/metrics/sink.ts; load shedding) → `retry()`
 * (src/transaction/retry.ts) → `runTransactionAttempt()` (src/transaction/run-transaction.ts) →
 * `client.$transaction` → our adapter (src/adapter/: one pipelined BEGIN, adapter-pg's query path) →
 * the `pg.Pool` built in src/pool/create-pool.ts.
 */
import type pg from 'pg';
import { hostListSummary } from '../config/host-list.ts';
import { checkMilliseconds } from '../config/milliseconds.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import { resolvePoolConfig } from '../config/resolve-pool-config.ts';
import { classifyError, type ErrorClassification } from '../errors/classify-error.ts';
import { BatchError, ConfigError, ManagerClosedError, PoolSaturatedError } from '../errors/errors.ts';
import { createPoolingClient, type Pin, type PlainCall, type PoolingClient, proxyClient } from '../extension/client-extension.ts';
import { isReadOperation, RAW_QUERY_OPERATIONS, replay } from '../extension/operations.ts';
import { checkHealthDetailed, type HealthReport, type HealthStatus } from '../health/health-check.ts';
import { attachPlatformLifecycle } from '../lifecycle/platform-lifecycle.ts';
import { peekRequestScoped, requestScoped } from '../lifecycle/request-scope.ts';
import { autoWarmup, runWarmup } from '../lifecycle/warmup.ts';
import { emitConfigWarnings } from '../logging/config-warnings.ts';
import { managerLog, poolingLog } from '../logging/loggers.ts';
import {
  createMetrics,
  createMetricsSink,
  type Metrics,
  OPERATION_KINDS,
  type OperationKind,
  type OperationName,
} from '../metrics/metrics.ts';
import { EMPTY_POOL_STATS, sumPoolStats } from '../metrics/pool-stats.ts';
import { fanOutSinks, type OperationScope, type OperationSink, type PoolTarget, type TraceHandle } from '../metrics/sink.ts';
import { buildClientSettings } from '../pool/client-settings.ts';
import { pingDatabase, readPgbouncerPools } from '../pool/health-probes.ts';
import type { PoolAdmission } from '../pool/pool-admission.ts';
import { readPoolStats } from '../pool/read-pool-stats.ts';
import { fetchWalPosition } from '../routing/commit-position.ts';
import { encodeConsistencyToken, parseTokenPosition } from '../routing/consistency-token.ts';
import type { ReadDecision } from '../routing/read-router.ts';
import { replicaStartTimeoutMs } from '../routing/routing-options.ts';
import { assertTcpRuntime } from '../runtime/edge-runtime.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';
import { createTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { logFailoverRetry } from '../transaction/failover-log.ts';
import { mapBounded } from '../transaction/map-bounded.ts';
import { AttemptFailure, type RetryEvent, type RetryHooks, resolveRetryOptions, retry, toAttemptFailure } from '../transaction/retry.ts';
import { type PlainAttempt, type PlainAttemptState, runPlainAttempt, WriteInDisguise } from '../transaction/run-plain-attempt.ts';
import {
  type AttemptOptions,
  type PrismaTransactionOptions,
  runTransactionAttempt,
  type TransactionCapable,
} from '../transaction/run-transaction.ts';
import { type ConnectionPoolManagerOptions, type ResolvedManagerOptions, resolveManagerOptions } from './manager-options.ts';
import { closePoolSet, openPoolSet, type PoolHandle, type PoolSet, readOnlyClientOf } from './pool-set.ts';
import type {
  BatchOptions,
  BatchResults,
  ManagerMetrics,
  PrismaClientLike,
  ReadOptions,
  TransactionClientOf,
  TransactionFn,
  TransactionOptions,
} from './types.ts';

export type { ConnectionPoolManagerOptions } from './manager-options.ts';
export type {
  BatchOptions,
  BatchResults,
  ManagerMetrics,
  NamedPoolStats,
  PrismaClientLike,
  ReadOptions,
  TransactionClientOf,
  TransactionFn,
  TransactionOptions,
} from './types.ts';

/** Where a call runs; `scope` tells the sinks what a finished record stands for (see OperationScope). */
interface Route {
  /** READ ONLY, and routed to a caught-up replica when there are replicas. */
  readOnly: boolean;
  /** Defaults to `call`. */
  scope?: OperationScope;
}

type Hooks = RetryHooks<TraceHandle | undefined>;

const READ: Route = Object.freeze({ readOnly: true });
const WRITE: Route = Object.freeze({ readOnly: false });
const BATCH_ITEM: Route = Object.freeze({ readOnly: false, scope: 'parallel-batch-item' });

/**
 * The one rule for an unknown COMMIT outcome: retried only when the call is idempotent
 * (`idempotent`, which defaults to true for reads and false otherwise).
 */
const retryableStrict = (c: ErrorClassification): boolean => c.retryable;
const retryableIdempotent = (c: ErrorClassification): boolean => c.retryable || c.kind === 'outcome-unknown';

/** Prisma's transaction options for one call: the caller's, else the defaults derived from the pool config. */
function transactionOptions(config: PoolConfig, defaultTimeoutMs: number, options: TransactionOptions): PrismaTransactionOptions {
  return {
    isolationLevel: options.isolationLevel,
    maxWait: checkMilliseconds('maxWait', options.maxWait) ?? config.poolTimeoutMs + 1000,
    timeout: checkMilliseconds('timeout', options.timeout) ?? defaultTimeoutMs,
  };
}

/** One wrapper call: everything its attempts need, in one object (no per-attempt closures). */
interface Call<C, R> extends AttemptOptions {
  readonly kind: OperationKind;
  readonly client: TransactionCapable<TransactionClientOf<C>>;
  readonly fn: TransactionFn<C, R>;
  readonly admission: PoolAdmission;
  readonly sink: OperationSink;
  readonly trace: TraceHandle | undefined;
  /** The last attempt had to queue for a connection (every one of its pool's was taken). */
  waited: boolean;
}

/** One attempt: admission (load shedding, the pool-wait count), then the transaction. */
function attemptCall<C, R>(call: Call<C, R>, attempt: number): Promise<R> {
  call.waited = call.admission.admit();
  if (call.waited) call.sink.poolWaited(call.kind, call.trace);
  return runTransactionAttempt(call.client, call.fn, attempt, call).finally(call.admission.settle);
}

export class ConnectionPoolManager<C extends PrismaClientLike> {
  readonly #options: ResolvedManagerOptions<C>;
  /** Retry hooks per operation kind and unknown-outcome rule, built once (a call allocates none). */
  readonly #hooks: { readonly strict: Record<OperationKind, Hooks>; readonly idempotent: Record<OperationKind, Hooks> };
  readonly #metrics: Metrics = createMetrics();
  /** Every per-operation record goes here: the built-in metrics, plus telemetry once resolved. */
  #sink: OperationSink = createMetricsSink(this.#metrics);
  /** undefined until the first call decides; null when off. */
  #telemetry: Telemetry | null | undefined;
  /** `prisma`'s extended client for each pool set (the process-wide one, or a request's). */
  readonly #poolingClients = new WeakMap<PoolSet<C>, PoolingClient<C>>();
  #pools: PoolSet<C> | null = null;
  #closed = false;
  /** A call has succeeded: the database was reachable once, so "refused" now means it is moving (src/transaction/retry.ts `failoverArmed`). */
  #reached = false;
  #closing: Promise<void> | null = null;
  /** Wrapper calls that have not settled yet, and who waits for that number to reach 0. */
  #inFlight = 0;
  readonly #onDrained: (() => void)[] = [];
  /** The last reported health status, to log changes only. */
  #lastHealth: HealthStatus | null = null;
  #healthInFlight: Promise<HealthReport> | null = null;
  #warmup: Promise<void> | null = null;
  #prisma: PoolingClient<C> | null = null;
  readonly #warmupCounts = { connections: 0, failures: 0 };
  /** Detaches the platform keep-alive of each pool (empty off such platforms). */
  readonly #detach: (() => void)[] = [];

  constructor(options: ConnectionPoolManagerOptions<C>) {
    assertTcpRuntime(); // an edge runtime (no TCP): one ConfigError, also when the import guard was tree-shaken
    this.#options = resolveManagerOptions(options);
    // Bound, so an app can export them destructured: `export const { withPooling } = manager`.
    this.withPooling = this.withPooling.bind(this);
    this.readWithPooling = this.readWithPooling.bind(this);
    this.writeWithPooling = this.writeWithPooling.bind(this);
    this.batchWithPooling = this.batchWithPooling.bind(this);
    this.getMetrics = this.getMetrics.bind(this);
    this.getHealth = this.getHealth.bind(this);
    const hooks = (isRetryable: Hooks['isRetryable']) =>
      Object.fromEntries(
        OPERATION_KINDS.map((kind) => [kind, { isRetryable, onRetry: this.#onRetry.bind(this, kind), failoverArmed: () => this.#reached }]),
      ) as Record<OperationKind, Hooks>;
    this.#hooks = { strict: hooks(retryableStrict), idempotent: hooks(retryableIdempotent) };
  }

  /** The resolved (redacted, frozen) config; initializes the manager. Throws ConfigError on bad input. */
  get config(): PoolConfig {
    return this.#init().config;
  }

  /** The primary Prisma client, for queries outside the wrappers. */
  get client(): C {
    return this.#init().primary.client;
  }

  /** The primary pg.Pool (health checks, diagnostics). */
  get pool(): pg.Pool {
    return this.#init().primary.pool;
  }

  /** The first read replica's pool, or null without DATABASE_URL_READ (`readPools` has them all). */
  get readPool(): pg.Pool | null {
    return this.#init().replicas[0]?.pool ?? null;
  }

  /** Every read replica's pool, in DATABASE_URL_READ order (empty without replicas). */
  get readPools(): readonly pg.Pool[] {
    return this.#init().replicas.map((h) => h.pool);
  }

  /**
   * The app's client, extended so that plain calls — `prisma.user.findMany()`, `$queryRaw` … — get
   * the wrappers' guarantees: classified retries (a write whose outcome is unknown raises
   * TransactionOutcomeUnknownError, never a blind retry), metrics and spans per operation, and
   * replica routing with read-your-writes. `prisma.$primary()` / `$replica()` pin one call. Built
   * at its first use, so `export const prisma = manager.prisma` in the service file opens nothing.
   * See docs/client-extension.md.
   */
  get prisma(): PoolingClient<C> {
    // One extended client per pool set, looked up at each use: a Worker's requests each have their own.
    this.#prisma ??= proxyClient(() => {
      const pools = this.#init();
      let client = this.#poolingClients.get(pools);
      if (!client) {
        client = createPoolingClient(pools.primary.client, { run: (call, pin, after) => this.#plain(call, pin, after) });
        this.#poolingClients.set(pools, client);
      }
      return client;
    });
    return this.#prisma;
  }

  /** True after `disconnect()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once the pools exist (the first call or `config` access creates them). */
  get initialized(): boolean {
    return this.#pools !== null;
  }

  /** Decided once, at the first call: see src/telemetry/telemetry.ts. */
  #resolveTelemetry(): Telemetry | null {
    if (this.#telemetry !== undefined) return this.#telemetry;
    this.#telemetry = createTelemetry(this.#options.telemetry);
    if (this.#telemetry) this.#sink = fanOutSinks([this.#sink, this.#telemetry.sink]);
    managerLog('OpenTelemetry %s', this.#telemetry ? `on (tracing ${this.#telemetry.trace ? 'on' : 'off'})` : 'off');
    return this.#telemetry;
  }

  #init(): PoolSet<C> {
    if (this.#closed) throw new ManagerClosedError();
    // In a request scope (Cloudflare Workers: src/platforms/cloudflare/) the pools are the request's own.
    const scoped = requestScoped(this, (env) => this.#openPools(env), closePoolSet);
    if (scoped) return scoped;
    if (this.#pools) return this.#pools;
    const pools = this.#openPools(this.#options.env ?? process.env);
    const { config } = pools;
    try {
      this.#attachLifecycle(pools);
    } catch (error) {
      void closePoolSet(pools);
      throw error;
    }
    this.#pools = pools;
    if (autoWarmup(this.#options.warmup, config.serverless)) void this.warmup();
    return pools;
  }

  /** The pools calls use now: the request's own in a request scope, else the process-wide ones (null before the first call). */
  #current(): PoolSet<C> | null {
    return peekRequestScoped<PoolSet<C>>(this) ?? this.#pools;
  }

  #openPools(env: Readonly<Record<string, string | undefined>>): PoolSet<C> {
    const telemetry = this.#resolveTelemetry();
    // Side-effect free until it succeeds: a failure (bad env, a client factory that throws) leaves
    // no pool behind, and the next call simply tries again.
    const config = resolvePoolConfig(env, this.#options.pool);
    logConfig(config, this.#options.onWarning);
    return openPoolSet(config, this.#options, telemetry);
  }

  /** The platform's lifecycle for each pool: the keep-alive, fed by the request's waitUntil (none off such platforms). */
  #attachLifecycle(pools: PoolSet<C>): void {
    const env = this.#options.env ?? process.env;
    const { idleTimeoutMs } = pools.config;
    const emitters = pools.all.map((handle) => handle.pool);
    this.#detach.push(...attachPlatformLifecycle(emitters, { env, idleTimeoutMs, waitUntil: this.#options.waitUntil, log: managerLog }));
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
    let pools: PoolSet<C>;
    try {
      pools = this.#init();
    } catch (error) {
      if (!(error instanceof ManagerClosedError)) this.#warmupCounts.failures++;
      managerLog('warmup skipped: %s', classifyError(error).kind);
      return;
    }
    const query = this.#options.warmupQuery;
    const { createClient } = this.#options;
    // Once per pool, on the client readWithPooling uses, as its transaction, but not an app
    // operation: no retry, no metrics, no span. The failure itself, not its AttemptFailure wrapper.
    const attempt: AttemptOptions = {
      transaction: transactionOptions(pools.config, this.#options.transactionTimeoutMs, { isolationLevel: 'ReadCommitted' }),
      poolTimeoutMs: pools.config.poolTimeoutMs,
      signal: undefined,
    };
    const result = await runWarmup({
      // Readers get a client of their own (readOnlyClientOf): its engine starts here too.
      startEngine: async () => {
        await Promise.all(pools.all.flatMap((h) => [h.client.$connect?.(), readOnlyClientOf(h, createClient).$connect?.()]));
      },
      targets: pools.all,
      query: query
        ? () =>
            Promise.all(
              pools.all.map((h) =>
                runTransactionAttempt(
                  readOnlyClientOf(h, createClient) as TransactionCapable<TransactionClientOf<C>>,
                  (tx) => query(tx),
                  1,
                  attempt,
                ).catch((caught: unknown) => {
                  throw toAttemptFailure(caught).error;
                }),
              ),
            )
        : undefined,
      log: managerLog,
    });
    this.#warmupCounts.connections += result.opened;
    if (result.opened > 0) this.#reached = true;
    this.#warmupCounts.failures += result.failures;
  }

  /** A transaction with the retry policy; isolation is the database default unless given. */
  withPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#execute('default', fn, options, WRITE);
  }

  /**
   * ReadCommitted, READ ONLY; retried on any transient error. With DATABASE_URL_READ it runs on a
   * replica that has replayed this instance's writes (and `options.after`), else on the primary.
   */
  readWithPooling<R>(fn: TransactionFn<C, R>, options: ReadOptions = {}): Promise<R> {
    return this.#execute('read', fn, { isolationLevel: 'ReadCommitted', ...options }, READ);
  }

  /** Serializable by default, always the primary; retried on conflicts and pre-COMMIT connection errors. */
  writeWithPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#execute('write', fn, { isolationLevel: 'Serializable', ...options }, WRITE);
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
        WRITE,
      );
    }
    const trace = this.#resolveTelemetry()?.trace;
    const run = (handle?: TraceHandle) => this.#parallelBatch(ops, txOptions, handle) as Promise<BatchResults<Ops>>;
    return trace ? trace('batch', this.#current()?.primary.target ?? null, run) : run();
  }

  /**
   * A token that makes `readWithPooling(fn, { after: token })` on any instance see every write
   * this instance committed before the call. Opaque and short (`v1.0.3001250`): carry it in a
   * cookie or a header. One query on the primary unless the position is already known.
   */
  async consistencyToken(): Promise<string> {
    const pools = this.#init();
    if (pools.router) return pools.router.consistencyToken();
    const { lsn, timeline } = await fetchWalPosition(pools.primary.pool);
    return encodeConsistencyToken(lsn, timeline);
  }

  async #parallelBatch(
    ops: readonly TransactionFn<C, unknown>[],
    txOptions: TransactionOptions,
    trace: TraceHandle | undefined,
  ): Promise<unknown[]> {
    const startedAt = process.hrtime.bigint();
    const primary = this.#init().primary;
    // Each transaction of the batch is a span of its own, inside the batch's.
    const outcomes = await mapBounded(ops, primary.limit, (op) => this.#execute('batch', op, txOptions, BATCH_ITEM));
    const failed = outcomes.find((o) => o.status === 'rejected');
    this.#sink.operationFinished({
      kind: 'batch',
      scope: 'parallel-batch',
      durationNs: process.hrtime.bigint() - startedAt,
      error: failed ? classifyError(failed.reason) : null,
      pool: primary.target,
      trace,
    });
    if (failed) throw new BatchError(outcomes);
    return outcomes.map((o) => (o as { value: unknown }).value);
  }

  /** One wrapper call, inside its span when tracing. */
  #execute<R>(kind: OperationKind, fn: TransactionFn<C, R>, options: ReadOptions, route: Route): Promise<R> {
    const trace = this.#resolveTelemetry()?.trace;
    if (!trace) return this.#run(kind, fn, options, route, undefined);
    return trace(kind, this.#current()?.primary.target ?? null, (handle) => this.#run(kind, fn, options, route, handle));
  }

  async #run<R>(
    kind: OperationKind,
    fn: TransactionFn<C, R>,
    options: ReadOptions,
    route: Route,
    trace: TraceHandle | undefined,
  ): Promise<R> {
    const startedAt = process.hrtime.bigint();
    const scope = route.scope ?? 'call';
    let served: PoolTarget | null = null;
    this.#inFlight++;
    try {
      const pools = this.#init();
      const policy = options.retry ? resolveRetryOptions(options.retry, this.#options.retry) : this.#options.retry;
      const hooks = ((options.idempotent ?? route.readOnly) ? this.#hooks.idempotent : this.#hooks.strict)[kind];
      const transaction = transactionOptions(pools.config, this.#options.transactionTimeoutMs, options);
      // Checked on every read, with or without replicas: a bad token is the caller's bug either way.
      const after = route.readOnly ? parseTokenPosition(options.after, 'after') : null;
      const { router, primary } = pools;
      let result: R;
      if (route.readOnly && router) {
        // Reads with replicas: each attempt is routed afresh (src/routing), so a replica that could
        // not serve one attempt is skipped by the next.
        let replicaBusy = false;
        const routed = async (_: null, attempt: number): Promise<R> => {
          const decision: ReadDecision<PoolHandle<C>> = router.route(
            after?.lsn ?? null,
            replicaBusy ? 'primary' : 'consistent',
            after?.timeline ?? null,
          );
          const handle = decision.handle ?? primary;
          served = handle.target;
          // On a replica, a shorter start deadline leaves time to fall back to the primary within the pool timeout.
          const maxWait = decision.handle ? Math.min(transaction.maxWait, replicaStartTimeoutMs(pools.config)) : transaction.maxWait;
          const call = this.#call(kind, handle, fn, route, { ...transaction, maxWait }, pools.config.poolTimeoutMs, options.signal, trace);
          try {
            return await attemptCall(call, attempt);
          } catch (caught) {
            if (!decision.handle) throw caught;
            const failure = toAttemptFailure(caught);
            // The replica could not serve: the next attempt goes to the primary, whatever the kind.
            if (!router.replicaFailed(decision, failure.classification, { busy: call.waited })) throw failure;
            replicaBusy = call.waited;
            throw new AttemptFailure(failure.error, { ...failure.classification, retryable: true });
          }
        };
        result = await retry(routed, null, policy, hooks, options.signal, trace);
      } else {
        // Without replicas (no router) every call, reads included, runs on the primary.
        served = primary.target;
        const call = this.#call(kind, primary, fn, route, transaction, pools.config.poolTimeoutMs, options.signal, trace);
        result = await retry(attemptCall, call, policy, hooks, options.signal, trace);
      }
      this.#reached = true;
      this.#sink.operationFinished({ kind, scope, durationNs: process.hrtime.bigint() - startedAt, error: null, pool: served, trace });
      return result;
    } catch (caught) {
      const { error, classification } = toAttemptFailure(caught);
      const { kind: errorKind, code } = classification;
      if (errorKind === 'outcome-unknown') poolingLog('%s: connection lost during COMMIT, outcome unknown (not retried)', kind);
      else if (error instanceof PoolSaturatedError) poolingLog('shedding load: %d callers already waiting', error.waiting);
      this.#sink.operationFinished({
        kind,
        scope,
        durationNs: process.hrtime.bigint() - startedAt,
        error: classification,
        pool: served,
        trace,
      });
      poolingLog('%s failed: %s%s', kind, errorKind, code ? ` ${code}` : '');
      throw error;
    } finally {
      // Whatever the outcome, a primary transaction may have committed a write: reads catch up with it.
      if (!route.readOnly) this.#current()?.router?.noteWrite();
      if (--this.#inFlight === 0) for (const notify of this.#onDrained.splice(0)) notify();
    }
  }

  /** One plain client call (through `prisma`), inside its span when tracing. */
  #plain(call: PlainCall, pin: Pin, after: string | null): Promise<unknown> {
    const kind: OperationKind = isReadOperation(call.operation) ? 'plain-read' : 'plain-write';
    const name: OperationName = { operation: call.operation, collection: call.model ?? null };
    const trace = this.#resolveTelemetry()?.trace;
    if (!trace) return this.#runPlain(kind, name, call, pin, after, undefined);
    return trace(kind, this.#current()?.primary.target ?? null, (handle) => this.#runPlain(kind, name, call, pin, after, handle), name);
  }

  async #runPlain(
    kind: OperationKind,
    name: OperationName,
    call: PlainCall,
    pin: Pin,
    after: string | null,
    trace: TraceHandle | undefined,
  ): Promise<unknown> {
    const startedAt = process.hrtime.bigint();
    let served: PoolTarget | null = null;
    let wrote = kind === 'plain-write';
    this.#inFlight++;
    try {
      const pools = this.#init();
      const { primary, router } = pools;
      const raw = RAW_QUERY_OPERATIONS.has(call.operation);
      const afterPosition = parseTokenPosition(after, 'after');
      const hooks = this.#hooks.strict[kind];
      // A write, or a raw query that turned out to write: the primary, and only what cannot have run is retried.
      const writeAttempt: PlainAttempt = {
        admission: primary.admission,
        sink: this.#sink,
        kind,
        trace,
        write: true,
        settle: primary.settle,
        plainWriteCommit: this.#options.plainWriteCommit,
      };
      const write = (): Promise<unknown> => {
        served = primary.target;
        return runPlainAttempt(writeAttempt, () => call.query(call.args));
      };
      let result: unknown;
      if (kind === 'plain-write') {
        result = await retry(write, null, this.#options.retry, hooks, undefined, trace);
      } else {
        let replicaBusy = false;
        const read = async (): Promise<unknown> => {
          const decision =
            router && pin !== 'primary'
              ? router.route(
                  afterPosition?.lsn ?? null,
                  replicaBusy ? 'primary' : pin === 'replica' ? 'any-replica' : 'consistent',
                  afterPosition?.timeline ?? null,
                )
              : null;
          const handle = decision?.handle ?? primary;
          served = handle.target;
          // Raw SQL runs on a read-only client (its statement is its own READ ONLY transaction): a
          // write in disguise fails with 25006 instead of running twice on a retry.
          const run =
            raw || handle !== primary
              ? () =>
                  replay(raw ? readOnlyClientOf(handle, this.#options.createClient) : handle.client, call.model, call.operation, call.args)
              : () => call.query(call.args);
          const state: PlainAttemptState = { waited: false };
          try {
            return await runPlainAttempt({ admission: handle.admission, sink: this.#sink, kind, trace, write: false }, run, state);
          } catch (caught) {
            const failure = toAttemptFailure(caught);
            if (raw && failure.classification.kind === 'read-only') throw new WriteInDisguise();
            if (!decision?.handle || !router) throw failure;
            if (!router.replicaFailed(decision, failure.classification, { busy: state.waited })) throw failure;
            replicaBusy = state.waited;
            throw new AttemptFailure(failure.error, { ...failure.classification, retryable: true });
          }
        };
        try {
          result = await retry(read, null, this.#options.retry, this.#hooks.idempotent[kind], undefined, trace);
        } catch (caught) {
          if (!(caught instanceof AttemptFailure && caught.error instanceof WriteInDisguise)) throw caught;
          // The read-only transaction refused it, so it did not run: run it once as the write it is.
          wrote = true;
          result = await retry(write, null, this.#options.retry, hooks, undefined, trace);
        }
      }
      this.#sink.operationFinished({
        kind,
        scope: 'call',
        durationNs: process.hrtime.bigint() - startedAt,
        error: null,
        pool: served,
        trace,
        name,
      });
      return result;
    } catch (caught) {
      const { error, classification } = toAttemptFailure(caught);
      this.#sink.operationFinished({
        kind,
        scope: 'call',
        durationNs: process.hrtime.bigint() - startedAt,
        error: classification,
        pool: served,
        trace,
        name,
      });
      poolingLog(
        '%s %s%s failed: %s%s',
        kind,
        name.collection ? `${name.collection}.` : '',
        name.operation,
        classification.kind,
        classification.code ? ` ${classification.code}` : '',
      );
      throw error;
    } finally {
      if (wrote) this.#current()?.router?.noteWrite();
      if (--this.#inFlight === 0) for (const notify of this.#onDrained.splice(0)) notify();
    }
  }

  /** Everything one call's attempts on `handle` need, in one object. */
  #call<R>(
    kind: OperationKind,
    handle: PoolHandle<C>,
    fn: TransactionFn<C, R>,
    route: Route,
    transaction: PrismaTransactionOptions,
    poolTimeoutMs: number,
    signal: AbortSignal | undefined,
    trace: TraceHandle | undefined,
  ): Call<C, R> {
    const client = route.readOnly ? readOnlyClientOf(handle, this.#options.createClient) : handle.client;
    return {
      kind,
      client: client as TransactionCapable<TransactionClientOf<C>>,
      fn,
      admission: handle.admission,
      sink: this.#sink,
      trace,
      waited: false,
      transaction,
      poolTimeoutMs,
      signal,
      readOnly: route.readOnly,
      settle: handle.settle,
    };
  }

  #onRetry(kind: OperationKind, { attempt, classification, delayMs, failoverStarted }: RetryEvent, trace: TraceHandle | undefined): void {
    this.#sink.attemptRetried({ kind, attempt, error: classification, delayMs, trace, failoverStarted });
    // One line per call that rides through a failover, not one per retry (src/transaction/failover-log.ts).
    if (failoverStarted !== undefined) logFailoverRetry(poolingLog, kind, classification, failoverStarted);
    else
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
    const pools = this.#current();
    const replicaPools =
      pools?.replicas.map((h) => ({
        name: h.target.poolName,
        address: h.target.address,
        port: h.target.port,
        stats: readPoolStats(h.pool, h.limit),
      })) ?? [];
    return {
      ...this.#metrics.snapshot(),
      pool: pools ? readPoolStats(pools.primary.pool, pools.primary.limit) : { ...EMPTY_POOL_STATS },
      readPool: replicaPools.length === 0 ? null : sumPoolStats(replicaPools.map((r) => r.stats)),
      replicaPools,
      readsByTarget: pools?.router?.readsByTarget() ?? { replica: 0, 'primary-fallback': 0, 'primary-consistency': 0 },
      replicas: pools?.router?.figures() ?? [],
      warmupConnections: this.#warmupCounts.connections,
      warmupFailures: this.#warmupCounts.failures,
      poolNames: pools ? { primary: pools.primary.target.poolName, read: pools.replicas[0]?.target.poolName ?? null } : null,
    };
  }

  /** Starts a new metrics window. */
  resetMetrics(): void {
    this.#metrics.reset();
    this.#current()?.router?.resetCounts();
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
    const timeoutMs = this.#options.healthTimeoutMs;
    // pg's own timeouts are a backstop only: the deadline in checkHealth decides (and aborts the probe).
    const probe = { timeoutMs: timeoutMs + 1000, applicationName: `${this.#options.applicationName}:health` };
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
        hostList: hostListSummary(config.connectionString),
        failovers: () => this.#metrics.snapshot().failovers,
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
    const timeoutMs = checkMilliseconds('timeoutMs', options.timeoutMs, { zero: true }) ?? 10_000;
    this.#closed = true; // new calls are refused; running ones keep their pool handle
    let drained = this.#inFlight === 0;
    if (!drained) {
      let timer: NodeJS.Timeout | undefined;
      drained = await Promise.race([
        new Promise<boolean>((resolve) => this.#onDrained.push(() => resolve(true))),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
          unrefTimer(timer); // running calls keep the process alive on their own; this timer must not
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
    const pools = this.#pools;
    this.#pools = null;
    if (!pools) return;
    this.#telemetry?.dispose();
    await closePoolSet(pools);
    // After pool.end: its `remove` events have already settled any keep-alive promise.
    for (const detach of this.#detach.splice(0)) detach();
    managerLog('disconnected');
  }
}

/** The resolved configuration, once per manager: mode and why, the redacted URL, the pool size, warnings. */
function logConfig(config: PoolConfig, onWarning: ResolvedManagerOptions<PrismaClientLike>['onWarning']): void {
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
  const tls = [config.tls, ...config.readReplicas.map((r) => r.tls)];
  for (const { verifyHint } of tls) if (verifyHint) managerLog('tls: %s', verifyHint);
  // And once per process where a deployment sees them without DEBUG (src/logging/config-warnings.ts);
  // a URL that asked for no TLS mode (Prisma 6's default, a TLS-only provider) is told in the debug log only.
  const asked = tls.filter((t) => t.modeSource === 'url' || t.modeSource === 'PGSSLMODE').map((t) => t.verifyHint);
  emitConfigWarnings([...config.warnings, ...asked], onWarning);
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
