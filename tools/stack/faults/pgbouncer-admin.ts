/**
 * PgBouncer admin console commands for fault injection and pool inspection.
 *
 * The console speaks only the simple query protocol: a parameterised query gets
 * `08P01 extended query protocol not supported by admin console` and the connection is then
 * dropped (`08P01 bad packet`). So nothing here takes parameters; identifiers are validated
 * instead and interpolated. Each call opens its own short-lived `pg.Client` and always ends it.
 *
 * Command semantics on PgBouncer 1.18 (checked against the local stack):
 * - `PAUSE [db]` returns once every server connection is released; clients then wait.
 * - `RESUME [db]` releases them. It fails (`08P01`) when the database is not paused.
 * - `KILL db` drops every client and server connection of `db` — a query in flight fails with
 *   `08P01 database removed` — and leaves `db` paused: new clients wait until `RESUME`.
 * - `RECONNECT [db]` closes each server connection once released; `RELOAD` rereads the ini file.
 */
import pg from 'pg';

const IDENTIFIER = /^[A-Za-z0-9_]+$/;

export interface AdminOptions {
  /** Connect timeout for the console connection. Defaults to 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * Client-side limit for the command itself (`PAUSE` waits for running transactions). The
   * console keeps executing a command that timed out here. Defaults to 30000 ms.
   */
  queryTimeoutMs?: number;
}

export interface AdminResult<Row> {
  /** Command tag, e.g. `PAUSE`, `SHOW`. */
  readonly command: string;
  readonly rows: Row[];
}

/** One row of `SHOW POOLS` (PgBouncer 1.18 columns). */
export interface PoolRow {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  cl_active_cancel_req: number;
  cl_waiting_cancel_req: number;
  sv_active: number;
  sv_active_cancel: number;
  sv_being_canceled: number;
  sv_idle: number;
  sv_used: number;
  sv_tested: number;
  sv_login: number;
  /** Seconds the oldest waiting client has waited (plus `maxwait_us`). */
  maxwait: number;
  maxwait_us: number;
  pool_mode: string;
}

/** One row of `SHOW STATS`: totals since start, averages over the last `stats_period`; times in µs. */
export interface StatsRow {
  database: string;
  total_xact_count: number;
  total_query_count: number;
  total_received: number;
  total_sent: number;
  total_xact_time: number;
  total_query_time: number;
  total_wait_time: number;
  avg_xact_count: number;
  avg_query_count: number;
  avg_recv: number;
  avg_sent: number;
  avg_xact_time: number;
  avg_query_time: number;
  avg_wait_time: number;
}

/** One row of `SHOW SERVERS` / `SHOW CLIENTS` (the fields the fault tools use, numbers parsed). */
export interface SocketRow {
  type: string;
  user: string;
  database: string;
  /** e.g. `active`, `idle`, `used`, `waiting`. */
  state: string;
  addr: string;
  port: number;
  local_addr: string;
  local_port: number;
  connect_time: string;
  request_time: string;
  wait: number;
  wait_us: number;
  close_needed: number;
  /** For a server: the Postgres backend pid (`pg_stat_activity.pid`). */
  remote_pid: number;
  application_name: string;
}

/** Throws unless `value` is a bare identifier ([A-Za-z0-9_]+): it is interpolated, never quoted. */
export function assertIdentifier(name: string, value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new TypeError(`pgbouncer-admin: ${name} must match [A-Za-z0-9_]+, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Runs one command on the admin console (simple query protocol) and returns its tag and rows. */
export async function adminCommand<Row = Record<string, unknown>>(
  adminUrl: string,
  sql: string,
  options: AdminOptions = {},
): Promise<AdminResult<Row>> {
  return withAdminClient(adminUrl, options, async (client) => {
    const result = await client.query(sql);
    return { command: result.command, rows: result.rows as Row[] };
  });
}

/** One admin console connection for `use`, always closed after. */
async function withAdminClient<T>(adminUrl: string, options: AdminOptions, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    query_timeout: options.queryTimeoutMs ?? 30_000,
  });
  // A FATAL after a failed command arrives as an 'error' event once the query has already
  // rejected; the rejection is what the caller sees, the event must not crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(command: string, database: string | undefined): string {
  return database === undefined ? command : `${command} ${assertIdentifier('database', database)}`;
}

/** `PAUSE [db]`: resolves once all server connections are released; new queries then wait. */
export async function pause(adminUrl: string, database?: string, options?: AdminOptions): Promise<void> {
  await adminCommand(adminUrl, withDatabase('PAUSE', database), options);
}

/** `RESUME [db]`: lets waiting clients go on. Rejects (08P01) when not paused. */
export async function resume(adminUrl: string, database?: string, options?: AdminOptions): Promise<void> {
  await adminCommand(adminUrl, withDatabase('RESUME', database), options);
}

/** `RECONNECT [db]`: closes each server connection as soon as it is released. */
export async function reconnect(adminUrl: string, database?: string, options?: AdminOptions): Promise<void> {
  await adminCommand(adminUrl, withDatabase('RECONNECT', database), options);
}

/**
 * `KILL db`: drops all client and server connections of `db` at once. PgBouncer 1.18 leaves the
 * database paused afterwards: call `resume` (or pass `{ resume: true }`) to let new clients in.
 */
export async function kill(adminUrl: string, database: string, options: AdminOptions & { resume?: boolean } = {}): Promise<void> {
  await adminCommand(adminUrl, withDatabase('KILL', database), options);
  if (options.resume) await resume(adminUrl, database, options);
}

/**
 * `KILL db` then `RESUME db` on one console connection, back to back: the database is paused for
 * one round trip on the console instead of a second console login. Why it matters on PgBouncer
 * 1.18: a client that finishes its login while the database is paused makes PgBouncer launch a
 * server connection (finish_client_login checks only the global pause), the pause closes it
 * mid-login ("closing because: pause mode"), and the pool then launches none for
 * `server_login_retry`: every client waits until the next KILL frees the pool. With KILL and
 * RESUME on two console logins (~15 ms apart), clients reconnecting at once hit that window after
 * nearly every KILL of a 300 ms loop (61 of 61 in one 20 s run): the loop then measured a pooler
 * that refused the database, not KILLs.
 */
export async function killAndResume(adminUrl: string, database: string, options: AdminOptions = {}): Promise<void> {
  const db = assertIdentifier('database', database);
  await withAdminClient(adminUrl, options, async (client) => {
    await client.query(`KILL ${db}`);
    await client.query(`RESUME ${db}`);
  });
}

/**
 * `KILL db` then `RESUME db` on one console connection, sent once `SHOW LISTS` counts no client in
 * login (polled every 2 ms, up to 200 times). Repeated KILLs while clients reconnect made PgBouncer
 * 1.18 and 1.24.1 segfault here (in memmove; pgbouncer/pgbouncer#1401 reports the same on 1.24.1).
 * Reading 1.24.1's source, KILL frees the pool while a client still logging in keeps a pointer to
 * it; waiting for logins to finish made the crash rarer (docs/supported-versions.md has the counts),
 * not impossible.
 */
export async function killWhenNoLogins(adminUrl: string, database: string, options: AdminOptions = {}): Promise<void> {
  const db = assertIdentifier('database', database);
  await withAdminClient(adminUrl, options, async (client) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await client.query<{ list: string; items: number | string }>('SHOW LISTS');
      if (Number(rows.find((row) => row.list === 'login_clients')?.items ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await client.query(`KILL ${db}`);
    await client.query(`RESUME ${db}`);
  });
}

/** `RELOAD`: rereads the ini file (and auth file). */
export async function reload(adminUrl: string, options?: AdminOptions): Promise<void> {
  await adminCommand(adminUrl, 'RELOAD', options);
}

const toNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value));

/** Converts the listed columns to numbers (the console sends int4 as numbers, numeric as strings). */
function numeric<Row>(rows: Record<string, unknown>[], textColumns: ReadonlySet<string>): Row[] {
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) out[key] = textColumns.has(key) || value === null ? value : toNumber(value);
    return out as Row;
  });
}

/** `SHOW POOLS` with numeric columns as numbers. Includes the console's own `pgbouncer` pool. */
export async function showPools(adminUrl: string, options?: AdminOptions): Promise<PoolRow[]> {
  const { rows } = await adminCommand(adminUrl, 'SHOW POOLS', options);
  return numeric<PoolRow>(rows, new Set(['database', 'user', 'pool_mode']));
}

/** `SHOW STATS` with every figure as a number. */
export async function showStats(adminUrl: string, options?: AdminOptions): Promise<StatsRow[]> {
  const { rows } = await adminCommand(adminUrl, 'SHOW STATS', options);
  return numeric<StatsRow>(rows, new Set(['database']));
}

const SOCKET_TEXT = new Set([
  'type',
  'user',
  'database',
  'state',
  'addr',
  'local_addr',
  'connect_time',
  'request_time',
  'ptr',
  'link',
  'tls',
  'application_name',
]);

/** `SHOW SERVERS`: PgBouncer's server connections; `remote_pid` is the Postgres backend pid. */
export async function showServers(adminUrl: string, options?: AdminOptions): Promise<SocketRow[]> {
  const { rows } = await adminCommand(adminUrl, 'SHOW SERVERS', options);
  return numeric<SocketRow>(rows, SOCKET_TEXT);
}

/** `SHOW CLIENTS`: client connections, including the console connection asking. */
export async function showClients(adminUrl: string, options?: AdminOptions): Promise<SocketRow[]> {
  const { rows } = await adminCommand(adminUrl, 'SHOW CLIENTS', options);
  return numeric<SocketRow>(rows, SOCKET_TEXT);
}

/** `SHOW CONFIG` as `{ key: value }` (values as PgBouncer prints them). */
export async function showConfig(adminUrl: string, options?: AdminOptions): Promise<Record<string, string>> {
  const { rows } = await adminCommand<{ key: string; value: string }>(adminUrl, 'SHOW CONFIG', options);
  return Object.fromEntries(rows.map((row) => [row.key, row.value]));
}

/**
 * Transactions PgBouncer has served for `database` so far (`total_xact_count` of its own SHOW STATS),
 * asked on the admin console of the pooler `url` points at (as the app user: `stats_users`).
 */
export async function transactionsServed(url: string, database = 'app'): Promise<number> {
  const parsed = new URL(url);
  parsed.pathname = '/pgbouncer';
  const rows = await showStats(parsed.toString());
  return Number(rows.find((r) => r.database === database)?.total_xact_count ?? 0);
}
