/**
 * A pooler fleet: three PgBouncers in front of the stack's Postgres, listed in one URL with
 * `load_balance_hosts=random`, under load from several managers (each one an app instance). One
 * pooler is killed (SIGKILL) and restarted on its port, another frozen (SIGSTOP: its connections go
 * silent, new ones are accepted by the kernel and never answered) and thawed (SIGCONT). One monitor
 * per host and pool decides each pooler's health; connections spread, skip the dead and the frozen
 * one, and come back to them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import type { ConfigWarning } from '~/logging/config-warnings.ts';
import { transactionsServed } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { type PoolerFleet, startPoolerFleet } from '../../../tools/stack/pooler-fleet.ts';
import { pgHasPipeline } from '../../support/installed-versions.ts';
import { activityLogCounts } from '../../support/ledger.ts';
import { sql, type TestManager, testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker();
const BOUND_MS = 3_000;
const MANAGERS = 3;
const WORKERS = 3;
const KILL_AT_MS = 1_500;
const FREEZE_AT_MS = 2_500;
const RESTART_AT_MS = 5_000;
const THAW_AT_MS = 7_000;
const RUN_MS = 10_000;

let fleet: PoolerFleet;
beforeAll(async () => {
  // Three hosts on 6543, as a fleet serving one port (Supabase's and this package's transaction-mode port).
  fleet = await startPoolerFleet({ directUrl: stack.directUrl, count: 3, port: 6543 });
});
afterAll(async () => {
  await fleet?.stop();
});

/** Transactions each pooler has served so far. */
const servedBy = (i: number): Promise<number> => transactionsServed(fleet.urlOf(i));

interface Call {
  readonly kind: 'read' | 'plain-read' | 'write';
  readonly ms: number;
  readonly ok: boolean;
  readonly errorKind: string | null;
  readonly action: string | null;
}

describe('three PgBouncers in one URL: one killed, one frozen, under load from several instances', () => {
  it('0 failed reads, 0 lost, 0 written twice, no call past the bound, all three serving again, no warning', async () => {
    // connect_timeout=1: a frozen pooler's kernel still accepts connections; the login is what never answers.
    const url = fleet.url(`load_balance_hosts=random&tcp_user_timeout=${BOUND_MS}&connect_timeout=1`);
    const warnings: ConfigWarning[] = [];
    const managers: TestManager[] = Array.from({ length: MANAGERS }, () =>
      track(testManager(stack, { DATABASE_URL: url }, { onWarning: (w) => warnings.push(w) })),
    );
    const userId = randomUUID();
    await sql(stack.directUrl, 'INSERT INTO "User" (id, email) VALUES ($1, $2)', [userId, `fleet-${userId}@example.com`]);

    const calls: Call[] = [];
    const t0 = performance.now();
    const at = (ms: number, step: () => void | Promise<void>) =>
      new Promise<void>((resolve, reject) => {
        setTimeout(() => Promise.resolve().then(step).then(resolve, reject), ms);
      });
    const faults = Promise.all([
      at(KILL_AT_MS, () => fleet.signal(0, 'SIGKILL')),
      at(FREEZE_AT_MS, () => fleet.signal(1, 'SIGSTOP')),
      at(RESTART_AT_MS, () => fleet.start(0)),
      at(THAW_AT_MS, () => fleet.signal(1, 'SIGCONT')),
    ]);

    const worker = async (manager: TestManager, w: number) => {
      for (let i = 0; performance.now() - t0 < RUN_MS; i++) {
        const kind = (['read', 'plain-read', 'write'] as const)[(w + i) % 3] as Call['kind'];
        const action = kind === 'write' ? `fleet-${userId}-${w}-${i}` : null;
        const started = performance.now();
        try {
          if (kind === 'read') await manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: userId } }));
          else if (kind === 'plain-read') await manager.prisma.user.count({ where: { id: userId } });
          else await manager.writeWithPooling((tx) => tx.activityLog.create({ data: { userId, action: action as string } }));
          calls.push({ kind, ms: performance.now() - started, ok: true, errorKind: null, action });
        } catch (error) {
          calls.push({ kind, ms: performance.now() - started, ok: false, errorKind: classifyError(error).kind, action });
        }
      }
    };
    await Promise.all(managers.flatMap((manager, m) => Array.from({ length: WORKERS }, (_, w) => worker(manager, m * WORKERS + w))));
    await faults;

    const longest = Math.max(...calls.map((c) => c.ms));
    const failed = calls.filter((c) => !c.ok);
    const hosts = managers.map((m) => m.getMetrics().hosts);
    console.log(
      `pooler fleet: ${calls.length} calls, longest ${Math.round(longest)} ms (bound ${BOUND_MS} ms), failed ${JSON.stringify(failed.map((c) => `${c.kind}:${c.errorKind}`))}, hosts ${JSON.stringify(hosts.map((h) => h.map((s) => `${s.host} ${s.state} downs=${s.downs} probes=${s.probes} back=${s.recoveries}`)))}`,
    );

    // No warning at all: a list of poolers is what the URL is for (a pg without `pipeline` gets its own one).
    expect(warnings.filter((w) => pgHasPipeline || w.code !== 'PGPOOL_PG_NO_PIPELINE')).toEqual([]);
    // Reads never fail; writes fail only as outcome-unknown (a COMMIT sent to the frozen pooler).
    expect(failed.filter((c) => c.kind !== 'write')).toEqual([]);
    expect(failed.filter((c) => c.errorKind !== 'outcome-unknown')).toEqual([]);
    // No call past the bound: a call on the frozen pooler is cut at half of it and retried on another pooler.
    expect(longest).toBeLessThanOrEqual(BOUND_MS);
    // The monitors saw the frozen pooler (its logins never answer) and marked it down. The killed one
    // is marked down only if a new connection picked it (random) in the seconds before it returned:
    // its open connections just drop, which every call rides through on another pooler.
    const downs = (i: number) => hosts.reduce((sum, h) => sum + (h[i]?.downs ?? 0), 0);
    expect(downs(1)).toBeGreaterThan(0);
    // Nothing lost, nothing written twice.
    const written = await activityLogCounts(stack.directUrl, { userId });
    for (const call of calls.filter((c) => c.kind === 'write')) {
      const n = written.get(call.action as string) ?? 0;
      expect(n, call.action as string).toBeLessThanOrEqual(1);
      if (call.ok) expect(n, call.action as string).toBe(1);
    }

    // All three taken back: every monitor of every instance says up (probes with backoff, ≤ 5 s apart).
    await expect
      .poll(() => managers.flatMap((m) => m.getMetrics().hosts.map((h) => h.state)), { timeout: 15_000, interval: 250 })
      .toEqual(Array(MANAGERS * 3).fill('up'));
    const health = await managers[0]?.getHealth();
    expect(health?.checks.connectionPool.hostStates?.map((h) => h.state)).toEqual(['up', 'up', 'up']);
    // And all three serve again: fresh instances spread their connections over the whole fleet.
    const before = await Promise.all([0, 1, 2].map(servedBy));
    const fresh = Array.from({ length: 8 }, () => track(testManager(stack, { DATABASE_URL: url })));
    for (let round = 0; round < 3; round++)
      await Promise.all(fresh.flatMap((m) => Array.from({ length: 3 }, () => m.readWithPooling((tx) => tx.user.count()))));
    const after = await Promise.all([0, 1, 2].map(servedBy));
    expect(after.map((n, i) => n > (before[i] as number))).toEqual([true, true, true]);
  }, 90_000);
});
