/**
 * The manager's options: their types with defaults, and `resolveManagerOptions`, which checks them
 * all at the boundary (construction) and freezes the result, so a bad option fails where the
 * manager is created, naming the option.
 */
import type { SqlDriverAdapterFactory } from '../adapter/create-adapter.ts';
import { PLAIN_WRITE_COMMIT_MODES, type PlainWriteCommit } from '../adapter/outcome-record.ts';
import { checkMilliseconds } from '../config/milliseconds.ts';
import type { ResolveOptions } from '../config/resolve-pool-config.ts';
import { ConfigError } from '../errors/errors.ts';
import type { HealthThresholds } from '../health/health-check.ts';
import { checkWaitUntilOption } from '../lifecycle/platform-lifecycle.ts';
import type { WaitUntil } from '../lifecycle/request-context.ts';
import { checkWarmupMode, type WarmupMode } from '../lifecycle/warmup.ts';
import { type ConfigWarning, emitProcessWarning } from '../logging/config-warnings.ts';
import {
  type ReplicaRoutingOptions,
  type ResolvedReplicaRoutingOptions,
  resolveReplicaRoutingOptions,
} from '../routing/routing-options.ts';
import { resolveTelemetryOptions, type TelemetryOptions } from '../telemetry/telemetry-options.ts';
import { type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions } from '../transaction/retry.ts';
import { DEFAULT_PLAIN_WRITE_COMMIT } from '../transaction/run-plain-attempt.ts';
import { DEFAULT_SETTLE_TIMEOUT_MS } from '../transaction/settle-outcome.ts';
import type { DatabaseServer, PrismaClientLike, TransactionClientOf } from './types.ts';

export interface ConnectionPoolManagerOptions<C extends PrismaClientLike> extends ReplicaRoutingOptions {
  /**
   * Builds the Prisma client on the adapter we create, e.g. `(adapter) => new PrismaClient({ adapter })`.
   * Called at most twice per pool, each time at first need: for the client of writes, `withPooling`
   * and `manager.client` / `manager.prisma`, and for the client of reads, whose transactions open
   * READ ONLY (Prisma passes an adapter no "read only" flag). `server` says which server and which of
   * the two, e.g. `(adapter, server) => new PrismaClient({ adapter, log: server.role === 'replica' ? ['query'] : [] })`.
   */
  createClient: (adapter: SqlDriverAdapterFactory, server: DatabaseServer) => C;
  /** Environment to read (DATABASE_URL …). Defaults to `process.env`, read at first use. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides for the pool settings derived from the environment. */
  pool?: ResolveOptions;
  /** Retry policy defaults for every call. */
  retry?: RetryOptions;
  /** Default interactive-transaction timeout, ms. Defaults to 10000. */
  transactionTimeoutMs?: number;
  /**
   * `prisma.$transaction(fn)` through `manager.prisma`: when the database rolled an attempt back as a
   * whole (a serialization failure, a deadlock, a connection lost before COMMIT), run `fn` again, as
   * `writeWithPooling` does. false: `fn` never runs twice (only an attempt that never started is
   * retried); one call can say so with `$transaction(fn, { rerun: false })`. Defaults to true.
   */
  rerunTransactions?: boolean;
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
  /**
   * The platform's `waitUntil`, e.g. `import { waitUntil } from '@vercel/functions'`: the keep-alive
   * hands it a promise on each pool release so the instance stays up until idle connections close
   * (src/lifecycle/platform-lifecycle.ts). Defaults to the request context the platform publishes
   * (Vercel's or Next.js's), or the one passed with `runWithRequestContext`. Setting it turns the
   * keep-alive on off those platforms too.
   */
  waitUntil?: WaitUntil;
  /**
   * Receives each configuration warning (budget overrun, session mode through a pooler, unverified
   * TLS …) with its code when the manager first resolves its configuration. Defaults to
   * `process.emitWarning`, once per process for each message; `() => {}` silences them (they are
   * still in `config.warnings` and the debug log).
   */
  onWarning?: (warning: ConfigWarning) => void;
  /**
   * How a plain write through `manager.prisma` (a lone statement Prisma sends without a
   * transaction) is committed so that a lost answer can be settled by the database
   * (docs/reliability.md, "Plain writes: confirmed or one flight"): `'confirmed'` (default) sends
   * the transaction-id query and the statement in one flight and COMMIT once they answered — one
   * round trip more than the bare statement, and every lost COMMIT answer can be settled.
   * `'one-flight'` writes the id query, the statement and the COMMIT together — as many round
   * trips as the bare statement, but when the connection dies before any answer arrives the
   * outcome stays unknown. Both run in PostgreSQL's implicit transaction: no BEGIN or COMMIT
   * statement is sent (the Sync message commits).
   */
  plainWriteCommit?: PlainWriteCommit;
  /**
   * How long the database may be asked (on a fresh connection, `pg_xact_status`) what became of a
   * transaction whose COMMIT answer was lost, ms, waiting while it is still "in progress". Defaults
   * to 15000. 0 turns settling off: writes ask for no transaction id and a lost COMMIT is
   * TransactionOutcomeUnknownError.
   */
  settleTimeoutMs?: number;
}

/** Every option checked, defaults applied, frozen. */
export interface ResolvedManagerOptions<C extends PrismaClientLike> {
  readonly createClient: (adapter: SqlDriverAdapterFactory, server: DatabaseServer) => C;
  readonly env: Readonly<Record<string, string | undefined>> | undefined;
  readonly pool: ResolveOptions | undefined;
  readonly retry: ResolvedRetryOptions;
  readonly routing: ResolvedReplicaRoutingOptions;
  readonly telemetry: Readonly<TelemetryOptions>;
  readonly transactionTimeoutMs: number;
  readonly rerunTransactions: boolean;
  readonly maxWaitingCallers: number | undefined;
  readonly applicationName: string;
  readonly healthTimeoutMs: number;
  readonly healthThresholds: Partial<HealthThresholds> | undefined;
  readonly warmup: WarmupMode | undefined;
  readonly warmupQuery: ((tx: TransactionClientOf<C>) => PromiseLike<unknown>) | undefined;
  readonly waitUntil: WaitUntil | undefined;
  readonly onWarning: (warning: ConfigWarning) => void;
  readonly plainWriteCommit: PlainWriteCommit;
  /** 0: settling off. */
  readonly settleTimeoutMs: number;
}

export const DEFAULT_TRANSACTION_TIMEOUT_MS = 10_000;
export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;
export const DEFAULT_APPLICATION_NAME = 'connection-pool-manager';

/** Validates every option; throws ConfigError naming the first bad one. */
export function resolveManagerOptions<C extends PrismaClientLike>(options: ConnectionPoolManagerOptions<C>): ResolvedManagerOptions<C> {
  if (typeof options?.createClient !== 'function') throw new ConfigError('createClient', 'must be a function');
  const { maxWaitingCallers, applicationName, warmupQuery } = options;
  if (maxWaitingCallers !== undefined && !(Number.isInteger(maxWaitingCallers) && maxWaitingCallers >= 0))
    throw new ConfigError('maxWaitingCallers', `must be an integer ≥ 0, got ${String(maxWaitingCallers)}`);
  if (applicationName !== undefined && !(typeof applicationName === 'string' && applicationName !== ''))
    throw new ConfigError('applicationName', 'must be a non-empty string');
  const warmupProblem = checkWarmupMode(options.warmup);
  if (warmupProblem) throw new ConfigError('warmup', warmupProblem);
  if (warmupQuery !== undefined && typeof warmupQuery !== 'function')
    throw new ConfigError('warmupQuery', 'must be a function (tx) => Promise');
  if (options.rerunTransactions !== undefined && typeof options.rerunTransactions !== 'boolean')
    throw new ConfigError('rerunTransactions', `must be true or false, got ${String(options.rerunTransactions)}`);
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function')
    throw new ConfigError('onWarning', 'must be a function (warning) => void');
  const { plainWriteCommit } = options;
  if (plainWriteCommit !== undefined && !PLAIN_WRITE_COMMIT_MODES.includes(plainWriteCommit))
    throw new ConfigError(
      'plainWriteCommit',
      `must be ${PLAIN_WRITE_COMMIT_MODES.map((m) => `'${m}'`).join(' or ')}, got ${String(plainWriteCommit)}`,
    );
  return Object.freeze({
    createClient: options.createClient,
    env: options.env,
    pool: options.pool,
    retry: resolveRetryOptions(options.retry),
    routing: resolveReplicaRoutingOptions(options),
    telemetry: resolveTelemetryOptions(options.telemetry),
    transactionTimeoutMs: checkMilliseconds('transactionTimeoutMs', options.transactionTimeoutMs) ?? DEFAULT_TRANSACTION_TIMEOUT_MS,
    rerunTransactions: options.rerunTransactions ?? true,
    maxWaitingCallers,
    applicationName: applicationName ?? DEFAULT_APPLICATION_NAME,
    healthTimeoutMs: checkMilliseconds('healthTimeoutMs', options.healthTimeoutMs) ?? DEFAULT_HEALTH_TIMEOUT_MS,
    healthThresholds: options.healthThresholds,
    warmup: options.warmup,
    warmupQuery,
    waitUntil: checkWaitUntilOption(options.waitUntil),
    onWarning: options.onWarning ?? emitProcessWarning,
    plainWriteCommit: plainWriteCommit ?? DEFAULT_PLAIN_WRITE_COMMIT,
    settleTimeoutMs: checkMilliseconds('settleTimeoutMs', options.settleTimeoutMs, { zero: true }) ?? DEFAULT_SETTLE_TIMEOUT_MS,
  });
}
