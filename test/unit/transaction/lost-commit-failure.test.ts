import { describe, expect, it } from 'vitest';
import { createOutcomeRecord, type OutcomeRecord } from '~/adapter/outcome-record.ts';
import { TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { lostCommitFailure, reportSettled } from '~/transaction/run-transaction.ts';

const record = (fields: Partial<OutcomeRecord>): OutcomeRecord => Object.assign(createOutcomeRecord(), fields);
const lost = () => Object.assign(new Error('database removed'), { code: '08P01' });

describe('lostCommitFailure (a wrapped transaction that failed at COMMIT)', () => {
  it('aborted: the error as it is, retryable', () => {
    const error = lost();
    const f = lostCommitFailure(error, record({ settled: 'aborted' }));
    expect(f.error).toBe(error);
    expect(f.classification).toMatchObject({ kind: 'connection', retryable: true });
  });

  it.each([
    ['no record (settling off)', undefined],
    ['unknown', record({ settled: 'unknown' })],
    ['never asked', record({})],
  ])('%s: TransactionOutcomeUnknownError', (_name, rec) => {
    const error = lost();
    const f = lostCommitFailure(error, rec);
    expect(f.error).toBeInstanceOf(TransactionOutcomeUnknownError);
    expect((f.error as Error).cause).toBe(error);
    expect(f.classification).toMatchObject({ kind: 'outcome-unknown', retryable: false });
  });
});

describe('reportSettled', () => {
  it('tells the sink only what the database was asked', () => {
    const events: unknown[] = [];
    const sink = {
      operationFinished() {},
      attemptRetried() {},
      poolWaited() {},
      commitSettled: (e: unknown) => events.push(e),
    };
    reportSettled(record({}), { sink, kind: 'write' });
    reportSettled(undefined, { sink, kind: 'write' });
    reportSettled(record({ settled: 'committed' }), { sink, kind: 'write' });
    reportSettled(record({ settled: 'aborted' }), {}); // no sink: nothing, no throw
    expect(events).toEqual([{ kind: 'write', outcome: 'committed', trace: undefined }]);
  });
});
