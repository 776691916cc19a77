/** The one line each failover test prints, and what it asserts of every app path. */
import { expect } from 'vitest';
import type { ScenarioResult } from '../../tools/failover/scenarios.ts';

export function reportLine(r: ScenarioResult): string {
  return `${r.scenario} / ${r.path}: ${r.acknowledged} acknowledged, ${r.failed} failed, ${r.outcomeUnknown} outcome-unknown (${r.outcomeUnknownApplied} committed), longest stall ${r.longestStallMs} ms (fault ${r.faultWindowMs} ms, writes resumed ${r.resumeAfterMs} ms after it), ${r.failoverCalls} calls rode a failover, ${Object.values(r.retriesByKind).reduce((a, b) => a + b, 0)} retries, ${r.lostCommits} lost COMMITs settled`;
}

/**
 * 0 lost, 0 written twice, 0 calls failed; outcome-unknown is reported, not failed. The fault must
 * have been met as a failover (`failover: true`); a switchover of plain writes may instead be met
 * only as writes whose connection was lost mid-statement (outcome unknown: plain writes have no
 * COMMIT of ours to watch), so for those `metAs: 'any'` accepts either.
 */
export function expectRodeThrough(r: ScenarioResult, metAs: 'failover' | 'any' = 'failover'): void {
  expect(r.failedKinds, r.path).toEqual([]);
  expect({ path: r.path, lost: r.lost, duplicated: r.duplicated, failed: r.failed }).toEqual({
    path: r.path,
    lost: 0,
    duplicated: 0,
    failed: 0,
  });
  expect(r.acknowledged, r.path).toBeGreaterThan(0);
  // The fault was met and ridden through as a failover, not missed.
  expect(metFault(r, metAs), r.path).toBe(true);
}

/**
 * Whether any call met the fault: rode a failover (`'failover'`), or also (`'any'`) was retried,
 * ended outcome-unknown, or had its lost COMMIT settled by the database.
 */
export function metFault(r: ScenarioResult, metAs: 'failover' | 'any' = 'failover'): boolean {
  if (metAs === 'failover') return r.failoverCalls > 0;
  const retries = Object.values(r.retriesByKind).reduce((a, b) => a + b, 0);
  return r.failoverCalls + r.outcomeUnknown + retries + r.lostCommits > 0;
}
