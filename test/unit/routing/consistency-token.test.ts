import { describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { encodeConsistencyToken, parseConsistencyToken, parseTokenPosition } from '~/routing/consistency-token.ts';

describe('consistency token', () => {
  it.each([
    [0n, 'v1.0.0'],
    [0x3001250n, 'v1.0.3001250'],
    [0x16b374d848n, 'v1.16.b374d848'],
    [0xffff_ffff_ffff_ffffn, 'v1.ffffffff.ffffffff'],
  ])('%s ⇄ %s', (lsn, token) => {
    expect(encodeConsistencyToken(lsn)).toBe(token);
    expect(parseConsistencyToken(token)).toBe(lsn);
  });

  it('is safe in a cookie or a header as is', () => {
    expect(encodeConsistencyToken(0x16b374d848n)).toMatch(/^[0-9A-Za-z.]+$/);
  });

  it('accepts upper case and surrounding spaces (a hand-copied header)', () => {
    expect(parseConsistencyToken(' V1.16.B374D848 ')).toBe(0x16b374d848n);
  });

  it.each([[undefined], [null], ['']])('%j means no requirement', (value) => {
    expect(parseConsistencyToken(value)).toBeNull();
  });

  it.each([
    ['garbage', 'hello'],
    ['an LSN in Postgres spelling', '16/B374D848'],
    ['another version', 'v3.1.0.1'],
    ['a v2 token without its timeline', 'v2.0.1'],
    ['a v2 token on timeline 0', 'v2.0.0.1'],
    ['a half too long', 'v1.123456789.0'],
    ['a missing half', 'v1.16'],
    ['non-hex digits', 'v1.0.xyz'],
    ['a very long value', `v1.0.${'1'.repeat(5000)}`],
    ['a number', 42],
    ['an object', { lsn: '0/1' }],
  ])('rejects %s with a ConfigError naming the option', (_, value) => {
    let caught: unknown;
    try {
      parseConsistencyToken(value, 'after');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe('after');
    // The value came from a client: never echoed.
    if (typeof value === 'string' && value.length > 3) expect((caught as Error).message).not.toContain(value);
  });

  it('refuses to encode a value outside 64 bits', () => {
    expect(() => encodeConsistencyToken(-1n)).toThrow(RangeError);
  });
});

describe('consistency token with its WAL timeline (v2)', () => {
  it.each([
    [0x16b374d848n, 1, 'v2.1.16.b374d848'],
    [0x3001250n, 0x1f, 'v2.1f.0.3001250'],
  ])('%s on timeline %d ⇄ %s', (lsn, timeline, token) => {
    expect(encodeConsistencyToken(lsn, timeline)).toBe(token);
    expect(parseTokenPosition(token)).toEqual({ lsn, timeline });
    expect(parseConsistencyToken(token)).toBe(lsn);
  });

  it('v1 tokens made before this change still parse, with no timeline', () => {
    expect(parseTokenPosition('v1.16.b374d848')).toEqual({ lsn: 0x16b374d848n, timeline: null });
    expect(encodeConsistencyToken(0x16b374d848n)).toBe('v1.16.b374d848');
  });

  it('rejects a timeline that cannot exist', () => {
    expect(() => encodeConsistencyToken(1n, 0)).toThrow(RangeError);
  });
});
