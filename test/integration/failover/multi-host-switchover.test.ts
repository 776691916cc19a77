/**
 * The same switchover with the app on a direct multi-host URL (session mode) listing the standby
 * first: `standby,primary?target_session_attrs=read-write`. Before: every connection skips the
 * read-only standby and keeps the primary. During: the primary refuses, the standby is still
 * read-only, so connects fail as "no host matched" and the failover window retries them. After the
 * promotion the standby is read-write and is kept. Own stack.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../tools/failover/scenarios.ts';

describe('switchover with a multi-host direct URL (standby listed first), 8 writers', () => {
  it('0 lost, 0 written twice, 0 calls failed', async () => {
    const r = await runScenario('multi-host');
    console.log(
      `multi-host switchover: ${r.acknowledged} acknowledged, ${r.outcomeUnknown} outcome-unknown (${r.outcomeUnknownApplied} committed), longest stall ${r.longestStallMs} ms, ${r.failoverCalls} calls rode a failover`,
    );
    expect(r.failedKinds).toEqual([]);
    expect({ lost: r.lost, duplicated: r.duplicated, failed: r.failed }).toEqual({ lost: 0, duplicated: 0, failed: 0 });
    expect(r.failoverCalls).toBeGreaterThan(0);
  }, 90_000);
});
