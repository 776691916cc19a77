/**
 * Provider profiles from the URL's host: which managed pooler a URL points at, and what
 * "transaction mode" means there. Pure.
 *
 * The usual rule — port 5432 is PostgreSQL, PgBouncer's transaction mode listens on 6543 — is
 * true of a self-hosted PgBouncer and of Supabase, and wrong elsewhere: Neon has no 6543 (its
 * pooler is another host on the same port) and an AWS RDS Proxy endpoint is already the pooler.
 * Each profile cites the provider page its rule comes from.
 */
import type { ParsedDatabaseUrl, RewriteOptions } from './database-url.ts';
import { explicitPorts } from './database-url.ts';

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

/**
 * One managed pooler: how to recognise its host, and what each mode does to its URLs. To add a
 * provider, add one entry to `PROVIDER_TABLE` (before the catch-all) — see docs/development.md.
 */
interface ProviderEntry<Id extends string> {
  readonly id: Id;
  /** For messages, e.g. `Neon`. */
  readonly name: string;
  /** The provider's page the rule comes from. */
  readonly docs: string;
  /** True for a (lower-case, no trailing dot) host name of this provider. */
  readonly matches: (host: string) => boolean;
  /** What `mode` does to a URL on this provider (the URL is already parsed and valid). */
  readonly plan: (parsed: ParsedDatabaseUrl, mode: Mode, variable: string, provider: ProviderProfile) => Omit<EndpointPlan, 'provider'>;
}

const NEON = /\.neon\.tech$/;
const SUPABASE_DIRECT = /^db\.[a-z0-9]+\.supabase\.co$/;
const SUPAVISOR = /\.pooler\.supabase\.com$/;
const RDS_PROXY = /(^|\.)proxy-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/;
const HYPERDRIVE = /\.hyperdrive\.local$/;
const NEON_POOLER_SUFFIX = '-pooler';
/** Supavisor finds the project from the user name's suffix: `postgres.abcdefghijklmnopqrst`. */
const SUPAVISOR_USER = /^[^.]+(\..+)?\.[a-z0-9]+$/;

/** `ep-x-123456.us-east-2.aws.neon.tech` → `ep-x-123456-pooler.us-east-2.aws.neon.tech`; a pooler host stays. */
export function neonPoolerHost(host: string): string {
  if (!NEON.test(host.toLowerCase())) return host;
  const dot = host.indexOf('.');
  const endpoint = host.slice(0, dot);
  return endpoint.toLowerCase().endsWith(NEON_POOLER_SUFFIX) ? host : `${endpoint}${NEON_POOLER_SUFFIX}${host.slice(dot)}`;
}

const isNeonPoolerHost = (host: string) => host.toLowerCase().split('.')[0]?.endsWith(NEON_POOLER_SUFFIX) ?? false;

/** The port rule (self-hosted PgBouncer, Supabase): 5432 → 6543; any other port is taken to be the pooler. */
function poolerPortPlan(parsed: ParsedDatabaseUrl, variable: string, provider: ProviderProfile): Omit<EndpointPlan, 'provider'> {
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
  return { rewrite: direct ? { port: POOLER_PORT } : {}, decision, warnings };
}

function supavisorUserWarnings(parsed: ParsedDatabaseUrl, variable: string): string[] {
  const user = parsed.user ?? '';
  if (SUPAVISOR_USER.test(user)) return [];
  return [
    `${variable}: Supabase Supavisor needs the user as <role>.<project-ref> (e.g. postgres.abcdefghijklmnopqrst); without the project ref it answers "Tenant or user not found"`,
  ];
}

/** Session mode uses the URL as given; transaction mode applies the port rule. */
function portRulePlan(parsed: ParsedDatabaseUrl, mode: Mode, variable: string, provider: ProviderProfile): Omit<EndpointPlan, 'provider'> {
  if (mode === 'session') return { rewrite: {}, decision: `${provider.name}: URL used as given`, warnings: [] };
  return poolerPortPlan(parsed, variable, provider);
}

function neonPlan(parsed: ParsedDatabaseUrl, mode: Mode, variable: string): Omit<EndpointPlan, 'provider'> {
  if (mode === 'session') {
    const pooled = parsed.hosts.some((h) => isNeonPoolerHost(h.host));
    const warnings = pooled
      ? [
          `${variable}: session mode through Neon's pooled endpoint (the -pooler host, PgBouncer in transaction mode) breaks session features (SET, advisory locks, LISTEN, named prepared statements); use the host without -pooler`,
        ]
      : [];
    return { rewrite: {}, decision: `Neon: ${pooled ? 'pooled' : 'direct'} endpoint used as given`, warnings };
  }
  const pooled = parsed.hosts.every((h) => isNeonPoolerHost(h.host));
  return {
    rewrite: pooled ? {} : { mapHost: neonPoolerHost },
    decision: pooled
      ? 'Neon: already the pooled endpoint (-pooler host), kept'
      : 'Neon: the pooled endpoint is the -pooler host on the same port (Neon has no port 6543)',
    warnings: [],
  };
}

function supavisorPlan(parsed: ParsedDatabaseUrl, mode: Mode, variable: string, provider: ProviderProfile): Omit<EndpointPlan, 'provider'> {
  const warnings = supavisorUserWarnings(parsed, variable);
  if (mode === 'session')
    return { rewrite: {}, decision: `Supabase Supavisor: URL used as given (port ${POSTGRES_PORT} is session mode)`, warnings };
  const plan = poolerPortPlan(parsed, variable, provider);
  return { ...plan, warnings: [...warnings, ...plan.warnings] };
}

/**
 * The providers, checked in order against the URL's first host; the last entry matches anything.
 * Each cites the page its rule comes from.
 */
const PROVIDER_TABLE = [
  {
    // Pooled connection = the endpoint id with `-pooler` appended, same port; PgBouncer in transaction mode.
    id: 'neon',
    name: 'Neon',
    docs: 'https://neon.com/docs/connect/connection-pooling',
    matches: (host) => NEON.test(host),
    plan: neonPlan,
  },
  {
    // Direct host db.<ref>.supabase.co; its dedicated pooler (PgBouncer) listens on 6543 of the same host.
    id: 'supabase',
    name: 'Supabase',
    docs: 'https://supabase.com/docs/guides/database/connecting-to-postgres#dedicated-pooler',
    matches: (host) => SUPABASE_DIRECT.test(host),
    plan: portRulePlan,
  },
  {
    // Shared pooler aws-N-<region>.pooler.supabase.com: 5432 session mode, 6543 transaction mode, user <role>.<project-ref>.
    id: 'supavisor',
    name: 'Supabase Supavisor',
    docs: 'https://supabase.com/docs/guides/database/connecting-to-postgres#shared-pooler',
    matches: (host) => SUPAVISOR.test(host),
    plan: supavisorPlan,
  },
  {
    // <name>.proxy-<id>.<region>.rds.amazonaws.com is the pooler; what pins a session:
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html
    id: 'rds-proxy',
    name: 'AWS RDS Proxy',
    docs: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html',
    matches: (host) => RDS_PROXY.test(host),
    plan: (_parsed, mode) => ({
      rewrite: {},
      decision:
        mode === 'transaction'
          ? 'AWS RDS Proxy: already the pooler, port kept; it pins a client to one database connection after session-level SET, PREPARE, temporary tables, advisory locks or LISTEN, so keep those inside transactions or out'
          : 'AWS RDS Proxy: URL used as given',
      warnings: [],
    }),
  },
  {
    // A Worker's Hyperdrive binding: its connectionString's host is `<id>.hyperdrive.local` on 5432, a
    // transaction-mode pooler in front of the database; the URL is used as Cloudflare hands it out.
    id: 'hyperdrive',
    name: 'Cloudflare Hyperdrive',
    docs: 'https://developers.cloudflare.com/hyperdrive/concepts/how-hyperdrive-works/#connection-pooling',
    matches: (host) => HYPERDRIVE.test(host),
    plan: (_parsed, mode, variable) => ({
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
    }),
  },
  {
    // Anything else: a PgBouncer we run ourselves, transaction mode on 6543 by convention. Keep it last.
    id: 'pgbouncer',
    name: 'self-hosted PgBouncer',
    docs: 'https://www.pgbouncer.org/config.html#pool_mode',
    matches: () => true,
    plan: portRulePlan,
  },
] as const satisfies readonly ProviderEntry<string>[];

export type ProviderId = (typeof PROVIDER_TABLE)[number]['id'];

export interface ProviderProfile {
  readonly id: ProviderId;
  /** For messages, e.g. `Neon`. */
  readonly name: string;
  /** The provider's page the rule comes from. */
  readonly docs: string;
}

const profileOf = (entry: (typeof PROVIDER_TABLE)[number]): ProviderProfile =>
  Object.freeze({ id: entry.id, name: entry.name, docs: entry.docs });

/** Every provider's profile by id. */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderProfile>> = Object.freeze(
  Object.fromEntries(PROVIDER_TABLE.map((entry) => [entry.id, profileOf(entry)])) as Record<ProviderId, ProviderProfile>,
);

function entryFor(parsed: ParsedDatabaseUrl): (typeof PROVIDER_TABLE)[number] {
  const host = (parsed.hosts[0]?.host ?? '').toLowerCase().replace(/\.$/, '');
  // The catch-all last entry always matches.
  return PROVIDER_TABLE.find((entry) => entry.matches(host)) as (typeof PROVIDER_TABLE)[number];
}

/** The provider of a URL, from its first host (a DNS name ends at most in one trailing dot). */
export function detectProvider(parsed: ParsedDatabaseUrl): ProviderProfile {
  return PROVIDERS[entryFor(parsed).id];
}

/** What `mode` does to a URL on its provider. The URL must already be parsed and valid. */
export function planEndpoint(parsed: ParsedDatabaseUrl, mode: Mode, variable: string): EndpointPlan {
  const provider = detectProvider(parsed);
  return { provider, ...entryFor(parsed).plan(parsed, mode, variable, provider) };
}
