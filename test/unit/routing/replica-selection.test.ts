import { describe, expect, it } from 'vitest';
import { type ReplicaView, selectReadRoute } from '~/routing/replica-selection.ts';

const up = (replayLsn: bigint, lagMs = 0): ReplicaView => ({ state: 'up', replayLsn, lagMs });
const lagging = (replayLsn: bigint, lagMs: number): ReplicaView => ({ state: 'lagging', replayLsn, lagMs });
const down: ReplicaView = { state: 'down', replayLsn: null, lagMs: null };
const unknown: ReplicaView = { state: 'unknown', replayLsn: null, lagMs: null };

describe('selectReadRoute', () => {
  it.each<[string, ReplicaView[], bigint | null, string]>([
    ['no replicas', [], null, 'primary-fallback'],
    ['one replica up, nothing required', [up(10n)], null, 'replica#0'],
    ['one replica up and caught up', [up(10n)], 10n, 'replica#0'],
    ['one replica up but behind the write', [up(9n)], 10n, 'primary-consistency'],
    ['the only replica down', [down], null, 'primary-fallback'],
    ['the only replica down, with a requirement', [down], 10n, 'primary-fallback'],
    ['the only replica lagging past the bound', [lagging(10n, 60_000)], null, 'primary-fallback'],
    ['not polled yet, nothing required: try it', [unknown], null, 'replica#0'],
    ['not polled yet, a write to see: primary', [unknown], 10n, 'primary-consistency'],
    ['first down, second up', [down, up(10n)], null, 'replica#1'],
    ['first behind, second caught up', [up(5n), up(10n, 20)], 10n, 'replica#1'],
    ['both behind', [up(5n), up(9n)], 10n, 'primary-consistency'],
    ['one down, one behind', [down, up(9n)], 10n, 'primary-consistency'],
    ['the least lagging wins', [up(10n, 300), up(10n, 20), up(10n, 90)], null, 'replica#1'],
    ['lagging one skipped even if caught up', [lagging(20n, 60_000), up(10n, 5)], 10n, 'replica#1'],
  ])('%s', (_, replicas, required, expected) => {
    const route = selectReadRoute(replicas, required, 0);
    expect(route.target === 'replica' ? `replica#${route.index}` : route.target).toBe(expected);
  });

  it('takes turns among equally good replicas', () => {
    const replicas = [up(10n, 0), down, up(10n, 0), up(10n, 0)];
    const picks = [0, 1, 2, 3, 4, 5].map((turn) => {
      const route = selectReadRoute(replicas, null, turn);
      return route.target === 'replica' ? route.index : -1;
    });
    expect(picks).toEqual([0, 2, 3, 0, 2, 3]);
  });
});
