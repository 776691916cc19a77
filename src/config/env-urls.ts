/**
 * Which environment variable holds the pooled URL and which the direct (session) URL. Pure.
 *
 * Providers and their Vercel/Netlify integrations inject their own names, and Prisma 7 has no
 * `directUrl` any more (migrations read the URL `prisma.config.ts` gives them), so the names they
 * use are understood here. Precedence (first set wins; docs/providers.md has the table):
 * - pooled, transaction mode: the names that can only hold a pooler's URL come first, because where
 *   they exist `DATABASE_URL` is the database itself: `DATABASE_URL_POOLED` (Prisma Postgres on
 *   Vercel: https://www.prisma.io/docs/guides/postgres/vercel), `DATABASE_CONNECTION_POOL_URL`
 *   (Heroku's server-side pooler: https://devcenter.heroku.com/articles/postgres-connection-pooling);
 *   then `DATABASE_URL`, `POSTGRES_PRISMA_URL` and `POSTGRES_URL` (Supabase's and Neon's Vercel
 *   integrations: pooled).
 * - direct (session mode, migrations): `DATABASE_URL_SESSION` (this package's), `DIRECT_URL` (the
 *   name Prisma's own docs used for `directUrl`), `DATABASE_URL_UNPOOLED` (Neon's Vercel integration:
 *   https://neon.com/docs/guides/vercel-managed-integration), `DATABASE_UNPOOLED_URL` (Railway's
 *   PgBouncer template: https://docs.railway.com/databases/postgresql-pgbouncer),
 *   `POSTGRES_URL_NON_POOLING` (Supabase's), `DATABASE_PUBLIC_UNPOOLED_URL` (Railway, from outside
 *   its private network; last, so a service inside it keeps the private one).
 * - session mode without a direct name: `DATABASE_URL`, `POSTGRES_PRISMA_URL`, `POSTGRES_URL`, then
 *   the pooler-only names (which then warn: session mode through a pooler).
 * - A Vercel integration installed with a custom prefix (Neon: `PRIMARY_DATABASE_URL`,
 *   `PRIMARY_DATABASE_URL_UNPOOLED`, …) is read with its prefix when none of the names above is set
 *   and exactly one prefix is found; several prefixes are a ConfigError asking for `DATABASE_URL`.
 * With none of the direct names set, `resolveDirectDatabaseUrl` derives the direct URL from a known
 * provider's pooled URL: Supavisor and Supabase's dedicated pooler 6543 → 5432 on the same host
 * (https://supabase.com/docs/guides/database/connecting-to-postgres), Neon's `-pooler` host → the
 * host without it (https://neon.com/docs/connect/connection-pooling), Azure 6432 → 5432, Crunchy
 * Bridge 5431 → 5432, Prisma Postgres `pooled.db.prisma.io` → `db.prisma.io`.
 */
import { ConfigError } from '../errors/errors.ts';
import { explicitPorts, getParam, parseDatabaseUrl, redactDatabaseUrl, rewriteDatabaseUrl } from './database-url.ts';
import { detectProvider, PGBOUNCER_DEFAULT_PORT, POOLER_PORT, POSTGRES_PORT, planEndpoint } from './providers.ts';

/** The pooled URL's variables in transaction mode, first set wins. */
export const POOLED_URL_VARIABLES = Object.freeze([
  'DATABASE_URL_POOLED',
  'DATABASE_CONNECTION_POOL_URL',
  'DATABASE_URL',
  'POSTGRES_PRISMA_URL',
  'POSTGRES_URL',
] as const);
/** Names whose value is a pooler's URL by the provider's definition. */
export const POOLER_ONLY_VARIABLES: readonly string[] = Object.freeze(['DATABASE_URL_POOLED', 'DATABASE_CONNECTION_POOL_URL']);
/** Session mode (and migrations) with no direct name set: the general names first. */
export const SESSION_FALLBACK_VARIABLES = Object.freeze([
  'DATABASE_URL',
  'POSTGRES_PRISMA_URL',
  'POSTGRES_URL',
  'DATABASE_URL_POOLED',
  'DATABASE_CONNECTION_POOL_URL',
] as const);
/** The direct (session-mode) URL's variables, first set wins. */
export const DIRECT_URL_VARIABLES = Object.freeze([
  'DATABASE_URL_SESSION',
  'DIRECT_URL',
  'DATABASE_URL_UNPOOLED',
  'DATABASE_UNPOOLED_URL',
  'POSTGRES_URL_NON_POOLING',
  'DATABASE_PUBLIC_UNPOOLED_URL',
] as const);

type Env = Readonly<Record<string, string | undefined>>;

/** Empty counts as unset, like an empty line in a `.env` file. */
const isSet = (env: Env, name: string): boolean => (env[name] ?? '') !== '';

/** The first of `names` that is set in `env`, or undefined. */
export const firstSetVariable = (env: Env, names: readonly string[]): string | undefined => names.find((name) => isSet(env, name));

/** The variable names to read, with an integration's prefix applied (`''` without one). */
export interface UrlVariableNames {
  readonly prefix: string;
  readonly pooled: readonly string[];
  readonly direct: readonly string[];
  readonly sessionFallback: readonly string[];
  readonly poolerOnly: readonly string[];
}

/** `SHADOW_DATABASE_URL` is Prisma's shadow database for `migrate dev`, never the app's. */
const NOT_A_PREFIX = new Set(['SHADOW_']);
const PREFIXED = /^([A-Z][A-Z0-9_]*_)(DATABASE_URL|POSTGRES_PRISMA_URL|POSTGRES_URL)$/;

const withPrefix = (prefix: string): UrlVariableNames =>
  Object.freeze({
    prefix,
    pooled: Object.freeze(POOLED_URL_VARIABLES.map((n) => `${prefix}${n}`)),
    direct: Object.freeze(DIRECT_URL_VARIABLES.map((n) => `${prefix}${n}`)),
    sessionFallback: Object.freeze(SESSION_FALLBACK_VARIABLES.map((n) => `${prefix}${n}`)),
    poolerOnly: Object.freeze(POOLER_ONLY_VARIABLES.map((n) => `${prefix}${n}`)),
  });

const UNPREFIXED = withPrefix('');

/**
 * The names to read in `env`: the plain ones, or an integration's prefixed ones when no plain name is
 * set and exactly one prefix is (Neon's Vercel integration: "custom prefix",
 * https://neon.com/docs/guides/vercel-managed-integration). Throws ConfigError for several prefixes.
 */
export function urlVariableNames(env: Env): UrlVariableNames {
  if (firstSetVariable(env, [...POOLED_URL_VARIABLES, ...DIRECT_URL_VARIABLES]) !== undefined) return UNPREFIXED;
  const found = new Map<string, string>();
  for (const name of Object.keys(env).sort()) {
    const match = PREFIXED.exec(name);
    const prefix = match?.[1];
    if (prefix !== undefined && !NOT_A_PREFIX.has(prefix) && isSet(env, name) && !found.has(prefix)) found.set(prefix, name);
  }
  if (found.size === 0) return UNPREFIXED;
  if (found.size > 1) {
    throw new ConfigError(
      'DATABASE_URL',
      `is not set, and several prefixed integration variables are (${[...found.values()].join(', ')}): set DATABASE_URL to the URL the app should use`,
    );
  }
  return withPrefix([...found.keys()][0] as string);
}

/** Why this variable won, for `config.reason` and `check`: null when it is the first of its list, or DATABASE_URL. */
export function variableChoice(variable: string, names: readonly string[]): string | null {
  // DATABASE_URL is what nearly every app sets: naming the pooler-only names it beat would be noise.
  if (variable === 'DATABASE_URL') return null;
  const before = names.slice(0, names.indexOf(variable));
  return before.length === 0 ? null : `${variable} (${before.join(', ')} unset)`;
}

export interface DirectDatabaseUrl {
  /** The variable the URL came from (or was derived from). */
  readonly variable: string;
  /** Redacted. */
  readonly databaseUrl: string;
  /** Which variable won and why, in words. */
  readonly reason: string;
  /** The real URL, password included. Non-enumerable. */
  readonly connectionString: string;
}

const defaultEnv = (): Env => (globalThis as { process?: { env?: Env } }).process?.env ?? {};

const result = (variable: string, url: string, reason: string): DirectDatabaseUrl =>
  Object.freeze(
    Object.defineProperty({ variable, databaseUrl: redactDatabaseUrl(url), reason }, 'connectionString', {
      value: url,
      enumerable: false,
    }) as DirectDatabaseUrl,
  );

const stripPooler = (host: string): string => {
  const dot = host.indexOf('.');
  const endpoint = dot === -1 ? host : host.slice(0, dot);
  return endpoint.toLowerCase().endsWith('-pooler') ? `${endpoint.slice(0, -'-pooler'.length)}${host.slice(dot)}` : host;
};

/**
 * The direct (session-mode) URL for migrations and session work: the first direct variable that is
 * set, else derived from the pooled URL of a known provider, else the pooled URL itself when it
 * does not point at a transaction-mode pooler. Throws `ConfigError` naming the variables to set.
 */
export function resolveDirectDatabaseUrl(env: Env = defaultEnv()): DirectDatabaseUrl {
  const names = urlVariableNames(env);
  const direct = firstSetVariable(env, names.direct);
  if (direct !== undefined) {
    const url = (env[direct] ?? '').trim();
    parseDatabaseUrl(url, direct);
    return result(direct, url, `direct URL from ${variableChoice(direct, names.direct) ?? direct}`);
  }
  const pooled = firstSetVariable(env, names.sessionFallback);
  const sessionName = names.direct[0] as string;
  if (pooled === undefined) {
    throw new ConfigError(
      sessionName,
      `is not set, and neither is ${[...names.direct.slice(1), ...names.sessionFallback].join(', ')}: set ${sessionName} to the direct (session-mode) URL`,
    );
  }
  const url = (env[pooled] ?? '').trim();
  const parsed = parseDatabaseUrl(url, pooled);
  const provider = detectProvider(parsed);
  const ports = explicitPorts(parsed);
  const unset = `${names.direct.join(', ')} unset`;
  const derived = (rewritten: string, how: string) => result(pooled, rewritten, `direct URL derived from ${pooled} (${unset}): ${how}`);
  const refuse = (what: string, fix = `set ${sessionName} (or DIRECT_URL) to PostgreSQL's own URL`) =>
    new ConfigError(sessionName, `is not set and ${pooled} ${what}, which breaks the migration lock: ${fix}`);
  if (names.poolerOnly.includes(pooled)) throw refuse('names a pooler');
  const onPort = (port: number) => ports.length > 0 && ports.every((p) => p === port);
  switch (provider.id) {
    case 'neon': {
      const onPooler = parsed.hosts.some((h) => stripPooler(h.host) !== h.host);
      if (!onPooler) return derived(url, 'Neon host without -pooler, already direct');
      return derived(rewriteDatabaseUrl(url, { mapHost: stripPooler, pgbouncer: false }, pooled), 'Neon host without -pooler');
    }
    case 'supavisor':
    case 'supabase':
      if (ports.includes(POOLER_PORT)) {
        return derived(
          rewriteDatabaseUrl(url, { port: POSTGRES_PORT, pgbouncer: false }, pooled),
          `${provider.name} port ${POOLER_PORT} (transaction mode) → ${POSTGRES_PORT} (${provider.id === 'supavisor' ? 'session mode' : 'PostgreSQL'})`,
        );
      }
      return derived(url, `${provider.name} port ${POSTGRES_PORT}, already ${provider.id === 'supavisor' ? 'session mode' : 'direct'}`);
    case 'azure':
    case 'crunchy-bridge': {
      const poolerPort = provider.id === 'azure' ? PGBOUNCER_DEFAULT_PORT : 5431;
      if (!onPort(poolerPort)) return derived(url, `${provider.name} port ${ports[0] ?? POSTGRES_PORT}, not the pooler's, used as given`);
      return derived(
        rewriteDatabaseUrl(url, { port: POSTGRES_PORT, pgbouncer: false }, pooled),
        `${provider.name} port ${poolerPort} (PgBouncer) → ${POSTGRES_PORT} (PostgreSQL) on the same host`,
      );
    }
    case 'prisma-postgres': {
      const host = parsed.hosts[0]?.host.toLowerCase() ?? '';
      if (!host.startsWith('pooled.')) return derived(url, 'Prisma Postgres db.prisma.io, already direct');
      return derived(
        rewriteDatabaseUrl(
          url,
          { mapHost: (h) => (h.toLowerCase().startsWith('pooled.') ? h.slice('pooled.'.length) : h), pgbouncer: false },
          pooled,
        ),
        'Prisma Postgres pooled.db.prisma.io → db.prisma.io',
      );
    }
    case 'rds-proxy':
      return derived(url, 'AWS RDS Proxy keeps a session-level statement on one connection (pinning), so migrations run through it');
    case 'digitalocean':
      if (onPort(25061))
        throw refuse(
          "points at a DigitalOcean connection pool (port 25061, the pool's name as database)",
          `set ${sessionName} to the database's own URL (port 25060)`,
        );
      break;
    default:
      break;
  }
  const plan = planEndpoint(parsed, 'session', pooled);
  if (plan.givenIsPooler || getParam(parsed, 'pgbouncer')?.toLowerCase() === 'true') {
    throw refuse(
      `points at a transaction-mode pooler (${provider.name}${ports.includes(POOLER_PORT) ? `, port ${POOLER_PORT}` : ''}${getParam(parsed, 'pgbouncer')?.toLowerCase() === 'true' ? ', pgbouncer=true' : ''})`,
    );
  }
  if (provider.id === 'pgbouncer' && onPort(PGBOUNCER_DEFAULT_PORT))
    throw refuse(`points at port ${PGBOUNCER_DEFAULT_PORT}, PgBouncer's default port`);
  return derived(url, 'not a transaction-mode pooler URL, used as given');
}

/**
 * The direct (session-mode) URL as a string, for `prisma.config.ts`'s `datasource.url`: migrations
 * need a session (Prisma's migration lock is a session-level advisory lock), which PgBouncer's
 * transaction mode does not keep. See `resolveDirectDatabaseUrl` for the order.
 *
 * With none of the variables set it returns `''` instead of throwing: Prisma evaluates
 * `prisma.config.ts` for every command, and `prisma generate` (a build without database
 * variables) needs no URL; a migration then fails in Prisma with its own "no URL" error.
 */
export function directDatabaseUrl(env: Env = defaultEnv()): string {
  const names = urlVariableNames(env);
  if (firstSetVariable(env, [...names.direct, ...names.pooled]) === undefined) return '';
  return resolveDirectDatabaseUrl(env).connectionString;
}
