/**
 * This instance's own writes, as one WAL position reads must wait for. Pure (the query is injected).
 *
 * Every primary transaction that may have written bumps a counter when it ends. A fetch of the
 * primary's position (src/routing/commit-position.ts) covers every write that had ended when the
 * fetch was sent, so the counter value read at that moment is what its answer covers; writes that
 * end while it is in flight stay pending and get the next fetch. One fetch is in flight at a
 * time, however many writes end meanwhile.
 */
import { type Lsn, maxLsn } from './lsn.ts';

/** After a failed fetch, the background retry waits this long (reads meanwhile go to the primary). */
export const FETCH_RETRY_MS = 1000;

export class OwnWrites {
  readonly #fetchPosition: () => Promise<Lsn>;
  readonly #now: () => number;
  readonly #onPosition: (lsn: Lsn) => void;
  #ended = 0;
  #covered = 0;
  #position: Lsn | null = null;
  #fetching: Promise<void> | null = null;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  /**
   * @param fetchPosition the primary's WAL position now (one query).
   * @param onPosition told of every position learnt (feeds the lag timeline).
   */
  constructor(fetchPosition: () => Promise<Lsn>, onPosition: (lsn: Lsn) => void = () => {}, now: () => number = () => performance.now()) {
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

  /** A primary transaction that may have written ended; its position is fetched in the background. */
  noteWrite(): void {
    this.#ended += 1;
    this.resolveSoon();
  }

  /** A position known to cover the first `coversWrites` writes (default: all so far), e.g. fetched together with the COMMIT. */
  record(lsn: Lsn, coversWrites = this.#ended): void {
    this.#position = maxLsn(this.#position, lsn);
    this.#covered = Math.max(this.#covered, coversWrites);
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
          this.record(await this.#fetchPosition(), ended);
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
