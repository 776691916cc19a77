/**
 * Which server a read goes to, decided locally from the last observations (no round trip). Pure.
 *
 * 1. Usable replicas: `up` (answered the last poll, lag within `maxReplicaLagMs`) or `unknown`
 *    (not polled yet). None usable → the primary, counted as `primary-fallback`.
 * 2. Of those, the replicas known to have replayed the position the read needs (this instance's
 *    own writes, or the `after` token); an `unknown` one qualifies only when nothing is required.
 *    None → the primary, counted as `primary-consistency`.
 * 3. Of those, the least lagging; equal lags take turns.
 */
import { hasReplayed, type Lsn } from './lsn.ts';

/** `unknown`: not polled yet; `lagging`: answers but is behind by more than the bound; `down`: does not answer. */
export type ReplicaState = 'unknown' | 'up' | 'lagging' | 'down';

export interface ReplicaView {
  readonly state: ReplicaState;
  /** `pg_last_wal_replay_lsn()` at the last successful poll. */
  readonly replayLsn: Lsn | null;
  readonly lagMs: number | null;
}

/** Where a read went: a replica, the primary because no replica was usable, or the primary because none had replayed far enough. */
export type ReadTarget = 'replica' | 'primary-fallback' | 'primary-consistency';

export const READ_TARGETS: readonly ReadTarget[] = Object.freeze(['replica', 'primary-fallback', 'primary-consistency']);

export type ReadRoute = { readonly target: 'replica'; readonly index: number } | { readonly target: Exclude<ReadTarget, 'replica'> };

/**
 * @param replicas in configuration order; the route's `index` points into this list.
 * @param required the WAL position the read must see, or null.
 * @param turn any integer that changes between calls (a counter): rotates among equally good replicas.
 */
export function selectReadRoute(replicas: readonly ReplicaView[], required: Lsn | null, turn: number): ReadRoute {
  const usable: number[] = [];
  replicas.forEach((replica, index) => {
    if (replica.state === 'up' || replica.state === 'unknown') usable.push(index);
  });
  if (usable.length === 0) return { target: 'primary-fallback' };
  const caughtUp = usable.filter((index) => hasReplayed(replicas[index]?.replayLsn ?? null, required));
  if (caughtUp.length === 0) return { target: 'primary-consistency' };
  const lag = (index: number) => replicas[index]?.lagMs ?? 0;
  const best = Math.min(...caughtUp.map(lag));
  const ties = caughtUp.filter((index) => lag(index) === best);
  const pick = ties[Math.abs(Math.trunc(turn)) % ties.length] as number;
  return { target: 'replica', index: pick };
}
