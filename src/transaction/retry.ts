/**
 * The retry loop: classified errors, two budgets, exponential backoff with full jitter, a total
 * deadline and an AbortSignal honoured by every wait.
 *
 * Why not p-retry: it cannot express this policy. Its backoff jitter multiplies by [1, 2)
 * (not "full jitter", a uniform pick in [0, cap], which is what spreads a thundering herd of
 * conflicting transactions), it has one retry budget (serialization conflicts need a larger one
 * than connection errors: 247/300 at 3 attempts vs 300/300 at 10, docs/wrappers.md), and its
 * `onFailedAttempt` hook runs before `shouldRetry`, so a custom wait would run even for errors
 * that are not retried. What is left is a short loop, kept here in one place.
 */
import { checkMilliseconds } from '../config/milliseconds.ts';
import { classifyError, type ErrorClassification, type ErrorKind } from '../errors/classify-error.ts';
import { ConfigError, TransactionOutcomeUnknownError } from '../errors/errors.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';

export interface RetryOptions {
  /** Attempts (the first included) for connection-class errors. Defaults to 3. */
  maxAttempts?: number;
  /** Attempts (the first included) for serialization failures and deadlocks. Defaults to 10. */
  maxConflictAttempts?: number;
  /** First backoff cap in ms. Defaults to 10. */
  baseDelayMs?: number;
  /** Growth of the backoff cap per retry. Defaults to 2. */
  factor?: number;
  /** Largest backoff cap in ms. Defaults to 1000. */
  maxDelayMs?: number;
  /** Total time budget for all attempts and waits, in ms: no retry starts past it (but see `failoverTimeoutMs`). Defaults to 30000. */
  deadlineMs?: number;
  /**
   * How long errors that mean "the primary is moving" (`ErrorClassification.failover`: refused,
   * terminated by a shutdown, a pooler without a server, a read-only primary) are retried on a
   * fresh connection, counted from the first such error of the call, in ms. They do not use up
   * `maxAttempts`, and the window may run past `deadlineMs`. 0 turns the window off (they are then
   * ordinary connection errors). Defaults to 40000: above the switchover times the platforms
   * document (Amazon RDS Multi-AZ DB clusters: "typically under 35 seconds", RDS API
   * FailoverDBCluster; Neon and Supabase restarts and PgBouncer/Patroni switchovers take seconds).
   */
  failoverTimeoutMs?: number;
}

export type ResolvedRetryOptions = Readonly<Required<RetryOptions>>;

export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = Object.freeze({
  maxAttempts: 3,
  maxConflictAttempts: 10,
  baseDelayMs: 10,
  factor: 2,
  maxDelayMs: 1000,
  deadlineMs: 30_000,
  failoverTimeoutMs: 40_000,
});

/**
 * Largest wait between failover retries, ms: a writer notices the new primary at most this late,
 * and 4 attempts a second per waiting caller cost a refused connect each, nothing more.
 */
export const FAILOVER_MAX_DELAY_MS = 250;

function positive(name: keyof RetryOptions, value: number | undefined, integer: boolean, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (name.endsWith('Ms')) return checkMilliseconds(`retry.${name}`, value, { zero: min === 0 });
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`retry.${name}`, `must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/** Validates at the boundary, so a bad option fails at the call site with the option's name. */
export function resolveRetryOptions(options: RetryOptions = {}, base: ResolvedRetryOptions = DEFAULT_RETRY_OPTIONS): ResolvedRetryOptions {
  return Object.freeze({
    maxAttempts: positive('maxAttempts', options.maxAttempts, true, 1) ?? base.maxAttempts,
    maxConflictAttempts: positive('maxConflictAttempts', options.maxConflictAttempts, true, 1) ?? base.maxConflictAttempts,
    baseDelayMs: positive('baseDelayMs', options.baseDelayMs, false, 0) ?? base.baseDelayMs,
    factor: positive('factor', options.factor, false, 1) ?? base.factor,
    maxDelayMs: positive('maxDelayMs', options.maxDelayMs, false, 0) ?? base.maxDelayMs,
    deadlineMs: positive('deadlineMs', options.deadlineMs, false, 0) ?? base.deadlineMs,
    failoverTimeoutMs: positive('failoverTimeoutMs', options.failoverTimeoutMs, false, 0) ?? base.failoverTimeoutMs,
  });
}

/** Full jitter: uniform in [0, min(maxDelay, base·factor^(n-1))] for the n-th retry of a class. */
export function backoffDelay(retryNumber: number, options: ResolvedRetryOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * options.factor ** (retryNumber - 1));
  return Math.floor(random() * cap);
}

export interface RetryEvent {
  readonly attempt: number;
  readonly classification: ErrorClassification;
  readonly delayMs: number;
  /**
   * Set only for a retry inside a failover window (see `failoverTimeoutMs`): true for the call's
   * first, when it entered the window (counted and logged once per call), false for the others.
   */
  readonly failoverStarted?: boolean;
}

/**
 * A failed call: the error to surface and its classification, computed once where the failure
 * was first understood (src/transaction/run-transaction.ts) and passed along, so the retry
 * decision, the metrics and the log all read the same verdict.
 */
export class AttemptFailure {
  constructor(
    readonly error: unknown,
    readonly classification: ErrorClassification,
  ) {}
}

/** The failure carried by `caught`, classifying it only if nobody has yet. */
export function toAttemptFailure(caught: unknown): AttemptFailure {
  return caught instanceof AttemptFailure ? caught : new AttemptFailure(caught, classifyError(caught));
}

export interface RetryHooks<T = undefined> {
  /** Called before each backoff wait, with the `trace` that `retry` was given. */
  onRetry?: (event: RetryEvent, trace: T) => void;
  /** Overrides the classifier's `retryable` for an operation (e.g. an unknown COMMIT outcome of an idempotent call). */
  isRetryable?: (classification: ErrorClassification) => boolean;
  /**
   * Whether a failover window may open (see `failoverTimeoutMs`); defaults to yes. The manager
   * opens it only once its database has answered a call: a database that never answered (a wrong
   * host or port, a server that is not running) is a setup problem, reported within the ordinary
   * budget instead of after the window.
   */
  failoverArmed?: () => boolean;
}

const CONFLICT_KINDS: ReadonlySet<ErrorKind> = new Set(['serialization', 'deadlock']);

/** How one call's attempts are retried: its policy, the hooks, and what every wait honours. */
export interface RetryRun<Trace = undefined> {
  readonly policy: ResolvedRetryOptions;
  readonly hooks?: RetryHooks<Trace>;
  /** Stops the loop at the next attempt or wait. */
  readonly signal?: AbortSignal | undefined;
  /** Handed to `hooks.onRetry` (the call's span). */
  readonly trace?: Trace;
}

/**
 * Runs `attempt(n)` until it succeeds, a non-retryable error, an exhausted budget, the deadline or
 * an abort. Rejects with an AttemptFailure. Once a retried attempt's COMMIT outcome was unknown,
 * the final error is a TransactionOutcomeUnknownError whatever the last attempt did: that earlier
 * attempt may have committed.
 */
export function retry<T, Trace = undefined>(attempt: (attemptNumber: number) => Promise<T>, run: RetryRun<Trace>): Promise<T> {
  const startedAt = performance.now();
  let first: Promise<T>;
  try {
    run.signal?.throwIfAborted();
    first = attempt(1);
  } catch (caught) {
    return retryAfter(caught, attempt, run, startedAt);
  }
  // Most calls end with their first attempt: its success passes through one `then`, not an async
  // frame of the loop (each frame of a call's path cost a few µs per call at RTT 0 here,
  // docs/round-trips.md, "A plain call's own cost").
  return first.then(undefined, (caught: unknown) => retryAfter(caught, attempt, run, startedAt));
}

/**
 * What `fail` throws for `value`: a failure handler (which only throws) used where its error is
 * wanted as a value — to reject with, or to hand the retry loop — outside a `then`.
 */
export function thrownBy<A>(fail: (value: A) => never, value: A): unknown {
  try {
    return fail(value);
  } catch (thrown) {
    return thrown;
  }
}

/**
 * The loop after a first attempt failed with `firstFailure` (thrown or rejected), the call having
 * started at `startedAt` (`performance.now()`): for a caller that runs its first attempt itself
 * (src/call/call-runner.ts). `attempt` is called from the second attempt on.
 */
export async function retryAfter<T, Trace>(
  firstFailure: unknown,
  attempt: (attemptNumber: number) => Promise<T>,
  run: RetryRun<Trace>,
  startedAt: number,
): Promise<T> {
  const { policy: options, hooks = {}, signal, trace } = run;
  const deadline = startedAt + options.deadlineMs;
  let conflictRetries = 0;
  let otherRetries = 0;
  let failoverRetries = 0;
  /** When this call's failover window closes; null until its first failover error. */
  let failoverDeadline: number | null = null;
  let ambiguous = false;
  let caught = firstFailure;
  for (let attemptNumber = 1; ; attemptNumber++) {
    if (attemptNumber > 1) {
      try {
        signal?.throwIfAborted();
        return await attempt(attemptNumber);
      } catch (failed) {
        caught = failed;
      }
    }
    const failure = toAttemptFailure(caught);
    const { classification } = failure;
    const retryable = hooks.isRetryable?.(classification) ?? classification.retryable;
    const now = performance.now();
    let delayMs: number;
    let limit = deadline;
    const failover =
      retryable &&
      classification.failover &&
      options.failoverTimeoutMs > 0 &&
      (failoverDeadline !== null || (hooks.failoverArmed?.() ?? true));
    if (failover) {
      // The primary is moving: retry on a fresh connection until the window closes, whatever the attempt count.
      failoverDeadline ??= now + options.failoverTimeoutMs;
      limit = failoverDeadline;
      delayMs = backoffDelay(++failoverRetries, { ...options, maxDelayMs: Math.min(options.maxDelayMs, FAILOVER_MAX_DELAY_MS) });
    } else {
      const conflict = CONFLICT_KINDS.has(classification.kind);
      const used = retryable ? (conflict ? ++conflictRetries : ++otherRetries) : 0;
      const budget = conflict ? options.maxConflictAttempts : options.maxAttempts;
      delayMs = retryable && used < budget ? backoffDelay(used, options) : -1;
    }
    if (delayMs < 0 || now + delayMs > limit) {
      if (!ambiguous || failure.error instanceof TransactionOutcomeUnknownError) throw failure;
      throw toAttemptFailure(new TransactionOutcomeUnknownError({ cause: failure.error }));
    }
    if (classification.kind === 'outcome-unknown') ambiguous = true;
    hooks.onRetry?.(
      { attempt: attemptNumber, classification, delayMs, failoverStarted: failover ? failoverRetries === 1 : undefined },
      trace as Trace,
    );
    // This timer stays referenced on purpose: it is part of an operation the caller is awaiting
    // (unref'd, a script awaiting a retried call could exit mid-backoff). It is bounded by
    // maxDelayMs and the deadline, and the signal clears it at once.
    if (delayMs > 0)
      await nodeBuiltin('node:timers/promises')
        .setTimeout(delayMs, undefined, { signal })
        .catch(() => {}); // an abort: the loop's check throws it
    // Even with no delay, let the event loop poll once: connections that died together (a
    // thawed instance, a pooler restart) are then noticed and dropped by the pool, instead of
    // being handed to the next attempts one by one until the budget is gone.
    else await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
