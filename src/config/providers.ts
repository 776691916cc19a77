/**
 * Provider profiles from the URL's host: which managed pooler a URL points at, and what
 * "transaction mode" means there. Pure.
 *
 * Each provider documents its own pooler: Neon's is another host on the same port, Azure's and
 * Cloud SQL's PgBouncer listen on 6432, Crunchy Bridge's on 5431, DigitalOcean's on 25061 with the
 * pool's name as database, Prisma Postgres's is the `pooled.` host, an RDS Proxy endpoint already is
 * the pooler. The table below gives each its documented rule (researched 2026-12; sources in each
 * entry's `docs` and in docs/providers.md). Only a host nothing is known about gets the package's
 * own convention, 5432 → 6543 (a PgBouncer beside PostgreSQL, as on Supabase), and that rewrite is
 * recorded (`portRewrite`) so a refused connection can say the port was guessed.
 * A URL is never moved to a port its provider does not use, and a Unix socket is never rewritten.
 */
import type { ParsedDatabaseUrl, RewriteOptions } from './database-url.ts';
import { explicitPorts, getParam } from './database-url.ts';

type Mode = 'transaction' | 'session';

/** A port the package chose for a URL that did not name it: reported when nothing listens there. */
export interface PortRewrite {
  /** The variable the URL came from. */
  readonly variable: string;
  readonly from: number;
  readonly to: number;
  /** What to do when nothing listens on `to`, in words (names the variable). */
  readonly hint: string;
}

/** What the mode's rules do to one URL on this provider. */
export interface EndpointPlan {
  readonly provider: ProviderProfile;
  /** Port and host changes for `rewriteDatabaseUrl` (the caller adds `pgbouncer` and `connection_limit`). */
  readonly rewrite: Pick<RewriteOptions, 'port' | 'mapHost'>;
  /** The decision in words, for `config.reason`. */
  readonly decision: string;
  readonly warnings: readonly string[];
  /** The given URL points at a transaction-mode pooler (session mode through it warns). */
  readonly givenIsPooler: boolean;
  /** The URL used goes through a PgBouncer (which refuses unknown startup parameters such as `options`). */
  readonly throughPgbouncer: boolean;
  /** Set when the port was rewritten by convention or by a rule whose pooler may not exist (a plan, an add-on). */
  readonly portRewrite: PortRewrite | null;
}

type Plan = Omit<EndpointPlan, 'provider'>;

export const POSTGRES_PORT = 5432;
/** Supabase's transaction-mode port (dedicated PgBouncer and Supavisor); this package's convention for unknown hosts. */
export const POOLER_PORT = 6543;
/** PgBouncer's own default `listen_port` (https://www.pgbouncer.org/config.html#listen_port); Azure's, Cloud SQL's and Railway's pooler port. */
export const PGBOUNCER_DEFAULT_PORT = 6432;

/** What a plan is given: the parsed URL, the mode, the variable, and whether the variable's name says "pooled". */
export interface PlanInput {
  readonly parsed: ParsedDatabaseUrl;
  readonly mode: Mode;
  readonly variable: string;
  /** The URL came from a variable that names a pooler (`DATABASE_URL_POOLED`, `DATABASE_CONNECTION_POOL_URL`). */
  readonly pooledVariable: boolean;
}

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
  /** What the mode does to a URL on this provider (the URL is already parsed and valid). */
  readonly plan: (input: PlanInput, provider: ProviderProfile) => Plan;
  /** The provider accepts TLS connections only (the no-`sslmode` default becomes `require`). */
  readonly tlsOnly?: (host: string) => boolean;
  /** Why `poolerTracksPreparedStatements: true` cannot work through this provider's transaction-mode pooler. */
  readonly refusesNamedStatements?: string;
}

const NEON = /\.neon\.tech$/;
/** Vercel Postgres (2023–2024) was Neon under Vercel's domain: `ep-…-pooler.<region>.postgres.vercel-storage.com`. */
const VERCEL_POSTGRES = /\.postgres\.vercel-storage\.com$/;
const SUPABASE_DIRECT = /^db\.[a-z0-9]+\.supabase\.co$/;
const SUPAVISOR = /\.pooler\.supabase\.com$/;
const RDS_PROXY = /(^|\.)proxy-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/;
const RDS = /\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/;
const HYPERDRIVE = /\.hyperdrive\.local$/;
const AZURE = /\.postgres\.database\.azure\.com$/;
const DIGITALOCEAN = /\.db\.ondigitalocean\.com$/;
const RAILWAY_INTERNAL = /\.railway\.internal$/;
const RAILWAY_PROXY = /\.proxy\.rlwy\.net$/;
const RENDER = /^dpg-[a-z0-9]+-[a-z](\.[a-z0-9-]+-postgres\.render\.com)?$/;
/** Heroku Postgres hands out EC2 public names (`ec2-…compute-1.amazonaws.com`); so does any EC2 host, hence the hedged advice. */
const HEROKU = /^ec2-[0-9-]+\.([a-z0-9-]+\.)?compute(-1)?\.amazonaws\.com$/;
const CRUNCHY = /^p\.[a-z0-9]+\.db\.postgresbridge\.com$/;
const AIVEN = /\.aivencloud\.com$/;
const TIMESCALE = /\.tsdb\.cloud\.timescale\.com$/;
const PRISMA_POSTGRES = /^(pooled\.)?db\.prisma\.io$/;
const XATA = /\.xata\.sh$|\.xata\.tech$/;
const NILE = /\.thenile\.dev$/;
const NEON_POOLER_SUFFIX = '-pooler';
/** Supavisor finds the project from the user name's suffix: `postgres.abcdefghijklmnopqrst`. */
const SUPAVISOR_USER = /^[^.]+(\..+)?\.[a-z0-9]+$/;
const DIGITALOCEAN_DIRECT_PORT = 25060;
const DIGITALOCEAN_POOL_PORT = 25061;
const CRUNCHY_POOLER_PORT = 5431;
const TIMESCALE_TRANSACTION_DB = 'tsdb_transaction';
const PRISMA_POOLED_PREFIX = 'pooled.';

/** `ep-x-123456.us-east-2.aws.neon.tech` → `ep-x-123456-pooler.us-east-2.aws.neon.tech`; a pooler host stays. */
export function neonPoolerHost(host: string): string {
  const lower = host.toLowerCase();
  if (!NEON.test(lower) && !VERCEL_POSTGRES.test(lower)) return host;
  const dot = host.indexOf('.');
  const endpoint = host.slice(0, dot);
  return endpoint.toLowerCase().endsWith(NEON_POOLER_SUFFIX) ? host : `${endpoint}${NEON_POOLER_SUFFIX}${host.slice(dot)}`;
}

const isNeonPoolerHost = (host: string) => host.toLowerCase().split('.')[0]?.endsWith(NEON_POOLER_SUFFIX) ?? false;

/** `db.prisma.io` → `pooled.db.prisma.io` (https://www.prisma.io/docs/postgres/database/connection-pooling). */
export function prismaPooledHost(host: string): string {
  return host.toLowerCase() === 'db.prisma.io' ? `${PRISMA_POOLED_PREFIX}${host}` : host;
}

/** Is this host entry a Unix-domain socket directory (libpq: a host starting with `/`)? */
const isSocket = (host: string) => host.startsWith('/');

/** The URL's first host: the `host` parameter's first entry (it overrides the authority), else the authority's. */
export function firstHost(parsed: ParsedDatabaseUrl): string {
  const param = getParam(parsed, 'host');
  const fromParam = param === undefined || param === '' ? undefined : param.split(',')[0]?.trim();
  return (fromParam ?? parsed.hosts[0]?.host ?? '').toLowerCase().replace(/\.$/, '');
}

const portList = (ports: readonly number[]) => [...new Set(ports)].join(', ');
const plural = (ports: readonly number[]) => (new Set(ports).size > 1 ? 'ports' : 'port');

/** A plan that leaves the URL as given. */
const asGiven = (decision: string, extra: Partial<Plan> = {}): Plan => ({
  rewrite: {},
  decision,
  warnings: [],
  givenIsPooler: false,
  throughPgbouncer: false,
  portRewrite: null,
  ...extra,
});

/** Every explicit port is `port` (no port counts as 5432, libpq's default). */
const allPorts = (parsed: ParsedDatabaseUrl, port: number): boolean => {
  const ports = explicitPorts(parsed);
  return port === POSTGRES_PORT ? ports.every((p) => p === POSTGRES_PORT) : ports.length > 0 && ports.every((p) => p === port);
};

const sessionThrough = (variable: string, what: string, fix: string) =>
  `${variable}: session mode through ${what} breaks session features (SET, advisory locks, LISTEN, named prepared statements); ${fix}`;

/** `pgbouncer=true` in the URL: the Prisma 6 flag that says the URL is a transaction-mode PgBouncer. */
const flaggedPgbouncer = (parsed: ParsedDatabaseUrl) => getParam(parsed, 'pgbouncer')?.toLowerCase() === 'true';

/**
 * A host nothing is known about (and a self-hosted PgBouncer): 5432 (or no port) → 6543 by this
 * package's convention; 6432 is PgBouncer's own default port and 6543 Supabase's, both kept as the
 * pooler; any other port, or a list of ports, is kept as the pooler the user named. A Unix socket is
 * never rewritten (a socket path plus a port names a file, `.s.PGSQL.<port>`).
 */
function conventionPlan({ parsed, mode, variable, pooledVariable }: PlanInput, provider: ProviderProfile): Plan {
  const ports = explicitPorts(parsed);
  const given = ports.includes(POOLER_PORT) || flaggedPgbouncer(parsed) || pooledVariable;
  if (mode === 'session') return asGiven(`${provider.name}: URL used as given`, { givenIsPooler: given });
  if (pooledVariable)
    return asGiven(`${provider.name}: URL kept, ${variable} names the pooler`, { givenIsPooler: true, throughPgbouncer: true });
  if (allPorts(parsed, POSTGRES_PORT)) {
    return {
      rewrite: { port: POOLER_PORT },
      decision: `${provider.name}: port ${POSTGRES_PORT} → ${POOLER_PORT} on the same host (this package's convention for a host it knows nothing about: a PgBouncer beside PostgreSQL, as on Supabase)`,
      warnings: [],
      givenIsPooler: given,
      throughPgbouncer: true,
      portRewrite: {
        variable,
        from: POSTGRES_PORT,
        to: POOLER_PORT,
        hint: `${variable} names port ${POSTGRES_PORT} (or none), which this package moves to ${POOLER_PORT} by convention for a host it does not know; put the pooler's own port in ${variable} (PgBouncer's default is ${PGBOUNCER_DEFAULT_PORT}), or set DATABASE_URL_POOLED to the pooler's URL`,
      },
    };
  }
  const decision = allPorts(parsed, PGBOUNCER_DEFAULT_PORT)
    ? `${provider.name}: port ${PGBOUNCER_DEFAULT_PORT} is PgBouncer's default listen_port, kept as the pooler (a stock PgBouncer pools in session mode unless pool_mode = transaction)`
    : allPorts(parsed, POOLER_PORT)
      ? `${provider.name}: port ${POOLER_PORT}, kept as the pooler`
      : `${provider.name}: ${plural(ports)} ${portList(ports)} kept as the pooler ${variable} names`;
  return asGiven(decision, { givenIsPooler: given, throughPgbouncer: true });
}

function supavisorUserWarnings(parsed: ParsedDatabaseUrl, variable: string): string[] {
  const user = parsed.user ?? '';
  if (SUPAVISOR_USER.test(user)) return [];
  return [
    `${variable}: Supabase Supavisor needs the user as <role>.<project-ref> (e.g. postgres.abcdefghijklmnopqrst); without the project ref it answers "Tenant or user not found"`,
  ];
}

/** Supabase's own hosts: 5432 → 6543 is their documented rule, not a guess. */
function supabasePlan(input: PlanInput, provider: ProviderProfile, hint: string): Plan {
  const { parsed, mode, variable } = input;
  const given = explicitPorts(parsed).includes(POOLER_PORT);
  if (mode === 'session') return asGiven(`${provider.name}: URL used as given`, { givenIsPooler: given });
  if (allPorts(parsed, POSTGRES_PORT)) {
    return {
      rewrite: { port: POOLER_PORT },
      decision: `${provider.name}: port ${POSTGRES_PORT} → ${POOLER_PORT}, the transaction-mode pooler on the same host`,
      warnings: [],
      givenIsPooler: false,
      throughPgbouncer: provider.id === 'supabase',
      portRewrite: { variable, from: POSTGRES_PORT, to: POOLER_PORT, hint },
    };
  }
  return asGiven(`${provider.name}: ${plural(explicitPorts(parsed))} ${portList(explicitPorts(parsed))} kept (already the pooler)`, {
    givenIsPooler: given,
    throughPgbouncer: provider.id === 'supabase',
  });
}

function neonPlan({ parsed, mode }: PlanInput): Plan {
  const hosts = parsed.hosts.filter((h) => !isSocket(h.host));
  if (mode === 'session') {
    const pooled = hosts.some((h) => isNeonPoolerHost(h.host));
    return asGiven(`Neon: ${pooled ? 'pooled' : 'direct'} endpoint used as given`, { givenIsPooler: pooled, throughPgbouncer: pooled });
  }
  const pooled = hosts.every((h) => isNeonPoolerHost(h.host));
  return {
    rewrite: pooled ? {} : { mapHost: neonPoolerHost },
    decision: pooled
      ? 'Neon: already the pooled endpoint (-pooler host), kept'
      : 'Neon: the pooled endpoint is the -pooler host on the same port (Neon has no port 6543)',
    warnings: [],
    givenIsPooler: pooled,
    throughPgbouncer: true,
    portRewrite: null,
  };
}

/**
 * A provider whose pooler is another port of the same host, documented (Azure 6432, Crunchy Bridge 5431):
 * the direct port moves there; any other port is kept.
 */
const samePortRule =
  (poolerPort: number, hint: (variable: string) => string) =>
  ({ parsed, mode, variable, pooledVariable }: PlanInput, provider: ProviderProfile): Plan => {
    const ports = explicitPorts(parsed);
    const given = pooledVariable || allPorts(parsed, poolerPort);
    if (mode === 'session') return asGiven(`${provider.name}: URL used as given`, { givenIsPooler: given });
    if (!given && allPorts(parsed, POSTGRES_PORT)) {
      return {
        rewrite: { port: poolerPort },
        decision: `${provider.name}: port ${POSTGRES_PORT} → ${poolerPort}, the provider's pooler on the same host`,
        warnings: [],
        givenIsPooler: false,
        throughPgbouncer: true,
        portRewrite: { variable, from: POSTGRES_PORT, to: poolerPort, hint: hint(variable) },
      };
    }
    return asGiven(
      given
        ? `${provider.name}: port ${poolerPort}, the provider's pooler, kept`
        : `${provider.name}: ${plural(ports)} ${portList(ports)} kept`,
      { givenIsPooler: given, throughPgbouncer: given },
    );
  };

/**
 * A provider whose direct endpoint has no pooler the package could derive (another service, a pool
 * with its own database name, a plan add-on): the URL is used as given; in transaction mode a URL
 * that is known to be the database itself gets one warning saying which URL to set instead.
 */
const noDerivablePooler =
  (isPooler: (parsed: ParsedDatabaseUrl) => boolean | null, advice: (variable: string) => string) =>
  ({ parsed, mode, variable, pooledVariable }: PlanInput, provider: ProviderProfile): Plan => {
    const known = pooledVariable ? true : isPooler(parsed);
    const given = known === true;
    if (mode === 'session') return asGiven(`${provider.name}: URL used as given`, { givenIsPooler: given });
    if (given) return asGiven(`${provider.name}: already the provider's pooler, URL kept`, { givenIsPooler: true, throughPgbouncer: true });
    const decision = `${provider.name}: URL used as given (the provider's pooler cannot be derived from this URL: ${advice(variable)})`;
    if (known === null) return asGiven(decision);
    return asGiven(decision, {
      warnings: [
        `${variable}: transaction mode on ${provider.name}'s direct database endpoint (no pooler in between); ${advice(variable)}`,
      ],
    });
  };

/**
 * The providers, checked in order against the URL's first host; the last entry matches anything.
 * Each cites the page its rule comes from; docs/providers.md has the table with the reasons.
 */
const PROVIDER_TABLE = [
  {
    // Pooled connection = the endpoint id with `-pooler` appended, same port; PgBouncer in transaction mode.
    // Vercel Postgres's legacy hosts are Neon endpoints under Vercel's domain, same rule.
    id: 'neon',
    name: 'Neon',
    docs: 'https://neon.com/docs/connect/connection-pooling',
    matches: (host) => NEON.test(host) || VERCEL_POSTGRES.test(host),
    plan: neonPlan,
    // "Neon requires that all connections use SSL/TLS encryption" (https://neon.com/docs/connect/connect-securely).
    tlsOnly: () => true,
  },
  {
    // Direct host db.<ref>.supabase.co; its dedicated pooler (PgBouncer) listens on 6543 of the same host,
    // on paid plans only, and the host is IPv6-only without the IPv4 add-on.
    id: 'supabase',
    name: 'Supabase',
    docs: 'https://supabase.com/docs/guides/database/connecting-to-postgres#dedicated-pooler',
    matches: (host) => SUPABASE_DIRECT.test(host),
    plan: (input, provider) =>
      supabasePlan(
        input,
        provider,
        `Supabase's dedicated pooler (db.<ref>.supabase.co:${POOLER_PORT}) exists on paid plans only and is reachable over IPv6 only; otherwise set ${input.variable} to the shared pooler's (Supavisor) transaction-mode URL from the dashboard's Connect panel`,
      ),
  },
  {
    // Shared pooler aws-N-<region>.pooler.supabase.com: 5432 session mode, 6543 transaction mode, user <role>.<project-ref>.
    id: 'supavisor',
    name: 'Supabase Supavisor',
    docs: 'https://supabase.com/docs/guides/database/connecting-to-postgres#shared-pooler',
    matches: (host) => SUPAVISOR.test(host),
    plan: (input, provider) => {
      const plan = supabasePlan(
        input,
        provider,
        `Supavisor's transaction mode is port ${POOLER_PORT} of the same host; check ${input.variable}'s host against the dashboard's Connect panel`,
      );
      const user = supavisorUserWarnings(input.parsed, input.variable);
      return input.mode === 'session'
        ? { ...plan, decision: `Supabase Supavisor: URL used as given (port ${POSTGRES_PORT} is session mode)`, warnings: user }
        : { ...plan, givenIsPooler: plan.givenIsPooler, warnings: [...user, ...plan.warnings] };
    },
    // https://supabase.com/docs/guides/troubleshooting/disabling-prepared-statements-qL8lEL
    refusesNamedStatements: "Supabase's shared pooler (Supavisor) does not support prepared statements in transaction mode",
  },
  {
    // <name>.proxy-<id>.<region>.rds.amazonaws.com is the pooler; what pins a session:
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html
    id: 'rds-proxy',
    name: 'AWS RDS Proxy',
    docs: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html',
    matches: (host) => RDS_PROXY.test(host),
    plan: ({ mode }) =>
      asGiven(
        mode === 'transaction'
          ? 'AWS RDS Proxy: already the pooler, port kept; it pins a client to one database connection after session-level SET, PREPARE, temporary tables, advisory locks or LISTEN, so keep those inside transactions or out'
          : 'AWS RDS Proxy: URL used as given',
        { givenIsPooler: mode === 'transaction' },
      ),
    refusesNamedStatements:
      'AWS RDS Proxy pins a client to one database connection once it prepares a statement (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html), so every session would end up pinned',
  },
  {
    // An RDS or Aurora instance/cluster endpoint: PostgreSQL itself; the pooler is an RDS Proxy, another host.
    id: 'rds',
    name: 'AWS RDS',
    docs: 'https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html',
    matches: (host) => RDS.test(host),
    plan: noDerivablePooler(
      () => false,
      (variable) =>
        `put an RDS Proxy in front of the database and set ${variable} to the proxy's endpoint (<name>.proxy-<id>.<region>.rds.amazonaws.com)`,
    ),
  },
  {
    // A Worker's Hyperdrive binding: its connectionString's host is `<id>.hyperdrive.local` on 5432, a
    // transaction-mode pooler in front of the database; the URL is used as Cloudflare hands it out.
    id: 'hyperdrive',
    name: 'Cloudflare Hyperdrive',
    docs: 'https://developers.cloudflare.com/hyperdrive/concepts/how-hyperdrive-works/#connection-pooling',
    matches: (host) => HYPERDRIVE.test(host),
    plan: ({ mode }) =>
      asGiven(
        mode === 'transaction'
          ? 'Cloudflare Hyperdrive: already the pooler (transaction mode), URL kept'
          : 'Cloudflare Hyperdrive: URL used as given',
        { givenIsPooler: true },
      ),
  },
  {
    // Built-in PgBouncer on port 6432 of the server's own host (when pgbouncer.enabled = true; not on Burstable).
    id: 'azure',
    name: 'Azure Database for PostgreSQL',
    docs: 'https://learn.microsoft.com/azure/postgresql/connectivity/concepts-pgbouncer',
    matches: (host) => AZURE.test(host),
    plan: samePortRule(
      PGBOUNCER_DEFAULT_PORT,
      (variable) =>
        `Azure's built-in PgBouncer listens on ${PGBOUNCER_DEFAULT_PORT} only when the server parameter pgbouncer.enabled is on (not on Burstable servers); turn it on, or set ${variable} with port ${POSTGRES_PORT} and USE_TRANSACTION_MODE=false`,
    ),
    // require_secure_transport is on by default (https://learn.microsoft.com/azure/postgresql/security/security-tls).
    tlsOnly: () => true,
  },
  {
    // Cloud Run / App Engine reach Cloud SQL through a Unix socket at /cloudsql/<project:region:instance>:
    // that socket is PostgreSQL itself. Managed Connection Pooling (Enterprise Plus) is port 6432 of the instance IP.
    id: 'cloud-sql',
    name: 'Google Cloud SQL',
    docs: 'https://cloud.google.com/sql/docs/postgres/managed-connection-pooling',
    matches: (host) => host.startsWith('/cloudsql/'),
    plan: ({ mode }, provider) =>
      asGiven(
        mode === 'transaction'
          ? `${provider.name}: Unix socket used as given (a socket is never moved to another port); Managed Connection Pooling listens on port ${PGBOUNCER_DEFAULT_PORT} of the instance's IP address`
          : `${provider.name}: Unix socket used as given`,
      ),
  },
  {
    // Pools: same host, port 25061, database = the pool's name; 25060 is PostgreSQL itself.
    id: 'digitalocean',
    name: 'DigitalOcean',
    docs: 'https://docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools/',
    matches: (host) => DIGITALOCEAN.test(host),
    plan: noDerivablePooler(
      (parsed) => (allPorts(parsed, DIGITALOCEAN_POOL_PORT) ? true : allPorts(parsed, DIGITALOCEAN_DIRECT_PORT) ? false : null),
      (variable) =>
        `create a connection pool (its port is ${DIGITALOCEAN_POOL_PORT} and its database name is the pool's name) and set ${variable} to the pool's connection string`,
    ),
    tlsOnly: () => true,
  },
  {
    // No pooler unless one is added (PgBouncer template: DATABASE_URL → PgBouncer, DATABASE_UNPOOLED_URL → Postgres);
    // the HA template's PgBouncer listens on 6432. The public TCP proxy forwards to whichever service it was made for.
    id: 'railway',
    name: 'Railway',
    docs: 'https://docs.railway.com/databases/postgresql-pgbouncer',
    matches: (host) => RAILWAY_INTERNAL.test(host) || RAILWAY_PROXY.test(host),
    plan: (input, provider) => {
      const host = firstHost(input.parsed);
      return noDerivablePooler(
        (parsed) =>
          allPorts(parsed, PGBOUNCER_DEFAULT_PORT) || host.split('.')[0]?.includes('pgbouncer') === true
            ? true
            : RAILWAY_INTERNAL.test(host) && allPorts(parsed, POSTGRES_PORT)
              ? false
              : null,
        (variable) =>
          `Railway has no pooler unless one is added: deploy its PgBouncer template, which sets ${variable} to PgBouncer and DATABASE_UNPOOLED_URL to PostgreSQL`,
      )(input, provider);
    },
  },
  {
    // Internal dpg-<id>-a, external dpg-<id>-a.<region>-postgres.render.com; the integrated PgBouncer's
    // host is not documented in a form the package could derive.
    id: 'render',
    name: 'Render',
    docs: 'https://render.com/docs/postgresql-connection-pooling',
    matches: (host) => RENDER.test(host),
    plan: noDerivablePooler(
      () => null,
      (variable) => `if the database has Render's integrated PgBouncer, set ${variable} to its URL`,
    ),
    // External connections require TLS; the internal host does not (https://render.com/tutorials/postgres-on-render/introduction).
    tlsOnly: (host) => host.endsWith('.render.com'),
  },
  {
    // DATABASE_URL is PostgreSQL; the server-side pooler's URL is DATABASE_CONNECTION_POOL_URL (read first in transaction mode).
    id: 'heroku',
    name: 'Heroku Postgres',
    docs: 'https://devcenter.heroku.com/articles/postgres-connection-pooling',
    matches: (host) => HEROKU.test(host),
    plan: noDerivablePooler(
      (parsed) => (allPorts(parsed, POSTGRES_PORT) ? false : null),
      (variable) =>
        `on Heroku, attach its server-side pooler (heroku pg:connection-pooling:attach), which sets DATABASE_CONNECTION_POOL_URL, read before DATABASE_URL in transaction mode; for a PgBouncer of your own on this EC2 host, put its port in ${variable}`,
    ),
  },
  {
    // PgBouncer on port 5431 of the same host, after CREATE EXTENSION crunchy_pooler in the database.
    id: 'crunchy-bridge',
    name: 'Crunchy Bridge',
    docs: 'https://docs.crunchybridge.com/how-to/pgbouncer',
    matches: (host) => CRUNCHY.test(host),
    plan: samePortRule(
      CRUNCHY_POOLER_PORT,
      (variable) =>
        `Crunchy Bridge's PgBouncer answers on ${CRUNCHY_POOLER_PORT} once CREATE EXTENSION crunchy_pooler has run in the database; run it, or set ${variable} to the URL to use`,
    ),
  },
  {
    // Pools have their own port and the pool's name as the database; the service port is PostgreSQL.
    id: 'aiven',
    name: 'Aiven',
    docs: 'https://aiven.io/docs/products/postgresql/howto/manage-pool',
    matches: (host) => AIVEN.test(host),
    plan: noDerivablePooler(
      () => null,
      (variable) =>
        `Aiven's pools have their own port and the pool's name as database; set ${variable} to the pool's URI (console → Pools)`,
    ),
    tlsOnly: () => true,
  },
  {
    // On the pooler port, database tsdb_transaction is the transaction pool and tsdb the session pool.
    id: 'timescale',
    name: 'Timescale Cloud',
    docs: 'https://docs.timescale.com/use-timescale/latest/services/connection-pooling',
    matches: (host) => TIMESCALE.test(host),
    plan: noDerivablePooler(
      (parsed) => (parsed.database === TIMESCALE_TRANSACTION_DB ? true : null),
      (variable) =>
        `Timescale's transaction pool is the database ${TIMESCALE_TRANSACTION_DB} on the pooler port; set ${variable} to the pooled connection string (service → Connection pooling)`,
    ),
    tlsOnly: () => true,
  },
  {
    // pooled.db.prisma.io (same port) is the per-tenant PgBouncer; db.prisma.io is direct.
    id: 'prisma-postgres',
    name: 'Prisma Postgres',
    docs: 'https://www.prisma.io/docs/postgres/database/connection-pooling',
    matches: (host) => PRISMA_POSTGRES.test(host),
    plan: ({ parsed, mode }, provider) => {
      const pooled = firstHost(parsed).startsWith(PRISMA_POOLED_PREFIX);
      if (mode === 'session') return asGiven(`${provider.name}: URL used as given`, { givenIsPooler: pooled, throughPgbouncer: pooled });
      return {
        rewrite: pooled ? {} : { mapHost: prismaPooledHost },
        decision: pooled
          ? `${provider.name}: already the pooled endpoint (pooled.db.prisma.io), kept`
          : `${provider.name}: the pooled endpoint is pooled.db.prisma.io on the same port`,
        warnings: [],
        givenIsPooler: pooled,
        throughPgbouncer: true,
        portRewrite: null,
      };
    },
    // "sslmode=require" is part of every connection string (https://www.prisma.io/docs/postgres/database/connecting-to-your-database).
    tlsOnly: () => true,
  },
  {
    // The URL Xata hands out already goes through its per-branch pooler (transaction mode).
    id: 'xata',
    name: 'Xata',
    docs: 'https://xata.io/blog/a-connection-pooler-for-every-postgres-branch',
    matches: (host) => XATA.test(host),
    plan: ({ mode }, provider) =>
      asGiven(`${provider.name}: URL used as given (Xata's URL is its pooler's)`, { givenIsPooler: mode === 'transaction' }),
    tlsOnly: () => true,
  },
  {
    // Nile documents no separate pooler endpoint: the URL it hands out is used as given.
    id: 'nile',
    name: 'Nile',
    docs: 'https://thenile.dev/docs/reference/sdk-reference/javascript/server/index',
    matches: (host) => NILE.test(host),
    plan: (_input, provider) => asGiven(`${provider.name}: URL used as given (Nile documents no separate pooler endpoint)`),
  },
  {
    // A Unix-domain socket: a socket directory plus a port names a file (.s.PGSQL.<port>); never moved.
    id: 'unix-socket',
    name: 'Unix socket',
    docs: 'https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-HOST',
    matches: (host) => isSocket(host),
    plan: ({ parsed }, provider) => {
      const ports = explicitPorts(parsed);
      const pooler = allPorts(parsed, PGBOUNCER_DEFAULT_PORT) || allPorts(parsed, POOLER_PORT) || flaggedPgbouncer(parsed);
      return asGiven(
        `${provider.name}: used as given (a socket is never moved to another port${ports.length ? `; ${plural(ports)} ${portList(ports)}` : ''})`,
        { givenIsPooler: pooler, throughPgbouncer: pooler },
      );
    },
  },
  {
    // Anything else: a PgBouncer beside PostgreSQL, transaction mode on 6543 by this package's convention. Keep it last.
    id: 'pgbouncer',
    name: 'self-hosted PgBouncer',
    docs: 'https://www.pgbouncer.org/config.html#pool_mode',
    matches: () => true,
    plan: conventionPlan,
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

type Entry = (typeof PROVIDER_TABLE)[number] & ProviderEntry<ProviderId>;

const profileOf = (entry: Entry): ProviderProfile => Object.freeze({ id: entry.id, name: entry.name, docs: entry.docs });

/** Every provider's profile by id. */
export const PROVIDERS: Readonly<Record<ProviderId, ProviderProfile>> = Object.freeze(
  Object.fromEntries(PROVIDER_TABLE.map((entry) => [entry.id, profileOf(entry)])) as Record<ProviderId, ProviderProfile>,
);

function entryFor(parsed: ParsedDatabaseUrl): Entry {
  const host = firstHost(parsed);
  // The catch-all last entry always matches.
  return PROVIDER_TABLE.find((entry) => entry.matches(host)) as Entry;
}

/** The provider of a URL, from its first host (a DNS name ends at most in one trailing dot). */
export function detectProvider(parsed: ParsedDatabaseUrl): ProviderProfile {
  return PROVIDERS[entryFor(parsed).id];
}

/** The provider's name when its endpoint for this URL accepts TLS connections only; null otherwise. */
export function tlsOnlyProvider(parsed: ParsedDatabaseUrl): string | null {
  const entry = entryFor(parsed);
  return entry.tlsOnly?.(firstHost(parsed)) === true ? entry.name : null;
}

/** Why named prepared statements cannot work through this URL's provider in transaction mode; null when they may. */
export function namedStatementsRefusal(parsed: ParsedDatabaseUrl): string | null {
  return entryFor(parsed).refusesNamedStatements ?? null;
}

/** What `mode` does to a URL on its provider. The URL must already be parsed and valid. */
export function planEndpoint(
  parsed: ParsedDatabaseUrl,
  mode: Mode,
  variable: string,
  options: { readonly pooledVariable?: boolean } = {},
): EndpointPlan {
  const entry = entryFor(parsed);
  const provider = PROVIDERS[entry.id];
  const plan = entry.plan({ parsed, mode, variable, pooledVariable: options.pooledVariable === true }, provider);
  const warnings = [...plan.warnings];
  if (mode === 'session' && plan.givenIsPooler) {
    const fix =
      provider.id === 'neon'
        ? 'use the host without -pooler'
        : provider.id === 'hyperdrive'
          ? 'unset USE_TRANSACTION_MODE'
          : 'point it at PostgreSQL itself (DATABASE_URL_SESSION)';
    warnings.push(sessionThrough(variable, `a transaction-mode pooler (${provider.name})`, fix));
  }
  if (mode === 'transaction' && plan.throughPgbouncer) warnings.push(...startupOptionsWarnings(parsed, variable));
  return { provider, ...plan, warnings };
}

/**
 * `options` (e.g. `-c search_path=…`) travels in the startup packet; PgBouncer refuses a startup
 * parameter it does not track ("unsupported startup parameter: options") unless
 * `ignore_startup_parameters` lists it, and then drops it (https://www.pgbouncer.org/config.html#ignore_startup_parameters).
 * Neon's `endpoint=<id>` option is read by Neon's proxy in front of PgBouncer, so it is fine.
 */
function startupOptionsWarnings(parsed: ParsedDatabaseUrl, variable: string): string[] {
  const options = getParam(parsed, 'options');
  if (options === undefined || options.trim() === '' || /^\s*endpoint=[\w-]+\s*$/.test(options)) return [];
  return [
    `${variable}: the options parameter is sent to PgBouncer as a startup parameter, which it refuses ("unsupported startup parameter: options") unless its ignore_startup_parameters lists it, and then drops, so the settings never apply; use the schema parameter for search_path, or ALTER ROLE … SET for other settings`,
  ];
}
