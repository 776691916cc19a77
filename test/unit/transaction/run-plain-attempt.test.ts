/**
 * One plain attempt (src/transaction/run-plain-attempt.ts): what a failure becomes for reads and
 * writes, with and without an outcome record, and that the record reaches the code the call runs
 * (where our adapter looks for it).
 */
import { describe, expect, it } from 'vitest';
import { createOutcomeRecord, currentOutcomeRecord, type OutcomeRecord } from '~/adapter/outcome-record.ts';
import { classifyError } from '~/errors/classify-error.ts';
import { TransactionOutcomeUnknownError, WriteCommittedResultLostError } from '~/errors/errors.ts';
import type { CommitSettled, OperationSink } from '~/metrics/sink.ts';
import { AttemptFailure } from '~/transaction/retry.ts';
import { DEFAULT_PLAIN_WRITE_COMMIT, plainWriteFailure, runPlainAttempt } from '~/transaction/run-plain-attempt.ts';

function sink(): OperationSink & { settled: CommitSettled[] } {
  const settled: CommitSettled[] = [];
  return {
    settled,
    operationFinished() {},
    attemptRetried() {},
    poolWaited() {},
    commitSettled(event: CommitSettled) {
      settled.push(event);
    },
  };
}

const lost = () => new Error('Connection terminated unexpectedly');
const refused = () => Object.assign(new Error('no more connections allowed (max_client_conn)'), { code: '08P01' });

async function failure(promise: Promise<unknown>): Promise<AttemptFailure> {
  const caught = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(caught).toBeInstanceOf(AttemptFailure);
  return caught as AttemptFailure;
}

describe('runPlainAttempt', () => {
  it('returns the result', async () => {
    expect(await runPlainAttempt(true, async () => 'row')).toBe('row');
  });

  it('a write that lost its connection after sending is an unknown outcome, saying what was running', async () => {
    const f = await failure(runPlainAttempt(true, () => Promise.reject(lost()), 'transaction'));
    expect(f.error).toBeInstanceOf(TransactionOutcomeUnknownError);
    expect((f.error as TransactionOutcomeUnknownError).during).toBe('transaction');
    expect(f.classification).toMatchObject({ kind: 'outcome-unknown', retryable: false });
  });

  it('a write refused before anything was sent keeps its retryable kind', async () => {
    const f = await failure(runPlainAttempt(true, () => Promise.reject(refused())));
    expect(f.classification).toMatchObject({ kind: 'too-many-connections', retryable: true, sent: false });
  });

  it('a read that lost its connection is a retryable connection error', async () => {
    const f = await failure(runPlainAttempt(false, () => Promise.reject(lost())));
    expect(f.classification).toMatchObject({ kind: 'connection', retryable: true });
  });

  it('with a resolver, a write runs with an outcome record the call can see; a read does not', async () => {
    const settle = async () => 'committed' as const;
    let seen: OutcomeRecord | undefined;
    await runPlainAttempt(
      true,
      async () => {
        seen = currentOutcomeRecord();
      },
      'write',
      { settle },
    );
    expect(seen).toMatchObject({ plainWriteCommit: DEFAULT_PLAIN_WRITE_COMMIT, settle });
    await runPlainAttempt(
      true,
      async () => {
        seen = currentOutcomeRecord();
      },
      'write',
      { settle, plainWriteCommit: 'one-flight' },
    );
    expect(seen?.plainWriteCommit).toBe('one-flight');
    seen = undefined;
    await runPlainAttempt(
      false,
      async () => {
        seen = currentOutcomeRecord();
      },
      'write',
      { settle },
    );
    expect(seen).toBeUndefined();
  });

  it('reports what the database said to the sink, success or failure', async () => {
    const s = sink();
    await runPlainAttempt(
      true,
      async () => {
        (currentOutcomeRecord() as OutcomeRecord).settled = 'committed';
        return 'row';
      },
      'write',
      { settle: async () => 'committed', sink: s, kind: 'plain-write' },
    );
    await runPlainAttempt(
      true,
      async () => {
        (currentOutcomeRecord() as OutcomeRecord).settled = 'aborted';
        throw lost();
      },
      'write',
      { settle: async () => 'aborted', sink: s, kind: 'plain-write' },
    ).catch(() => {});
    expect(s.settled.map((e) => [e.kind, e.outcome])).toEqual([
      ['plain-write', 'committed'],
      ['plain-write', 'aborted'],
    ]);
  });
});

describe('plainWriteFailure: what a failed write becomes, given its outcome record', () => {
  const record = (fields: Partial<OutcomeRecord>): OutcomeRecord => Object.assign(createOutcomeRecord(), fields);
  const lostError = lost();
  const lostClass = classifyError(lostError);

  it.each([
    ['no record, lost after sending', undefined, 'outcome-unknown', false],
    [
      'the database said committed (the result never arrived)',
      record({ began: true, commitSent: true, settled: 'committed' }),
      'result-lost',
      false,
    ],
    ['the database said aborted', record({ began: true, commitSent: true, settled: 'aborted' }), 'connection', true],
    ['COMMIT never left (confirmed mode, the statement lost)', record({ began: true, commitSent: false }), 'connection', true],
    ['the database could not tell', record({ began: true, commitSent: true, settled: 'unknown' }), 'outcome-unknown', false],
    ['COMMIT left, no id ever arrived', record({ began: true, commitSent: true }), 'outcome-unknown', false],
    [
      'an earlier transaction of the call committed, this one never sent COMMIT',
      record({ began: true, earlierCommitted: true }),
      'result-lost',
      false,
    ],
  ] as const)('%s → %s (retryable %s)', (_name, rec, kind, retryable) => {
    const f = plainWriteFailure(lostError, lostClass, rec);
    expect(f.classification).toMatchObject({ kind, retryable });
    if (kind === 'result-lost') {
      expect(f.error).toBeInstanceOf(WriteCommittedResultLostError);
      expect((f.error as WriteCommittedResultLostError).committed).toBe(true);
      expect((f.error as Error).cause).toBe(lostError);
    }
  });

  it('a database error (not a lost connection) stays what it is', () => {
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    const f = plainWriteFailure(unique, classifyError(unique), record({ began: true, commitSent: true }));
    expect(f.error).toBe(unique);
    expect(f.classification).toMatchObject({ kind: 'constraint', retryable: false });
  });
});
