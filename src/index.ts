/** The public API. Explicit named exports only. */

export type { RewriteOptions } from './config/database-url.ts';
export { redactDatabaseUrl, rewriteDatabaseUrl } from './config/database-url.ts';
export type { PoolConfig, PoolMode, ReadReplicaConfig, ResolveOptions } from './config/resolve-pool-config.ts';
export { resolvePoolConfig } from './config/resolve-pool-config.ts';
export type { ErrorClassification, ErrorKind } from './errors/classify-error.ts';
export { classifyError } from './errors/classify-error.ts';
export type { BatchOutcome } from './errors/errors.ts';
export {
  BatchError,
  ConfigError,
  ManagerClosedError,
  PoolingError,
  PoolSaturatedError,
  PoolTimeoutError,
  TransactionOutcomeUnknownError,
} from './errors/errors.ts';
export type {
  BatchOptions,
  BatchResults,
  ConnectionPoolManagerOptions,
  ManagerMetrics,
  PrismaClientLike,
  TransactionClientOf,
  TransactionFn,
  TransactionOptions,
} from './manager/connection-pool-manager.ts';
export { ConnectionPoolManager, createConnectionPoolManager } from './manager/connection-pool-manager.ts';
export type { MetricsSnapshot, OperationKind } from './metrics/metrics.ts';
export type { PoolStats } from './metrics/pool-stats.ts';
export type { Runtime, RuntimeDetection } from './runtime/detect-runtime.ts';
export { detectRuntime } from './runtime/detect-runtime.ts';
export type { RetryOptions } from './transaction/retry.ts';
export type { AttemptContext, IsolationLevel } from './transaction/run-transaction.ts';
