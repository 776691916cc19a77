/**
 * Where a pool points, in the attributes OpenTelemetry wants: host, port, `db.namespace`, pool
 * name. Read from the connection string's host and path only: user and password never leave it.
 */
import { effectivePort, parseDatabaseUrl } from '../config/database-url.ts';
import type { PoolRole, PoolTarget } from '../metrics/sink.ts';
import { defaultPoolName, namespaceOf } from './semantic-conventions.ts';

export type { PoolTarget } from '../metrics/sink.ts';

/**
 * Names are unique among one manager's pools (`taken`: the names already given), so each pool's
 * metrics are its own. `poolName` (the `telemetry.poolName` option) names the primary pool, and
 * with `:read` appended the replicas'; without it each pool gets the spec's
 * `server.address:server.port/db.namespace`. A name already taken gets `:read` appended, then
 * `-2`, `-3` … (two replicas behind one host name, or a replica URL equal to the primary's).
 */
export function describePoolTarget(
  role: PoolRole,
  connectionString: string,
  schema: string | null,
  options: { poolName?: string; taken?: ReadonlySet<string> } = {},
): PoolTarget {
  const parsed = parseDatabaseUrl(connectionString);
  const address = parsed.hosts[0]?.host ?? 'localhost';
  const port = effectivePort(parsed);
  const namespace = namespaceOf(parsed.database, schema);
  const taken = options.taken ?? new Set<string>();
  let poolName: string;
  if (options.poolName !== undefined) poolName = role === 'read' ? `${options.poolName}:read` : options.poolName;
  else {
    poolName = defaultPoolName(address, port, namespace);
    if (role === 'read' && taken.has(poolName)) poolName = `${poolName}:read`;
  }
  const base = poolName;
  for (let n = 2; taken.has(poolName); n++) poolName = `${base}-${n}`;
  return Object.freeze({ role, address, port, namespace, poolName });
}
