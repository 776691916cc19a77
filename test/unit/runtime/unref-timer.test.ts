import { describe, expect, it } from 'vitest';
import { timersCanUnref, unrefTimer } from '../../../src/runtime/unref-timer.ts';

describe('unref only where it exists', () => {
  it('unrefs a Node timer', () => {
    const timer = setTimeout(() => {}, 60_000);
    unrefTimer(timer);
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });

  it('a numeric timer id (workerd’s setTimeout) and nullish values are left alone', () => {
    expect(() => unrefTimer(42)).not.toThrow();
    expect(() => unrefTimer(undefined)).not.toThrow();
    expect(() => unrefTimer(null)).not.toThrow();
  });

  it('Node’s timers can be unref’d (pg-pool’s allowExitOnIdle stays on here)', () => {
    expect(timersCanUnref()).toBe(true);
  });
});
