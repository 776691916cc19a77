/**
 * The retry loop: classified errors, two budgets, exponential backoff with full jitter, a total
 * deadline and an AbortSignal honoured by every wait.
 *
 * Why not p-retry: it cannot express this policy. Its backoff jitter multiplies by [1, 2)
 * (not "full jitter", a uniform pick in [0, cap], which is what spreads a thundering herd of
 * conflicting transactions), it has one retry budget (serialization conflicts need a larger one
 * than connection errors: DESIGN.md measured 247/300 at 3 attempts vs 300/300 at 10), and its
 * `onFailedAttempt` hook runs before `shouldRetry`, so a custom wait would run even for errors
 * that are not retried. What is left is a short loop, kept here in one place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError, type ErrorClassification, type ErrorKind } from '../errors/classify-error.ts';
import { ConfigError } from '../errors/errors.ts';

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
  /** Total time budget for all attempts and waits, in ms: no retry starts past it. Defaults to 30000. */
  deadlineMs?: number;
}

export type ResolvedRetryOptions = Readonly<Required<RetryOptions>>;

export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = Object.freeze({
  maxAttempts: 3,
  maxConflictAttempts: 10,
  baseDelayMs: 10,
  factor: 2,
  maxDelayMs: 1000,
  deadlineMs: 30_000,
});

function positive(name: keyof RetryOptions, value: number | undefined, integer: boolean, min: number): number | undefined {
  if (value === undefined) return undefined;
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
  });
}

/** Full jitter: uniform in [0, min(maxDelay, base·factor^(n-1))] for the n-th retry of a class. */
export function backoffDelay(retryNumber: number, options: ResolvedRetryOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * options.factor ** (retryNumber - 1));
  return Math.floor(random() * cap);
}

export interface RetryEvent {
  readonly attempt: number;
  readonly error: unknown;
  readonly classification: ErrorClassification;
  readonly delayMs: number;
}

export interface RetryHooks {
  signal?: AbortSignal;
  /** Called before each backoff wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Overrides the classifier's `retryable` for an operation (reads retry any transient error). */
  isRetryable?: (classification: ErrorClassification) => boolean;
}

const CONFLICT_KINDS: ReadonlySet<ErrorKind> = new Set(['serialization', 'deadlock']);

/** Runs `attempt(n)` until it succeeds, a non-retryable error, an exhausted budget, the deadline or an abort. */
export async function retry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: ResolvedRetryOptions,
  hooks: RetryHooks = {},
): Promise<T> {
  const { signal } = hooks;
  const deadline = performance.now() + options.deadlineMs;
  let conflictRetries = 0;
  let otherRetries = 0;
  for (let attemptNumber = 1; ; attemptNumber++) {
    signal?.throwIfAborted();
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      const classification = classifyError(error);
      const retryable = hooks.isRetryable?.(classification) ?? classification.retryable;
      if (!retryable) throw error;
      const conflict = CONFLICT_KINDS.has(classification.kind);
      const used = conflict ? ++conflictRetries : ++otherRetries;
      const budget = conflict ? options.maxConflictAttempts : options.maxAttempts;
      if (used >= budget) throw error;
      const delayMs = backoffDelay(used, options);
      if (performance.now() + delayMs > deadline) throw error;
      hooks.onRetry?.({ attempt: attemptNumber, error, classification, delayMs });
      // This timer stays referenced on purpose: it is part of an operation the caller is awaiting
      // (unref'd, a script awaiting a retried call could exit mid-backoff). It is bounded by
      // maxDelayMs and the deadline, and the signal clears it at once.
      if (delayMs > 0) await sleep(delayMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
      // Even with no delay, let the event loop poll once: connections that died together (a
      // thawed instance, a pooler restart) are then noticed and dropped by the pool, instead of
      // being handed to the next attempts one by one until the budget is gone.
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
