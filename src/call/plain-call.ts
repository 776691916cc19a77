/**
 * A plain client call through `manager.prisma` (`prisma.user.findMany()`, `$queryRaw` …): one
 * Prisma operation, no transaction of ours around it.
 * - Reads are routed per attempt by the client's pin. On the primary a model read runs as Prisma
 *   was about to run it (`query(args)`); on a replica it is replayed on that replica's client.
 * - Raw queries run on a read-only client: each statement is its own pipelined
 *   `BEGIN READ ONLY; …; COMMIT`, so a write in disguise (`INSERT … RETURNING` through `$queryRaw`)
 *   fails with 25006 instead of running on a replica or twice, and then runs once on the primary.
 * - `$executeRaw…` is a write, except on a client pinned with `$replica()`, where it runs on a
 *   replica as a read-only transaction (as `@prisma/extension-read-replicas` runs it there), and a
 *   write refused there runs once on the primary.
 * - Writes go to the primary; only a failure that proves nothing was sent is retried
 *   (src/transaction/run-plain-attempt.ts).
 */

import type { PlainWriteCommit } from '../adapter/outcome-record.ts';
import type { OperationKind, OperationName } from '../metrics/metrics.ts';
import type { ResolvedRetryOptions } from '../transaction/retry.ts';
import { type PlainWriteSettling, runPlainAttempt, runPlainRead, WriteInDisguise } from '../transaction/run-plain-attempt.ts';
import type { AttemptTarget, CallPlan, ClientHandle } from './call-plan.ts';
import type { Pin } from './pin.ts';
import { isReadOperation, RAW_QUERY_OPERATIONS, replay } from './prisma-operations.ts';

/** One top-level operation, as `manager.prisma` hands it over (src/extension/call-proxy.ts). */
export interface PlainOperation {
  /** Prisma's model name (`ActivityLog`); undefined for raw queries. */
  readonly model: string | undefined;
  readonly operation: string;
  /** A model operation's args object; a raw query's whole argument list. */
  readonly args: unknown;
  /** Runs it on the client it was called on (the primary's); calling again runs it again. */
  readonly query: (args: unknown) => Promise<unknown>;
}

const EXECUTE_RAW_OPERATIONS: ReadonlySet<string> = new Set(['$executeRaw', '$executeRawUnsafe']);

export class PlainCall<C> implements CallPlan<ClientHandle<C>, unknown> {
  readonly kind: OperationKind;
  readonly name: OperationName;
  readonly read: boolean;
  readonly writes: boolean;
  readonly idempotent: boolean;
  readonly #raw: boolean;
  readonly #operation: PlainOperation;

  constructor(
    operation: PlainOperation,
    readonly pin: Pin,
    readonly retryDefaults: ResolvedRetryOptions,
    /** How a lone write is committed so that a lost answer can be settled (manager option `plainWriteCommit`). */
    readonly plainWriteCommit?: PlainWriteCommit,
  ) {
    this.#operation = operation;
    const name = operation.operation;
    this.read = isReadOperation(name) || (pin.target === 'replica' && EXECUTE_RAW_OPERATIONS.has(name));
    this.#raw = this.read && (RAW_QUERY_OPERATIONS.has(name) || EXECUTE_RAW_OPERATIONS.has(name));
    this.kind = this.read ? 'plain-read' : 'plain-write';
    this.writes = !this.read;
    this.idempotent = this.read;
    this.name = { operation: name, collection: operation.model ?? null };
  }

  /** A raw read refused by READ ONLY runs once as the write it is, on the primary. */
  get asWrite(): CallPlan<ClientHandle<C>, unknown> | undefined {
    if (!this.#raw) return undefined;
    const operation = this.#operation;
    return {
      kind: this.kind,
      name: this.name,
      read: false,
      writes: true,
      pin: this.pin,
      retryDefaults: this.retryDefaults,
      idempotent: false,
      attempt: (target) => runPlainAttempt(true, () => operation.query(operation.args), 'write', this.#settling(target)),
    };
  }

  /** A write settles a lost COMMIT on the primary it ran on (src/transaction/run-plain-attempt.ts). */
  #settling({ handle, sink, trace }: AttemptTarget<ClientHandle<C>>): PlainWriteSettling {
    return { settle: handle.settle, plainWriteCommit: this.plainWriteCommit, sink, kind: this.kind, trace };
  }

  /**
   * Not async. A model read on the primary, most calls, is Prisma's own promise, passed on as it is:
   * the runner classifies a failure it did not classify (`toAttemptFailure`), exactly as
   * runPlainRead would, one promise and one microtask a call fewer.
   */
  attempt(target: AttemptTarget<ClientHandle<C>>): Promise<unknown> {
    const { model, operation, args, query } = this.#operation;
    if (!this.read) return runPlainAttempt(true, () => query(args), 'write', this.#settling(target));
    if (!this.#raw && !target.onReplica) return query(args);
    return this.#replayRead(target.handle, model, operation, args);
  }

  /** A read on a replica, or a raw read on the read-only client. */
  async #replayRead(handle: ClientHandle<C>, model: string | undefined, operation: string, args: unknown): Promise<unknown> {
    const client = this.#raw ? handle.readOnlyClient : handle.client;
    try {
      return await runPlainRead(() => replay(client as object, model, operation, args));
    } catch (failure) {
      if (this.#raw && (failure as { classification?: { kind?: string } }).classification?.kind === 'read-only')
        throw new WriteInDisguise();
      throw failure;
    }
  }
}
