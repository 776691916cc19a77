import type pg from 'pg';
import type { PoolStats } from '../metrics/pool-stats.ts';

/** Reads pg.Pool's live counters; `active` = checked out by a caller. */
export function readPoolStats(pool: pg.Pool, limit: number): PoolStats {
  return {
    active: pool.totalCount - pool.idleCount,
    idle: pool.idleCount,
    total: pool.totalCount,
    waiting: pool.waitingCount,
    limit,
  };
}
