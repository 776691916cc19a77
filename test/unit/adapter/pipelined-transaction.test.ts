/** The statement that opens a transaction, and when reads run per statement (pure: no connection). */
import { describe, expect, it } from 'vitest';
import { createOutcomeRecord } from '~/adapter/outcome-record.ts';
import { beginStatement, runsPerStatement, settleLostCommit, transactionIdStatement } from '~/adapter/pipelined-transaction.ts';

describe('beginStatement', () => {
  it.each([
    [undefined, false, 'BEGIN'],
    [undefined, true, 'BEGIN READ ONLY'],
    ['READ COMMITTED', true, 'BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY'],
    ['REPEATABLE READ', false, 'BEGIN ISOLATION LEVEL REPEATABLE READ'],
    ['SERIALIZABLE', true, 'BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY'],
    ['READ UNCOMMITTED', false, 'BEGIN ISOLATION LEVEL READ UNCOMMITTED'],
  ] as const)('%s, readOnly %s → %s', (level, readOnly, sql) => {
    expect(beginStatement(level, readOnly)).toBe(sql);
  });

  it('refuses anything outside the closed list, so no other text reaches the SQL', () => {
    expect(() => beginStatement('SNAPSHOT', false)).toThrow(RangeError);
    expect(() => beginStatement('SERIALIZABLE; DROP TABLE x' as never, false)).toThrow(RangeError);
  });
});

describe('runsPerStatement', () => {
  it('only read-only ReadCommitted (and ReadUncommitted, which Postgres runs as ReadCommitted)', () => {
    expect(runsPerStatement('READ COMMITTED', true)).toBe(true);
    expect(runsPerStatement('READ UNCOMMITTED', true)).toBe(true);
    expect(runsPerStatement('READ COMMITTED', false)).toBe(false);
    expect(runsPerStatement('REPEATABLE READ', true)).toBe(false);
    expect(runsPerStatement('SERIALIZABLE', true)).toBe(false);
    // The database default might be anything (default_transaction_isolation): one real transaction.
    expect(runsPerStatement(undefined, true)).toBe(false);
  });
});

describe('transactionIdStatement', () => {
  it.each([
    [undefined, 'SELECT pg_current_xact_id()::text AS id, pg_postmaster_start_time()::text AS started'],
    [13, 'SELECT pg_current_xact_id()::text AS id, pg_postmaster_start_time()::text AS started'],
    [17, 'SELECT pg_current_xact_id()::text AS id, pg_postmaster_start_time()::text AS started'],
    [12, 'SELECT txid_current()::text AS id, pg_postmaster_start_time()::text AS started'],
    [10, 'SELECT txid_current()::text AS id, pg_postmaster_start_time()::text AS started'],
  ] as const)('server major %s → %s', (major, statement) => {
    expect(transactionIdStatement(major)).toBe(statement);
  });
});

describe('settleLostCommit', () => {
  const lost = Object.assign(new Error('Connection terminated unexpectedly'), {});
  it.each([
    ['committed', 'committed'],
    ['aborted', 'aborted'],
    ['unknown', 'unknown'],
  ] as const)('asks the resolver with the id and records its answer (%s)', async (answer, expected) => {
    const asked: string[] = [];
    const record = createOutcomeRecord({
      settle: async (xid) => {
        asked.push(xid);
        return answer;
      },
    });
    record.xid = '1234';
    expect(await settleLostCommit(record, lost)).toBe(expected);
    expect(record.settled).toBe(expected);
    expect(asked).toEqual(['1234']);
  });

  it('without the id, or without a resolver, the outcome is unknown', async () => {
    const noId = createOutcomeRecord({ settle: async () => 'committed' });
    expect(await settleLostCommit(noId, lost)).toBe('unknown');
    const noResolver = createOutcomeRecord();
    noResolver.xid = '1';
    expect(await settleLostCommit(noResolver, lost)).toBe('unknown');
  });

  it('a resolver that throws is unknown, not an exception', async () => {
    const record = createOutcomeRecord({ settle: () => Promise.reject(new Error('boom')) });
    record.xid = '1';
    expect(await settleLostCommit(record, lost)).toBe('unknown');
  });

  it('nothing is asked when the error proves COMMIT never left or the transaction rolled back', async () => {
    let asked = 0;
    const record = createOutcomeRecord({
      settle: async () => {
        asked++;
        return 'committed';
      },
    });
    record.xid = '1';
    expect(await settleLostCommit(record, new Error('Client has encountered a connection error and is not queryable'))).toBeNull();
    expect(await settleLostCommit(record, Object.assign(new Error('could not serialize access'), { code: '40001' }))).toBeNull();
    expect(asked).toBe(0);
    expect(record.settled).toBeNull();
  });
});
