/** Pins compose in any order and the strictest wins (src/call/pin.ts): pure. */
import { describe, expect, it } from 'vitest';
import { AUTO_PIN, type Pin, withAfter, withTarget } from '~/call/pin.ts';
import type { TokenPosition } from '~/routing/consistency-token.ts';

const at = (lsn: bigint, timeline: number | null = 1): TokenPosition => ({ lsn, timeline });
type Step = 'primary' | 'replica' | TokenPosition;
const apply = (steps: Step[]): Pin =>
  steps.reduce<Pin>((pin, step) => (typeof step === 'string' ? withTarget(pin, step) : withAfter(pin, step)), AUTO_PIN);

describe('pins', () => {
  it.each<[string, Step[], Pin['target'], bigint | null]>([
    ['nothing: auto', [], 'auto', null],
    ['$replica()', ['replica'], 'replica', null],
    ['$primary()', ['primary'], 'primary', null],
    ['$primary().$replica(): the primary wins', ['primary', 'replica'], 'primary', null],
    ['$replica().$primary(): the primary wins', ['replica', 'primary'], 'primary', null],
    ['$after(t).$replica(): the token is kept', [at(10n), 'replica'], 'replica', 10n],
    ['$replica().$after(t): the token is kept', ['replica', at(10n)], 'replica', 10n],
    ['$after(a).$after(b): the later position', [at(10n), at(20n)], 'auto', 20n],
    ['$after(b).$after(a): the later position', [at(20n), at(10n)], 'auto', 20n],
  ])('%s', (_name, steps, target, lsn) => {
    const pin = apply(steps);
    expect(pin.target).toBe(target);
    expect(pin.after?.lsn ?? null).toBe(lsn);
  });

  it('the order of the steps does not change the pin (its key names one client)', () => {
    expect(apply([at(10n), 'replica']).key).toBe(apply(['replica', at(10n)]).key);
    expect(apply(['primary', at(5n), 'replica']).key).toBe(apply(['replica', at(5n), 'primary']).key);
    expect(apply(['replica']).key).not.toBe(apply([at(5n), 'replica']).key);
  });

  it('positions of different timelines: the newer timeline wins whatever the LSN', () => {
    expect(apply([at(900n, 1), at(10n, 2)]).after).toEqual(at(10n, 2));
    expect(apply([at(10n, 2), at(900n, 1)]).after).toEqual(at(10n, 2));
  });

  it('an empty token changes nothing; a pin that does not change returns the same object', () => {
    expect(withAfter(AUTO_PIN, null)).toBe(AUTO_PIN);
    const primary = withTarget(AUTO_PIN, 'primary');
    expect(withTarget(primary, 'replica')).toBe(primary);
    expect(Object.isFrozen(primary)).toBe(true);
  });
});
