/** A point-in-time view of one pg.Pool (totalCount, idleCount, waitingCount) and its configured `max`. */
export interface PoolStats {
  /** Connections checked out by a caller (total - idle). */
  active: number;
  idle: number;
  total: number;
  /** Callers queued for a connection. */
  waiting: number;
  /** The pool's `max`. */
  limit: number;
}

/** Busy share of the pool in percent (active / limit), 0–100, rounded to 1 decimal; 0 for a pool with no limit. */
export function utilization(stats: PoolStats): number {
  if (!(stats.limit > 0)) return 0;
  const percent = (stats.active / stats.limit) * 100;
  return Math.round(Math.min(100, Math.max(0, percent)) * 10) / 10;
}

/** Figures of several pools added up (the replicas' pools as one `readPool`). */
export function sumPoolStats(stats: readonly PoolStats[]): PoolStats {
  const sum: PoolStats = { active: 0, idle: 0, total: 0, waiting: 0, limit: 0 };
  for (const s of stats) {
    sum.active += s.active;
    sum.idle += s.idle;
    sum.total += s.total;
    sum.waiting += s.waiting;
    sum.limit += s.limit;
  }
  return sum;
}

/** A pool that does not exist yet (before the first call). */
export const EMPTY_POOL_STATS: Readonly<PoolStats> = Object.freeze({ active: 0, idle: 0, total: 0, waiting: 0, limit: 0 });
