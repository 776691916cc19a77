/**
 * Who may ask a pool for a connection: counts the wrapper attempts admitted to one pool, sheds
 * load past `maxWaitingCallers`, and tells whether an attempt will have to wait.
 *
 * pg.Pool's own `waitingCount` lags: callers admitted in the same tick have not reached its queue
 * yet, so a burst would never be shed. Our count of admitted attempts does not lag; the larger of
 * the two wins. Only the number of unsettled attempts is read, so that number is all it keeps.
 */
import type pg from 'pg';
import { PoolSaturatedError } from '../errors/errors.ts';

export class PoolAdmission {
  /** Attempts admitted and not settled yet (waiting for a connection, or holding one). */
  #admitted = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly limit: number,
    private readonly maxWaitingCallers: number | undefined,
  ) {}

  /**
   * Admits one attempt or throws PoolSaturatedError. Returns true when every connection was
   * already taken (this attempt waits for one). Pair every admission with one `settle()`.
   */
  admit(): boolean {
    const waits = this.pool.waitingCount > 0 || this.#admitted >= this.limit;
    if (waits && this.maxWaitingCallers !== undefined) {
      const waiting = Math.max(this.pool.waitingCount, this.#admitted - this.limit);
      if (waiting >= this.maxWaitingCallers) throw new PoolSaturatedError(waiting);
    }
    this.#admitted++;
    return waits;
  }

  /** The admitted attempt settled, whatever the outcome. Bound, so it can be passed as a callback. */
  readonly settle = (): void => {
    this.#admitted--;
  };
}
