/**
 * A short-lived `pg.Client` for the tools: fixtures, admin commands, migrations, checks. One place
 * for "connect, work, always end", with an 'error' listener so a late FATAL (a restart, a KILL)
 * never crashes the process, and pg's own timeouts as a backstop.
 */
import pg from 'pg';

export interface ClientOptions {
  /** pg's connectionTimeoutMillis. Defaults to 10000. */
  connectTimeoutMs?: number;
  /** pg's query_timeout. Defaults to none. */
  queryTimeoutMs?: number;
  applicationName?: string;
}

/** Runs `work` on a new client and ends it whatever happens. */
export async function withClient<T>(
  connectionString: string,
  work: (client: pg.Client) => Promise<T>,
  options: ClientOptions = {},
): Promise<T> {
  const client = new pg.Client({
    connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    query_timeout: options.queryTimeoutMs,
    application_name: options.applicationName,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One statement on a new client; its rows. */
export function queryOnce<T extends pg.QueryResultRow = pg.QueryResultRow>(
  connectionString: string,
  text: string,
  values: unknown[] = [],
  options: ClientOptions = {},
): Promise<T[]> {
  return withClient(connectionString, async (client) => (await client.query<T>(text, values)).rows, options);
}
