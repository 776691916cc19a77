/**
 * The per-operation seam between the manager and whatever records what it does: the built-in HDR
 * metrics (src/metrics/metrics.ts) is one sink, OpenTelemetry (src/telemetry/) another. The manager
 * calls one sink; `fanOutSinks` makes one of several. Pure: no Prisma, no `pg`, no OpenTelemetry.
 *
 * Three events are enough for both: a pool timeout and an unknown COMMIT outcome are final error
 * kinds of `operationFinished` (classified once, by the manager), not events of their own.
 */
import type { ErrorClassification } from '../errors/classify-error.ts';
import type { OperationKind, OperationName } from './metrics.ts';

/** Which pool served an operation. */
export type PoolRole = 'primary' | 'read';

/**
 * One of the manager's pools as telemetry and metrics name it: built once per pool
 * (src/telemetry/pool-target.ts), frozen, and carried by every event of an operation it served, so
 * several replicas are told apart. Host and path only: user and password never reach it.
 */
export interface PoolTarget {
  readonly role: PoolRole;
  readonly address: string;
  readonly port: number;
  readonly namespace: string | null;
  /** `db.client.connection.pool.name`: distinct for each of the manager's pools. */
  readonly poolName: string;
}

/**
 * What a tracer handed the manager for one operation (src/telemetry/operation-spans.ts), opaque
 * here. Carried on the operation's events so the span is annotated directly: finding it through
 * the active context fails when the app registered no context manager.
 */
export type TraceHandle = object;

/**
 * What a finished record stands for. A parallel `batchWithPooling` is one wrapper call made of
 * several transactions: latency is recorded once for the call, pool timeouts and unknown
 * outcomes once per transaction.
 * - `call`: a wrapper call that ran as one transaction (with its retries);
 * - `parallel-batch`: a parallel batch as a whole (the wrapper call; not a transaction);
 * - `parallel-batch-item`: one transaction of a parallel batch (not a wrapper call).
 */
export type OperationScope = 'call' | 'parallel-batch' | 'parallel-batch-item';

export interface OperationFinished {
  readonly kind: OperationKind;
  readonly scope: OperationScope;
  /** All attempts and backoff waits, from `process.hrtime.bigint()` differences. */
  readonly durationNs: bigint;
  /** The final error's classification (computed once by the manager); null when it succeeded. */
  readonly error: ErrorClassification | null;
  /** The pool that served it; null when the manager could not even initialize (bad config). */
  readonly pool: PoolTarget | null;
  /** The operation's span, when a tracer started one. */
  readonly trace?: TraceHandle | undefined;
  /** A plain client call's Prisma operation and model; absent for wrapper calls. */
  readonly name?: OperationName | undefined;
}

export interface AttemptRetried {
  readonly kind: OperationKind;
  /** The attempt that failed, 1 for the first. */
  readonly attempt: number;
  readonly error: ErrorClassification;
  /** The backoff before the next attempt. */
  readonly delayMs: number;
  /**
   * Set for failover retries (`error.failover`) made inside a failover window: true for the call's
   * first (src/transaction/retry.ts). Undefined otherwise.
   */
  readonly failoverStarted?: boolean;
  /** The operation's span, when a tracer started one. */
  readonly trace?: TraceHandle | undefined;
}

/** What the database said about a transaction whose COMMIT answer was lost (src/transaction/settle-outcome.ts). */
export type LostCommitOutcome = 'committed' | 'aborted' | 'unknown';

export interface CommitSettled {
  readonly kind: OperationKind;
  /**
   * `committed`: the call succeeds (or, a plain write whose result was lost, fails with
   * WriteCommittedResultLostError); `aborted`: nothing happened, the attempt is retried;
   * `unknown`: the database could not tell within the bound (the call ends outcome-unknown
   * unless a later attempt settles it).
   */
  readonly outcome: LostCommitOutcome;
  /** The operation's span, when a tracer started one. */
  readonly trace?: TraceHandle | undefined;
}

export interface OperationSink {
  /** Once per operation (see `OperationScope`), after its last attempt. */
  operationFinished(event: OperationFinished): void;
  /** Before each backoff wait. */
  attemptRetried(event: AttemptRetried): void;
  /** An attempt was admitted while every connection of its pool was taken: it waits for one. */
  poolWaited(kind: OperationKind, trace?: TraceHandle): void;
  /** A lost COMMIT answer was settled with the database (optional: sinks written before it still fit). */
  commitSettled?(event: CommitSettled): void;
}

/** One sink that calls each of `sinks` in order; with a single sink, that sink itself (no extra call). */
export function fanOutSinks(sinks: readonly OperationSink[]): OperationSink {
  if (sinks.length === 1 && sinks[0]) return sinks[0];
  const list = [...sinks];
  return {
    operationFinished(event) {
      for (const sink of list) sink.operationFinished(event);
    },
    attemptRetried(event) {
      for (const sink of list) sink.attemptRetried(event);
    },
    poolWaited(kind, trace) {
      for (const sink of list) sink.poolWaited(kind, trace);
    },
    commitSettled(event) {
      for (const sink of list) sink.commitSettled?.(event);
    },
  };
}
