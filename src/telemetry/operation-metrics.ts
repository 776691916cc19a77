/**
 * `db.client.operation.duration`: one record per wrapper call (a parallel batch counts once, as the
 * spec asks of batch operations), in seconds, with the spec's bucket boundaries as advice.
 */
import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { OperationKind, OperationName } from '../metrics/metrics.ts';
import type { OperationSink, PoolTarget } from '../metrics/sink.ts';
import {
  ATTR_DB_COLLECTION_NAME,
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

/**
 * The attributes every record of one operation on one pool shares (`target` null: the pool is
 * unknown). A wrapper call's `db.operation.name` is the wrapper; a plain client call's is Prisma's
 * operation (`findMany`), with its model as `db.collection.name`.
 */
export function operationAttributes(kind: OperationKind, target: PoolTarget | null, name?: OperationName): Attributes {
  const attributes: Attributes = {
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_POSTGRESQL,
    [ATTR_DB_OPERATION_NAME]: name?.operation ?? OPERATION_NAMES[kind],
  };
  if (name?.collection) attributes[ATTR_DB_COLLECTION_NAME] = name.collection;
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
const byTarget = new WeakMap<PoolTarget, Map<string, CachedAttributes>>();
const withoutTarget = new Map<string, CachedAttributes>();
/** Bounds the cache against free-form names; past it attributes are built per call. */
const MAX_CACHED_NAMES = 512;

function cached(kind: OperationKind, target: PoolTarget | null, name: OperationName | undefined): CachedAttributes {
  let slots = target ? byTarget.get(target) : withoutTarget;
  if (!slots) {
    slots = new Map();
    byTarget.set(target as PoolTarget, slots);
  }
  const key = name ? `${kind}\u0000${name.operation}\u0000${name.collection ?? ''}` : kind;
  let slot = slots.get(key);
  if (!slot) {
    slot = {};
    if (slots.size < MAX_CACHED_NAMES) slots.set(key, slot);
  }
  return slot;
}

/**
 * `operationAttributes`, built once per (operation, pool) and frozen: a successful call allocates no
 * attribute object (targets are frozen and live as long as their pool).
 */
export function sharedOperationAttributes(kind: OperationKind, target: PoolTarget | null, name?: OperationName): Attributes {
  const slot = cached(kind, target, name);
  slot.metric ??= Object.freeze(operationAttributes(kind, target, name));
  return slot.metric;
}

/** The span's attributes at creation: the metric's plus which pool (`pgpool.pool`), also shared. */
export function sharedSpanAttributes(kind: OperationKind, target: PoolTarget | null, name?: OperationName): Attributes {
  const slot = cached(kind, target, name);
  slot.span ??= Object.freeze(
    target ? { ...operationAttributes(kind, target, name), [ATTR_POOL_ROLE]: target.role } : operationAttributes(kind, null, name),
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
    operationFinished({ kind, scope, durationNs, error, pool, name }) {
      if (scope === 'parallel-batch-item') return;
      const seconds = Number(durationNs) / 1e9;
      if (!error) {
        histogram.record(seconds, sharedOperationAttributes(kind, pool, name));
        return;
      }
      // error.type is our classified kind (documented in docs/opentelemetry.md); the SQLSTATE, when the failure has one, goes to db.response.status_code.
      const attributes: Attributes = { ...sharedOperationAttributes(kind, pool, name), [ATTR_ERROR_TYPE]: error.kind };
      const sqlState = sqlStateOf(error.code);
      if (sqlState !== null) attributes[ATTR_DB_RESPONSE_STATUS_CODE] = sqlState;
      histogram.record(seconds, attributes);
    },
    attemptRetried() {},
    poolWaited() {},
  };
}
