import { describe, expect, it } from 'vitest';
import { WalTimeline } from '~/routing/replica-lag.ts';

describe('WalTimeline.lagMs', () => {
  const timeline = () => {
    const t = new WalTimeline();
    t.note(100n, 1000);
    t.note(200n, 2000);
    t.note(300n, 3000);
    return t;
  };

  it.each([
    ['replayed everything known', 300n, 5000, 0],
    ['replayed beyond what we know', 400n, 5000, 0],
    ['missing the newest position only', 250n, 5000, 2000],
    ['missing two positions', 150n, 5000, 3000],
    ['missing all of them', 50n, 5000, 4000],
    ['exactly at a known position', 200n, 5000, 2000],
  ])('%s', (_, replayed, now, expected) => {
    expect(timeline().lagMs(replayed, now)).toBe(expected);
  });

  it('an idle primary does not make a caught-up replica look behind (the replay-timestamp pitfall)', () => {
    const t = new WalTimeline();
    t.note(100n, 0);
    expect(t.lagMs(100n, 10 * 60_000)).toBe(0);
    t.note(200n, 10 * 60_000); // one write after ten idle minutes
    expect(t.lagMs(100n, 10 * 60_000 + 1500)).toBe(1500);
  });

  it('ignores positions that do not move forward, keeping the earliest time', () => {
    const t = new WalTimeline();
    t.note(200n, 1000);
    t.note(200n, 4000);
    t.note(150n, 5000);
    expect(t.size).toBe(1);
    expect(t.lagMs(100n, 6000)).toBe(5000);
  });

  it('merges samples close in time (bounded overestimate, bounded memory)', () => {
    const t = new WalTimeline();
    for (let i = 1; i <= 1000; i++) t.note(BigInt(i), i); // 1000 positions within one second
    expect(t.size).toBeLessThanOrEqual(21);
    expect(t.latest).toBe(1000n);
    expect(t.lagMs(999n, 1000)).toBeGreaterThanOrEqual(1);
    expect(t.lagMs(999n, 1000)).toBeLessThanOrEqual(51);
  });

  it('keeps at most 512 samples, the newest', () => {
    const t = new WalTimeline();
    for (let i = 1; i <= 2000; i++) t.note(BigInt(i), i * 100);
    expect(t.size).toBe(512);
    expect(t.latest).toBe(2000n);
  });

  it('prune drops what every replica replayed but keeps the newest', () => {
    const t = timeline();
    t.prune(250n);
    expect(t.size).toBe(1);
    expect(t.lagMs(250n, 5000)).toBe(2000);
    t.prune(1000n);
    expect(t.size).toBe(1);
    expect(t.latest).toBe(300n);
  });
});
