/**
 * Every environment variable and connection-string parameter the package reads, in words: what it
 * means and its default. The reference page (docs/reference.md, `npm run docs:reference`) is
 * generated from these tables, and unit tests fail when the source reads a variable or parameter
 * that is not here (test/unit/config/settings-catalog.test.ts), so the page cannot drift from the
 * code. Nothing imports this at run time. Platform-detection variables are listed from
 * src/runtime/detect-runtime.ts itself.
 */

export interface SettingDoc {
  readonly name: string;
  readonly meaning: string;
  readonly default: string;
}

export const ENVIRONMENT_VARIABLES: readonly SettingDoc[] = Object.freeze([
  {
    name: 'DATABASE_URL',
    meaning: "The pooled URL (the app's queries); rewritten for the pooler in transaction mode.",
    default: 'required (or a provider name below; docs/providers.md#variable-names)',
  },
  {
    name: 'DATABASE_URL_POOLED',
    meaning:
      "A pooler's URL (Prisma Postgres on Vercel, where `DATABASE_URL` is direct): read before `DATABASE_URL` in transaction mode, kept as given.",
    default: 'none',
  },
  {
    name: 'DATABASE_CONNECTION_POOL_URL',
    meaning: "Heroku's server-side pooler: read before `DATABASE_URL` in transaction mode, kept as given.",
    default: 'none',
  },
  { name: 'POSTGRES_PRISMA_URL', meaning: "The pooled URL when `DATABASE_URL` is unset (Supabase's Vercel integration).", default: 'none' },
  {
    name: 'POSTGRES_URL',
    meaning: "The pooled URL when neither `DATABASE_URL` nor `POSTGRES_PRISMA_URL` is set (Supabase's and Neon's Vercel integrations).",
    default: 'none',
  },
  {
    name: 'DATABASE_URL_SESSION',
    meaning: 'The direct URL: session mode (local development) and migrations.',
    default:
      'the next of `DIRECT_URL`, `DATABASE_URL_UNPOOLED`, `DATABASE_UNPOOLED_URL`, `POSTGRES_URL_NON_POOLING`, `DATABASE_PUBLIC_UNPOOLED_URL`, then `DATABASE_URL`',
  },
  { name: 'DIRECT_URL', meaning: "The direct URL under Prisma 6's name (`directUrl`); Supabase's docs use it.", default: 'none' },
  { name: 'DATABASE_URL_UNPOOLED', meaning: "The direct URL as Neon's Vercel integration sets it.", default: 'none' },
  { name: 'POSTGRES_URL_NON_POOLING', meaning: "The direct URL as Supabase's Vercel integration sets it.", default: 'none' },
  { name: 'DATABASE_UNPOOLED_URL', meaning: "The direct URL as Railway's PgBouncer template sets it.", default: 'none' },
  {
    name: 'DATABASE_PUBLIC_UNPOOLED_URL',
    meaning: "Railway's direct URL from outside its private network (read last of the direct names).",
    default: 'none',
  },
  {
    name: 'DATABASE_URL_READ',
    meaning: 'Read replicas (or their poolers), comma-separated: `readWithPooling` and plain reads go there, each with its own pool.',
    default: 'none',
  },
  {
    name: 'PGBOUNCER_ADMIN_URL',
    meaning: "PgBouncer's admin console (`pgbouncer` database, a `stats_users` user): adds the `pgbouncer` check to the health report.",
    default: 'none',
  },
  {
    name: 'USE_TRANSACTION_MODE',
    meaning: '`true` / `false` forces PgBouncer transaction / session mode; anything else is a ConfigError.',
    default: 'detected from the platform',
  },
  { name: 'INSTANCE_COUNT', meaning: 'App instances sharing the pooler (divides `MAX_POOL_SIZE` into `connection_limit`).', default: '10' },
  { name: 'MAX_POOL_SIZE', meaning: "The pooler's server connections for this app (PgBouncer's `default_pool_size`).", default: '100' },
  {
    name: 'PGSSLMODE',
    meaning: 'TLS mode for a URL without `sslmode`, as libpq reads it.',
    default: "Prisma 6's: `prefer`, not verified (`require` for providers that only speak TLS)",
  },
  {
    name: 'PGPOOL_ENDPOINT_TOKEN',
    meaning:
      'Bearer token for `/api/health` details and `/api/metrics` (`Authorization: Bearer <token>`), at least 16 characters. Without it on a serverless platform, health answers its status alone and metrics answer 401.',
    default: 'none',
  },
  { name: 'DEBUG', meaning: '`ConnectionPoolManager,DatabasePooling` turns the debug logs on (the `debug` package).', default: 'off' },
  {
    name: 'NODE_ENV',
    meaning:
      'Outside `production`, `globalKey` defaults to `default` (one manager across hot reloads); the CLI also reads `.env.<NODE_ENV>`.',
    default: 'unset',
  },
  {
    name: 'NEXT_RUNTIME',
    meaning: 'Set by Next.js: `edge` makes the package refuse with one ConfigError (no TCP there).',
    default: 'set by Next.js',
  },
]);

export const URL_PARAMETERS: readonly SettingDoc[] = Object.freeze([
  {
    name: 'connection_limit',
    meaning: "The pool's size (`pg.Pool` `max`).",
    default: 'from `MAX_POOL_SIZE` / `INSTANCE_COUNT`: 1–3 serverless, up to 50 otherwise',
  },
  { name: 'pool_timeout', meaning: 'Seconds to wait for a free pool connection (PoolTimeoutError after).', default: '10' },
  { name: 'connect_timeout', meaning: 'Seconds to open one connection.', default: '5' },
  {
    name: 'socket_timeout',
    meaning: "Seconds one query may take, client side (pg's `query_timeout`; classified `timeout`, not retried).",
    default: 'none',
  },
  { name: 'schema', meaning: "The PostgreSQL schema (adapter-pg's `schema` option).", default: 'none (`public`)' },
  {
    name: 'options',
    meaning:
      "libpq's startup options (`-c setting=value`), passed to the server; through a PgBouncer a warning (`PGPOOL_STARTUP_OPTIONS`): it refuses or drops them.",
    default: 'none',
  },
  {
    name: 'statement_cache_size',
    meaning: '`> 0` in a session-mode URL: named, cached prepared statements; `0` or absent: unnamed statements.',
    default: 'unnamed',
  },
  {
    name: 'pgbouncer',
    meaning: '`true`: the URL goes through a transaction-mode pooler (set by the package in transaction mode).',
    default: 'set in transaction mode',
  },
  {
    name: 'sslmode',
    meaning:
      'TLS, with Prisma 6 / libpq meanings: `disable`, `prefer`, `require` (encrypted, not verified), `verify-ca`, `verify-full`, `no-verify`.',
    default: '`prefer`, not verified (or `PGSSLMODE`)',
  },
  { name: 'sslaccept', meaning: "Prisma 6's: `strict` verifies the certificate; `accept_invalid_certs` does not.", default: 'none' },
  { name: 'sslrootcert', meaning: "File of the server's CA (`system`: the system CAs, verify-full).", default: 'none' },
  { name: 'sslcert', meaning: "Client certificate file (with `sslkey`); alone, Prisma 6's CA file.", default: 'none' },
  { name: 'sslkey', meaning: 'Client key file.', default: 'none' },
  { name: 'sslpassword', meaning: 'Decrypts `sslkey` or `sslidentity`.', default: 'none' },
  { name: 'sslidentity', meaning: "Prisma 6's PKCS#12 client identity file.", default: 'none' },
  {
    name: 'sslnegotiation',
    meaning: '`direct`: TLS without the PostgreSQL SSLRequest round trip (PostgreSQL 17+).',
    default: '`postgres`',
  },
  { name: 'ssl', meaning: "node-postgres' form: `true` is verify-full, `0`/`false` plain TCP.", default: 'none' },
  { name: 'uselibpqcompat', meaning: 'Accepted and dropped: these are libpq meanings already.', default: 'none' },
  {
    name: 'host',
    meaning: 'A host (or Unix socket directory) in the parameter form; with a multi-host URL, one of the hosts tried in order.',
    default: 'from the URL',
  },
  { name: 'hostaddr', meaning: 'The IP address of each host (libpq), skipping DNS.', default: 'none' },
  { name: 'port', meaning: 'The port (parameter form, or one per host).', default: 'from the URL, else 5432' },
  {
    name: 'target_session_attrs',
    meaning: 'Multi-host URL: what a host must be to be kept: `any`, `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`.',
    default: '`any`',
  },
  {
    name: 'load_balance_hosts',
    meaning:
      'Multi-host URL: `disable` (the first host that is up) or `random` (a random host that is up for each connection: a pooler fleet).',
    default: '`disable`',
  },
  { name: 'keepalives', meaning: "libpq's: `0` turns TCP keepalives off, any other integer on (pg's `keepAlive`).", default: '`1`' },
  {
    name: 'keepalives_idle',
    meaning: "libpq's: seconds of idleness before the first keepalive probe (pg's `keepAliveInitialDelayMillis`); `0`: the OS default.",
    default: 'the OS default (Linux: 2 h)',
  },
  {
    name: 'keepalives_interval',
    meaning: "libpq's: seconds between keepalive probes. Validated and reported in `config.tcp`; Node cannot set it.",
    default: 'the OS default',
  },
  {
    name: 'keepalives_count',
    meaning: "libpq's: keepalive probes lost before the connection is dead. Validated and reported in `config.tcp`; Node cannot set it.",
    default: 'the OS default',
  },
  {
    name: 'tcp_user_timeout',
    meaning:
      "libpq's, in ms: here the silence bound (`silenceTimeoutMs`) — no call takes longer because a host went silent: a connection with a query outstanding and no byte from the server for half of it is destroyed (ConnectionSilentError), and the call finishes on a fresh connection.",
    default: 'serverless / transaction mode: min(15 s, pool timeout); otherwise none',
  },
]);
