/**
 * The WAL position that covers a commit: the one query read-your-writes needs from the primary.
 *
 * After COMMIT has returned, `pg_current_wal_insert_lsn()` on ANY backend of the primary is ≥ the
 * end of our commit record, because the record was inserted into the WAL before COMMIT returned
 * and the insert position only moves forward. A replica whose `pg_last_wal_replay_lsn()` is ≥
 * that value has therefore replayed our commit (and may have replayed more: the check is
 * conservative, never stale).
 *
 * Why not `pg_current_wal_lsn()` (the *write* position, PostgreSQL docs "Backup Control
 * Functions"): it is only ≥ our commit when COMMIT waited for the WAL to be written, i.e. with
 * `synchronous_commit` at `local` or above. With `synchronous_commit = off` (a per-session or
 * per-transaction choice any app can make) COMMIT returns first; measured on the local stack:
 * right after an INSERT committed, `pg_current_wal_lsn()` was 0/3000000 while the commit record
 * ended at 0/3001250 (`pg_current_wal_insert_lsn()`), and the standby had replayed 0/3000000
 * without the row.
 *
 * One known overshoot: when the insert position sits exactly on a WAL page boundary,
 * `pg_current_wal_insert_lsn()` points past the next page's header (24 bytes), which no replica
 * reaches until another record is written (pgsql-hackers, "Expose the WAL insertion end position
 * to SQL", 2026-09, proposes `pg_current_wal_insert_end_lsn()` for this). Reads then stay on the
 * primary a little longer (the next record: any write, or the standby snapshot the primary logs
 * within 15 s of activity); never stale.
 *
 * Fetched once a write's transaction has ended, off the caller's path (src/routing/own-writes.ts).
 * Pipelining it behind the write's COMMIT would save that background query, but only apps with
 * replicas need it and the adapter would have to hand the answer to the router; not done.
 */
import { type Lsn, parseLsn } from './lsn.ts';

/**
 * The position and its timeline. The timeline is the first 8 hex digits of the WAL file name
 * (`pg_walfile_name`, PostgreSQL docs "Backup Control Functions": file names are timeline, log,
 * segment), which PostgreSQL 15+ computes on the timeline WAL is being inserted on. It changes
 * when a standby is promoted: that is how a position learnt before a failover is recognised after it.
 */
export const COMMIT_POSITION_SQL =
  'SELECT pg_current_wal_insert_lsn()::text AS lsn, substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8) AS timeline';

/** A position on the primary and the WAL timeline it belongs to. */
export interface WalPosition {
  readonly lsn: Lsn;
  /** null when the server did not say (never from a PostgreSQL primary). */
  readonly timeline: number | null;
}

/** Anything with pg's `query(text)`: a pg.Pool, a pg.Client. */
export interface Queryable {
  query(text: string): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** The primary's WAL insert position now and its timeline; run it after COMMIT returned to cover that commit. */
export async function fetchWalPosition(primary: Queryable): Promise<WalPosition> {
  const { rows } = await primary.query(COMMIT_POSITION_SQL);
  const lsn = parseLsn(rows[0]?.lsn as string | undefined);
  // On a standby the function fails with 55000 ("recovery is in progress"); null cannot come back from a primary.
  if (lsn === null) throw new Error('pg_current_wal_insert_lsn() returned no position');
  const tli = rows[0]?.timeline;
  const timeline = typeof tli === 'string' && /^[0-9A-Fa-f]{8}$/.test(tli) ? Number.parseInt(tli, 16) : null;
  return { lsn, timeline: timeline === 0 ? null : timeline };
}

/** The primary's WAL insert position now (without its timeline). */
export async function fetchCommitPosition(primary: Queryable): Promise<Lsn> {
  return (await fetchWalPosition(primary)).lsn;
}
