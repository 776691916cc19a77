/**
 * The plan of `prisma.$transaction(...)` through `manager.prisma` (src/extension/client-extension.ts
 * hands the arguments over): the array form is a batch (./batch-transaction-call.ts), the interactive
 * form a TransactionCall run on the receiver's own `$transaction`, so `tx` is the client the app
 * called it on, extensions included. Both run on the primary, counted under `transaction`.
 */
import { ConfigError } from '../errors/errors.ts';
import type { ResolvedRetryOptions } from '../transaction/retry.ts';
import type { TransactionCapable } from '../transaction/run-transaction.ts';
import { batchTransactionCall } from './batch-transaction-call.ts';
import type { CallPlan, ClientHandle } from './call-plan.ts';
import { TransactionCall, type TransactionSettings } from './transaction-call.ts';

export interface PrismaTransactionDefaults {
  readonly retryDefaults: ResolvedRetryOptions;
  readonly defaultTimeoutMs: number;
  /** The manager's `rerunTransactions`; one call may say otherwise with `{ rerun }`. */
  readonly rerun: boolean;
}

/**
 * `run(...args)` calls Prisma's own `$transaction` on the receiver. Returns null when the arguments
 * are no transaction Prisma runs (it then reports its own error); throws ConfigError for a bad `rerun`.
 */
export function prismaTransactionCall<C>(
  run: (...args: unknown[]) => Promise<unknown>,
  args: readonly unknown[],
  defaults: PrismaTransactionDefaults,
): CallPlan<ClientHandle<C>, unknown> | null {
  const [first, options] = args as [unknown, (TransactionSettings & { rerun?: unknown }) | undefined];
  if (Array.isArray(first)) return batchTransactionCall({ $transaction: run }, first, options, defaults.retryDefaults);
  if (typeof first !== 'function') return null;
  const { rerun, ...settings } = options ?? {};
  if (rerun !== undefined && typeof rerun !== 'boolean') throw new ConfigError('rerun', `must be true or false, got ${String(rerun)}`);
  const client: TransactionCapable<unknown> = { $transaction: (fn, o) => run(fn, o) as Promise<never> };
  return new TransactionCall(first as (tx: unknown) => Promise<unknown>, settings, {
    kind: 'transaction',
    read: false,
    retryDefaults: defaults.retryDefaults,
    defaultTimeoutMs: defaults.defaultTimeoutMs,
    clientOf: () => client,
    rerun: rerun ?? defaults.rerun,
  });
}
