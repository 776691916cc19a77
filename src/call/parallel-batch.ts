/**
 * A parallel `batchWithPooling`: each op its own call of the runner (and span), at most `limit` at a
 * time, results in input order; one record for the batch as a whole. Rejects with BatchError, whose
 * `outcomes` say which committed, when any op failed.
 */
import { classifyError } from '../errors/classify-error.ts';
import { BatchError } from '../errors/errors.ts';
import { mapBounded } from '../transaction/map-bounded.ts';
import type { CallPools, PoolHandleLike } from './call-plan.ts';
import type { CallRunner } from './call-runner.ts';

export function runParallelBatch<H extends PoolHandleLike, Op>(
  runner: CallRunner<H>,
  pools: () => CallPools<H> & { readonly primary: H & { readonly limit: number } },
  ops: readonly Op[],
  runOp: (op: Op) => Promise<unknown>,
): Promise<unknown[]> {
  return runner.traced('batch', async (trace) => {
    const startedAt = process.hrtime.bigint();
    const { primary } = pools();
    const outcomes = await mapBounded(ops, primary.limit, runOp);
    const failed = outcomes.find((o) => o.status === 'rejected');
    const durationNs = process.hrtime.bigint() - startedAt;
    const error = failed ? classifyError(failed.reason) : null;
    runner.sink.operationFinished({ kind: 'batch', scope: 'parallel-batch', durationNs, error, pool: primary.target, trace });
    if (failed) throw new BatchError(outcomes);
    return outcomes.map((o) => (o as { value: unknown }).value);
  });
}
