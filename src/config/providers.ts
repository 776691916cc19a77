/**
 * Provider profiles from the URL's host: which managed pooler a URL points at, and what
 * "transaction mode" means there. Pure.
 *
 * The seed's rule — port 5432 is PostgreSQL, PgBouncer's transaction mode listens on 6543 — is
 * true of a self-hosted PgBouncer and of Supabase, and wrong elsewhere: Neon has no 6543 (its
 * pooler is another host on the same port) and an AWS RDS Proxy endpoint is already the pooler.
 * Each profile cites the provider page its rule comes from.
 */
import type { ParsedDatabaseUrl, RewriteOptions } from './database-url.ts';
import { explicitPorts } from './database-url.ts';

export type ProviderId = 'neon' | 'supabase' | 'supavisor' | 'rds-proxy' | 'hyperdrive' | 'pgbouncer';

export interface ProviderProfile {
  readonly id: ProviderId;
  /** For messages, e.g. `Neon`. */
  readonly name: string;
  /** The provider's page the rule comes from. */
  readonly docs: string;
}

type Mode = 'transaction' | 'session';

/** What the mode's rules do to one URL on this provider. */
export interface EndpointPlan {
  readonly provider: ProviderProfile;
  /** Port and host changes for `rewriteDatabaseUrl` (the caller adds `pgbouncer` and `connection_limit`). */
  readonly rewrite: Pick<RewriteOptions, 'port' | 'mapHost'>;
  /** The decision in words, for `config.reason`. */
  readonly decision: string;
  readonly warnings: readonly string[];
}

export const POSTGRES_PORT = 5432;
export const POOLER_PORT = 6543;

const profile = (id: ProviderId, name: string, docs: string): ProviderProfile => Object.freeze({ id, name, docs });

export const PROVIDERS: Readonly<Record<ProviderId, ProviderProfile>> = Object.freeze({
  // Pooled connection = the endpoint id with `-pooler` appended, same port; PgBouncer in transaction mode.
  neon: profile('neon', 'Neon', 'https://neon.com/docs/connect/connection-pooling'),
  // Direct host db.<ref>.supabase.co; its dedicated pooler (PgBouncer) listens on 6543 of the same host.
  supabase: profile('supabase', 'Supabase', 'https://supabase.com/docs/guides/database/connecting-to-postgres#dedicated-pooler'),
  // Shared pooler aws-N-<region>.pooler.supabase.com: 5432 session mode, 6543 transaction mode, user <role>.<project-ref>.
  supavisor: profile('supavisor', 'Supabase Supavisor', 'https://supabase.com/docs/guides/database/connecting-to-postgres#shared-pooler'),
  // <name>.proxy-<id>.<region>.rds.amazonaws.com is the pooler; what pins a session:
  // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html
  'rds-proxy': profile('rds-proxy', 'AWS RDS Proxy', 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html'),
  // A Worker's Hyperdrive binding: connectionString's host is `<id>.hyperdrive.local` (port 5432), a
  // transaction-mode pooler in front of the database that also closes what a request left open.
  hyperdrive: profile(
    'hyperdrive',
    'Cloudflare Hyperdrive',
    'https://developers.cloudflare.com/hyperdrive/concepts/how-hyperdrive-works/#connection-pooling',
  ),
  // Anything else: a PgBouncer we run ourselves, transaction mode on 6543 by convention.
  pgbouncer: profile('pgbouncer', 'self-hosted PgBouncer', 'https://www.pgbouncer.org/config.html#pool_mode'),
});

const NEON = /\.neon\.tech$/;
const SUPABASE_DIRECT = /^db\.[a-z0-9]+\.supabase\.co$/;
const SUPAVISOR = /\.pooler\.supabase\.com$/;
const RDS_PROXY = /(^|\.)proxy-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/;
const HYPERDRIVE = /\.hyperdrive\.local$/;
const NEON_POOLER_SUFFIX = '-pooler';
/** Supavisor finds the project from the user name's suffix: `postgres.abcdefghijklmnopqrst`. */
const SUPAVISOR_USER = /^[^.]+(\..+)?\.[a-z0-9]+$/;

/** The provider of a URL, from its first host (a DNS name ends at most in one trailing dot). */
export function detectProvider(parsed: ParsedDatabaseUrl): ProviderProfile {
  const host = (parsed.hosts[0]?.host ?? '').toLowerCase().replace(/\.$/, '');
  if (NEON.test(host)) return PROVIDERS.neon;
  if (SUPABASE_DIRECT.test(host)) return PROVIDERS.supabase;
  if (SUPAVISOR.test(host)) return PROVIDERS.supavisor;
  if (RDS_PROXY.test(host)) return PROVIDERS['rds-proxy'];
  if (HYPERDRIVE.test(host)) return PROVIDERS.hyperdrive;
  return PROVIDERS.pgbouncer;
}

/** `ep-x-123456.us-east-2.aws.neon.tech` → `ep-x-123456-pooler.us-east-2.aws.neon.tech`; a pooler host stays. */
export function neonPoolerHost(host: string): string {
  if (!NEON.test(host.toLowerCase())) return host;
  const dot = host.indexOf('.');
  const endpoint = host.slice(0, dot);
  return endpoint.toLowerCase().endsWith(NEON_POOLER_SUFFIX) ? host : `${endpoint}${NEON_POOLER_SUFFIX}${host.slice(dot)}`;
}

const isNeonPoolerHost = (host: string) => host.toLowerCase().split('.')[0]?.endsWith(NEON_POOLER_SUFFIX) ?? false;

/** The seed's port rule (self-hosted PgBouncer, Supabase): 5432 → 6543; any other port is taken to be the pooler. */
function poolerPortPlan(parsed: ParsedDatabaseUrl, variable: string, provider: ProviderProfile): EndpointPlan {
  const ports = explicitPorts(parsed);
  const direct = ports.every((p) => p === POSTGRES_PORT);
  const warnings: string[] = [];
  if (!direct && !ports.every((p) => p === POOLER_PORT)) {
    warnings.push(
      `${variable}: port ${[...new Set(ports)].join(',')} is neither ${POSTGRES_PORT} (PostgreSQL) nor ${POOLER_PORT} (PgBouncer); kept as is on the assumption that it already is the pooler`,
    );
  }
  const decision = direct
    ? `${provider.name}: port ${POSTGRES_PORT} → ${POOLER_PORT}, the transaction-mode pooler on the same host`
    : `${provider.name}: port kept (already the pooler)`;
  return { provider, rewrite: direct ? { port: POOLER_PORT } : {}, decision, warnings };
}

function supavisorUserWarnings(parsed: ParsedDatabaseUrl, variable: string): string[] {
  const user = parsed.user ?? '';
  if (SUPAVISOR_USER.test(user)) return [];
  return [
    `${variable}: Supabase Supavisor needs the user as <role>.<project-ref> (e.g. postgres.abcdefghijklmnopqrst); without the project ref it answers "Tenant or user not found"`,
  ];
}

/** What `mode` does to a URL on its provider. The URL must already be parsed and valid. */
export function planEndpoint(parsed: ParsedDatabaseUrl, mode: Mode, variable: string): EndpointPlan {
  const provider = detectProvider(parsed);
  switch (provider.id) {
    case 'neon': {
      if (mode === 'session') {
        const pooled = parsed.hosts.some((h) => isNeonPoolerHost(h.host));
        const warnings = pooled
          ? [
              `${variable}: session mode through Neon's pooled endpoint (the -pooler host, PgBouncer in transaction mode) breaks session features (SET, advisory locks, LISTEN, named prepared statements); use the host without -pooler`,
            ]
          : [];
        return { provider, rewrite: {}, decision: `Neon: ${pooled ? 'pooled' : 'direct'} endpoint used as given`, warnings };
      }
      const pooled = parsed.hosts.every((h) => isNeonPoolerHost(h.host));
      return {
        provider,
        rewrite: pooled ? {} : { mapHost: neonPoolerHost },
        decision: pooled
          ? 'Neon: already the pooled endpoint (-pooler host), kept'
          : 'Neon: the pooled endpoint is the -pooler host on the same port (Neon has no port 6543)',
        warnings: [],
      };
    }
    case 'rds-proxy':
      return {
        provider,
        rewrite: {},
        decision:
          mode === 'transaction'
            ? 'AWS RDS Proxy: already the pooler, port kept; it pins a client to one database connection after session-level SET, PREPARE, temporary tables, advisory locks or LISTEN, so keep those inside transactions or out'
            : 'AWS RDS Proxy: URL used as given',
        warnings: [],
      };
    case 'hyperdrive':
      return {
        provider,
        rewrite: {},
        decision:
          mode === 'transaction'
            ? 'Cloudflare Hyperdrive: already the pooler (transaction mode), URL kept'
            : 'Cloudflare Hyperdrive: URL used as given',
        warnings:
          mode === 'session'
            ? [
                `${variable}: session mode through Cloudflare Hyperdrive (a transaction-mode pooler) breaks session features (SET, advisory locks, LISTEN, named prepared statements); unset USE_TRANSACTION_MODE`,
              ]
            : [],
      };
    case 'supavisor': {
      const warnings = supavisorUserWarnings(parsed, variable);
      if (mode === 'session')
        return {
          provider,
          rewrite: {},
          decision: `Supabase Supavisor: URL used as given (port ${POSTGRES_PORT} is session mode)`,
          warnings,
        };
      const plan = poolerPortPlan(parsed, variable, provider);
      return { ...plan, warnings: [...warnings, ...plan.warnings] };
    }
    default:
      if (mode === 'session') return { provider, rewrite: {}, decision: `${provider.name}: URL used as given`, warnings: [] };
      return poolerPortPlan(parsed, variable, provider);
  }
}
