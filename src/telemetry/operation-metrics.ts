/**
 * `db.client.operation.duration`: one record per wrapper call (a parallel batch counts once, as the
 * spec asks of batch operations), in seconds, with the spec's bucket boundaries as advice.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationSink, PoolTarget } from '../metrics/sink.ts';
import {
  ATTR_DB_NAMESPACE,
  ATTR_DB_OPERATION_NAME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_DB_SYSTEM_NAME,
  ATTR_ERROR_TYPE,
  ATTR_POOL_ROLE,
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

interface CachedAttributes {
  metric?: Attributes;
  span?: Attributes;
}
const byTarget = new WeakMap<PoolTarget, Partial<Record<OperationKind, CachedAttributes>>>();
const withoutTarget: Partial<Record<OperationKind, CachedAttributes>> = {};

function cached(kind: OperationKind, target: PoolTarget | null): CachedAttributes {
  let slots = target ? byTarget.get(target) : withoutTarget;
  if (!slots && target) {
    slots = {};
    byTarget.set(target, slots);
  }
  const table = slots as Partial<Record<OperationKind, CachedAttributes>>;
  table[kind] ??= {};
  return table[kind];
}

/**
 * `operationAttributes`, built once per (wrapper, pool) and frozen: a successful call allocates no
 * attribute object (targets are frozen and live as long as their pool).
 */
export function sharedOperationAttributes(kind: OperationKind, target: PoolTarget | null): Attributes {
  const slot = cached(kind, target);
  slot.metric ??= Object.freeze(operationAttributes(kind, target));
  return slot.metric;
}

/** The span's attributes at creation: the metric's plus which pool (`pgpool.pool`), also shared. */
export function sharedSpanAttributes(kind: OperationKind, target: PoolTarget | null): Attributes {
  const slot = cached(kind, target);
  slot.span ??= Object.freeze(
    target ? { ...operationAttributes(kind, target), [ATTR_POOL_ROLE]: target.role } : operationAttributes(kind, null),
  );
  return slot.span;
}

export function createOperationDurationSink(meter: Meter): OperationSink {
  const histogram: Histogram = meter.createHistogram(METRIC_OPERATION_DURATION, {
    description: 'Duration of database client operations: one wrapper call, all its attempts and backoff included.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...OPERATION_DURATION_BUCKETS] },
  });
  return {
    operationFinished({ kind, scope, durationNs, error, pool }) {
      if (scope === 'parallel-batch-item') return;
      const seconds = Number(durationNs) / 1e9;
      if (!error) {
        histogram.record(seconds, sharedOperationAttributes(kind, pool));
        return;
      }
      // error.type is our classified kind (documented in docs/opentelemetry.md); the SQLSTATE, when the failure has one, goes to db.response.status_code.
      const attributes: Attributes = { ...sharedOperationAttributes(kind, pool), [ATTR_ERROR_TYPE]: error.kind };
      const sqlState = sqlStateOf(error.code);
      if (sqlState !== null) attributes[ATTR_DB_RESPONSE_STATUS_CODE] = sqlState;
      histogram.record(seconds, attributes);
    },
    attemptRetried() {},
    poolWaited() {},
  };
}
