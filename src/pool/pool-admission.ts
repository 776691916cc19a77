/**
 * Who may ask a pool for a connection: counts the wrapper attempts admitted to one pool, sheds
 * load past `maxWaitingCallers`, and tells whether an attempt will have to wait.
 *
 * pg.Pool's own `waitingCount` lags: callers admitted in the same tick have not reached its queue
 * yet, so a burst would never be shed. Our count of admitted attempts does not lag; the larger of
 * the two wins.
 */
import type pg from 'pg';
import { PoolSaturatedError } from '../errors/errors.ts';

export interface AdmissionTicket {
  /** True when every connection was already taken at admission: this attempt waits for one. */
  readonly waits: boolean;
  /** The transaction began (a connection was obtained). */
  started(): void;
  /** The attempt settled, whatever the outcome. Safe to call more than once. */
  settled(): void;
}

export class PoolAdmission {
  /** Admitted, transaction not started yet (waiting for a connection or for BEGIN). */
  #starting = 0;
  /** Inside the transaction (fn or COMMIT). */
  #running = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly limit: number,
    private readonly maxWaitingCallers: number | undefined,
  ) {}

  /** Admits one attempt or throws PoolSaturatedError. */
  admit(): AdmissionTicket {
    const admitted = this.#starting + this.#running;
    const waits = this.pool.waitingCount > 0 || admitted >= this.limit;
    const waiting = Math.max(this.pool.waitingCount, admitted - this.limit);
    if (waits && this.maxWaitingCallers !== undefined && waiting >= this.maxWaitingCallers) throw new PoolSaturatedError(waiting);
    this.#starting++;
    let phase: 'starting' | 'running' | 'done' = 'starting';
    return {
      waits,
      started: () => {
        if (phase !== 'starting') return;
        this.#starting--;
        this.#running++;
        phase = 'running';
      },
      settled: () => {
        if (phase === 'starting') this.#starting--;
        else if (phase === 'running') this.#running--;
        phase = 'done';
      },
    };
  }
}
