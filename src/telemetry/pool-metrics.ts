/**
 * The spec's connection-pool metrics for the `pg.Pool`s a manager creates, from the pool itself:
 * - counts (`count` idle|used, `max`, `pending_requests`) are read from pg.Pool's live counters
 *   (`totalCount`, `idleCount`, `waitingCount`) when the app's reader collects, so they cost
 *   nothing per call;
 * - `create_time`: from a new client's construction (which pg-pool follows at once with
 *   `connect()`) to the pool's 'connect' event (pg-pool index.js `newClient` → `_acquireClient`);
 * - `wait_time` and `timeouts`: around `pool.connect()`, which adapter-pg calls for every
 *   transaction and pg-pool's own `query()` for every single query;
 * - `use_time`: from the pool's 'acquire' event to its 'release' event for the same client.
 */
import type { Attributes, BatchObservableResult, Counter, Histogram, Meter, ObservableUpDownCounter } from '@opentelemetry/api';
import type pg from 'pg';
import { classifyError } from '../errors/classify-error.ts';
import { connectionCreatedAt } from '../pool/create-pool.ts';
import type { PoolTarget } from './pool-target.ts';
import {
  ATTR_CONNECTION_STATE,
  ATTR_POOL_NAME,
  METRIC_CONNECTION_COUNT,
  METRIC_CONNECTION_CREATE_TIME,
  METRIC_CONNECTION_MAX,
  METRIC_CONNECTION_PENDING_REQUESTS,
  METRIC_CONNECTION_TIMEOUTS,
  METRIC_CONNECTION_USE_TIME,
  METRIC_CONNECTION_WAIT_TIME,
  POOL_TIME_BUCKETS,
} from './semantic-conventions.ts';

interface ObservedPool {
  readonly pool: pg.Pool;
  readonly limit: number;
  readonly attributes: Attributes;
  readonly idle: Attributes;
  readonly used: Attributes;
}

export interface PoolMetrics {
  /** Starts measuring `pool`; the returned function stops it (listeners removed, `connect` restored). */
  observe(pool: pg.Pool, limit: number, target: PoolTarget): () => void;
  /** Stops the collection callback of this set of instruments. */
  dispose(): void;
}

type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;
type Connect = (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined;

const ACQUIRED_AT = Symbol('acquiredAt');
type Stamped = { [ACQUIRED_AT]?: number | undefined };

const seconds = (sinceMs: number): number => (performance.now() - sinceMs) / 1000;

export function createPoolMetrics(meter: Meter): PoolMetrics {
  const count: ObservableUpDownCounter = meter.createObservableUpDownCounter(METRIC_CONNECTION_COUNT, {
    description: 'The number of connections that are currently in state described by the state attribute.',
    unit: '{connection}',
  });
  const max: ObservableUpDownCounter = meter.createObservableUpDownCounter(METRIC_CONNECTION_MAX, {
    description: 'The maximum number of open connections allowed.',
    unit: '{connection}',
  });
  const pending: ObservableUpDownCounter = meter.createObservableUpDownCounter(METRIC_CONNECTION_PENDING_REQUESTS, {
    description: 'The number of current pending requests for an open connection.',
    unit: '{request}',
  });
  const timeouts: Counter = meter.createCounter(METRIC_CONNECTION_TIMEOUTS, {
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
    unit: '{timeout}',
  });
  const timing = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', advice: { explicitBucketBoundaries: [...POOL_TIME_BUCKETS] } });
  const createTime = timing(METRIC_CONNECTION_CREATE_TIME, 'The time it took to create a new connection.');
  const waitTime = timing(METRIC_CONNECTION_WAIT_TIME, 'The time it took to obtain an open connection from the pool.');
  const useTime = timing(METRIC_CONNECTION_USE_TIME, 'The time between borrowing a connection and returning it to the pool.');

  const observed = new Set<ObservedPool>();
  const collect = (result: BatchObservableResult): void => {
    for (const { pool, limit, attributes, idle, used } of observed) {
      result.observe(count, pool.idleCount, idle);
      result.observe(count, pool.totalCount - pool.idleCount, used);
      result.observe(max, limit, attributes);
      result.observe(pending, pool.waitingCount, attributes);
    }
  };
  meter.addBatchObservableCallback(collect, [count, max, pending]);

  return {
    observe(pool, limit, target) {
      const attributes = Object.freeze({ [ATTR_POOL_NAME]: target.poolName });
      const entry: ObservedPool = {
        pool,
        limit,
        attributes,
        idle: Object.freeze({ ...attributes, [ATTR_CONNECTION_STATE]: 'idle' }),
        used: Object.freeze({ ...attributes, [ATTR_CONNECTION_STATE]: 'used' }),
      };
      observed.add(entry);

      const onConnect = (client: pg.PoolClient) => {
        const createdAt = connectionCreatedAt(client);
        if (createdAt !== undefined) createTime.record(seconds(createdAt), attributes);
      };
      // The checkout time rides on the client itself (a symbol property: cheaper than a WeakMap per checkout).
      const onAcquire = (client: pg.PoolClient) => {
        (client as Stamped)[ACQUIRED_AT] = performance.now();
      };
      const onRelease = (_error: Error | undefined, client: pg.PoolClient) => {
        const stamped = client as Stamped;
        const at = stamped[ACQUIRED_AT];
        if (at === undefined) return;
        stamped[ACQUIRED_AT] = undefined;
        useTime.record(seconds(at), attributes);
      };
      pool.on('connect', onConnect);
      pool.on('acquire', onAcquire);
      pool.on('release', onRelease);

      const settle = (startedAt: number, error: unknown): void => {
        if (error === undefined || error === null) waitTime.record(seconds(startedAt), attributes);
        else if (classifyError(error).kind === 'pool-timeout') timeouts.add(1, attributes);
      };
      const original = pool.connect as unknown as Connect;
      const timedConnect: Connect = function (this: pg.Pool, callback?: ConnectCallback) {
        const startedAt = performance.now();
        if (typeof callback === 'function') {
          return original.call(this, (error, client, done) => {
            settle(startedAt, error);
            callback(error, client, done);
          });
        }
        return (original.call(this) as Promise<pg.PoolClient>).then(
          (client) => {
            settle(startedAt, undefined);
            return client;
          },
          (error: unknown) => {
            settle(startedAt, error);
            throw error;
          },
        );
      };
      // An own property shadows pg.Pool.prototype.connect for this pool only.
      (pool as unknown as { connect: Connect }).connect = timedConnect;

      return () => {
        observed.delete(entry);
        pool.off('connect', onConnect);
        pool.off('acquire', onAcquire);
        pool.off('release', onRelease);
        if ((pool as unknown as { connect: Connect }).connect === timedConnect) delete (pool as unknown as { connect?: Connect }).connect;
      };
    },
    dispose() {
      observed.clear();
      meter.removeBatchObservableCallback(collect, [count, max, pending]);
    },
  };
}
