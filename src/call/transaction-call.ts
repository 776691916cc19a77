/**
 * A call that runs a callback in one interactive transaction: the wrappers (`withPooling`,
 * `readWithPooling`, `writeWithPooling`, a sequential `batchWithPooling`, each item of a parallel
 * one) and `prisma.$transaction(fn)` through `manager.prisma`. Each attempt is one
 * `client.$transaction` (src/transaction/run-transaction.ts: commit-ambiguity detection, the
 * abortable wait for a connection).
 */
import { checkMilliseconds } from '../config/milliseconds.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import type { OperationKind } from '../metrics/metrics.ts';
import type { OperationScope } from '../metrics/sink.ts';
import { replicaStartTimeoutMs } from '../routing/routing-options.ts';
import { AttemptFailure, type ResolvedRetryOptions, type RetryOptions, toAttemptFailure } from '../transaction/retry.ts';
import {
  type AttemptContext,
  type IsolationLevel,
  type PrismaTransactionOptions,
  runTransactionAttempt,
  type TransactionCapable,
} from '../transaction/run-transaction.ts';
import type { AttemptTarget, CallPlan, ClientHandle } from './call-plan.ts';
import { AUTO_PIN, type Pin } from './pin.ts';

/** A call's own transaction settings (the wrappers' options). */
export interface TransactionSettings {
  readonly isolationLevel?: IsolationLevel;
  readonly maxWait?: number;
  readonly timeout?: number;
  readonly signal?: AbortSignal;
  readonly idempotent?: boolean;
  readonly retry?: RetryOptions;
  readonly after?: string | null;
}

export interface TransactionCallSetup<C, Tx> {
  readonly kind: OperationKind;
  readonly scope?: OperationScope;
  /** READ ONLY, and routed like a read (replicas, `after`). */
  readonly read: boolean;
  readonly retryDefaults: ResolvedRetryOptions;
  /** `transactionTimeoutMs`: Prisma's `timeout` when the call sets none. */
  readonly defaultTimeoutMs: number;
  readonly pin?: Pin;
  /** The client whose `$transaction` runs the attempt; defaults to the handle's (read-only for reads). */
  readonly clientOf?: (handle: ClientHandle<C>) => TransactionCapable<Tx>;
  /**
   * False: once the callback has started, a failed attempt is not run again (its code may have
   * done something outside the database). Defaults to true, as under `writeWithPooling`.
   */
  readonly rerun?: boolean;
}

/** Prisma's transaction options for one call: the caller's, else the defaults derived from the pool config. */
export function transactionOptions(config: PoolConfig, defaultTimeoutMs: number, settings: TransactionSettings): PrismaTransactionOptions {
  return {
    isolationLevel: settings.isolationLevel,
    maxWait: checkMilliseconds('maxWait', settings.maxWait) ?? config.poolTimeoutMs + 1000,
    timeout: checkMilliseconds('timeout', settings.timeout) ?? defaultTimeoutMs,
  };
}

export class TransactionCall<C, Tx, R> implements CallPlan<ClientHandle<C>, R> {
  readonly kind: OperationKind;
  readonly scope: OperationScope | undefined;
  readonly read: boolean;
  readonly pin: Pin;
  readonly after: unknown;
  readonly writes: boolean;
  readonly retryDefaults: ResolvedRetryOptions;
  readonly retry: RetryOptions | undefined;
  readonly idempotent: boolean;
  readonly signal: AbortSignal | undefined;
  readonly #fn: (tx: Tx, context: AttemptContext) => PromiseLike<R>;
  readonly #settings: TransactionSettings;
  readonly #setup: TransactionCallSetup<C, Tx>;
  /** Computed at the first attempt (it needs the pool config), shared by the others. */
  #transaction: PrismaTransactionOptions | null = null;

  constructor(fn: (tx: Tx, context: AttemptContext) => PromiseLike<R>, settings: TransactionSettings, setup: TransactionCallSetup<C, Tx>) {
    this.#fn = fn;
    this.#settings = settings;
    this.#setup = setup;
    this.kind = setup.kind;
    this.scope = setup.scope;
    this.read = setup.read;
    this.pin = setup.pin ?? AUTO_PIN;
    // Checked on every read, with or without replicas: a bad token is the caller's bug either way.
    this.after = setup.read ? settings.after : undefined;
    this.writes = !setup.read;
    this.retryDefaults = setup.retryDefaults;
    this.retry = settings.retry;
    this.idempotent = settings.idempotent ?? setup.read;
    this.signal = settings.signal;
  }

  async attempt({ handle, pools, onReplica, attempt }: AttemptTarget<ClientHandle<C>>): Promise<R> {
    const setup = this.#setup;
    this.#transaction ??= transactionOptions(pools.config, setup.defaultTimeoutMs, this.#settings);
    let transaction = this.#transaction;
    // On a replica, a shorter start deadline leaves time to fall back to the primary within the pool timeout.
    if (onReplica) transaction = { ...transaction, maxWait: Math.min(transaction.maxWait, replicaStartTimeoutMs(pools.config)) };
    const client = setup.clientOf
      ? setup.clientOf(handle)
      : ((this.read ? handle.readOnlyClient : handle.client) as unknown as TransactionCapable<Tx>);
    const options = { transaction, poolTimeoutMs: pools.config.poolTimeoutMs, signal: this.signal, readOnly: this.read };
    if (setup.rerun !== false) return runTransactionAttempt(client, this.#fn, attempt, options);
    let started = false;
    const fn = (tx: Tx, context: AttemptContext) => {
      started = true;
      return this.#fn(tx, context);
    };
    try {
      return await runTransactionAttempt(client, fn, attempt, options);
    } catch (caught) {
      if (!started) throw caught;
      const failure = toAttemptFailure(caught);
      throw new AttemptFailure(failure.error, { ...failure.classification, retryable: false, failover: false });
    }
  }
}
