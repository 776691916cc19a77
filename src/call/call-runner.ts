/**
 * The one call runner. Every call — a wrapper (`withPooling` …), a plain call through
 * `manager.prisma`, a `$transaction` through it — is a `CallPlan` (./call-plan.ts) run here, so
 * what a call gets happens once, in one place, whatever its kind:
 * the span → in-flight counting (what `shutdown()` drains) → the pools → the retry loop
 * (src/transaction/retry.ts) → per attempt: routing (primary, or a replica for reads), admission
 * (load shedding, pool-wait counts) and the plan's own attempt → the failover window armed by any
 * call that reached the database → the record (metrics and telemetry sinks) → the write noted, so
 * later reads wait for it (read-your-writes, `consistencyToken()`).
 */
import type { ErrorClassification, ErrorKind } from '../errors/classify-error.ts';
import { PoolSaturatedError } from '../errors/errors.ts';
import { poolingLog } from '../logging/loggers.ts';
import { createMetricsSink, type Metrics, OPERATION_KINDS, type OperationKind } from '../metrics/metrics.ts';
import { fanOutSinks, type OperationSink, type PoolTarget, type TraceHandle } from '../metrics/sink.ts';
import { parseTokenPosition } from '../routing/consistency-token.ts';
import type { ReadDecision } from '../routing/read-router.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { logFailoverRetry } from '../transaction/failover-log.ts';
import {
  AttemptFailure,
  type RetryEvent,
  type RetryHooks,
  type RetryRun,
  resolveRetryOptions,
  retry,
  retryAfter,
  thrownBy,
  toAttemptFailure,
} from '../transaction/retry.ts';
import { WriteInDisguise } from '../transaction/run-plain-attempt.ts';
import type { CallPlan, CallPools, PoolHandleLike } from './call-plan.ts';
import { InFlight } from './in-flight.ts';
import { type Pin, withAfter } from './pin.ts';

type Hooks = RetryHooks<TraceHandle | undefined>;

/** Errors that prove a server answered the call: the database is reachable (see `reached`). */
const ANSWERED_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'serialization',
  'deadlock',
  'constraint',
  'data',
  'query',
  'database',
  'timeout',
  'transaction-closed',
]);

/** The one rule for an unknown outcome: retried only when the call is idempotent. */
const retryableStrict = (c: ErrorClassification): boolean => c.retryable;
const retryableIdempotent = (c: ErrorClassification): boolean => c.retryable || c.kind === 'outcome-unknown';

export interface CallRunnerDeps<H extends PoolHandleLike> {
  /** The pools for this call (init-once; a request's own in a request scope). Throws ConfigError / ManagerClosedError. */
  pools(): CallPools<H>;
  /** The pools calls use now, without creating them (null before the first call). */
  current(): CallPools<H> | null;
  /** OpenTelemetry, decided once at the first call; null when off. */
  telemetry(): Telemetry | null;
  readonly metrics: Metrics;
}

export class CallRunner<H extends PoolHandleLike> {
  readonly inFlight = new InFlight();
  readonly #deps: CallRunnerDeps<H>;
  /** Retry hooks per operation kind and unknown-outcome rule, built once (a call allocates none). */
  readonly #hooks: { readonly strict: Record<OperationKind, Hooks>; readonly idempotent: Record<OperationKind, Hooks> };
  /** Every per-operation record goes here: the built-in metrics, plus telemetry once resolved. */
  #sink: OperationSink;
  #trace: Telemetry['trace'] | undefined;
  /**
   * A call has reached the database (it succeeded, or a server answered it): "refused" from now on
   * means the primary is moving, so the failover window may open (src/transaction/retry.ts).
   */
  #reached = false;

  constructor(deps: CallRunnerDeps<H>) {
    this.#deps = deps;
    this.#sink = createMetricsSink(deps.metrics);
    const hooks = (isRetryable: Hooks['isRetryable']) =>
      Object.fromEntries(
        OPERATION_KINDS.map((kind) => [kind, { isRetryable, onRetry: this.#onRetry.bind(this, kind), failoverArmed: () => this.#reached }]),
      ) as Record<OperationKind, Hooks>;
    this.#hooks = { strict: hooks(retryableStrict), idempotent: hooks(retryableIdempotent) };
  }

  /** The database answered outside a call (warmup opened connections). */
  markReached(): void {
    this.#reached = true;
  }

  /** The sink every record goes to (the manager's parallel batch records its whole call there). */
  get sink(): OperationSink {
    this.#resolveTelemetry();
    return this.#sink;
  }

  /** Runs one call, inside its span when tracing. */
  run<R>(plan: CallPlan<H, R>): Promise<R> {
    const trace = this.#resolveTelemetry();
    if (!trace) return this.#run(plan, undefined);
    return trace(plan.kind, this.#deps.current()?.primary.target ?? null, (handle) => this.#run(plan, handle), plan.name);
  }

  /** Spans around something that is not one call (a parallel batch as a whole). */
  traced<R>(kind: OperationKind, run: (trace: TraceHandle | undefined) => Promise<R>): Promise<R> {
    const trace = this.#resolveTelemetry();
    return trace ? trace(kind, this.#deps.current()?.primary.target ?? null, run) : run(undefined);
  }

  #resolveTelemetry(): Telemetry['trace'] | undefined {
    if (this.#trace !== undefined) return this.#trace;
    const telemetry = this.#deps.telemetry();
    if (telemetry) this.#sink = fanOutSinks([this.#sink, telemetry.sink]);
    this.#trace = telemetry?.trace ?? null;
    return this.#trace;
  }

  /**
   * One call: its attempts, then its one record. Not async, like #attempt and retry(): a call that
   * succeeds at once passes through one `then` per layer, no async frame (each cost a few µs a call
   * at RTT 0 here: docs/round-trips.md, "A plain call's own cost").
   */
  #run<R>(first: CallPlan<H, R>, trace: TraceHandle | undefined): Promise<R> {
    const startedAt = process.hrtime.bigint();
    const { kind, name } = first;
    const scope = first.scope ?? 'call';
    let plan = first;
    const state: AttemptState = { served: null, replicaBusy: false, pin: first.pin };
    let wrote = first.writes;
    /** The call's one record: its outcome, duration and the pool of its last attempt. */
    const finished = (error: ErrorClassification | null): void =>
      this.#sink.operationFinished({
        kind,
        scope,
        durationNs: process.hrtime.bigint() - startedAt,
        error,
        pool: state.served,
        trace,
        name,
      });
    const leave = (): void => {
      // Whatever the outcome, a write on the primary may have committed: reads catch up with it.
      if (wrote) this.#deps.current()?.router?.noteWrite();
      this.inFlight.leave();
    };
    const succeeded = (result: R): R => {
      try {
        this.#reached = true;
        finished(null);
        return result;
      } finally {
        leave();
      }
    };
    const failed = (caught: unknown): never => {
      try {
        const { error, classification } = toAttemptFailure(caught);
        if (ANSWERED_KINDS.has(classification.kind)) this.#reached = true;
        finished(classification);
        logFailure(plan, error, classification);
        throw error;
      } finally {
        leave();
      }
    };
    this.inFlight.enter();
    let pools: CallPools<H>;
    let retryRun: RetryRun<TraceHandle | undefined>;
    try {
      pools = this.#deps.pools();
      // A wrapper's `after` option: checked on every read, with or without replicas (a bad token is the caller's bug either way).
      if (first.after !== undefined) state.pin = withAfter(first.pin, parseTokenPosition(first.after, 'after'));
      // Its `retry` options too, before any attempt: checked whether or not an attempt fails.
      retryRun = this.#retryRun(first, trace);
    } catch (caught) {
      return Promise.reject(thrownBy(failed, caught));
    }
    const afterAll = (caught: unknown): R | Promise<R> => {
      // A raw read refused by READ ONLY (25006) did not run: it is a write, run once as one.
      if (!(plan.asWrite && caught instanceof AttemptFailure && caught.error instanceof WriteInDisguise)) return failed(caught);
      plan = plan.asWrite;
      wrote = true;
      let again: Promise<R>;
      try {
        again = this.#attempts(plan, pools, state, trace);
      } catch (error) {
        return failed(error);
      }
      return again.then(succeeded, failed);
    };
    // The first attempt runs here, outside the retry loop, so that a call that succeeds at once
    // passes through one `then` of the runner's; a failure goes on in the loop (retryAfter).
    const startedAtMs = performance.now();
    const retryAfterFirst = (failure: unknown): Promise<R> =>
      retryAfter(failure, (n) => this.#attempt(plan, pools, state, n, trace), retryRun, startedAtMs).then(succeeded, afterAll);
    let attempt: StartedAttempt<R>;
    try {
      plan.signal?.throwIfAborted();
      attempt = this.#start(plan, pools, state, 1, trace);
    } catch (caught) {
      return retryAfterFirst(caught);
    }
    return attempt.running.then(
      (value) => {
        attempt.settle();
        return succeeded(value);
      },
      (caught: unknown) => retryAfterFirst(thrownBy(attempt.failed, caught)),
    );
  }

  #retryRun(plan: CallPlan<H, unknown>, trace: TraceHandle | undefined): RetryRun<TraceHandle | undefined> {
    const policy = plan.retry ? resolveRetryOptions(plan.retry, plan.retryDefaults) : plan.retryDefaults;
    const hooks = (plan.idempotent ? this.#hooks.idempotent : this.#hooks.strict)[plan.kind];
    return { policy, hooks, signal: plan.signal, trace };
  }

  /** The retry loop over one plan's attempts; each attempt routed and admitted afresh. */
  #attempts<R>(plan: CallPlan<H, R>, pools: CallPools<H>, state: AttemptState, trace: TraceHandle | undefined): Promise<R> {
    return retry((attempt) => this.#attempt(plan, pools, state, attempt, trace), this.#retryRun(plan, trace));
  }

  /** One attempt of the retry loop (the second on): started, then settled whatever its outcome. */
  #attempt<R>(plan: CallPlan<H, R>, pools: CallPools<H>, state: AttemptState, attempt: number, trace: TraceHandle | undefined): Promise<R> {
    const started = this.#start(plan, pools, state, attempt, trace);
    return started.running.then((value) => {
      started.settle();
      return value;
    }, started.failed);
  }

  /** Routes and admits one attempt and starts it. Throws what admission refuses (PoolSaturatedError). */
  #start<R>(
    plan: CallPlan<H, R>,
    pools: CallPools<H>,
    state: AttemptState,
    attempt: number,
    trace: TraceHandle | undefined,
  ): StartedAttempt<R> {
    const { router, primary } = pools;
    const decision = plan.read && router && state.pin.target !== 'primary' ? route(router, state.pin, state.replicaBusy) : null;
    const handle = decision?.handle ?? primary;
    state.served = handle.target;
    const waited = handle.admission.admit();
    if (waited) this.#sink.poolWaited(plan.kind, trace);
    const failed = (caught: unknown): never => {
      try {
        if (!decision?.handle || !router) throw caught;
        const failure = toAttemptFailure(caught);
        // The replica could not serve: the next attempt goes to the primary (or another replica).
        if (!router.replicaFailed(decision, failure.classification, { busy: waited })) throw failure;
        state.replicaBusy = waited;
        throw new AttemptFailure(failure.error, { ...failure.classification, retryable: true });
      } finally {
        handle.admission.settle();
      }
    };
    let running: Promise<R>;
    try {
      running = plan.attempt({ handle, pools, onReplica: decision?.handle != null, attempt, sink: this.#sink, trace });
    } catch (caught) {
      running = Promise.reject(caught);
    }
    return { running, settle: handle.admission.settle, failed };
  }

  #onRetry(kind: OperationKind, { attempt, classification, delayMs, failoverStarted }: RetryEvent, trace: TraceHandle | undefined): void {
    this.#sink.attemptRetried({ kind, attempt, error: classification, delayMs, trace, failoverStarted });
    // One line per call that rides through a failover, not one per retry (src/transaction/failover-log.ts).
    if (failoverStarted !== undefined) logFailoverRetry(poolingLog, kind, classification, failoverStarted);
    else poolingLog('%s attempt %d failed (%s%s); retrying in %d ms', kind, attempt, classification.kind, codeOf(classification), delayMs);
  }
}

/** An attempt under way: `settle` after its success, `failed` (settles too) turns its failure into the one to throw. */
interface StartedAttempt<R> {
  readonly running: Promise<R>;
  readonly settle: () => void;
  readonly failed: (caught: unknown) => never;
}

/** What one call's attempts share. */
interface AttemptState {
  /** The pool of the last attempt. */
  served: PoolTarget | null;
  /** The last attempt's replica had every connection taken: the next one takes the primary. */
  replicaBusy: boolean;
  /** The plan's pin with its `after` token applied. */
  pin: Pin;
}

/** Where a read attempt goes, by its pin: see src/call/pin.ts and src/routing/read-router.ts. */
function route<H extends PoolHandleLike>(router: NonNullable<CallPools<H>['router']>, pin: Pin, replicaBusy: boolean): ReadDecision<H> {
  const { after, target } = pin;
  return router.route(
    after?.lsn ?? null,
    replicaBusy ? 'primary' : target === 'replica' ? 'any-replica' : 'consistent',
    after?.timeline ?? null,
  );
}

const codeOf = (c: ErrorClassification): string => (c.code ? ` ${c.code}` : '');

function logFailure(plan: CallPlan<PoolHandleLike, unknown>, error: unknown, classification: ErrorClassification): void {
  const what = plan.name ? `${plan.kind} ${plan.name.collection ? `${plan.name.collection}.` : ''}${plan.name.operation}` : plan.kind;
  if (classification.kind === 'outcome-unknown') poolingLog('%s: %s (not retried)', what, (error as Error).message);
  else if (error instanceof PoolSaturatedError) poolingLog('shedding load: %d callers already waiting', error.waiting);
  else poolingLog('%s failed: %s%s', what, classification.kind, codeOf(classification));
}
