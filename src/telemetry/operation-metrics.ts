/**
 * `db.client.operation.duration`: one record per wrapper call (a parallel batch counts once, as the
 * spec asks of batch operations), in seconds, with the spec's bucket boundaries as advice.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationSink, PoolRole } from '../metrics/sink.ts';
import type { PoolTarget } from './pool-target.ts';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  DB_SYSTEM_POSTGRESQL,
  METRIC_OPERATION_DURATION,
  OPERATION_DURATION_BUCKETS,
  OPERATION_NAMES,
  sqlStateOf,
} from './semantic-conventions.ts';

/** The attributes every record of one wrapper on one pool shares (`target` null: the pool is unknown). */
export function operationAttributes(kind: OperationKind, target: PoolTarget | null): Attributes {
  const attributes: Attributes = { [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_POSTGRESQL, [ATTR_DB_OPERATION_NAME]: OPERATION_NAMES[kind] };
  if (target) {
    if (target.namespace !== null) attributes[ATTR_DB_NAMESPACE] = target.namespace;
    attributes[ATTR_SERVER_ADDRESS] = target.address;
    attributes[ATTR_SERVER_PORT] = target.port;
  }
  return attributes;
}

export function createOperationDurationSink(meter: Meter, targetOf: (role: PoolRole | null) => PoolTarget | null): OperationSink {
  const histogram: Histogram = meter.createHistogram(METRIC_OPERATION_DURATION, {
    description: 'Duration of database client operations: one wrapper call, all its attempts and backoff included.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...OPERATION_DURATION_BUCKETS] },
  });
  // Success attributes never change for a (pool, wrapper) pair: built once, so a successful call allocates none.
  const cache = new Map<string, Attributes>();
  const base = (kind: OperationKind, role: PoolRole | null): Attributes => {
    const key = `${role}:${kind}`;
    let attributes = cache.get(key);
    if (!attributes) {
      attributes = Object.freeze(operationAttributes(kind, targetOf(role)));
      // Only cache once the pool is known: before that the target is still null.
      if (role === null || targetOf(role)) cache.set(key, attributes);
    }
    return attributes;
  };
  return {
    operationFinished({ kind, scope, durationNs, error, pool }) {
      if (scope === 'parallel-batch-item') return;
      const seconds = Number(durationNs) / 1e9;
      if (!error) {
        histogram.record(seconds, base(kind, pool));
        return;
      }
      // error.type is our classified kind (documented in docs/opentelemetry.md); the SQLSTATE, when the failure has one, goes to db.response.status_code.
      const attributes: Attributes = { ...base(kind, pool), [ATTR_ERROR_TYPE]: error.kind };
      const sqlState = sqlStateOf(error.code);
      if (sqlState !== null) attributes[ATTR_DB_RESPONSE_STATUS_CODE] = sqlState;
      histogram.record(seconds, attributes);
    },
    attemptRetried() {},
    poolWaited() {},
  };
}
