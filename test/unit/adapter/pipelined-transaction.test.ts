/** The statement that opens a transaction, and when reads run per statement (pure: no connection). */
import { describe, expect, it } from 'vitest';
import { beginStatement, runsPerStatement } from '~/adapter/pipelined-transaction.ts';

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
