/**
 * This instance's own writes, as one WAL position reads must wait for. Pure (the query is injected).
 *
 * Every primary transaction that may have written bumps a counter when it ends. A fetch of the
 * primary's position (src/routing/commit-position.ts) covers every write that had ended when the
 * fetch was sent, so the counter value read at that moment is what its answer covers; writes that
 * end while it is in flight stay pending and get the next fetch. One fetch is in flight at a
 * time, however many writes end meanwhile.
 */
import type { WalPosition } from './commit-position.ts';
import { type Lsn, maxLsn } from './lsn.ts';

/** After a failed fetch, the background retry waits this long (reads meanwhile go to the primary). */
export const FETCH_RETRY_MS = 1000;

export class OwnWrites {
  readonly #fetchPosition: () => Promise<Lsn | WalPosition>;
  readonly #now: () => number;
  readonly #onPosition: (lsn: Lsn) => void;
  /** Told when a position arrives from a newer WAL timeline (a standby was promoted). */
  onNewTimeline: ((timeline: number) => void) | null = null;
  #ended = 0;
  #covered = 0;
  #position: Lsn | null = null;
  #timeline: number | null = null;
  #fetching: Promise<void> | null = null;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  /**
   * @param fetchPosition the primary's WAL position now (one query).
   * @param onPosition told of every position learnt (feeds the lag timeline).
   */
  constructor(
    fetchPosition: () => Promise<Lsn | WalPosition>,
    onPosition: (lsn: Lsn) => void = () => {},
    now: () => number = () => performance.now(),
  ) {
    this.#fetchPosition = fetchPosition;
    this.#onPosition = onPosition;
    this.#now = now;
  }

  /** True while a write has ended whose position is not known yet: only the primary is sure to show it. */
  get pending(): boolean {
    return this.#covered < this.#ended;
  }

  /** A position at or after every covered write; null before the first. */
  get position(): Lsn | null {
    return this.#position;
  }

  /** The WAL timeline of `position`, when the fetch said (null: unknown). */
  get timeline(): number | null {
    return this.#timeline;
  }

  /** A primary transaction that may have written ended; its position is fetched in the background. */
  noteWrite(): void {
    this.#ended += 1;
    this.resolveSoon();
  }

  /**
   * A position known to cover the first `coversWrites` writes (default: all so far), e.g. fetched
   * together with the COMMIT. From a newer timeline than the one held, it replaces the held
   * position instead of joining it: after a promotion the old timeline's position may be ahead of
   * everything the new one has, and the new primary's current position covers every write that
   * survived the promotion (read-your-writes must not wait for WAL that will never exist).
   */
  record(lsn: Lsn, coversWrites = this.#ended, timeline: number | null = null): void {
    const newTimeline = timeline !== null && this.#timeline !== null && timeline > this.#timeline;
    this.#position = newTimeline ? lsn : maxLsn(this.#position, lsn);
    if (timeline !== null && (this.#timeline === null || timeline > this.#timeline)) this.#timeline = timeline;
    this.#covered = Math.max(this.#covered, coversWrites);
    if (newTimeline) this.onNewTimeline?.(timeline);
    this.#onPosition(lsn);
  }

  /** Starts a background fetch when something is pending, none runs, and the last one did not just fail. */
  resolveSoon(): void {
    if (!this.pending || this.#fetching || this.#now() - this.#lastFailureAt < FETCH_RETRY_MS) return;
    void this.resolve().catch(() => {});
  }

  /** Fetches until every write so far is covered (and at least once); rejects with the fetch's error. */
  resolve(): Promise<void> {
    this.#fetching ??= (async () => {
      try {
        while (this.pending || this.#position === null) {
          const ended = this.#ended; // the answer covers the writes that ended before the query was sent
          const fetched = await this.#fetchPosition();
          if (typeof fetched === 'bigint') this.record(fetched, ended);
          else this.record(fetched.lsn, ended, fetched.timeline);
        }
      } catch (error) {
        this.#lastFailureAt = this.#now();
        throw error;
      } finally {
        this.#fetching = null;
      }
    })();
    return this.#fetching;
  }
}
