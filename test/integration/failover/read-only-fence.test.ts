/**
 * The primary turns read-only for 1.5 s under 8 writers (a demoted primary behind an endpoint, a
 * fencing step): writes get 25006 and are retried inside the failover window until the fence
 * lifts. Without the window each of them failed. Own stack (server settings change).
 */
import { describe, it } from 'vitest';
import { runScenario } from '../../../tools/failover/scenarios.ts';
import { expectRodeThrough, reportLine } from '../../support/failover-report.ts';

describe('primary fenced read-only for 1.5 s, 8 writers', () => {
  it('0 lost, 0 written twice, 0 calls failed; the writes waited for the fence to lift', async () => {
    const [r] = await runScenario('fence');
    if (!r) throw new Error('no result');
    console.log(reportLine(r));
    expectRodeThrough(r);
  }, 90_000);
});
