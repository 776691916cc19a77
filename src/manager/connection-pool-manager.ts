/**
 * The composition root: config → pools (./pool-set.ts) → the call runner (src/call/), and the
 * lifecycle around them: lazy init-once (a failed init is retried on the next call), dispose-once.
 *
 * Follow one call: `writeWithPooling(fn)` builds a TransactionCall (src/call/transaction-call.ts) →
 * `CallRunner.run()` (src/call/call-runner.ts: span, in-flight count, routing, admission, the retry
 * loop of src/transaction/retry.ts, the record) → `runTransactionAttempt()`
 * (src/transaction/run-transaction.ts) → `client.$transaction` → our adapter (src/adapter/: one
 * pipelined BEGIN, adapter-pg's query path) → the `pg.Pool` built in src/pool/create-pool.ts.
 * A plain `prisma.user.findMany()` takes the same runner as a PlainCall (src/call/plain-call.ts),
 * and `prisma.$transaction(...)` as a TransactionCall or a batch (src/extension/client-extension.ts).
 */
import type pg from 'pg';
import { CallRunner } from '../call/call-runner.ts';
import { runParallelBatch } from '../call/parallel-batch.ts';
import { TransactionCall, type TransactionCallSetup } from '../call/transaction-call.ts';
import { checkMilliseconds } from '../config/milliseconds.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import { resolvePoolConfig } from '../config/resolve-pool-config.ts';
import { ConfigError, ManagerClosedError } from '../errors/errors.ts';
import { createPoolingClient, type PoolingClient, proxyClient } from '../extension/client-extension.ts';
import type { HealthReport } from '../health/health-check.ts';
import { attachPlatformLifecycle } from '../lifecycle/platform-lifecycle.ts';
import { peekRequestScoped, requestScoped } from '../lifecycle/request-scope.ts';
import { autoWarmup } from '../lifecycle/warmup.ts';
import { managerLog } from '../logging/loggers.ts';
import { createMetrics, type OperationKind } from '../metrics/metrics.ts';
import { fetchWalPosition } from '../routing/commit-position.ts';
import { encodeConsistencyToken } from '../routing/consistency-token.ts';
import { assertTcpRuntime } from '../runtime/edge-runtime.ts';
import { createTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { HealthProbe } from './health-probe.ts';
import { logConfig } from './log-config.ts';
import { type ConnectionPoolManagerOptions, type ResolvedManagerOptions, resolveManagerOptions } from './manager-options.ts';
import { closePoolSet, openPoolSet, type PoolHandle, type PoolSet } from './pool-set.ts';
import { managerMetrics, probePoolSetHealth } from './pool-set-report.ts';
import { prismaHost } from './prisma-host.ts';
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
import { warmManager } from './warm-pools.ts';

export type { ConnectionPoolManagerOptions } from './manager-options.ts';
export type { DatabaseServer, ManagerMetrics } from './types.ts';

export class ConnectionPoolManager<C extends PrismaClientLike> {
  readonly #options: ResolvedManagerOptions<C>;
  readonly #metrics = createMetrics();
  readonly #runner: CallRunner<PoolHandle<C>>;
  /** undefined until the first call decides; null when off. */
  #telemetry: Telemetry | null | undefined;
  /** `prisma`'s extended client for each pool set (the process-wide one, or a request's). */
  readonly #poolingClients = new WeakMap<PoolSet<C>, PoolingClient<C>>();
  #pools: PoolSet<C> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #health = new HealthProbe(async () => probePoolSetHealth(this.#init(), this.#options, () => this.#metrics.snapshot().failovers));
  #warmup: Promise<void> | null = null;
  #prisma: PoolingClient<C> | null = null;
  readonly #warmupCounts = { connections: 0, failures: 0 };
  /** Detaches the platform keep-alive of each pool (empty off such platforms). */
  readonly #detach: (() => void)[] = [];

  constructor(options: ConnectionPoolManagerOptions<C>) {
    assertTcpRuntime(); // an edge runtime (no TCP): one ConfigError, also when the import guard was tree-shaken
    this.#options = resolveManagerOptions(options);
    this.#runner = new CallRunner<PoolHandle<C>>({
      pools: () => this.#init(),
      current: () => this.#current(),
      telemetry: () => this.#resolveTelemetry(),
      metrics: this.#metrics,
    });
    // Bound, so an app can export them destructured: `export const { withPooling } = manager`.
    this.withPooling = this.withPooling.bind(this);
    this.readWithPooling = this.readWithPooling.bind(this);
    this.writeWithPooling = this.writeWithPooling.bind(this);
    this.batchWithPooling = this.batchWithPooling.bind(this);
    this.getMetrics = this.getMetrics.bind(this);
    this.getHealth = this.getHealth.bind(this);
  }

  /** The resolved (redacted, frozen) config; initializes the manager. Throws ConfigError on bad input. */
  get config(): PoolConfig {
    return this.#init().config;
  }

  /** The primary Prisma client, for queries outside the wrappers (no retries, no metrics). */
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
   * The app's client, wrapped so that every call through it — `prisma.user.findMany()`,
   * `$queryRaw`, `$transaction(...)` — gets the wrappers' guarantees: classified retries, metrics
   * and spans, replica routing with read-your-writes. `$primary()` / `$replica()` / `$after()` pin a
   * client. Built at its first use, so `export const prisma = manager.prisma` opens nothing.
   * See docs/client-extension.md.
   */
  get prisma(): PoolingClient<C> {
    // One extended client per pool set, looked up at each use: a Worker's requests each have their own.
    this.#prisma ??= proxyClient(() => {
      const pools = this.#init();
      let client = this.#poolingClients.get(pools);
      if (!client) {
        client = createPoolingClient(pools.primary.client, prismaHost(this.#runner, this.#options));
        this.#poolingClients.set(pools, client);
      }
      return client;
    });
    return this.#prisma;
  }

  /** True after `disconnect()` or `shutdown()`. */
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
    try {
      // The platform's lifecycle for each pool: the keep-alive, fed by the request's waitUntil (none off such platforms).
      const env = this.#options.env ?? process.env;
      const emitters = pools.all.map((handle) => handle.pool);
      const lifecycle = { env, idleTimeoutMs: pools.config.idleTimeoutMs, waitUntil: this.#options.waitUntil, log: managerLog };
      this.#detach.push(...attachPlatformLifecycle(emitters, lifecycle));
    } catch (error) {
      void closePoolSet(pools);
      throw error;
    }
    this.#pools = pools;
    if (autoWarmup(this.#options.warmup, pools.config.serverless)) void this.warmup();
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

  /**
   * Opens every pool connection (up to `connection_limit` each) concurrently and starts Prisma's
   * engine, so the first request does not pay for them in series; the connections then sit idle in
   * the pool and close after the idle timeout like any other. Do not await it at module scope:
   * `void manager.warmup()`. Never rejects (failures are logged and counted in `getMetrics()`;
   * the first real call connects as usual). Runs once: later calls return the first call's promise.
   */
  warmup(): Promise<void> {
    // Deferred a microtask so that #init, which may itself trigger warmup ('auto'), sees it started.
    this.#warmup ??= Promise.resolve().then(async () => {
      const opened = await warmManager(() => this.#init(), this.#options, this.#warmupCounts);
      if (opened > 0) this.#runner.markReached();
    });
    return this.#warmup;
  }

  /** A transaction with the retry policy; isolation is the database default unless given. */
  withPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#runner.run(this.#transactionCall(fn, options, 'default', false));
  }

  /**
   * ReadCommitted, READ ONLY; retried on any transient error. With DATABASE_URL_READ it runs on a
   * replica that has replayed this instance's writes (and `options.after`), else on the primary.
   */
  readWithPooling<R>(fn: TransactionFn<C, R>, options: ReadOptions = {}): Promise<R> {
    return this.#runner.run(this.#transactionCall(fn, { isolationLevel: 'ReadCommitted', ...options }, 'read', true));
  }

  /** Serializable by default, always the primary; retried on conflicts and pre-COMMIT connection errors. */
  writeWithPooling<R>(fn: TransactionFn<C, R>, options: TransactionOptions = {}): Promise<R> {
    return this.#runner.run(this.#transactionCall(fn, { isolationLevel: 'Serializable', ...options }, 'write', false));
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
      const sequence: TransactionFn<C, BatchResults<Ops>> = async (tx, context) => {
        const results: unknown[] = [];
        for (const op of ops) results.push(await op(tx, context));
        return results as BatchResults<Ops>;
      };
      return this.#runner.run(this.#transactionCall(sequence, txOptions, 'batch', false));
    }
    // Each op is a call (and a span) of its own, inside the batch's.
    const item = (op: TransactionFn<C, unknown>) =>
      this.#runner.run(this.#transactionCall(op, txOptions, 'batch', false, 'parallel-batch-item'));
    return runParallelBatch(this.#runner, () => this.#init(), ops, item) as Promise<BatchResults<Ops>>;
  }

  #transactionCall<R>(
    fn: TransactionFn<C, R>,
    options: ReadOptions,
    kind: OperationKind,
    read: boolean,
    scope?: TransactionCallSetup<C, TransactionClientOf<C>>['scope'],
  ): TransactionCall<C, TransactionClientOf<C>, R> {
    const { retry, transactionTimeoutMs } = this.#options;
    return new TransactionCall(fn, options, { kind, scope, read, retryDefaults: retry, defaultTimeoutMs: transactionTimeoutMs });
  }

  /**
   * A token that makes `readWithPooling(fn, { after: token })` or `prisma.$after(token)` on any
   * instance see every write this instance committed before the call. Opaque and short
   * (`v2.1.0.3001250`): carry it in a cookie or a header. One query on the primary unless the
   * position is already known.
   */
  async consistencyToken(): Promise<string> {
    const pools = this.#init();
    if (pools.router) return pools.router.consistencyToken();
    const { lsn, timeline } = await fetchWalPosition(pools.primary.pool);
    return encodeConsistencyToken(lsn, timeline);
  }

  /** Counters and latency percentiles since creation or the last `resetMetrics()`, plus live pool figures. */
  getMetrics(): ManagerMetrics {
    return managerMetrics(this.#metrics.snapshot(), this.#current(), this.#warmupCounts);
  }

  /** Starts a new metrics window. */
  resetMetrics(): void {
    this.#metrics.reset();
    this.#current()?.router?.resetCounts();
  }

  /**
   * The seed's health report (./pool-set-report.ts). Answers within about `healthTimeoutMs`,
   * whatever the database does.
   */
  getHealth(): Promise<HealthReport> {
    return this.#health.report();
  }

  /**
   * Graceful shutdown (SIGTERM): new calls fail at once with ManagerClosedError, calls already
   * running — wrappers, plain calls and `$transaction`s alike — finish (commit or fail as they
   * would), then the pools close. Waits at most `timeoutMs` (default 10000) for running calls
   * before closing anyway. Resolves with `drained: false` when it had to stop waiting. Idempotent
   * with `disconnect()`.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<{ drained: boolean }> {
    const timeoutMs = checkMilliseconds('timeoutMs', options.timeoutMs, { zero: true }) ?? 10_000;
    this.#closed = true; // new calls are refused; running ones keep their pool handle
    const drained = await this.#runner.inFlight.drained(timeoutMs);
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
