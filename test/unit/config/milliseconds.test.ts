import { describe, expect, it } from 'vitest';
import { checkMilliseconds, MAX_TIMER_MS } from '~/config/milliseconds.ts';
import { resolvePoolConfig } from '~/config/resolve-pool-config.ts';
import { ConfigError } from '~/errors/errors.ts';
import { createConnectionPoolManager } from '~/index.ts';
import { resolveReplicaRoutingOptions } from '~/routing/routing-options.ts';
import { resolveRetryOptions } from '~/transaction/retry.ts';

const thrown = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('checkMilliseconds: the one rule for timeouts', () => {
  it.each([1, 0.5, 1000, MAX_TIMER_MS])('accepts %s', (value) => {
    expect(checkMilliseconds('x', value)).toBe(value);
  });

  it('undefined passes through (the caller applies its default)', () => {
    expect(checkMilliseconds('x', undefined)).toBeUndefined();
  });

  it.each([0, -1, MAX_TIMER_MS + 1, 3e9, Number.NaN, Number.POSITIVE_INFINITY, '100', null])('refuses %s, naming the option', (value) => {
    const error = thrown(() => checkMilliseconds('replicaPollIntervalMs', value));
    expect(error.variable).toBe('replicaPollIntervalMs');
    expect(error.message).toMatch(/^replicaPollIntervalMs: must be a number of milliseconds from above 0 to 2147483647/);
  });

  it('zero: true allows 0 and still caps', () => {
    expect(checkMilliseconds('x', 0, { zero: true })).toBe(0);
    expect(() => checkMilliseconds('x', -1, { zero: true })).toThrow(ConfigError);
    expect(() => checkMilliseconds('x', MAX_TIMER_MS + 1, { zero: true })).toThrow(/from 0 to 2147483647/);
  });
});

describe('every timeout option goes through it', () => {
  const tooBig = 3e9;
  const env = { DATABASE_URL: 'postgresql://u@h:5432/d' };
  it.each<[string, () => unknown]>([
    ['replicaPollIntervalMs', () => resolveReplicaRoutingOptions({ replicaPollIntervalMs: tooBig })],
    ['maxReplicaLagMs', () => resolveReplicaRoutingOptions({ maxReplicaLagMs: tooBig })],
    ['retry.maxDelayMs', () => resolveRetryOptions({ maxDelayMs: tooBig })],
    ['retry.deadlineMs', () => resolveRetryOptions({ deadlineMs: tooBig })],
    ['retry.baseDelayMs', () => resolveRetryOptions({ baseDelayMs: tooBig })],
    ['poolTimeoutMs', () => resolvePoolConfig(env, { poolTimeoutMs: tooBig })],
    ['idleTimeoutMs', () => resolvePoolConfig(env, { idleTimeoutMs: tooBig })],
    ['connectTimeoutMs', () => resolvePoolConfig(env, { connectTimeoutMs: tooBig })],
    ['transactionTimeoutMs', () => createConnectionPoolManager({ createClient: () => ({}) as never, env, transactionTimeoutMs: tooBig })],
    ['healthTimeoutMs', () => createConnectionPoolManager({ createClient: () => ({}) as never, env, healthTimeoutMs: tooBig })],
  ])('%s', (name, make) => {
    expect(thrown(make).variable).toBe(name);
  });

  it('retry delays may be 0', () => {
    expect(resolveRetryOptions({ baseDelayMs: 0, maxDelayMs: 0 })).toMatchObject({ baseDelayMs: 0, maxDelayMs: 0 });
  });
});
