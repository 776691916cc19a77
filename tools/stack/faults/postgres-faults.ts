/**
 * Server-side faults on Postgres itself, through a superuser connection: find the backends that
 * serve a database (PgBouncer's server connections among them) and `pg_terminate_backend` them.
 * A query running on a terminated backend fails with `57P01 terminating connection due to
 * administrator command`. The superuser's own backend is always excluded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { withClient } from '../../lib/pg.ts';
import { showServers } from './pgbouncer-admin.ts';

/** `pg_stat_activity.state` values. */
export type BackendState =
  | 'active'
  | 'idle'
  | 'idle in transaction'
  | 'idle in transaction (aborted)'
  | 'fastpath function call'
  | 'disabled';

export interface BackendFilter {
  /** `pg_stat_activity.datname`, e.g. `app`. */
  database: string;
  /** Exact `application_name` (PgBouncer passes the client's on to its server connection). */
  applicationName?: string;
  state?: BackendState;
  /** Role name (`usename`). */
  user?: string;
  /** Only these backend pids, e.g. from `showServers(...).remote_pid`. */
  pids?: readonly number[];
}

export interface Backend {
  pid: number;
  user: string;
  database: string;
  applicationName: string;
  state: string | null;
  /** TCP port of the peer: for a PgBouncer server connection, PgBouncer's `local_port`. */
  clientPort: number | null;
  backendStart: Date;
  query: string;
}

const LIST_SQL = `
  SELECT pid, usename, datname, application_name, state, client_port, backend_start, query
    FROM pg_stat_activity
   WHERE backend_type = 'client backend'
     AND pid <> pg_backend_pid()
     AND datname = $1
     AND ($2::text IS NULL OR application_name = $2)
     AND ($3::text IS NULL OR state = $3)
     AND ($4::text IS NULL OR usename = $4)
     AND ($5::int[] IS NULL OR pid = ANY($5::int[]))
   ORDER BY backend_start, pid`;

function filterParams(filter: BackendFilter): unknown[] {
  return [
    filter.database,
    filter.applicationName ?? null,
    filter.state ?? null,
    filter.user ?? null,
    filter.pids ? [...filter.pids] : null,
  ];
}

function withSuperuser<T>(superuserUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(superuserUrl, work, { connectTimeoutMs: 5000, applicationName: 'fault-harness' });
}

interface BackendRow {
  pid: number;
  usename: string;
  datname: string;
  application_name: string;
  state: string | null;
  client_port: number | null;
  backend_start: Date;
  query: string;
}

const toBackend = (row: BackendRow): Backend => ({
  pid: row.pid,
  user: row.usename,
  database: row.datname,
  applicationName: row.application_name,
  state: row.state,
  clientPort: row.client_port,
  backendStart: row.backend_start,
  query: row.query,
});

/** Client backends of `filter.database` matching the filter (never the asking connection). */
export async function listBackends(superuserUrl: string, filter: BackendFilter): Promise<Backend[]> {
  return withSuperuser(superuserUrl, async (client) => {
    const { rows } = await client.query<BackendRow>(LIST_SQL, filterParams(filter));
    return rows.map(toBackend);
  });
}

/** How many backends match: e.g. PgBouncer's server connections to `app`. */
export async function countServerConnections(superuserUrl: string, filter: BackendFilter): Promise<number> {
  return (await listBackends(superuserUrl, filter)).length;
}

export interface TerminateOptions extends BackendFilter {
  /** How long `pg_terminate_backend` waits for each backend to exit. Defaults to 5000 ms. */
  waitMs?: number;
}

/**
 * `pg_terminate_backend` on every matching backend, waiting for each to exit. Resolves with the
 * number terminated. A query running there fails with 57P01.
 */
export async function terminateBackends(superuserUrl: string, options: TerminateOptions): Promise<number> {
  const waitMs = options.waitMs ?? 5000;
  if (!Number.isInteger(waitMs) || waitMs < 1) throw new TypeError(`terminateBackends: waitMs must be a positive integer, got ${waitMs}`);
  return withSuperuser(superuserUrl, async (client) => {
    // Silence the WARNING pg_terminate_backend raises for a backend that outlives waitMs.
    client.on('notice', () => {});
    const { rows } = await client.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid, $6::bigint) AS terminated FROM (${LIST_SQL}) AS matching`,
      [...filterParams(options), waitMs],
    );
    return rows.filter((row) => row.terminated).length;
  });
}

/**
 * PgBouncer's server connections for `database`, as Postgres backends: `SHOW SERVERS` gives the
 * backend pids, `pg_stat_activity` their state and query.
 */
export async function pgbouncerServerBackends(superuserUrl: string, adminUrl: string, database: string): Promise<Backend[]> {
  const pids = (await showServers(adminUrl)).filter((s) => s.database === database && s.remote_pid > 0).map((s) => s.remote_pid);
  if (pids.length === 0) return [];
  return listBackends(superuserUrl, { database, pids });
}

/**
 * Polls until at least `min` backends match (e.g. a query has reached the server), resolving
 * with them; rejects after `timeoutMs`. Defaults: `min` 1, `timeoutMs` 10000, every 25 ms.
 */
export async function waitForBackends(
  superuserUrl: string,
  filter: BackendFilter,
  options: { min?: number; timeoutMs?: number; intervalMs?: number } = {},
): Promise<Backend[]> {
  const min = options.min ?? 1;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const backends = await listBackends(superuserUrl, filter);
    if (backends.length >= min) return backends;
    if (Date.now() >= deadline) {
      throw new Error(
        `waitForBackends: ${backends.length} of ${min} backend(s) matching ${JSON.stringify(filter)} after ${options.timeoutMs ?? 10_000} ms`,
      );
    }
    await sleep(options.intervalMs ?? 25, undefined, { ref: false });
  }
}
