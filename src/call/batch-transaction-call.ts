/**
 * `prisma.$transaction([a, b, c])` through `manager.prisma`: Prisma's own batch transaction, on
 * the primary. Its promises are lazy and re-run at each `$transaction` they are handed to (Prisma's
 * createPrismaPromise calls the operation again for every batch transaction), so a retry sends the
 * same statements again.
 *
 * Without a callback there is no moment that tells "COMMIT was in flight" apart from "a statement
 * was running": a lost connection may have committed the whole batch, so it is retried only when
 * nothing can run twice — no connection was had (the error proves nothing was sent), or the server
 * rolled the whole transaction back (serialization failure, deadlock). Anything else that lost the
 * connection is an unknown outcome.
 */
import type { OperationName } from '../metrics/metrics.ts';
import type { ResolvedRetryOptions } from '../transaction/retry.ts';
import { runPlainAttempt } from '../transaction/run-plain-attempt.ts';
import type { CallPlan, ClientHandle } from './call-plan.ts';
import { AUTO_PIN } from './pin.ts';

const NAME: OperationName = Object.freeze({ operation: '$transaction', collection: null });

export interface BatchTransactionClient {
  $transaction(promises: readonly unknown[], options?: unknown): Promise<unknown>;
}

/** The plan of one `$transaction([...])` on `client` (the extended client the promises came from). */
export function batchTransactionCall<C>(
  client: BatchTransactionClient,
  promises: readonly unknown[],
  options: unknown,
  retryDefaults: ResolvedRetryOptions,
): CallPlan<ClientHandle<C>, unknown> {
  return {
    kind: 'transaction',
    name: NAME,
    read: false,
    writes: true,
    pin: AUTO_PIN,
    retryDefaults,
    idempotent: false,
    attempt: () => runPlainAttempt(true, () => client.$transaction(promises, options), 'transaction'),
  };
}
