/** The retry loop with attempt functions that throw real-shaped errors: pure, no database. */
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import {
  backoffDelay,
  DEFAULT_RETRY_OPTIONS,
  type ResolvedRetryOptions,
  type RetryHooks,
  resolveRetryOptions,
  retry as retryLoop,
} from '~/transaction/retry.ts';

/** The loop takes its policy, hooks and signal in one object; these tests pass hooks and signal together. */
const retry = <T>(fn: () => Promise<T>, policy: ResolvedRetryOptions, hooks: RetryHooks & { signal?: AbortSignal } = {}) =>
  retryLoop(() => fn(), { policy, hooks, signal: hooks.signal });

const conflict = () => Object.assign(new Error('could not serialize access'), { code: '40001', severity: 'ERROR' });
const lost = () => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
/** A connection error that is not a failover (a socket that timed out mid-read): the ordinary budget. */
const timedOut = () => Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT', errno: -110, syscall: 'read' });
/** A refused connection: the primary is moving. */
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' });
const fast = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0 });

function failing(errors: (() => unknown)[], value = 'ok') {
  let calls = 0;
  const fn = vi.fn(async () => {
    const make = errors[calls++];
    if (make) throw make();
    return value;
  });
  return fn;
}

describe('resolveRetryOptions', () => {
  it('fills defaults with ?? (a 0 stays 0)', () => {
    expect(resolveRetryOptions({})).toEqual(DEFAULT_RETRY_OPTIONS);
    expect(resolveRetryOptions({ baseDelayMs: 0 }).baseDelayMs).toBe(0);
  });
  it.each([
    ['maxAttempts', 0],
    ['maxAttempts', 1.5],
    ['maxConflictAttempts', -1],
    ['factor', 0.5],
    ['baseDelayMs', Number.NaN],
    ['deadlineMs', -1],
  ] as const)('rejects %s = %s with a ConfigError naming it', (name, value) => {
    expect(() => resolveRetryOptions({ [name]: value })).toThrow(ConfigError);
    expect(() => resolveRetryOptions({ [name]: value })).toThrow(`retry.${name}`);
  });
});

describe('backoffDelay (full jitter)', () => {
  it('is uniform in [0, min(max, base·factor^(n-1))]', () => {
    const options = resolveRetryOptions({ baseDelayMs: 10, factor: 2, maxDelayMs: 100 });
    expect(backoffDelay(1, options, () => 0.999)).toBe(9);
    expect(backoffDelay(3, options, () => 0.999)).toBe(39);
    expect(backoffDelay(10, options, () => 0.999)).toBe(99);
    expect(backoffDelay(10, options, () => 0)).toBe(0);
  });
});

describe('retry', () => {
  it('retries a serialization failure up to maxConflictAttempts', async () => {
    const fn = failing(Array.from({ length: 9 }, () => conflict));
    await expect(retry(fn, fast)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(10);
    const tooMany = failing(Array.from({ length: 10 }, () => conflict));
    await expect(retry(tooMany, fast)).rejects.toMatchObject({ error: { code: '40001' }, classification: { kind: 'serialization' } });
    expect(tooMany).toHaveBeenCalledTimes(10);
  });

  it('keeps a separate, smaller budget for connection errors', async () => {
    const fn = failing([timedOut, timedOut, timedOut]);
    await expect(retry(fn, fast)).rejects.toMatchObject({ error: { code: 'ETIMEDOUT' } });
    expect(fn).toHaveBeenCalledTimes(3);
    const mixed = failing([timedOut, conflict, conflict, timedOut]);
    await expect(retry(mixed, fast)).resolves.toBe('ok');
  });

  it('never retries an application error', async () => {
    const fn = failing([() => new Error('out of stock')]);
    await expect(retry(fn, fast)).rejects.toMatchObject({ error: { message: 'out of stock' }, classification: { kind: 'application' } });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('reports each retry with its kind and delay', async () => {
    const events: string[] = [];
    await retry(failing([conflict, timedOut]), fast, { onRetry: (e) => events.push(`${e.attempt}:${e.classification.kind}:${e.delayMs}`) });
    expect(events).toEqual(['1:serialization:0', '2:connection:0']);
  });

  it('stops at the deadline instead of starting a wait that would pass it', async () => {
    const options = resolveRetryOptions({ baseDelayMs: 10_000, maxDelayMs: 10_000, deadlineMs: 100 });
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const fn = failing([conflict]);
    await expect(retry(fn, options)).rejects.toMatchObject({ error: { code: '40001' }, classification: { kind: 'serialization' } });
    expect(fn).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
  });

  it('an already-aborted signal stops before the first attempt', async () => {
    const fn = failing([]);
    const reason = new Error('gone');
    await expect(retry(fn, fast, { signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
      error: reason,
    });
    expect(fn).not.toHaveBeenCalled();
  });

  it('an abort during backoff rejects with the reason and makes no further attempt', async () => {
    const options = resolveRetryOptions({ baseDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 120_000 });
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const controller = new AbortController();
    const fn = failing([conflict]);
    const pending = retry(fn, options, {
      signal: controller.signal,
      onRetry: () => queueMicrotask(() => controller.abort(new Error('stop'))),
    });
    await expect(pending).rejects.toMatchObject({ error: { message: 'stop' } });
    expect(fn).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
  });

  it('isRetryable overrides the classifier (reads retry more)', async () => {
    const fn = failing([() => new Error('custom transient')]);
    await expect(retry(fn, fast, { isRetryable: () => true })).resolves.toBe('ok');
  });

  it('classifies each failure once: a classification handed along is not computed again', async () => {
    const carried = { kind: 'serialization', retryable: true, code: '40001', failover: false, sent: true } as const;
    const { AttemptFailure } = await import('~/transaction/retry.ts');
    const fn = failing([() => new AttemptFailure(new Error('no code on me'), carried)]);
    await expect(retry(fn, fast)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('once a retried attempt had an unknown COMMIT outcome, the final error says so', async () => {
    const unknown = () => new TransactionOutcomeUnknownError({ cause: lost() });
    const fn = failing([unknown, timedOut, timedOut, timedOut]);
    const failure = await retry(fn, fast, { isRetryable: (c) => c.retryable || c.kind === 'outcome-unknown' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ classification: { kind: 'outcome-unknown' } });
    expect((failure as { error: unknown }).error).toBeInstanceOf(TransactionOutcomeUnknownError);
  });

  it('retries failover errors past maxAttempts until failoverTimeoutMs, and reports the window once', async () => {
    const options = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0, failoverTimeoutMs: 60_000 });
    const events: (boolean | undefined)[] = [];
    const fn = failing([lost, refused, refused, refused, refused, refused, refused]);
    await expect(retry(fn, options, { onRetry: (e) => events.push(e.failoverStarted) })).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(8);
    expect(events).toEqual([true, false, false, false, false, false, false]);
  });

  it('a failover window that closes ends the retries with the last error', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const options = resolveRetryOptions({ baseDelayMs: 50, maxDelayMs: 50, failoverTimeoutMs: 120 });
    const fn = vi.fn(async () => {
      throw refused();
    });
    await expect(retry(fn, options)).rejects.toMatchObject({ error: { code: 'ECONNREFUSED' }, classification: { failover: true } });
    // 49 ms waits: the window of 120 ms fits 2 or 3 of them, never the ordinary 3 attempts' limit of 2 retries only.
    expect(fn.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(4);
    vi.restoreAllMocks();
  });

  it('failoverTimeoutMs 0 turns the window off: the ordinary budget applies', async () => {
    const fn = failing([refused, refused, refused]);
    const events: (boolean | undefined)[] = [];
    const options = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0, failoverTimeoutMs: 0 });
    await expect(retry(fn, options, { onRetry: (e) => events.push(e.failoverStarted) })).rejects.toMatchObject({
      error: { code: 'ECONNREFUSED' },
    });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(events).toEqual([undefined, undefined]);
  });

  it('failover waits are capped at FAILOVER_MAX_DELAY_MS whatever maxDelayMs says', async () => {
    const { FAILOVER_MAX_DELAY_MS } = await import('~/transaction/retry.ts');
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const delays: number[] = [];
    const options = resolveRetryOptions({ baseDelayMs: 1000, maxDelayMs: 5000, failoverTimeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = retry(failing([refused, refused]), options, {
      signal: controller.signal,
      onRetry: (e) => delays.push(e.delayMs),
    });
    await expect(pending).resolves.toBe('ok');
    expect(delays).toEqual([FAILOVER_MAX_DELAY_MS - 1, FAILOVER_MAX_DELAY_MS - 1]);
    vi.restoreAllMocks();
  });

  it('a failover that was sent and may have committed stays outcome-unknown (not retried unless idempotent)', async () => {
    const unknown = () => new TransactionOutcomeUnknownError({ cause: refused() });
    const fn = failing([refused, unknown]);
    const failure = await retry(fn, fast).catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(failure).toMatchObject({ classification: { kind: 'outcome-unknown', failover: false } });
  });

  it('failoverArmed false (a database never reached): refused connections get the ordinary budget, no window', async () => {
    const fn = failing([refused, refused, refused]);
    const events: (boolean | undefined)[] = [];
    const options = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0 });
    await expect(retry(fn, options, { failoverArmed: () => false, onRetry: (e) => events.push(e.failoverStarted) })).rejects.toMatchObject({
      error: { code: 'ECONNREFUSED' },
    });
    expect(fn).toHaveBeenCalledTimes(3);
    expect(events).toEqual([undefined, undefined]);
  });

  it('a window already open stays open even if failoverArmed changes its mind', async () => {
    let armed = true;
    const fn = failing([refused, refused, refused, refused]);
    const options = resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0 });
    const pending = retry(fn, options, {
      failoverArmed: () => armed,
      onRetry: () => {
        armed = false;
      },
    });
    await expect(pending).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(5);
  });
});
