/**
 * An app that makes only plain calls through `manager.prisma` (no wrapper, no warmup) rides through
 * a switchover and a read-only fence as wrapped writes do: every call that reached the database
 * arms the failover window, plain calls included. Own stacks (servers are stopped, promoted, fenced).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../tools/failover/scenarios.ts';
import { expectRodeThrough, reportLine } from '../../support/failover-report.ts';

describe('an app of plain calls only, 8 writers', () => {
  it('primary fenced read-only for 1.5 s: 0 lost, 0 written twice, 0 calls failed', async () => {
    const [r] = await runScenario('fence', { style: 'plain' });
    if (!r) throw new Error('no result');
    console.log(reportLine(r));
    expect(r.style).toBe('plain');
    // Ridden through inside the failover window (armed by plain calls alone), not within 3 ordinary attempts.
    expectRodeThrough(r);
  }, 90_000);

  it('switchover through PgBouncer: 0 lost, 0 written twice, 0 calls failed', async () => {
    const [r] = await runScenario('switchover', { style: 'plain', only: 'pooler' });
    if (!r) throw new Error('no result');
    console.log(reportLine(r));
    expectRodeThrough(r, 'any');
  }, 90_000);
});
