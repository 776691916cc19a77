/**
 * The OpenTelemetry names we emit, from the database semantic conventions v1.44
 * (open-telemetry/semantic-conventions docs/db/database-metrics.md, database-spans.md,
 * postgresql.md). Kept as our own constants: `@opentelemetry/semantic-conventions` is not a dependency.
 */
import { OPERATION_DURATION_BUCKETS } from '../metrics/duration-buckets.ts';
import { WRAPPER_NAMES } from '../metrics/metrics.ts';

export const ATTR_DB_SYSTEM_NAME = 'db.system.name';
export const ATTR_DB_NAMESPACE = 'db.namespace';
export const ATTR_DB_OPERATION_NAME = 'db.operation.name';
/** The table (for us: the Prisma model) a plain client call works on. */
export const ATTR_DB_COLLECTION_NAME = 'db.collection.name';
export const ATTR_DB_OPERATION_BATCH_SIZE = 'db.operation.batch.size';
export const ATTR_DB_RESPONSE_STATUS_CODE = 'db.response.status_code';
export const ATTR_ERROR_TYPE = 'error.type';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_POOL_NAME = 'db.client.connection.pool.name';
export const ATTR_CONNECTION_STATE = 'db.client.connection.state';

export const DB_SYSTEM_POSTGRESQL = 'postgresql';

export const METRIC_OPERATION_DURATION = 'db.client.operation.duration';
export const METRIC_CONNECTION_COUNT = 'db.client.connection.count';
export const METRIC_CONNECTION_MAX = 'db.client.connection.max';
export const METRIC_CONNECTION_PENDING_REQUESTS = 'db.client.connection.pending_requests';
export const METRIC_CONNECTION_TIMEOUTS = 'db.client.connection.timeouts';
export const METRIC_CONNECTION_CREATE_TIME = 'db.client.connection.create_time';
export const METRIC_CONNECTION_WAIT_TIME = 'db.client.connection.wait_time';
export const METRIC_CONNECTION_USE_TIME = 'db.client.connection.use_time';

/** `db.client.operation.duration` SHOULD be given these as `ExplicitBucketBoundaries` advice (seconds). */
export { OPERATION_DURATION_BUCKETS };

/**
 * The spec gives no advice for the pool timings; connection waits and creates are mostly sub-10 ms
 * on a warm pool and seconds when it is starved, so the same boundaries fit them.
 */
export const POOL_TIME_BUCKETS = OPERATION_DURATION_BUCKETS;

/** Our own (non-semconv) span event and attribute names: prefixed, as the spec asks of custom names. */
export const EVENT_RETRY = 'pgpool.retry';
export const EVENT_POOL_WAIT = 'pgpool.pool_wait';
export const ATTR_ATTEMPT = 'pgpool.attempt';
export const ATTR_BACKOFF_MS = 'pgpool.backoff_ms';
export const ATTR_OUTCOME_UNKNOWN = 'pgpool.outcome_unknown';
/** Span event: a lost COMMIT answer settled with the database; its `pgpool.commit_outcome` is committed | aborted | unknown. */
export const EVENT_COMMIT_SETTLED = 'pgpool.commit_settled';
export const ATTR_COMMIT_OUTCOME = 'pgpool.commit_outcome';
export const ATTR_POOL_ROLE = 'pgpool.pool';

/** `db.operation.name` of each wrapper: the function the app called. */
export const OPERATION_NAMES = WRAPPER_NAMES;

/**
 * A PostgreSQL SQLSTATE (`db.response.status_code`), or null for the other codes our classifier
 * reports: Prisma's P1xxx–P6xxx (PL/pgSQL's own class is P0), socket codes (ECONNRESET, EPIPE).
 * SQLSTATE classes start with a digit, or are F0, HV, P0 or XX (PostgreSQL docs, Appendix A).
 */
export function sqlStateOf(code: string | null): string | null {
  return code !== null && /^(?:[0-9][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/.test(code) ? code : null;
}

/** `db.namespace` for PostgreSQL: `{database}|{schema}`, either alone when the other is unknown (postgresql.md). */
export function namespaceOf(database: string | null, schema: string | null): string | null {
  if (database && schema) return `${database}|${schema}`;
  if (database) return database;
  if (schema) return schema;
  return null;
}

/** The spec's fallback pool name when the pool has none: `server.address:server.port/db.namespace`. */
export function defaultPoolName(address: string, port: number, namespace: string | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${host}:${port}${namespace ? `/${namespace}` : ''}`;
}
