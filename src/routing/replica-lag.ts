/**
 * Replica lag in milliseconds, from WAL positions alone. Pure.
 *
 * Why not `now() - pg_last_xact_replay_timestamp()` on the replica: after the primary was idle
 * for ten minutes, one new commit makes that read "ten minutes behind" until it is replayed,
 * and a replica that simply has nothing to replay reads as lagging forever.
 *
 * Instead we keep a timeline of WAL positions known to exist on the primary and when we first
 * learnt of each (a replica's receive position at each poll, the primary's position after our own
 * writes). A replica that has replayed up to R lags by `now - (first time we knew of a position
 * beyond R)`, or 0 when it has replayed everything we know of: an upper bound that is exact up to
 * the sampling, and that grows when the replica stops replaying or stops receiving.
 */
import type { Lsn } from './lsn.ts';

interface Sample {
  lsn: Lsn;
  /** ms (any monotonic clock; the caller's `now`). */
  at: number;
}

/** Samples closer than this in time are merged (the later position, the earlier time): ≤ this much overestimate. */
const MERGE_WITHIN_MS = 50;
/** A hard bound on memory; the oldest samples go first. */
const MAX_SAMPLES = 512;

export class WalTimeline {
  /** Increasing in both `lsn` and `at`. */
  readonly #samples: Sample[] = [];

  /** We learnt at `at` that the primary's WAL reaches at least `lsn`. Older or equal positions are ignored. */
  note(lsn: Lsn, at: number): void {
    const last = this.#samples.at(-1);
    if (last && lsn <= last.lsn) return;
    if (last && at - last.at < MERGE_WITHIN_MS) {
      last.lsn = lsn;
      return;
    }
    this.#samples.push({ lsn, at: last ? Math.max(at, last.at) : at });
    if (this.#samples.length > MAX_SAMPLES) this.#samples.shift();
  }

  /** The newest position known, or null. */
  get latest(): Lsn | null {
    return this.#samples.at(-1)?.lsn ?? null;
  }

  /** How long a replica that replayed up to `replayed` has been behind, ms; 0 when it is not behind anything we know of. */
  lagMs(replayed: Lsn, now: number): number {
    const first = this.#samples.find((s) => s.lsn > replayed);
    return first ? Math.max(0, now - first.at) : 0;
  }

  /** Forgets positions every replica has replayed (keeps the newest, which `latest` reports). */
  prune(replayedByAll: Lsn): void {
    while (this.#samples.length > 1 && (this.#samples[0]?.lsn ?? replayedByAll + 1n) <= replayedByAll) this.#samples.shift();
  }

  get size(): number {
    return this.#samples.length;
  }
}
