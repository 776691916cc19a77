/**
 * Where a pool points, in the attributes OpenTelemetry wants: host, port, `db.namespace`, pool
 * name. Read from the connection string's host and path only: user and password never leave it.
 */
import { effectivePort, parseDatabaseUrl } from '../config/database-url.ts';
import type { PoolRole } from '../metrics/sink.ts';
import { defaultPoolName, namespaceOf } from './semantic-conventions.ts';

export interface PoolTarget {
  readonly role: PoolRole;
  readonly address: string;
  readonly port: number;
  readonly namespace: string | null;
  /** `db.client.connection.pool.name`. */
  readonly poolName: string;
}

/**
 * `poolName` (the `telemetry.poolName` option) names the primary pool, and with `:read` appended the
 * replica's; without it both get the spec's `server.address:server.port/db.namespace`, and the
 * replica's gets `:read` appended only when that would equal the primary's.
 */
export function describePoolTarget(
  role: PoolRole,
  connectionString: string,
  schema: string | null,
  options: { poolName?: string; primaryPoolName?: string } = {},
): PoolTarget {
  const parsed = parseDatabaseUrl(connectionString);
  const address = parsed.hosts[0]?.host ?? 'localhost';
  const port = effectivePort(parsed);
  const namespace = namespaceOf(parsed.database, schema);
  let poolName: string;
  if (options.poolName !== undefined) poolName = role === 'read' ? `${options.poolName}:read` : options.poolName;
  else {
    poolName = defaultPoolName(address, port, namespace);
    if (role === 'read' && poolName === options.primaryPoolName) poolName = `${poolName}:read`;
  }
  return Object.freeze({ role, address, port, namespace, poolName });
}
