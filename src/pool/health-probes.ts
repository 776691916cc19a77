/**
 * The two probes behind the health check, each on its own short-lived `pg.Client`:
 * - `pingDatabase`: `SELECT 1` over the app's own URL (through PgBouncer in transaction mode).
 * - `readPgbouncerPools`: `SHOW POOLS` + `SHOW STATS` on the PgBouncer admin console.
 *
 * Why a dedicated client rather than `manager.pool.query('SELECT 1')`:
 * - "Is the database answering?" and "is our pool busy?" are separate questions. On a saturated
 *   pool, `pool.query` queues behind the app's own transactions (up to the pool timeout, 10 s by
 *   default): the check would time out and report a healthy database as `unhealthy`, while the
 *   pool check already reports the saturation as `degraded`.
 * - A serverless pool has 1–3 connections: a health probe must not take one away from requests,
 *   nor add itself to `waitingCount` (which the pool check reads).
 * - A queued `pool.query` cannot be withdrawn: after our timeout it would stay in pg-pool's queue
 *   and run later. A client we own can be destroyed on abort, so nothing outlives the check.
 * The cost is one connect (TCP + auth to PgBouncer, a few ms) per check, which is counted in the
 * reported latency: it is what a fresh caller would see.
 *
 * Both honour an AbortSignal by destroying the socket (no graceful Terminate: a hung peer would
 * never acknowledge it), and carry pg's own connect/query timeouts as a backstop.
 */
import pg from 'pg';
import type { PgbouncerFigures } from '../health/health-check.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';
import { buildClientSettings, type PgClientSettings, pgClientConfig, tlsAwareClient } from './client-settings.ts';
import { multiHostSetup } from './multi-host.ts';
import { destroyClientSocket } from './pg-internals.ts';

export interface ProbeOptions {
  /** Aborting destroys the connection at once; the probe then rejects. */
  signal?: AbortSignal;
  /** Backstop for pg's `connectionTimeoutMillis` and `query_timeout`, ms. Defaults to 5000. */
  timeoutMs?: number;
  /** Shown in pg_stat_activity / SHOW CLIENTS. */
  applicationName?: string;
}

const toNumber = (value: unknown): number => {
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
};

/** A URL (its TLS parameters are translated like the pool's), or settings already built for it. */
export type ProbeTarget = string | PgClientSettings;

/** Runs `work` on a new client; aborting (or finishing) always releases the socket. */
async function withClient<T>(
  target: ProbeTarget,
  variable: string,
  options: ProbeOptions,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const { signal } = options;
  signal?.throwIfAborted();
  const timeout = options.timeoutMs ?? 5000;
  // The same builder as the pool's (src/pool/client-settings.ts): the probe connects as the app does.
  // A multi-host URL picks its host like the pool's clients (src/pool/multi-host.ts).
  const hosts = multiHostSetup(typeof target === 'string' ? buildClientSettings(target, { variable }) : target);
  const settings = hosts.settings;
  // A TLS failure at connect becomes a TlsError; sslmode=prefer falls back to plain TCP like the pool.
  const Client = hosts.wrap(tlsAwareClient(settings, pg.Client));
  const client = new Client({
    ...pgClientConfig(settings),
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    application_name: options.applicationName,
  });
  // A late socket error (after abort, or a FATAL after a failed query) must not crash the process.
  client.on('error', () => {});
  const destroy = () => destroyClientSocket(client);
  signal?.addEventListener('abort', destroy, { once: true });
  let ok = false;
  try {
    await client.connect();
    const result = await work(client);
    ok = true;
    return result;
  } finally {
    signal?.removeEventListener('abort', destroy);
    // The one-off client no longer uses the URL's fleet (shared with the pool: its monitors stay).
    hosts.fleet?.release();
    if (ok) {
      // Graceful Terminate; should the peer not acknowledge it, the socket still goes.
      const timer = setTimeout(destroy, timeout);
      unrefTimer(timer);
      client.end().then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
    } else {
      destroy();
    }
  }
}

/** `SELECT 1` on a fresh connection. Resolves once the database answered; rejects with the driver's error. */
export async function pingDatabase(target: ProbeTarget, options: ProbeOptions = {}): Promise<void> {
  await withClient(target, 'DATABASE_URL', options, (client) => client.query('SELECT 1'));
}

/**
 * `SHOW POOLS` and `SHOW STATS` (simple query protocol: the console rejects parameters) filtered to
 * `database`. A database PgBouncer has no pool for yet reads as zeros.
 */
export async function readPgbouncerPools(
  adminConnectionString: ProbeTarget,
  database: string,
  options: ProbeOptions = {},
): Promise<PgbouncerFigures> {
  return withClient(adminConnectionString, 'PGBOUNCER_ADMIN_URL', options, async (client) => {
    const pools = (await client.query('SHOW POOLS')).rows as Record<string, unknown>[];
    const stats = (await client.query('SHOW STATS')).rows as Record<string, unknown>[];
    const ours = pools.filter((row) => row.database === database);
    const stat = stats.find((row) => row.database === database) ?? {};
    const sum = (column: string) => ours.reduce((total, row) => total + toNumber(row[column]), 0);
    const maxwait = ours.reduce((max, row) => Math.max(max, toNumber(row.maxwait) + toNumber(row.maxwait_us) / 1e6), 0);
    return {
      database,
      cl_active: sum('cl_active'),
      cl_waiting: sum('cl_waiting'),
      sv_active: sum('sv_active'),
      sv_idle: sum('sv_idle'),
      maxwait: Math.round(maxwait * 1e6) / 1e6,
      pool_mode: typeof ours[0]?.pool_mode === 'string' ? ours[0].pool_mode : null,
      stats: {
        total_xact_count: toNumber(stat.total_xact_count),
        total_query_count: toNumber(stat.total_query_count),
        avg_xact_time: toNumber(stat.avg_xact_time),
        avg_query_time: toNumber(stat.avg_query_time),
        avg_wait_time: toNumber(stat.avg_wait_time),
      },
    };
  });
}
