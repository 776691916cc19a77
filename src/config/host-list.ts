/**
 * libpq's multi-host connection strings (PostgreSQL docs §34.1.1 "Connection Strings", §34.1.2
 * "Parameter Key Words"), read from a parsed URL. Pure.
 *
 * - Hosts come from the authority (`h1:5432,h2:5433`) or from the `host` parameter (`host=a,b`),
 *   which overrides it; ports from each entry or the `port` parameter: one port for every host,
 *   or exactly one per host.
 * - `target_session_attrs`: `any` (default) | `read-write` | `read-only` | `primary` | `standby` |
 *   `prefer-standby`; the hosts are tried in order and the first that matches is kept.
 * - `load_balance_hosts`: `disable` (default, in order) | `random` (shuffled for each connection).
 * - `connect_timeout` applies to each host (the pool's `connectTimeoutMs`).
 * node-postgres reads none of this (brianc/node-postgres#3643 is open), so src/pool/multi-host.ts
 * does the trying and pg only ever sees a single-host URL (`singleHostUrl`).
 */
import { ConfigError } from '../errors/errors.ts';
import { type DatabaseUrlHost, formatDatabaseUrl, getParam, type ParsedDatabaseUrl, parseDatabaseUrl } from './database-url.ts';

export const TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type TargetSessionAttrs = (typeof TARGET_SESSION_ATTRS)[number];
export type LoadBalanceHosts = 'disable' | 'random';

export interface HostEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface HostList {
  readonly hosts: readonly HostEndpoint[];
  readonly targetSessionAttrs: TargetSessionAttrs;
  readonly loadBalanceHosts: LoadBalanceHosts;
}

/** Parameters that only the multi-host layer reads: pg must not see them. */
export const HOST_LIST_PARAMS = Object.freeze(['host', 'hostaddr', 'port', 'target_session_attrs', 'load_balance_hosts'] as const);

const DEFAULT_PORT = 5432;

const splitList = (value: string): string[] => value.split(',').map((v) => v.trim());

/** The hosts to try, in order, and what a match is. Throws ConfigError naming the parameter. */
export function parseHostList(parsed: ParsedDatabaseUrl, variable = 'DATABASE_URL'): HostList {
  const hostParam = getParam(parsed, 'host');
  const entries: DatabaseUrlHost[] =
    hostParam !== undefined && hostParam !== ''
      ? splitList(hostParam).map((host) => {
          if (host === '') throw new ConfigError(`${variable} (host)`, 'has an empty entry in its comma-separated host list');
          return { host, port: null };
        })
      : [...parsed.hosts];
  const portParam = getParam(parsed, 'port');
  const ports = portParam !== undefined && portParam !== '' ? splitList(portParam).map(Number) : [];
  if (ports.length > 1 && ports.length !== Math.max(entries.length, 1)) {
    throw new ConfigError(
      `${variable} (port)`,
      `lists ${ports.length} ports for ${Math.max(entries.length, 1)} host(s): give one port, or one per host`,
    );
  }
  const list = entries.length > 0 ? entries : [{ host: 'localhost', port: null }];
  const hosts = list.map((entry, i) => ({
    host: entry.host === '' ? 'localhost' : entry.host,
    port: (ports.length === 1 ? ports[0] : ports[i]) ?? entry.port ?? DEFAULT_PORT,
  }));
  const tsa = (getParam(parsed, 'target_session_attrs') ?? 'any').toLowerCase();
  if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(tsa)) {
    throw new ConfigError(`${variable} (target_session_attrs)`, `must be one of ${TARGET_SESSION_ATTRS.join(', ')}`);
  }
  const lbh = (getParam(parsed, 'load_balance_hosts') ?? 'disable').toLowerCase();
  if (lbh !== 'disable' && lbh !== 'random') throw new ConfigError(`${variable} (load_balance_hosts)`, 'must be disable or random');
  return Object.freeze({
    hosts: Object.freeze(hosts.map((h) => Object.freeze(h))),
    targetSessionAttrs: tsa as TargetSessionAttrs,
    loadBalanceHosts: lbh as LoadBalanceHosts,
  });
}

/** True when the URL needs the multi-host layer: several hosts, or a session attribute to check. */
export function needsHostSelection(list: HostList): boolean {
  return list.hosts.length > 1 || list.targetSessionAttrs !== 'any';
}

/** The URL for one host of the list: that host and port only, without the multi-host parameters. Keeps the password. */
export function singleHostUrl(parsed: ParsedDatabaseUrl, host: HostEndpoint): string {
  return formatDatabaseUrl({
    ...parsed,
    hosts: [{ host: host.host, port: host.port }],
    params: parsed.params.filter(([key]) => !(HOST_LIST_PARAMS as readonly string[]).includes(key)),
  });
}

/** `host:port` of each host, for messages and the health report (no user, no password). */
export function describeHosts(list: HostList): string[] {
  return list.hosts.map((h) => (h.host.includes(':') ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`));
}

/** A managed pooler's own host in any mode: Supavisor, RDS Proxy, Neon's `-pooler` endpoint. */
export function isPoolerHost(provider: string, parsed: ParsedDatabaseUrl): boolean {
  return provider === 'supavisor' || provider === 'rds-proxy' || parsed.hosts.some((h) => /-pooler\./.test(h.host));
}

/**
 * Warnings for a multi-host URL that points at a pooler (transaction mode or a managed pooler's host).
 *
 * A list of poolers with `target_session_attrs=any` is a pooler fleet (Kubernetes replicas,
 * `so_reuseport` hosts, one per zone: docs/pooler-fleets.md): choosing among poolers is the point,
 * so it gets no warning. Any other `target_session_attrs` asks something only a database server can
 * answer (read-write, primary, standby): through a pooler it asks whichever server connection the
 * pooler lends for that one query, not the pooler, and says nothing about where the next transaction
 * runs. A pooler follows a switchover with its own configuration (PgBouncer `RELOAD`, a managed
 * endpoint's DNS); list the database servers themselves for libpq's behaviour.
 * Also validates the list (ConfigError).
 */
export function hostListWarnings(parsed: ParsedDatabaseUrl, pooled: boolean, variable: string): string[] {
  const list = parseHostList(parsed, variable);
  if (!pooled || list.targetSessionAttrs === 'any') return [];
  const hosts = list.hosts.length > 1 ? `${list.hosts.length} hosts, ` : '';
  return [
    `${variable}: a multi-host URL (${hosts}target_session_attrs=${list.targetSessionAttrs}) that points at a pooler: only a database server can answer target_session_attrs, and through a pooler it asks whichever server connection the pooler lends for that one query; let the pooler follow the primary (target_session_attrs=any for a fleet of poolers), or list the PostgreSQL servers themselves in session mode (docs/failover.md)`,
  ];
}

/** The health report's view of a URL's host list (hosts and target_session_attrs, no credentials); null without host selection. */
export function hostListSummary(connectionString: string): { hosts: string[]; targetSessionAttrs: TargetSessionAttrs } | null {
  const list = parseHostList(parseDatabaseUrl(connectionString));
  return needsHostSelection(list) ? { hosts: describeHosts(list), targetSessionAttrs: list.targetSessionAttrs } : null;
}
