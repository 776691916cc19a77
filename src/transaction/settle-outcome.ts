/**
 * A lost COMMIT, settled by the database: `pg_xact_status(xid8)` "reports the commit status of a
 * recent transaction … applications may use it to determine whether their transaction committed or
 * aborted after the application and database server become disconnected while a COMMIT is in
 * progress" (PostgreSQL docs, System Information Functions, since 13; `txid_status(bigint)` since
 * 10, asked instead when the server has no `pg_xact_status`).
 *
 * Asked on a fresh connection (after a failover that is the server that is primary now; through
 * PgBouncer any server connection answers for the whole cluster). While the answer is
 * `in progress` (the old backend has not yet noticed its client is gone, or is still writing the
 * commit) it asks again, within a bound. A transaction still `in progress` after `endStuckAfterMs`
 * whose backend sits `idle in transaction` waits for a COMMIT that is not coming: the path to it
 * is dead (a frozen pooler, a dropped NAT mapping: the pooler keeps its server connection, and
 * the transaction open, as long as it is stuck). Its backend is ended (`pg_terminate_backend`, which
 * PostgreSQL allows a role on its own backends), so the database decides — aborted, or committed
 * if the COMMIT got there first — instead of the caller waiting for the pooler or hearing "unknown".
 *
 * A server that restarted (a crash, an immediate shutdown) or is another server (a promoted
 * standby) since the id was given may have given the same id again: ids handed out but not yet in
 * WAL that reached the disk are handed out anew after recovery, and the transaction asked about is
 * then someone else's. Seen on the local stack: a lost COMMIT "settled committed" after a
 * `pg_ctl stop -m immediate`, and the write was not there (test/integration/reliability/
 * ledger-soak.test.ts). So the id is asked together with `pg_postmaster_start_time()`, and when the
 * server that answers started at another time than the one that gave the id, `committed` is
 * `unknown` (ours or the reuser's), and a backend in the transaction is never ended (it may be
 * the reuser's). `aborted` still holds: had our transaction committed, its id could not be reused.
 * The answer:
 * - `committed` / `aborted`: what happened;
 * - `unknown`: what the database cannot tell — the id is too old to look up (NULL), it is "in the
 *   future" of the server that answers (a failover lost the transaction with the rest of the old
 *   primary's unreplicated WAL), or no answer came within the bound.
 */
import type pg from 'pg';
import type { SettledOutcome, SettleOutcome } from '../adapter/outcome-record.ts';
import { checkMilliseconds } from '../config/milliseconds.ts';
import { classifyError } from '../errors/classify-error.ts';
import { poolingLog } from '../logging/loggers.ts';
import { newPoolClient } from '../pool/pg-internals.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';

/** The part of a pg client the resolver uses. */
export interface SettleConnection {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}

export interface SettleOptions {
  /** Opens a fresh, connected connection to the primary. */
  readonly connect: () => Promise<SettleConnection>;
  /** How long one settlement may take in all (connects, `in progress` waits), ms. Defaults to 15000. */
  readonly timeoutMs?: number;
  /**
   * Wait between two questions while the answer is `in progress`, and after a connection cut
   * once it had waited (a pooler that kills its clients again and again), ms; after connections
   * refused at once it doubles, up to 10 times this (a primary still restarting; see
   * waitAfterFailedQuestion). Defaults to 50.
   */
  readonly intervalMs?: number;
  /**
   * How long a transaction may stay `in progress`, idle, before its backend is ended (see above).
   * Defaults to 100: a backend that is writing its commit is `active`, never ended; a live pooler
   * rolls back a transaction whose client is gone as soon as it reads the EOF (milliseconds), so one
   * still idle in it that long after the client's connection was lost is waiting for nobody.
   */
  readonly endStuckAfterMs?: number;
}

/**
 * Long enough to outlast a pooler or primary restart, and well inside the retry deadline
 * (src/transaction/retry.ts, 30 s): a caller waits this long at most before hearing "unknown".
 * Measured under PgBouncer KILL every 300 ms on a loaded 2-core machine, a fresh login sometimes
 * failed for several seconds in a row (docs/reliability.md).
 */
export const DEFAULT_SETTLE_TIMEOUT_MS = 15_000;
export const DEFAULT_SETTLE_INTERVAL_MS = 50;
export const DEFAULT_END_STUCK_AFTER_MS = 100;

const XACT_STATUS = 'SELECT pg_xact_status($1::xid8) AS status, pg_postmaster_start_time()::text AS started';
/** PostgreSQL 10–12: same answers, 64-bit id as bigint. */
const TXID_STATUS = 'SELECT txid_status($1::bigint) AS status, pg_postmaster_start_time()::text AS started';
/** undefined_function / undefined_object (no xid8 type): a server older than 13. */
const NO_XACT_STATUS = new Set(['42883', '42704']);
/**
 * Ends the backend idle in that transaction (PostgreSQL 13+: xid8 → xid). Only `idle in
 * transaction`: a backend running a statement or its COMMIT is left to finish.
 */
const END_STUCK = `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
  WHERE backend_xid = ($1::xid8)::xid AND state = 'idle in transaction' AND pid <> pg_backend_pid()`;
/** invalid_parameter_value: "transaction ID … is in the future" — not a transaction this server ever had. */
const NOT_THIS_SERVERS = '22023';

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One question: the status text (null: too old to tell) and when the answering server started, or throws. */
async function askStatus(conn: SettleConnection, xid: string, legacy: boolean): Promise<{ status: unknown; started: unknown }> {
  const rows = (await conn.query(legacy ? TXID_STATUS : XACT_STATUS, [xid])).rows;
  const row = rows[0] as { status?: unknown; started?: unknown } | undefined;
  return { status: row?.status ?? null, started: row?.started ?? null };
}

/** Ends the backend stuck idle in transaction `xid`, if any; a role not allowed to (42501) just waits on. */
async function endStuck(conn: SettleConnection, xid: string): Promise<void> {
  try {
    const ended = (await conn.query(END_STUCK, [xid])).rows.length;
    poolingLog('lost COMMIT of transaction %s: still in progress, idle; %d backend(s) holding it ended', xid, ended);
  } catch (error) {
    if (sqlState(error) !== '42501') throw error;
    poolingLog('lost COMMIT of transaction %s: still in progress; not allowed to end its backend', xid);
  }
}

/**
 * The wait before the next question, after one that got no answer in `tookMs`, and the backoff
 * after that. Refused at once (a primary still restarting, a pooler without a server): wait
 * `backoffMs`, doubling up to 10 × `intervalMs`. Cut after it had waited at least that long (a
 * pooler that KILLs its clients, a connect timeout): it waited already, so the next question comes
 * after `intervalMs` and the backoff starts over — each window between two cuts gets a question.
 * Doubling on top of that wait (up to 500 ms) left every other window of a PgBouncer KILL every
 * 300 ms without one. Not at once either: a KILLed PgBouncer database stays paused until RESUME,
 * and on PgBouncer 1.18 a login in that pause leaves the pool without a server connection for
 * `server_login_retry` (docs/reliability.md). Exported for unit tests: pure.
 */
export function waitAfterFailedQuestion(
  tookMs: number,
  backoffMs: number,
  intervalMs: number,
): { readonly waitMs: number; readonly backoffMs: number } {
  if (tookMs >= Math.max(backoffMs, 1)) return { waitMs: intervalMs, backoffMs: intervalMs };
  return { waitMs: backoffMs, backoffMs: Math.min(Math.max(backoffMs, 1) * 2, intervalMs * 10) };
}

/** The resolver behind `OutcomeRecord.settle`. Never rejects. */
export function createSettleOutcome(options: SettleOptions): SettleOutcome {
  const timeoutMs = checkMilliseconds('settle.timeoutMs', options.timeoutMs) ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const intervalMs = checkMilliseconds('settle.intervalMs', options.intervalMs, { zero: true }) ?? DEFAULT_SETTLE_INTERVAL_MS;
  const endStuckAfterMs =
    checkMilliseconds('settle.endStuckAfterMs', options.endStuckAfterMs, { zero: true }) ?? DEFAULT_END_STUCK_AFTER_MS;
  /** Learned once per resolver: the server answers only txid_status. */
  let legacy = false;

  /** One settlement's connection, held where the bound's timer can close it. */
  interface Held {
    conn: SettleConnection | null;
    abandoned: boolean;
  }

  async function settle(xid: string, startedAt: string | null, deadline: number, held: Held): Promise<SettledOutcome> {
    let conn: SettleConnection | null = null;
    let waitMs = intervalMs;
    /** The wait after a question refused at once; doubles with each refusal in a row. */
    let backoffMs = intervalMs;
    /** Why the last question got no answer, for the debug log. */
    let last = 'none';
    /** When the answer was first `in progress` (performance.now()); null until then. */
    let inProgressSince: number | null = null;
    let endTried = false;
    /** Questions that got no answer (the connection failed), for the debug log. */
    let tries = 0;
    try {
      for (;;) {
        if (held.abandoned) return 'unknown';
        const askedAt = performance.now();
        try {
          conn ??= await options.connect();
          held.conn = conn;
          if (held.abandoned) return 'unknown';
          const { status, started } = await askStatus(conn, xid, legacy);
          // Another server, or this one restarted: the id may be someone else's now (see above).
          const sameServer = startedAt === null || started === startedAt;
          if (status === 'committed' && !sameServer) {
            poolingLog(
              'lost COMMIT of transaction %s: committed says a server that restarted since (or another one): the id may have been reused',
              xid,
            );
            return 'unknown';
          }
          if (status === 'committed' || status === 'aborted') return status;
          if (status === null) {
            poolingLog('lost COMMIT of transaction %s: too old to look up', xid);
            return 'unknown';
          }
          last = 'in progress';
          inProgressSince ??= performance.now();
          if (!endTried && !legacy && sameServer && performance.now() - inProgressSince >= endStuckAfterMs) {
            endTried = true;
            await endStuck(conn, xid);
          }
          // 'in progress': ask again.
          waitMs = intervalMs;
          backoffMs = intervalMs;
        } catch (error) {
          const state = sqlState(error);
          if (state === NOT_THIS_SERVERS) {
            poolingLog('lost COMMIT of transaction %s: not a transaction of the server that answers (a failover?)', xid);
            return 'unknown';
          }
          if (state !== undefined && NO_XACT_STATUS.has(state) && !legacy) {
            legacy = true;
            continue;
          }
          // A connection that failed: the next question gets a fresh one.
          const failed = conn;
          conn = null;
          void failed?.end().catch(() => {});
          ({ waitMs, backoffMs } = waitAfterFailedQuestion(performance.now() - askedAt, backoffMs, intervalMs));
          const { kind, code } = classifyError(error);
          last = code === null ? kind : `${kind} ${code}`;
          tries++;
          poolingLog(
            'lost COMMIT of transaction %s: question %d got no answer (%s, %s)',
            xid,
            tries,
            last,
            failed ? 'asking' : 'connecting',
          );
        }
        if (performance.now() + waitMs > deadline) {
          poolingLog('lost COMMIT of transaction %s: no answer within the bound (last: %s)', xid, last);
          return 'unknown';
        }
        // Referenced on purpose, as retry's backoff: the caller awaits this answer; bounded by timeoutMs.
        if (waitMs > 0) await nodeBuiltin('node:timers/promises').setTimeout(waitMs);
      }
    } finally {
      void conn?.end().catch(() => {});
    }
  }

  return (xid, serverStartedAt = null) => {
    const deadline = performance.now() + timeoutMs;
    const held: Held = { conn: null, abandoned: false };
    return new Promise<SettledOutcome>((resolve) => {
      // A connect or a question that hangs past the bound: the answer is unknown, and the connection is closed.
      const timer = setTimeout(() => {
        held.abandoned = true;
        void held.conn?.end().catch(() => {});
        resolve('unknown');
      }, timeoutMs);
      unrefTimer(timer);
      settle(xid, serverStartedAt, deadline, held).then(
        (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
        () => {
          clearTimeout(timer);
          resolve('unknown');
        },
      );
    });
  };
}

/** `client`, connected; a client whose connect failed is ended, so its socket is not left behind. */
export async function connected<T extends { connect(): Promise<unknown>; end(): Promise<unknown> }>(client: T): Promise<T> {
  try {
    await client.connect();
  } catch (error) {
    void client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** A resolver on fresh connections built as `pool` builds its own (same URL, TLS, timeouts). */
export function settleOnPool(pool: pg.Pool, options: Omit<SettleOptions, 'connect'> = {}): SettleOutcome {
  return createSettleOutcome({
    ...options,
    connect: () => connected(newPoolClient(pool)),
  });
}
