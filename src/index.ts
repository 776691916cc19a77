/** The public API. Explicit named exports only. */

// First, for its side effect: on an edge runtime (no TCP) importing the package throws one ConfigError.
import './runtime/edge-guard.ts';

export type { SqlDriverAdapterFactory } from './adapter/create-adapter.ts';
export type { PlainWriteCommit } from './adapter/outcome-record.ts';
export type { Pin, PinTarget } from './call/pin.ts';
export type { RewriteOptions } from './config/database-url.ts';
export { redactDatabaseUrl, rewriteDatabaseUrl } from './config/database-url.ts';
export type { DirectDatabaseUrl } from './config/env-urls.ts';
export { DIRECT_URL_VARIABLES, directDatabaseUrl, POOLED_URL_VARIABLES, resolveDirectDatabaseUrl } from './config/env-urls.ts';
export type { ProviderId, ProviderProfile } from './config/providers.ts';
export type { PoolConfig, PoolMode, ReadReplicaConfig, ResolveOptions } from './config/resolve-pool-config.ts';
export { resolvePoolConfig } from './config/resolve-pool-config.ts';
export type { TlsMode, TlsModeSource, TlsOptions, TlsVerification } from './config/tls-options.ts';
export type { ErrorClassification, ErrorKind } from './errors/classify-error.ts';
export { classifyError, tlsProblem } from './errors/classify-error.ts';
export type { BatchOutcome, OutcomeUnknownDuring, TlsProblem } from './errors/errors.ts';
export {
  BatchError,
  ConfigError,
  ConnectionSilentError,
  IncompatibleDependencyError,
  ManagerClosedError,
  NoMatchingHostError,
  PoolingError,
  PoolSaturatedError,
  PoolTimeoutError,
  PreparedStatementsNotTrackedError,
  RewrittenPortRefusedError,
  TlsError,
  TransactionOutcomeUnknownError,
  TransactionRolledBackError,
  UnsupportedDependencyVersionError,
  WriteCommittedResultLostError,
} from './errors/errors.ts';
export type { PoolingClient, PoolingClientMethods, PoolingTransactionOptions } from './extension/client-extension.ts';
export type { EndpointOptions } from './health/endpoint-access.ts';
export type {
  ConnectionPoolCheck,
  DatabaseCheck,
  HealthDeps,
  HealthInput,
  HealthOptions,
  HealthReport,
  HealthStatus,
  HealthThresholds,
  HealthVerdict,
  PgbouncerCheck,
  PgbouncerFigures,
  PgbouncerStatsFigures,
  ReplicaFigures,
  ReplicasCheck,
} from './health/health-check.ts';
export {
  checkHealth,
  DEFAULT_HEALTH_THRESHOLDS,
  DEFAULT_HEALTH_TIMEOUT_MS,
  deriveHealthStatus,
} from './health/health-check.ts';
export type { FetchHandler, HealthSource, LoaderOrRouteHandler, MetricsSource } from './health/http.ts';
export { createHealthHandler, createMetricsHandler, healthLoader, metricsLoader, toNodeListener } from './health/http.ts';
export type { RequestContext, WaitUntil } from './lifecycle/request-context.ts';
export { runWithRequestContext } from './lifecycle/request-context-scope.ts';
export type { WarmupMode } from './lifecycle/warmup.ts';
export type { ConfigWarning } from './logging/config-warnings.ts';
export { ConnectionPoolManager, createConnectionPoolManager } from './manager/connection-pool-manager.ts';
export type { ConnectionPoolManagerOptions } from './manager/manager-options.ts';
export type {
  BatchOptions,
  BatchResults,
  DatabaseServer,
  ManagerMetrics,
  NamedPoolStats,
  PrismaClientLike,
  ReadOptions,
  TransactionClientOf,
  TransactionFn,
  TransactionOptions,
} from './manager/types.ts';
export type { MetricsSnapshot, OperationKind, OperationName } from './metrics/metrics.ts';
export type { PoolStats } from './metrics/pool-stats.ts';
export { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './metrics/prometheus.ts';
export type { WorkerContext, WorkerFetch, WorkerRequestOptions } from './platforms/cloudflare/with-worker-request.ts';
export { withWorkerRequest } from './platforms/cloudflare/with-worker-request.ts';
export type { HyperdriveLike } from './platforms/cloudflare/worker-env.ts';
export { DEFAULT_HYPERDRIVE_BINDING, workerEnvironment } from './platforms/cloudflare/worker-env.ts';
export type { ReadsByTarget } from './routing/read-router.ts';
export type { ReadTarget } from './routing/replica-selection.ts';
export type { ReplicaRoutingOptions } from './routing/routing-options.ts';
export { DEFAULT_REPLICA_ROUTING } from './routing/routing-options.ts';
export type { PlatformLifecycle, Runtime, RuntimeDetection, RuntimeHost } from './runtime/detect-runtime.ts';
export { currentHost, detectRuntime } from './runtime/detect-runtime.ts';
export { assertTcpRuntime, detectEdgeRuntime } from './runtime/edge-runtime.ts';
export type { TelemetryOptions } from './telemetry/telemetry-options.ts';
export type { RetryOptions } from './transaction/retry.ts';
export type { AttemptContext, IsolationLevel } from './transaction/run-transaction.ts';
