/**
 * The failover scenarios of docs/failover.md, each on a stack of its own (they stop, promote and
 * fence servers): 8 writers call `writeWithPooling` (or, with `style: 'plain'`, make plain
 * `manager.prisma.$executeRaw` calls and nothing else, as an app of plain calls does) while
 * - `pooler`: the primary is switched over (stop, promote the standby, PgBouncer RELOAD 1 s later)
 *   and the app talks to PgBouncer in transaction mode;
 * - `multi-host`: the same switchover, the app on a direct multi-host URL in session mode that lists
 *   the standby first (`standby,primary?target_session_attrs=read-write`);
 * - `fence`: the primary turns read-only for 1.5 s (`default_transaction_read_only`) and back.
 * Then every acknowledged write must be in the table once, none twice, and no call may have failed.
 * Used by test/integration/failover/*.test.ts and `npm run failover` (which writes the docs table).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { queryOnce } from '../lib/pg.ts';
import { fenceReadOnly } from '../stack/faults/read-only-fence.ts';
import { type LocalStack, startStack } from '../stack/start-stack.ts';
import { switchover } from '../stack/switchover.ts';
import { checkLedger, startWriterLoad } from './writer-load.ts';

export interface ScenarioOptions {
  /** Concurrent writers. Defaults to 8. */
  writers?: number;
  /** How long the fence lasts, ms (a switchover takes what it takes: stop, promote, 1 s, RELOAD). Defaults to 1500. */
  faultMs?: number;
  /** Writes before the fault and after it ended, ms. Defaults to 1000 each. */
  settleMs?: number;
  /**
   * `wrapped`: `writeWithPooling`, after `warmup()`. `plain`: plain calls through `manager.prisma`
   * only (no wrapper, no warmup), so only plain calls can arm the failover window. Defaults to `wrapped`.
   */
  style?: CallStyle;
  log?: (line: string) => void;
}

export type CallStyle = 'wrapped' | 'plain';

export interface ScenarioResult {
  readonly scenario: Scenario;
  readonly path: AppPath;
  readonly style: CallStyle;
  readonly writers: number;
  readonly faultMs: number;
  readonly calls: number;
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly failed: number;
  readonly failedKinds: readonly string[];
  readonly outcomeUnknown: number;
  /** Of the outcome-unknown calls, how many had committed. */
  readonly outcomeUnknownApplied: number;
  /** Longest time with no write acknowledged, ms. */
  readonly longestStallMs: number;
  readonly longestCallMs: number;
  /** How long the fault itself lasted (primary stopped → PgBouncer reloaded, or fenced → lifted), ms. */
  readonly faultWindowMs: number;
  /** From the end of the fault to the first acknowledged write after it, ms. */
  readonly resumeAfterMs: number;
  /** `consistencyToken()` before the fault and after it: a switchover moves the primary to a new WAL timeline. */
  readonly tokens: { readonly before: string; readonly after: string };
  /** Retries by classified kind (failover retries included). */
  readonly retriesByKind: Readonly<Record<string, number>>;
  /** The manager's own failover counters. */
  readonly failovers: number;
  readonly failoverCalls: number;
  readonly failoverRetries: number;
  /** COMMITs whose answer the fault cut, settled by the database (committed + aborted + unknown). */
  readonly lostCommits: number;
}

const DDL = 'CREATE TABLE IF NOT EXISTS failover_ledger (key text NOT NULL, at timestamptz NOT NULL DEFAULT now())';

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** `postgresql://app:pw@127.0.0.1:<standby>,127.0.0.1:<primary>/app?target_session_attrs=read-write` */
export function multiHostUrl(stack: LocalStack): string {
  const standbyPort = stack.standby?.port;
  if (standbyPort === undefined) throw new TypeError('multiHostUrl: the stack has no standby');
  return (
    stack.directUrl.replace(`127.0.0.1:${stack.postgresPort}`, `127.0.0.1:${standbyPort},127.0.0.1:${stack.postgresPort}`) +
    '?target_session_attrs=read-write'
  );
}

/** The app paths a scenario runs writers on, each with its own manager. */
export type AppPath = 'pooler' | 'multi-host';

/** `switchover`: pooler and multi-host writers at once through one switchover; `fence`: pooler writers, a fenced primary. */
export type Scenario = 'switchover' | 'fence';

export function scenarioPaths(scenario: Scenario, only?: AppPath): AppPath[] {
  if (scenario === 'fence') return ['pooler'];
  return only ? [only] : ['pooler', 'multi-host'];
}

/** Runs one scenario on a stack of its own; one result per app path (`only` restricts a switchover to one). */
export async function runScenario(scenario: Scenario, options: ScenarioOptions & { only?: AppPath } = {}): Promise<ScenarioResult[]> {
  const writers = options.writers ?? 8;
  const faultMs = options.faultMs ?? 1500;
  const settleMs = options.settleMs ?? 1000;
  const style = options.style ?? 'wrapped';
  const log = options.log ?? (() => {});
  const paths = scenarioPaths(scenario, options.only);
  const stack = await startStack({
    standby: scenario === 'fence' ? undefined : {},
    // An acknowledged commit must survive the switchover: flushed before COMMIT returns.
    postgresSettings: { synchronous_commit: 'on' },
    log,
  });
  try {
    await queryOnce(stack.directUrl, DDL);
    const managers = paths.map((path) =>
      createConnectionPoolManager({
        createClient: (adapter) => new PrismaClient({ adapter }),
        env: {
          ...(path === 'multi-host'
            ? { DATABASE_URL: multiHostUrl(stack), USE_TRANSACTION_MODE: 'false' }
            : { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' }),
          INSTANCE_COUNT: '1',
          MAX_POOL_SIZE: '8',
        },
        globalKey: null,
      }),
    );
    try {
      // Connections open and Prisma's engine warm: the stall measured is the fault's, not a cold start's.
      for (const manager of managers) {
        if (style === 'plain') {
          for (let i = 0; i < writers; i++) await manager.prisma.$executeRaw`SELECT 1`;
          continue;
        }
        await manager.warmup();
        for (let i = 0; i < writers; i++) await manager.writeWithPooling((tx) => tx.$executeRaw`SELECT 1`);
      }
      const loads = managers.map((manager, i) =>
        startWriterLoad(
          {
            writers,
            write: (key) =>
              style === 'plain'
                ? manager.prisma.$executeRaw`INSERT INTO failover_ledger (key) VALUES (${key})`
                : manager.writeWithPooling((tx) => tx.$executeRaw`INSERT INTO failover_ledger (key) VALUES (${key})`),
          },
          paths[i],
        ),
      );
      const tokensBefore = await Promise.all(managers.map((m) => m.consistencyToken()));
      await sleep(settleMs);
      let faultStart: number;
      let faultEnd: number;
      let promotedAt = Number.NaN;
      if (scenario === 'fence') {
        const t = await fenceReadOnly(stack.superuserUrl, faultMs);
        [faultStart, faultEnd] = [t.fencedAt, t.liftedAt];
      } else {
        // The primary stops, the standby is promoted at once, PgBouncer reloads onto it 1 s later.
        const t = await switchover(stack, { reloadDelayMs: 1000 });
        [faultStart, faultEnd, promotedAt] = [t.stoppedAt, t.reloadedAt, t.promotedAt];
      }
      log(`${scenario}: fault over, ${loads.map((l) => l.acknowledgedCount).join(' + ')} writes acknowledged so far`);
      await sleep(settleMs);
      const results = await Promise.all(loads.map((l) => l.stop()));
      const tokensAfter = await Promise.all(managers.map((m) => m.consistencyToken()));
      // Read the ledger on the server that is primary now.
      const primaryUrl = scenario === 'fence' ? stack.directUrl : withPort(stack.directUrl, stack.standby?.port ?? 0);
      const rows = await queryOnce<{ key: string; n: number }>(
        primaryUrl,
        'SELECT key, count(*)::int AS n FROM failover_ledger GROUP BY key',
      );
      const counts = new Map(rows.map((r) => [r.key, r.n]));
      return results.map((result, i) => {
        const path = paths[i] as AppPath;
        const check = checkLedger(result, counts);
        const metrics = (managers[i] as (typeof managers)[number]).getMetrics();
        // The multi-host app needs the promotion only; the pooler app needs PgBouncer's RELOAD.
        const end = path === 'multi-host' ? promotedAt : faultEnd;
        return {
          scenario,
          path,
          style,
          writers,
          faultMs,
          calls: result.calls,
          acknowledged: result.acknowledged.length,
          lost: check.lost.length,
          duplicated: check.duplicated.length,
          failed: result.failed.length,
          failedKinds: [...new Set(result.failed.map((f) => `${f.kind}: ${f.message}`))].slice(0, 5),
          outcomeUnknown: result.outcomeUnknown.length,
          outcomeUnknownApplied: check.unknownApplied,
          longestStallMs: result.longestStallMs,
          longestCallMs: result.longestCallMs,
          faultWindowMs: Math.round(end - faultStart),
          resumeAfterMs: Math.round((loads[i]?.ackTimes.find((t) => t > end) ?? Number.NaN) - end),
          tokens: { before: tokensBefore[i] ?? '', after: tokensAfter[i] ?? '' },
          retriesByKind: metrics.retriesByKind,
          failovers: metrics.failovers,
          failoverCalls: metrics.failoverCalls,
          failoverRetries: metrics.failoverRetries,
          lostCommits: metrics.lostCommits.committed + metrics.lostCommits.aborted + metrics.lostCommits.unknown,
        };
      });
    } finally {
      await Promise.all(managers.map((m) => m.disconnect()));
    }
  } finally {
    await stack.stop();
  }
}
