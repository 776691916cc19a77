/**
 * `warmup()` over the manager's pools: every pool's connections and Prisma's engine, concurrently
 * (src/lifecycle/warmup.ts), then the app's `warmupQuery` once per pool, on the client
 * `readWithPooling` uses, as its transaction. Not an app operation: no retry, no metrics, no span.
 */
import { transactionOptions } from '../call/transaction-call.ts';
import { classifyError } from '../errors/classify-error.ts';
import { ManagerClosedError } from '../errors/errors.ts';
import { runWarmup, type WarmupResult } from '../lifecycle/warmup.ts';
import { managerLog } from '../logging/loggers.ts';
import { toAttemptFailure } from '../transaction/retry.ts';
import { runTransactionAttempt, type TransactionCapable } from '../transaction/run-transaction.ts';
import type { ResolvedManagerOptions } from './manager-options.ts';
import type { PoolSet } from './pool-set.ts';
import type { PrismaClientLike, TransactionClientOf } from './types.ts';

export function warmPools<C extends PrismaClientLike>(pools: PoolSet<C>, options: ResolvedManagerOptions<C>): Promise<WarmupResult> {
  const query = options.warmupQuery;
  const attempt = {
    transaction: transactionOptions(pools.config, options.transactionTimeoutMs, { isolationLevel: 'ReadCommitted' }),
    poolTimeoutMs: pools.config.poolTimeoutMs,
    signal: undefined,
    readOnly: true,
  };
  return runWarmup({
    // Readers get a client of their own (the read-only one): its engine starts here too.
    startEngine: async () => {
      await Promise.all(pools.all.flatMap((h) => [h.client.$connect?.(), h.readOnlyClient.$connect?.()]));
    },
    targets: pools.all,
    query: query
      ? () =>
          Promise.all(
            pools.all.map((h) =>
              runTransactionAttempt(h.readOnlyClient as TransactionCapable<TransactionClientOf<C>>, (tx) => query(tx), 1, attempt).catch(
                // The failure itself, not its AttemptFailure wrapper.
                (caught: unknown) => {
                  throw toAttemptFailure(caught).error;
                },
              ),
            ),
          )
      : undefined,
    log: managerLog,
  });
}

/** `manager.warmup()`: the pools (created here if need be), warmed, counted; the connections it opened. Never rejects. */
export async function warmManager<C extends PrismaClientLike>(
  init: () => PoolSet<C>,
  options: ResolvedManagerOptions<C>,
  counts: { connections: number; failures: number },
): Promise<number> {
  let pools: PoolSet<C>;
  try {
    pools = init();
  } catch (error) {
    if (!(error instanceof ManagerClosedError)) counts.failures++;
    managerLog('warmup skipped: %s', classifyError(error).kind);
    return 0;
  }
  const result = await warmPools(pools, options);
  counts.connections += result.opened;
  counts.failures += result.failures;
  return result.opened;
}
