/**
 * What `manager.prisma` (src/extension/client-extension.ts) hands its calls to: each operation as a
 * PlainCall, each `$transaction` as the plan src/call/prisma-transaction.ts makes of it, all run by
 * the manager's one call runner.
 */
import type { CallRunner } from '../call/call-runner.ts';
import { PlainCall } from '../call/plain-call.ts';
import { prismaTransactionCall } from '../call/prisma-transaction.ts';
import type { ExtensionHost } from '../extension/client-extension.ts';
import type { ResolvedManagerOptions } from './manager-options.ts';
import type { PoolHandle } from './pool-set.ts';
import type { PrismaClientLike } from './types.ts';

export function prismaHost<C extends PrismaClientLike>(
  runner: CallRunner<PoolHandle<C>>,
  options: ResolvedManagerOptions<C>,
): ExtensionHost {
  const defaults = { retryDefaults: options.retry, defaultTimeoutMs: options.transactionTimeoutMs, rerun: options.rerunTransactions };
  return {
    run: (operation, pin) => runner.run(new PlainCall(operation, pin, options.retry)),
    transaction(transaction, receiver, args) {
      const run = (...forwarded: unknown[]) => transaction.apply(receiver, forwarded);
      try {
        const plan = prismaTransactionCall<C>(run, args, defaults);
        // Not a transaction Prisma knows how to run: Prisma's own error.
        return plan ? runner.run(plan) : run(...args);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
