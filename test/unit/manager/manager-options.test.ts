import { describe, expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { resolveManagerOptions } from '~/manager/manager-options.ts';

const createClient = () => ({}) as never;

describe('lost-COMMIT options', () => {
  it('default: confirmed plain writes, settled within 15 s', () => {
    expect(resolveManagerOptions({ createClient })).toMatchObject({ plainWriteCommit: 'confirmed', settleTimeoutMs: 15_000 });
  });

  it.each(['one-flight', 'confirmed'] as const)('plainWriteCommit %s is kept', (mode) => {
    expect(resolveManagerOptions({ createClient, plainWriteCommit: mode }).plainWriteCommit).toBe(mode);
  });

  it.each([['two-flights'], [''], [1], [null]])('plainWriteCommit %o is a ConfigError naming it', (value) => {
    const resolve = () => resolveManagerOptions({ createClient, plainWriteCommit: value as never });
    expect(resolve).toThrow(ConfigError);
    expect(resolve).toThrow(/plainWriteCommit/);
  });

  it('settleTimeoutMs: 0 turns settling off; a negative or non-number one is a ConfigError naming it', () => {
    expect(resolveManagerOptions({ createClient, settleTimeoutMs: 0 }).settleTimeoutMs).toBe(0);
    for (const bad of [-1, Number.NaN, '5000']) {
      const resolve = () => resolveManagerOptions({ createClient, settleTimeoutMs: bad as never });
      expect(resolve).toThrow(ConfigError);
      expect(resolve).toThrow(/settleTimeoutMs/);
    }
  });
});
