/**
 * Replica routing options, validated at the boundary, and the deadlines derived from the pool
 * config. Pure.
 */

import { checkMilliseconds } from '../config/milliseconds.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';

export interface ReplicaRoutingOptions {
  /** A replica behind the primary by more than this is skipped (its reads go to the primary), ms. Defaults to 10000. */
  maxReplicaLagMs?: number;
  /** How often each replica's replay position is polled in the background, ms. Defaults to 1000. */
  replicaPollIntervalMs?: number;
}

export type ResolvedReplicaRoutingOptions = Readonly<Required<ReplicaRoutingOptions>>;

export const DEFAULT_REPLICA_ROUTING: ResolvedReplicaRoutingOptions = Object.freeze({
  maxReplicaLagMs: 10_000,
  replicaPollIntervalMs: 1000,
});

/** Validates at the boundary; throws ConfigError naming the option. */
export function resolveReplicaRoutingOptions(options: ReplicaRoutingOptions = {}): ResolvedReplicaRoutingOptions {
  for (const name of ['maxReplicaLagMs', 'replicaPollIntervalMs'] as const) checkMilliseconds(name, options[name]);
  return Object.freeze({
    maxReplicaLagMs: options.maxReplicaLagMs ?? DEFAULT_REPLICA_ROUTING.maxReplicaLagMs,
    replicaPollIntervalMs: options.replicaPollIntervalMs ?? DEFAULT_REPLICA_ROUTING.replicaPollIntervalMs,
  });
}

/**
 * How long a read attempt on a replica may wait to start its transaction (Prisma's `maxWait`)
 * before it is given up and retried on the primary: half the pool timeout, at most the connect
 * timeout, so the fallback still fits within the pool timeout.
 */
export function replicaStartTimeoutMs(config: Pick<PoolConfig, 'poolTimeoutMs' | 'connectTimeoutMs'>): number {
  return Math.max(1, Math.min(config.connectTimeoutMs, Math.floor(config.poolTimeoutMs / 2)));
}

/** Deadline of one background poll: the connect timeout, at most 2 s (the health check's default deadline). */
export function replicaPollTimeoutMs(config: Pick<PoolConfig, 'connectTimeoutMs'>): number {
  return Math.min(config.connectTimeoutMs, 2000);
}
