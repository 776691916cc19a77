/**
 * What the call runner (./call-runner.ts) needs to know of one call: its kind and name, whether it
 * reads (routed among replicas) or may write (recorded, so later reads see it), its retry rules,
 * and what one attempt does on the pool the runner picked. Each kind of call is a small plan:
 * ./transaction-call.ts (the wrappers and an interactive `prisma.$transaction`),
 * ./plain-call.ts (a plain `prisma.*` operation), ./batch-transaction-call.ts (`$transaction([...])`).
 */
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import type { OperationKind, OperationName } from '../metrics/metrics.ts';
import type { OperationScope, PoolTarget } from '../metrics/sink.ts';
import type { PoolAdmission } from '../pool/pool-admission.ts';
import type { ReadRouter } from '../routing/read-router.ts';
import type { ResolvedRetryOptions, RetryOptions } from '../transaction/retry.ts';
import type { Pin } from './pin.ts';

/** One pool as the runner sees it: who it is (records, routing) and who may ask it for a connection. */
export interface PoolHandleLike {
  readonly target: PoolTarget;
  readonly admission: PoolAdmission;
}

/** A pool with its Prisma clients, each built at first use. */
export interface ClientHandle<C> extends PoolHandleLike {
  /** The client of writes (and of reads on the primary). */
  readonly client: C;
  /** A client whose transactions open READ ONLY (Prisma passes an adapter no "read only" flag). */
  readonly readOnlyClient: C;
}

/** The pools a call may use: the primary, and a router over the replicas (null without replicas). */
export interface CallPools<H> {
  readonly config: PoolConfig;
  readonly primary: H;
  readonly router: ReadRouter<H> | null;
}

/** Where one attempt runs. */
export interface AttemptTarget<H> {
  readonly handle: H;
  readonly pools: CallPools<H>;
  /** The handle is a replica's. */
  readonly onReplica: boolean;
  /** 1 for the first attempt. */
  readonly attempt: number;
}

export interface CallPlan<H, R> {
  readonly kind: OperationKind;
  /** What a finished record stands for; defaults to `call`. */
  readonly scope?: OperationScope;
  /** A plain call's Prisma operation and model (metrics series, span name). */
  readonly name?: OperationName;
  /** Routed among replicas per attempt (by `pin`); otherwise the primary. */
  readonly read: boolean;
  readonly pin: Pin;
  /** A raw consistency token to honour (a wrapper's `after` option), checked by the runner. */
  readonly after?: unknown;
  /** The call may have written: reads after it wait for its position. */
  readonly writes: boolean;
  readonly retryDefaults: ResolvedRetryOptions;
  /** Per-call overrides of `retryDefaults`. */
  readonly retry?: RetryOptions | undefined;
  /** Running it twice is harmless: an unknown outcome may be retried. */
  readonly idempotent: boolean;
  readonly signal?: AbortSignal | undefined;
  /** A read that turned out to write (WriteInDisguise): run once as this plan instead. */
  readonly asWrite?: CallPlan<H, R>;
  /** One attempt; rejects with an AttemptFailure (or anything, classified by the runner). */
  attempt(target: AttemptTarget<H>): Promise<R>;
}
