/**
 * The primary turns read-only for 1.5 s under 8 writers (a demoted primary behind an endpoint, a
 * fencing step): writes get 25006 and are retried inside the failover window until the fence
 * lifts. Without the window each of them failed. Own stack (server settings change).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../tools/failover/scenarios.ts';

describe('primary fenced read-only for 1.5 s, 8 writers', () => {
  it('0 lost, 0 written twice, 0 calls failed; the writes waited for the fence to lift', async () => {
    const r = await runScenario('fence');
    console.log(
      `read-only fence: ${r.acknowledged} acknowledged, ${r.outcomeUnknown} outcome-unknown, longest stall ${r.longestStallMs} ms, ${r.failoverCalls} calls rode a failover (${r.failoverRetries} retries)`,
    );
    expect(r.failedKinds).toEqual([]);
    expect({ lost: r.lost, duplicated: r.duplicated, failed: r.failed }).toEqual({ lost: 0, duplicated: 0, failed: 0 });
    // The fence was seen: writes met 25006 and were retried as a failover, not silently ignored.
    expect(r.failoverCalls).toBeGreaterThan(0);
  }, 90_000);
});
