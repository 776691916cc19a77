/**
 * Observes each replica's replay position in the background, so a read decides locally with no
 * extra round trip: one short query per replica every `intervalMs` (an unref'd timer), plus a
 * rate-limited refresh when a read wanted a newer position than last seen or a replica failed.
 *
 * Each replica has its own one-connection pool, apart from the app's: a poll never waits behind
 * (nor takes a connection from) the app's 1–3 connections, and through PgBouncer in transaction
 * mode it holds a server connection only for the query itself.
 *
 * The query (PostgreSQL docs, "Recovery Control Functions" and "Backup Control Functions"):
 * - on a standby, `pg_last_wal_replay_lsn()` (what reads there can see) and
 *   `pg_last_wal_receive_lsn()` (what it has received, i.e. what exists on the primary);
 * - on a server that is not in recovery (a URL that names the primary itself, or its pooler),
 *   `pg_current_wal_insert_lsn()` for both: it is the primary, so it shows every commit.
 */
import type pg from 'pg';
import { classifyError, type ErrorKind } from '../errors/classify-error.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';
import { type Lsn, minLsn, parseLsn } from './lsn.ts';
import { WalTimeline } from './replica-lag.ts';
import type { ReplicaState, ReplicaView } from './replica-selection.ts';

export const POLL_SQL = `SELECT
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END::text AS replay_lsn,
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_insert_lsn() END::text AS receive_lsn`;

export interface MonitoredReplica {
  /** Redacted URL: safe for logs and health output. */
  readonly name: string;
  /** A pool of its own (one connection is enough). The monitor ends it on `close()`. */
  readonly pool: pg.Pool;
}

export interface ReplicaMonitorOptions {
  /** Background poll period, ms. */
  readonly intervalMs: number;
  /** A replica behind by more than this is `lagging` (skipped), ms. */
  readonly maxLagMs: number;
  /** Deadline of one poll, ms: a replica that does not answer in time counts as down. */
  readonly timeoutMs: number;
  /** Told when a replica's state changes (logs). */
  readonly onStateChange?: (name: string, from: ReplicaState, to: ReplicaState, error: ErrorKind | null) => void;
  /** ms clock. Defaults to `performance.now`. */
  readonly now?: () => number;
}

/** One replica as health and metrics show it. */
export interface ReplicaStatus extends ReplicaView {
  readonly name: string;
  /** The classified kind of the last failure while `down`; null otherwise. */
  readonly error: ErrorKind | null;
}

interface Entry {
  readonly replica: MonitoredReplica;
  replayLsn: Lsn | null;
  /** null before the first poll; false after a failed poll or a read that failed to connect. */
  ok: boolean | null;
  error: ErrorKind | null;
  lastState: ReplicaState;
}

export class ReplicaMonitor {
  readonly #entries: Entry[];
  readonly #options: ReplicaMonitorOptions;
  readonly #now: () => number;
  #timeline = new WalTimeline();
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;
  #lastPollStarted = Number.NEGATIVE_INFINITY;
  #closed = false;

  constructor(replicas: readonly MonitoredReplica[], options: ReplicaMonitorOptions) {
    this.#entries = replicas.map((replica) => ({ replica, replayLsn: null, ok: null, error: null, lastState: 'unknown' }));
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    for (const { pool } of replicas) pool.on('error', () => {}); // an idle monitor connection dropped: the next poll says so
  }

  /** Starts the background loop (first poll now). Idempotent. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.refresh().finally(() => this.#schedule(this.#options.intervalMs));
    }, delayMs);
    unrefTimer(this.#timer); // polling must never keep a process (or a serverless handler) alive
  }

  /** Polls every replica now; callers arriving meanwhile share the same poll. Never rejects. */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#polling ??= this.#pollAll().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  /** Fire-and-forget refresh, at most one per `min(100 ms, intervalMs)`: for reads that found the observations too old. */
  refreshSoon(): void {
    if (this.#polling || this.#now() - this.#lastPollStarted < Math.min(100, this.#options.intervalMs)) return;
    void this.refresh();
  }

  /**
   * Refreshes in the background when the last poll is older than two periods: a serverless
   * instance frozen between requests runs no timers, so the first read after a thaw asks.
   */
  refreshIfStale(): void {
    if (this.#now() - this.#lastPollStarted > 2 * this.#options.intervalMs) this.refreshSoon();
  }

  async #pollAll(): Promise<void> {
    this.#lastPollStarted = this.#now();
    await Promise.all(this.#entries.map((entry) => this.#poll(entry)));
    const replayed = this.#entries.filter((e) => e.ok && e.replayLsn !== null).map((e) => e.replayLsn as Lsn);
    if (replayed.length === this.#entries.length && replayed.length > 0) {
      this.#timeline.prune(replayed.reduce(minLsn));
    }
    this.#publishStates();
  }

  async #poll(entry: Entry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    let client: pg.PoolClient | undefined;
    let failed = true;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(Object.assign(new Error('replica poll timed out'), { code: 'ETIMEDOUT' }));
        }, this.#options.timeoutMs);
        unrefTimer(timer);
      });
      const connecting = entry.replica.pool.connect();
      // A connection that arrives after the deadline is closed; a late error is dropped.
      connecting.then(
        (late) => timedOut && late.release(true),
        () => {},
      );
      client = await Promise.race([connecting, deadline]);
      const query = client.query<{ replay_lsn: string | null; receive_lsn: string | null }>(POLL_SQL);
      query.catch(() => {});
      const { rows } = await Promise.race([query, deadline]);
      failed = false;
      const replay = parseLsn(rows[0]?.replay_lsn);
      const receive = parseLsn(rows[0]?.receive_lsn);
      const at = this.#now();
      // A standby that streams nothing yet has no receive position; what it replayed exists anyway.
      if (receive !== null) this.#timeline.note(receive, at);
      if (replay !== null) this.#timeline.note(replay, at);
      if (this.#closed) return;
      entry.replayLsn = replay;
      entry.ok = replay !== null;
      entry.error = replay === null ? 'database' : null;
    } catch (error) {
      if (this.#closed) return;
      entry.ok = false;
      entry.error = classifyError(error).kind;
    } finally {
      clearTimeout(timer);
      // After a failure the connection is not reused: PgBouncer keeps a connected client waiting
      // for a server that is gone (up to query_wait_timeout), while it refuses a NEW client at
      // once as long as its last server login failed ("pgbouncer cannot connect to server").
      client?.release(failed ? true : undefined);
    }
  }

  /** A read on this replica failed to connect: skip it until a poll finds it answering again. */
  markDown(index: number, error: ErrorKind): void {
    const entry = this.#entries[index];
    if (!entry || this.#closed) return;
    entry.ok = false;
    entry.error = error;
    this.#publishStates();
    this.refreshSoon();
  }

  /**
   * A standby was promoted (the primary's WAL timeline changed): positions learnt on the old
   * timeline say nothing about the new one (they may be ahead of it), so the lag estimate starts
   * again from the next observations instead of calling every replica lagging.
   */
  forgetPositions(): void {
    this.#timeline = new WalTimeline();
  }

  /** The primary's WAL reached `lsn` (learnt after our own write): feeds the lag estimate. */
  notePrimaryPosition(lsn: Lsn): void {
    this.#timeline.note(lsn, this.#now());
  }

  #state(entry: Entry, lagMs: number | null): ReplicaState {
    if (entry.ok === null) return 'unknown';
    if (!entry.ok) return 'down';
    return lagMs !== null && lagMs > this.#options.maxLagMs ? 'lagging' : 'up';
  }

  /** What each replica looked like at the last observation, lag computed for now. */
  statuses(): ReplicaStatus[] {
    const now = this.#now();
    return this.#entries.map((entry) => {
      const lagMs = entry.ok && entry.replayLsn !== null ? Math.round(this.#timeline.lagMs(entry.replayLsn, now)) : null;
      return { name: entry.replica.name, state: this.#state(entry, lagMs), replayLsn: entry.replayLsn, lagMs, error: entry.error };
    });
  }

  #publishStates(): void {
    const statuses = this.statuses();
    statuses.forEach((status, index) => {
      const entry = this.#entries[index] as Entry;
      if (status.state !== entry.lastState) {
        this.#options.onStateChange?.(status.name, entry.lastState, status.state, status.error);
        entry.lastState = status.state;
      }
    });
  }

  /** Stops polling and ends the monitor pools. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#polling?.catch(() => {});
    await Promise.all(this.#entries.map((e) => e.replica.pool.end().catch(() => {})));
  }
}
