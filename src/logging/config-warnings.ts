/**
 * Configuration warnings a deployment can see: each is emitted once per process through
 * `process.emitWarning` (as node-postgres does for its SSL notice), so it reaches the platform's
 * logs without DEBUG set, and `node --no-warnings` or a `process.on('warning')` handler governs it
 * like any other. Each has a code of its own, so an app can filter one:
 * `process.on('warning', (w) => w.code === 'PGPOOL_TLS_UNVERIFIED' && …)`.
 *
 * The messages are our own (src/config/): they name variables and parameters, never a URL or a
 * password. Codes are given by the message's own wording, in this one table; a new warning without
 * a row gets `PGPOOL_CONFIG`.
 */

export const WARNING_TYPE = 'PrismaPgbouncerPoolingWarning';

/** Each row: what the message says, its code, and when it is given (the reference page lists the rows). */
const CODES: readonly (readonly [RegExp, string, string])[] = [
  [
    /exceeds MAX_POOL_SIZE/,
    'PGPOOL_BUDGET_EXCEEDED',
    '`connection_limit` × `INSTANCE_COUNT` exceeds `MAX_POOL_SIZE`: the instances together can ask the pooler for more connections than it has.',
  ],
  [
    /session mode through/,
    'PGPOOL_SESSION_THROUGH_POOLER',
    "Session mode through a transaction-mode pooler (port 6543, `pgbouncer=true`, Neon's `-pooler` host, Hyperdrive): SET, advisory locks, LISTEN and named prepared statements break.",
  ],
  [
    /Supavisor needs the user/,
    'PGPOOL_SUPAVISOR_USER',
    'A Supabase pooler URL whose user lacks the project reference (`postgres.<ref>`): Supavisor answers "Tenant or user not found".',
  ],
  [
    /transaction mode on .* direct database endpoint/,
    'PGPOOL_NO_POOLER',
    "Transaction mode on an endpoint known to be the database itself (an RDS instance, DigitalOcean's 25060, Railway's Postgres, Heroku's `DATABASE_URL`): no pooler in between; the message names the provider's pooler.",
  ],
  [
    /the options parameter is sent to PgBouncer/,
    'PGPOOL_STARTUP_OPTIONS',
    '`options=` in a URL that goes through a PgBouncer: PgBouncer refuses it as a startup parameter unless `ignore_startup_parameters` lists it, and then drops it.',
  ],
  [
    /lacks the pipeline client option/,
    'PGPOOL_PG_NO_PIPELINE',
    "The installed pg (< 8.23.0) has no `pipeline` option: each transaction's BEGIN costs a round trip of its own.",
  ],
  [
    /does not name prepared statements/,
    'PGPOOL_ADAPTER_NO_STATEMENT_NAMES',
    'Named prepared statements are asked for (`poolerTracksPreparedStatements`, `statement_cache_size`) and the installed @prisma/adapter-pg (< 7.6.0) has no `statementNameGenerator`: every statement stays unnamed.',
  ],
  [
    /does not verify the server certificate/,
    'PGPOOL_TLS_UNVERIFIED',
    "TLS encrypts but does not verify the server certificate (`sslmode=require`, Prisma 6's default): the message says how to verify.",
  ],
  [
    /a multi-host URL .* points at a pooler/,
    'PGPOOL_MULTI_HOST_POOLER',
    "A multi-host URL points at poolers: the pooler picks the server behind it, so `target_session_attrs` checks the pooler's server connection.",
  ],
  [
    /PGPOOL_ENDPOINT_TOKEN is not set on/,
    'PGPOOL_ENDPOINT_TOKEN_UNSET',
    'On a serverless platform without `PGPOOL_ENDPOINT_TOKEN`: `/api/health` answers its status alone and `/api/metrics` answers 401 until the token is set.',
  ],
];

/** The code of one of our configuration warnings. */
export function configWarningCode(message: string): string {
  for (const [pattern, code] of CODES) if (pattern.test(message)) return code;
  return 'PGPOOL_CONFIG';
}

/** One configuration warning, as the `onWarning` option receives it. */
export interface ConfigWarning {
  readonly code: string;
  readonly message: string;
}

const emitted = new Set<string>();

/** The default `onWarning`: `process.emitWarning`, once per process for each message. */
export function emitProcessWarning(warning: ConfigWarning): void {
  // Runtimes without Node's process object (an edge bundle) have nowhere to send them.
  const emit = (globalThis as { process?: { emitWarning?: (message: string, options: object) => void } }).process?.emitWarning;
  if (typeof emit !== 'function' || emitted.has(warning.message)) return;
  emitted.add(warning.message);
  emit.call(process, warning.message, { type: WARNING_TYPE, code: warning.code });
}

/** Hands each message, with its code, to `onWarning` (the default: `emitProcessWarning`). */
export function emitConfigWarnings(
  messages: readonly (string | null)[],
  onWarning: (warning: ConfigWarning) => void = emitProcessWarning,
): void {
  for (const message of messages) if (message !== null) onWarning({ code: configWarningCode(message), message });
}
