/**
 * Writes under PgBouncer `KILL` (then `RESUME`) every few hundred ms, each call's answer checked
 * against the database afterwards: what the lost-COMMIT settling (docs/reliability.md) is judged
 * by. Used by test/integration/reliability/kill-loop.test.ts (short form) and
 * tools/bench/plain-write-commit.ts (the measured trade-off of `plainWriteCommit`).
 *
 * Each call writes one ActivityLog row whose `action` is a key of its own (no unique constraint, so
 * a write applied twice shows as two rows).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyError } from '../../src/errors/classify-error.ts';
import type { MetricsSnapshot } from '../../src/metrics/metrics.ts';
import { queryOnce } from '../lib/pg.ts';
import { killAndResume, resume } from '../stack/faults/index.ts';
import type { LocalStack } from '../stack/start-stack.ts';

export interface KillLoopOptions {
  readonly stack: Pick<LocalStack, 'adminUrl' | 'directUrl'>;
  /** The User row the ActivityLog rows belong to (must exist). */
  readonly userId: string;
  /** One write: creates the ActivityLog row `{ userId, action: key }`. */
  readonly write: (key: string) => Promise<unknown>;
  /** The manager's metrics, read at the end. */
  readonly metrics: () => MetricsSnapshot;
  readonly durationMs: number;
  /** Concurrent writers. Defaults to 8. */
  readonly writers?: number;
  /** Pause between two KILLs, ms. Defaults to 300. */
  readonly killEveryMs?: number;
}

export interface KillLoopReport {
  faults: number;
  calls: number;
  acknowledged: number;
  /** Acknowledged, yet no row. */
  lost: number;
  /** A key written more than once. */
  duplicated: number;
  /** Failed with a definite error (not an unknown outcome, not "committed, result lost"), yet written. */
  failedButWritten: number;
  /** WriteCommittedResultLostError, and its row is missing. */
  resultLostNotWritten: number;
  resultLost: number;
  /** TransactionOutcomeUnknownError, and how many of them had in fact committed. */
  unknown: number;
  unknownWritten: number;
  failedByKind: Record<string, number>;
  /**
   * Each TransactionOutcomeUnknownError by what it reports (`during`) and how the error under it
   * classifies: where to look first when unknowns are too many (DEBUG=DatabasePooling says more).
   */
  unknownCauses: Record<string, number>;
  lostCommits: MetricsSnapshot['lostCommits'];
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** `during` of an unknown outcome and how the error under it classifies (kind, code): no values, no key. */
function unknownCause(error: unknown): string {
  const during = (error as { during?: unknown }).during;
  const { kind, code } = classifyError((error as { cause?: unknown }).cause);
  return `${String(during)}: ${kind}${code === null ? '' : ` ${code}`}`;
}

export async function runKillLoop(options: KillLoopOptions): Promise<KillLoopReport> {
  const { stack, write } = options;
  const outcomes: { key: string; ok: boolean; kind: string | null; cause?: string }[] = [];
  let done = false;
  const killLoop = async (): Promise<number> => {
    let faults = 0;
    while (!done) {
      await sleep(options.killEveryMs ?? 300);
      if (done) break;
      try {
        // One console connection for both (see killAndResume): a pause as long as a second
        // console login left PgBouncer 1.18 refusing the database until the next KILL.
        await killAndResume(stack.adminUrl, 'app');
        faults++;
      } catch {
        // The admin console refused (it was busy): no fault this round. A KILL whose RESUME
        // failed leaves the database paused: resume it.
        await resume(stack.adminUrl, 'app').catch(() => {});
      }
    }
    // A RESUME refused above (the console was busy) would leave the database paused for good.
    await resume(stack.adminUrl, 'app').catch(() => {}); // "not paused" when all went well
    return faults;
  };
  const faults = killLoop();
  const writers = Array.from({ length: options.writers ?? 8 }, async (_, w) => {
    for (let i = 0; !done; i++) {
      const key = `kill-loop-${w}-${i}-${randomUUID()}`;
      try {
        await write(key);
        outcomes.push({ key, ok: true, kind: null });
      } catch (error) {
        const kind = classifyError(error).kind;
        outcomes.push({ key, ok: false, kind, ...(kind === 'outcome-unknown' ? { cause: unknownCause(error) } : {}) });
      }
    }
  });
  await sleep(options.durationMs);
  done = true;
  const [faultCount] = await Promise.all([faults, ...writers]);
  const rows = await queryOnce<{ action: string; n: number }>(
    stack.directUrl,
    `SELECT action, count(*)::int AS n FROM "ActivityLog" WHERE "userId" = $1 AND action = ANY($2) GROUP BY action`,
    [options.userId, outcomes.map((o) => o.key)],
  );
  const written = new Map(rows.map((r) => [r.action, r.n]));
  const failed = outcomes.filter((o) => !o.ok);
  const definite = (kind: string | null) => kind !== 'outcome-unknown' && kind !== 'result-lost';
  return {
    faults: faultCount ?? 0,
    calls: outcomes.length,
    acknowledged: outcomes.length - failed.length,
    lost: outcomes.filter((o) => o.ok && !written.has(o.key)).length,
    duplicated: rows.filter((r) => r.n > 1).length,
    failedButWritten: failed.filter((o) => definite(o.kind) && written.has(o.key)).length,
    resultLostNotWritten: failed.filter((o) => o.kind === 'result-lost' && !written.has(o.key)).length,
    resultLost: failed.filter((o) => o.kind === 'result-lost').length,
    unknown: failed.filter((o) => o.kind === 'outcome-unknown').length,
    unknownWritten: failed.filter((o) => o.kind === 'outcome-unknown' && written.has(o.key)).length,
    failedByKind: countBy(failed.map((o) => o.kind ?? 'none')),
    unknownCauses: countBy(failed.flatMap((o) => (o.cause === undefined ? [] : [o.cause]))),
    lostCommits: options.metrics().lostCommits,
  };
}
