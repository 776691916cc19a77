/**
 * Which environment variable holds the pooled URL and which the direct (session) URL. Pure.
 *
 * Providers inject their own names, and Prisma 7 has no `directUrl` any more (migrations read the URL
 * `prisma.config.ts` gives them), so the names they use are understood here, in this order:
 * - pooled (the app's queries): `DATABASE_URL`, then `POSTGRES_PRISMA_URL` (Supabase's Vercel
 *   integration: https://supabase.com/partners/integrations/vercel).
 * - direct (session mode, migrations): `DATABASE_URL_SESSION` (this package's), `DIRECT_URL` (the name
 *   Prisma's own docs used for `directUrl`), `DATABASE_URL_UNPOOLED` (Neon's Vercel integration:
 *   https://neon.com/docs/guides/vercel-managed-integration), `POSTGRES_URL_NON_POOLING` (Supabase's).
 * With none of the direct ones set, `resolveDirectDatabaseUrl` derives the direct URL from a known
 * provider's pooled URL: Supavisor and Supabase's dedicated pooler 6543 → 5432 on the same host
 * (https://supabase.com/docs/guides/database/connecting-to-postgres), Neon's `-pooler` host → the
 * host without it (https://neon.com/docs/connect/connection-pooling).
 */
import { ConfigError } from '../errors/errors.ts';
import { explicitPorts, getParam, parseDatabaseUrl, redactDatabaseUrl, rewriteDatabaseUrl } from './database-url.ts';
import { detectProvider, POOLER_PORT, POSTGRES_PORT } from './providers.ts';

/** The pooled URL's variables, first set wins. */
export const POOLED_URL_VARIABLES = Object.freeze(['DATABASE_URL', 'POSTGRES_PRISMA_URL'] as const);
/** The direct (session-mode) URL's variables, first set wins. */
export const DIRECT_URL_VARIABLES = Object.freeze([
  'DATABASE_URL_SESSION',
  'DIRECT_URL',
  'DATABASE_URL_UNPOOLED',
  'POSTGRES_URL_NON_POOLING',
] as const);

type Env = Readonly<Record<string, string | undefined>>;

/** Empty counts as unset, like an empty line in a `.env` file. */
const isSet = (env: Env, name: string): boolean => (env[name] ?? '') !== '';

/** The first of `names` that is set in `env`, or undefined. */
export const firstSetVariable = (env: Env, names: readonly string[]): string | undefined => names.find((name) => isSet(env, name));

/** Why this variable won, for `config.reason` and `check`: null when it is the first of its list. */
export function variableChoice(variable: string, names: readonly string[]): string | null {
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
  const direct = firstSetVariable(env, DIRECT_URL_VARIABLES);
  if (direct !== undefined) {
    const url = (env[direct] ?? '').trim();
    parseDatabaseUrl(url, direct);
    return result(direct, url, `direct URL from ${variableChoice(direct, DIRECT_URL_VARIABLES) ?? direct}`);
  }
  const pooled = firstSetVariable(env, POOLED_URL_VARIABLES);
  if (pooled === undefined) {
    throw new ConfigError(
      DIRECT_URL_VARIABLES[0],
      `is not set, and neither is ${[...DIRECT_URL_VARIABLES.slice(1), ...POOLED_URL_VARIABLES].join(', ')}: set DATABASE_URL_SESSION to the direct (session-mode) URL`,
    );
  }
  const url = (env[pooled] ?? '').trim();
  const parsed = parseDatabaseUrl(url, pooled);
  const provider = detectProvider(parsed);
  const ports = explicitPorts(parsed);
  const unset = `${DIRECT_URL_VARIABLES.join(', ')} unset`;
  const derived = (rewritten: string, how: string) => result(pooled, rewritten, `direct URL derived from ${pooled} (${unset}): ${how}`);
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
    case 'rds-proxy':
      return derived(url, 'AWS RDS Proxy keeps a session-level statement on one connection (pinning), so migrations run through it');
    default:
      if (ports.includes(POOLER_PORT) || getParam(parsed, 'pgbouncer')?.toLowerCase() === 'true') {
        throw new ConfigError(
          'DATABASE_URL_SESSION',
          `is not set and ${pooled} points at a transaction-mode pooler (port ${POOLER_PORT} or pgbouncer=true), which breaks the migration lock: set DATABASE_URL_SESSION (or DIRECT_URL) to PostgreSQL's own URL`,
        );
      }
      return derived(url, 'not a transaction-mode pooler URL, used as given');
  }
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
  if (firstSetVariable(env, [...DIRECT_URL_VARIABLES, ...POOLED_URL_VARIABLES]) === undefined) return '';
  return resolveDirectDatabaseUrl(env).connectionString;
}
