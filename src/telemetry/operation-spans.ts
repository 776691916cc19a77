/**
 * One CLIENT span per wrapper call, covering all its attempts and backoff (database-spans.md:
 * "the span should cover the duration of the logical operation with all retries"), made the
 * active span while the call runs, so that what runs inside it — Prisma's own spans from
 * `@prisma/instrumentation`, the app's spans in `fn` — nests under it.
 *
 * Each retried attempt is an event on the span (`pgpool.retry`: the attempt, its `error.type`,
 * SQLSTATE and the backoff before the next one); an attempt that had to queue for a connection
 * adds `pgpool.pool_wait`. A failure sets status ERROR and `error.type`; an unknown COMMIT
 * outcome also sets `pgpool.outcome_unknown` and says so in the status description. No error
 * message goes into the span: messages can quote parameter values (22P02 quotes the bad input).
 */
import type { Context, Span, Tracer } from '@opentelemetry/api';
import type { OperationKind, OperationName } from '../metrics/metrics.ts';
import type { OperationSink, PoolTarget, TraceHandle } from '../metrics/sink.ts';
import type { OpenTelemetryApi } from './load-api.ts';
import { sharedSpanAttributes } from './operation-metrics.ts';
import {
  ATTR_ATTEMPT,
  ATTR_BACKOFF_MS,
  ATTR_COMMIT_OUTCOME,
  ATTR_DB_RESPONSE_STATUS_CODE,
  ATTR_ERROR_TYPE,
  ATTR_OUTCOME_UNKNOWN,
  EVENT_COMMIT_SETTLED,
  EVENT_POOL_WAIT,
  EVENT_RETRY,
  OPERATION_NAMES,
  sqlStateOf,
} from './semantic-conventions.ts';

export interface OperationSpans {
  /**
   * Runs one wrapper call inside its span; `target` is the pool expected to serve it (the span's
   * attributes at creation), `run` gets the handle its events carry.
   */
  trace<R>(kind: OperationKind, target: PoolTarget | null, run: (handle: TraceHandle) => Promise<R>, name?: OperationName): Promise<R>;
  /** Fills the span of each event's `trace` handle from the manager's per-operation events. */
  readonly sink: OperationSink;
}

/**
 * `{db.operation.name} {target}` (database-spans.md, "Name"): the target is the model
 * (`db.collection.name`) for a plain client call, else `db.namespace`.
 */
const spanNames = new WeakMap<PoolTarget, Map<string, string>>();
const spanName = (kind: OperationKind, target: PoolTarget | null, name?: OperationName): string => {
  const operation = name?.operation ?? OPERATION_NAMES[kind];
  const on = name?.collection ?? target?.namespace ?? null;
  if (on === null) return operation;
  if (!target || name) return `${operation} ${on}`;
  let names = spanNames.get(target);
  if (!names) {
    names = new Map();
    spanNames.set(target, names);
  }
  let cached = names.get(kind);
  if (cached === undefined) {
    cached = `${operation} ${on}`;
    names.set(kind, cached);
  }
  return cached;
};

export function createOperationSpans(api: OpenTelemetryApi, tracer: Tracer): OperationSpans {
  const { context, trace, SpanKind, SpanStatusCode } = api;
  /** The span, and the pool whose attributes it already carries: the handle the manager's events carry. */
  interface Operation {
    readonly span: Span;
    target: PoolTarget | null;
    readonly name: OperationName | undefined;
  }
  // Only a span this file started is ever annotated by it: the handle is ours, never looked up.
  const spans = new WeakSet<TraceHandle>();
  const own = (handle: TraceHandle | undefined): Operation | undefined =>
    handle !== undefined && spans.has(handle) ? (handle as Operation) : undefined;

  return {
    trace(kind, target, run, name) {
      const parent: Context = context.active();
      // Attributes at creation, so samplers see them: the expected pool's, until the call says which pool served it.
      const span = tracer.startSpan(
        spanName(kind, target, name),
        { kind: SpanKind.CLIENT, attributes: sharedSpanAttributes(kind, target, name) },
        parent,
      );
      const operation: Operation = { span, target, name };
      spans.add(operation);
      // Active while the call runs, so Prisma's and the app's spans nest under it (where a context manager is registered).
      const active = trace.setSpan(parent, span);
      const end = () => span.end();
      try {
        return context.with(active, run, undefined, operation).finally(end);
      } catch (error) {
        end();
        throw error;
      }
    },
    sink: {
      operationFinished({ kind, error, pool, trace: handle }) {
        const operation = own(handle);
        if (!operation) return;
        const { span } = operation;
        // The pool that really served the call, when it is not the one the span started with (a
        // replica for reads when configured; on the first call no pool existed yet).
        if (pool && pool !== operation.target) {
          operation.target = pool;
          span.setAttributes(sharedSpanAttributes(kind, pool, operation.name));
          span.updateName(spanName(kind, pool, operation.name));
        }
        if (!error) return;
        span.setAttribute(ATTR_ERROR_TYPE, error.kind);
        const sqlState = sqlStateOf(error.code);
        if (sqlState !== null) span.setAttribute(ATTR_DB_RESPONSE_STATUS_CODE, sqlState);
        if (error.kind === 'outcome-unknown') {
          span.setAttribute(ATTR_OUTCOME_UNKNOWN, true);
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: 'connection lost during COMMIT: the transaction may or may not have committed',
          });
        } else {
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      },
      attemptRetried({ attempt, error, delayMs, trace: handle }) {
        const span = own(handle)?.span;
        if (!span) return;
        const sqlState = sqlStateOf(error.code);
        span.addEvent(EVENT_RETRY, {
          [ATTR_ATTEMPT]: attempt,
          [ATTR_ERROR_TYPE]: error.kind,
          ...(sqlState === null ? {} : { [ATTR_DB_RESPONSE_STATUS_CODE]: sqlState }),
          [ATTR_BACKOFF_MS]: delayMs,
        });
      },
      poolWaited(_kind, handle) {
        own(handle)?.span.addEvent(EVENT_POOL_WAIT);
      },
      commitSettled({ outcome, trace: handle }) {
        own(handle)?.span.addEvent(EVENT_COMMIT_SETTLED, { [ATTR_COMMIT_OUTCOME]: outcome });
      },
    },
  };
}
