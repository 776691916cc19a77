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
 * commit) it asks again, within a bound. The answer:
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
   * Wait between two questions while the answer is `in progress`, ms; after a failed connection it
   * doubles, up to 10 times this (a pooler that kills its clients again and again, a primary
   * still restarting). Defaults to 50.
   */
  readonly intervalMs?: number;
}

/**
 * Long enough to outlast a pooler or primary restart, and well inside the retry deadline
 * (src/transaction/retry.ts, 30 s): a caller waits this long at most before hearing "unknown".
 * Measured under PgBouncer KILL every 300 ms on a loaded 2-core machine, a fresh login sometimes
 * failed for several seconds in a row (docs/reliability.md).
 */
export const DEFAULT_SETTLE_TIMEOUT_MS = 15_000;
export const DEFAULT_SETTLE_INTERVAL_MS = 50;

const XACT_STATUS = 'SELECT pg_xact_status($1::xid8) AS status';
/** PostgreSQL 10–12: same answers, 64-bit id as bigint. */
const TXID_STATUS = 'SELECT txid_status($1::bigint) AS status';
/** undefined_function / undefined_object (no xid8 type): a server older than 13. */
const NO_XACT_STATUS = new Set(['42883', '42704']);
/** invalid_parameter_value: "transaction ID … is in the future" — not a transaction this server ever had. */
const NOT_THIS_SERVERS = '22023';

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** One question: the status text, null (too old to tell), or throws. */
async function askStatus(conn: SettleConnection, xid: string, legacy: boolean): Promise<unknown> {
  const rows = (await conn.query(legacy ? TXID_STATUS : XACT_STATUS, [xid])).rows;
  return (rows[0] as { status?: unknown } | undefined)?.status ?? null;
}

/** The resolver behind `OutcomeRecord.settle`. Never rejects. */
export function createSettleOutcome(options: SettleOptions): SettleOutcome {
  const timeoutMs = checkMilliseconds('settle.timeoutMs', options.timeoutMs) ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const intervalMs = checkMilliseconds('settle.intervalMs', options.intervalMs, { zero: true }) ?? DEFAULT_SETTLE_INTERVAL_MS;
  /** Learned once per resolver: the server answers only txid_status. */
  let legacy = false;

  /** One settlement's connection, held where the bound's timer can close it. */
  interface Held {
    conn: SettleConnection | null;
    abandoned: boolean;
  }

  async function settle(xid: string, deadline: number, held: Held): Promise<SettledOutcome> {
    let conn: SettleConnection | null = null;
    let waitMs = intervalMs;
    /** Why the last question got no answer, for the debug log. */
    let last = 'none';
    try {
      for (;;) {
        if (held.abandoned) return 'unknown';
        try {
          conn ??= await options.connect();
          held.conn = conn;
          if (held.abandoned) return 'unknown';
          const status = await askStatus(conn, xid, legacy);
          if (status === 'committed' || status === 'aborted') return status;
          if (status === null) {
            poolingLog('lost COMMIT of transaction %s: too old to look up', xid);
            return 'unknown';
          }
          last = 'in progress';
          // 'in progress': ask again.
          waitMs = intervalMs;
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
          waitMs = Math.min(Math.max(waitMs, 1) * 2, intervalMs * 10);
          last = classifyError(error).kind;
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

  return (xid) => {
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
      settle(xid, deadline, held).then(
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

/** A resolver on fresh connections built as `pool` builds its own (same URL, TLS, timeouts). */
export function settleOnPool(pool: pg.Pool, options: Omit<SettleOptions, 'connect'> = {}): SettleOutcome {
  return createSettleOutcome({
    ...options,
    connect: async () => {
      const client = newPoolClient(pool);
      try {
        await client.connect();
      } catch (error) {
        void client.end().catch(() => {});
        throw error;
      }
      return client;
    },
  });
}
