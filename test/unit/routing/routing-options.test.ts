import { describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import {
  DEFAULT_REPLICA_ROUTING,
  replicaPollTimeoutMs,
  replicaStartTimeoutMs,
  resolveReplicaRoutingOptions,
} from '~/routing/routing-options.ts';

describe('resolveReplicaRoutingOptions', () => {
  it('has the documented defaults, frozen', () => {
    expect(resolveReplicaRoutingOptions()).toEqual({ maxReplicaLagMs: 10_000, replicaPollIntervalMs: 1000 });
    expect(Object.isFrozen(DEFAULT_REPLICA_ROUTING)).toBe(true);
    expect(Object.isFrozen(resolveReplicaRoutingOptions({ maxReplicaLagMs: 5 }))).toBe(true);
  });

  it('keeps given values', () => {
    expect(resolveReplicaRoutingOptions({ maxReplicaLagMs: 250, replicaPollIntervalMs: 50 })).toEqual({
      maxReplicaLagMs: 250,
      replicaPollIntervalMs: 50,
    });
  });

  it.each([
    ['maxReplicaLagMs', 0],
    ['maxReplicaLagMs', -1],
    ['maxReplicaLagMs', Number.NaN],
    ['maxReplicaLagMs', Number.POSITIVE_INFINITY],
    ['replicaPollIntervalMs', '1000'],
    ['replicaPollIntervalMs', 0],
  ])('rejects %s = %s with a ConfigError naming it', (name, value) => {
    let caught: unknown;
    try {
      resolveReplicaRoutingOptions({ [name]: value } as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(name);
  });
});

describe('derived deadlines', () => {
  it.each([
    // poolTimeoutMs, connectTimeoutMs → replica start, poll
    [10_000, 5000, 5000, 2000],
    [5000, 5000, 2500, 2000],
    [10_000, 1000, 1000, 1000],
    [1, 5000, 1, 2000],
  ])('pool %d ms, connect %d ms → replica start %d ms, poll %d ms', (poolTimeoutMs, connectTimeoutMs, start, poll) => {
    expect(replicaStartTimeoutMs({ poolTimeoutMs, connectTimeoutMs })).toBe(start);
    expect(replicaPollTimeoutMs({ connectTimeoutMs })).toBe(poll);
    // The fallback must fit: the replica's share never exceeds half the pool timeout (at least 1 ms).
    expect(start).toBeLessThanOrEqual(Math.max(1, poolTimeoutMs / 2));
  });
});
