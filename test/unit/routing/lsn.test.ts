import { describe, expect, it } from 'vitest';
import { compareLsn, formatLsn, hasReplayed, maxLsn, minLsn, parseLsn } from '~/routing/lsn.ts';

describe('parseLsn / formatLsn', () => {
  it.each([
    ['0/0', 0n],
    ['0/3001250', 0x3001250n],
    ['16/B374D848', 0x16b374d848n],
    ['16/b374d848', 0x16b374d848n],
    ['1/0', 0x1_0000_0000n],
    ['FFFFFFFF/FFFFFFFF', 0xffff_ffff_ffff_ffffn],
  ])('%s → %s', (text, value) => {
    expect(parseLsn(text)).toBe(value);
    expect(parseLsn(formatLsn(value))).toBe(value);
  });

  it.each([
    ['0/3001250', '0/3001250'],
    ['16/b374d848', '16/B374D848'],
    ['00000001/00000000', '1/0'],
  ])('formats %s as Postgres does: %s', (text, formatted) => {
    expect(formatLsn(parseLsn(text) as bigint)).toBe(formatted);
  });

  it.each([[''], ['0'], ['0/'], ['/0'], ['0/0/0'], ['G/0'], ['123456789/0'], [' 0/1'], ['0/1 '], ['-1/0']])('rejects %j', (text) => {
    expect(parseLsn(text)).toBeNull();
  });

  it('rejects null and undefined (a standby with nothing received)', () => {
    expect(parseLsn(null)).toBeNull();
    expect(parseLsn(undefined)).toBeNull();
  });

  it('refuses to format a value outside 64 bits', () => {
    expect(() => formatLsn(-1n)).toThrow(RangeError);
    expect(() => formatLsn(1n << 64n)).toThrow(RangeError);
  });
});

describe('comparison', () => {
  // Text comparison gets these wrong: '0/A0000000' > '1/0' as strings, and '0/9' > '0/10'.
  it.each([
    ['0/A0000000', '1/0', -1],
    ['0/9', '0/10', -1],
    ['1/0', '0/FFFFFFFF', 1],
    ['3/1250', '3/1250', 0],
  ])('%s vs %s → %d', (a, b, expected) => {
    expect(compareLsn(parseLsn(a) as bigint, parseLsn(b) as bigint)).toBe(expected);
  });

  it.each([
    [null, null, null],
    [5n, null, 5n],
    [null, 7n, 7n],
    [5n, 7n, 7n],
    [9n, 7n, 9n],
  ])('maxLsn(%s, %s) = %s', (a, b, expected) => {
    expect(maxLsn(a, b)).toBe(expected);
  });

  it('minLsn', () => {
    expect(minLsn(3n, 2n)).toBe(2n);
    expect(minLsn(2n, 3n)).toBe(2n);
  });

  it.each([
    [null, null, true],
    [5n, null, true],
    [null, 5n, false],
    [4n, 5n, false],
    [5n, 5n, true],
    [6n, 5n, true],
  ])('hasReplayed(replayed %s, required %s) = %s', (replayed, required, expected) => {
    expect(hasReplayed(replayed, required)).toBe(expected);
  });
});
