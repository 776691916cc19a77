/**
 * The ledger soak: K workers in several "instances" (one manager each, routed through a TCP proxy
 * in front of PgBouncer) run `writeWithPooling` transfers and increments, each recording a unique
 * idempotency key in the same transaction, while a scheduler injects every fault kind at random
 * moments. At the end the database is compared with what each caller was told.
 *
 * Used by test/integration/reliability/ledger-soak.test.ts (short form) and tools/soak/run.ts
 * (`npm run soak -- --minutes N`). The stack must be one the caller owns: Postgres and PgBouncer
 * get restarted. Start it with `synchronous_commit: 'on'`: with `off`, an immediate (crash-like)
 * Postgres shutdown loses commits that were already acknowledged, which is Postgres' documented
 * trade-off, not something a client library can detect.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { classifyError, type ErrorKind } from '../../src/errors/classify-error.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import { type ConnectionPoolManager, createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import type { RetryOptions } from '../../src/transaction/retry.ts';
import { queryOnce } from '../lib/pg.ts';
import { kill, pause, reconnect, reload, resume, startProxy, type TcpProxy, terminateBackends } from '../stack/faults/index.ts';
import type { LocalStack } from '../stack/start-stack.ts';

export const FAULT_KINDS = [
  'pgbouncer-pause',
  'pgbouncer-reconnect',
  'pgbouncer-kill',
  'pgbouncer-reload',
  'terminate-backends',
  'postgres-restart-fast',
  'postgres-restart-immediate',
  'pgbouncer-restart',
  'proxy-reset',
  'proxy-blackhole',
  'proxy-delay',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

type AppClient = InstanceType<typeof PrismaClient>;
type AppManager = ConnectionPoolManager<AppClient>;

export interface SoakOptions {
  /** A stack this run may restart (see the file comment about synchronous_commit). */
  stack: LocalStack;
  /** How long faults are injected; the run goes on until every fault kind was injected once. */
  durationMs: number;
  /** Managers (serverless instances). Defaults to 2. */
  instances?: number;
  /** Concurrent callers per instance. Defaults to 4. */
  workersPerInstance?: number;
  /** Accounts transfers move money between. Defaults to 16. */
  accounts?: number;
  /** Pause between two faults, ms: uniform in [min, max]. Defaults to [150, 700]. */
  gapMs?: readonly [number, number];
  /**
   * Retry policy of odd-numbered instances. Defaults to 8 connection attempts with 50–1000 ms
   * backoff, enough to ride out a restart. Even-numbered instances keep the library's defaults
   * (3 attempts, 10 ms base), so some calls do fail and their classification is checked.
   */
  retry?: RetryOptions;
  log?: (line: string) => void;
}

/** What one caller was told. */
interface CallRecord {
  key: string;
  op: 'transfer' | 'increment';
  outcome: 'ok' | 'failed';
  errorKind: ErrorKind | null;
  errorMessage: string | null;
  /** The transaction found its own key: an earlier attempt had committed. */
  alreadyApplied: boolean;
}

export interface SoakReport {
  runId: string;
  startedAt: string;
  durationMs: number;
  instances: number;
  workers: number;
  calls: number;
  acknowledged: number;
  failed: number;
  /** Times a transaction callback ran (the first attempt included). */
  attempts: number;
  /** Retries counted by the managers' metrics, and why. */
  retries: number;
  retriesByKind: Record<string, number>;
  faults: Record<FaultKind, number>;
  faultErrors: string[];
  /** Postgres or PgBouncer found dead between faults (not by our hand), with the log tail; restarted. */
  unexpectedExits: string[];
  errorsByKind: Record<string, number>;
  /** Idempotent retries that found their key: applied once by an earlier, ambiguous attempt. */
  dedupedByKey: number;
  outcomeUnknown: { total: number; applied: number; notApplied: number };
  /** Lost COMMIT answers the database settled (the managers' `lostCommits`), docs/reliability.md. */
  lostCommits: { committed: number; aborted: number; unknown: number };
  violations: {
    /** Acknowledged, but the key or its entries are missing. */
    lost: string[];
    /** Key applied more than once. */
    duplicated: string[];
    /** Operation row without all its entries, entries without the operation, or an unbalanced transfer. */
    halfApplied: string[];
    /** Failed with a definite (not outcome-unknown) error, yet applied. */
    failedButApplied: string[];
    /** Failed with kind 'application' or 'database'. */
    unclassified: string[];
    /** Balance differs from the sum of its ledger entries. */
    balanceMismatch: string[];
    /** Keys in the database no caller knows about. */
    orphans: string[];
    /** Workers still busy long after the fault phase ended. */
    hung: number;
  };
}

const INITIAL_BALANCE = 1_000_000;
/** A retry policy that rides out a Postgres or PgBouncer restart (about a second). */
export const RIDE_OUT_RETRY: RetryOptions = Object.freeze({ maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 1000 });

const DDL = [
  `CREATE TABLE IF NOT EXISTS soak_account (
     run_id text NOT NULL, id int NOT NULL, balance bigint NOT NULL, PRIMARY KEY (run_id, id))`,
  `CREATE TABLE IF NOT EXISTS soak_operation (
     key text PRIMARY KEY, run_id text NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  // No unique constraint on purpose: a write applied twice must show up as extra entries.
  `CREATE TABLE IF NOT EXISTS soak_entry (run_id text NOT NULL, key text NOT NULL, account int NOT NULL, delta bigint NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS soak_entry_run ON soak_entry (run_id, key)',
  'CREATE INDEX IF NOT EXISTS soak_operation_run ON soak_operation (run_id)',
];

const direct = queryOnce;

/** Retries a direct query while Postgres may still be coming back from a restart. */
async function directWithRetry<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await direct<T>(url, text, values);
    } catch (error) {
      if (attempt >= 20) throw error;
      await sleep(250);
    }
  }
}

const uniform = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** Resumes `app` unless it is not paused; any other failure is returned for the report. */
async function resumeIfPaused(adminUrl: string): Promise<void> {
  await resume(adminUrl, 'app').catch((error: Error) => {
    if (!/is not paused/.test(error.message)) throw error;
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 4): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' / ');
  } catch {
    return '(no log)';
  }
}

/** Restarts a server process that died on its own, so the run goes on; returns what happened. */
async function reviveDead(stack: LocalStack): Promise<string[]> {
  const found: string[] = [];
  const { postgres, pgbouncer } = stack.pids();
  if (postgres !== null && !alive(postgres)) {
    found.push(`postgres (pid ${postgres}) exited: ${logTail(path.join(stack.baseDir, 'postgres.log'))}`);
    await stack.restartPostgres('fast');
  }
  if (pgbouncer !== null && !alive(pgbouncer)) {
    found.push(`pgbouncer (pid ${pgbouncer}) exited: ${logTail(path.join(stack.baseDir, 'pgbouncer.log'))}`);
    await stack.restartPgbouncer();
  }
  return found;
}

async function injectFault(kind: FaultKind, stack: LocalStack, proxy: TcpProxy): Promise<void> {
  const admin = stack.adminUrl;
  switch (kind) {
    case 'pgbouncer-pause':
      await pause(admin, 'app', { queryTimeoutMs: 20_000 });
      try {
        await sleep(uniform(200, 1200));
      } finally {
        await resume(admin, 'app');
      }
      return;
    case 'pgbouncer-reconnect':
      await reconnect(admin, 'app');
      return;
    case 'pgbouncer-kill':
      // KILL leaves the database paused: new clients wait until RESUME.
      try {
        await kill(admin, 'app');
        await sleep(uniform(50, 500));
      } finally {
        await resumeIfPaused(admin);
      }
      return;
    case 'pgbouncer-reload':
      await reload(admin);
      return;
    case 'terminate-backends':
      await terminateBackends(stack.superuserUrl, { database: 'app', user: 'app' });
      return;
    case 'postgres-restart-fast':
      await stack.restartPostgres('fast');
      return;
    case 'postgres-restart-immediate':
      await stack.restartPostgres('immediate');
      return;
    case 'pgbouncer-restart':
      await stack.restartPgbouncer();
      return;
    case 'proxy-reset':
      proxy.setMode('reset');
      await sleep(uniform(20, 300));
      proxy.setMode('pass');
      return;
    case 'proxy-blackhole':
      proxy.setMode('blackhole');
      await sleep(uniform(300, 2000));
      proxy.setMode('pass');
      return;
    case 'proxy-delay':
      proxy.setMode({ delayMs: uniform(10, 120) });
      await sleep(uniform(500, 2500));
      proxy.setMode('pass');
      return;
  }
}

export async function runLedgerSoak(options: SoakOptions): Promise<SoakReport> {
  const { stack } = options;
  const log = options.log ?? (() => {});
  const instances = options.instances ?? 2;
  const workersPerInstance = options.workersPerInstance ?? 4;
  const accounts = options.accounts ?? 16;
  const [gapMin, gapMax] = options.gapMs ?? [150, 700];
  const runId = randomUUID();
  const startedAt = new Date();

  for (const statement of DDL) await direct(stack.directUrl, statement);
  await direct(stack.directUrl, 'INSERT INTO soak_account (run_id, id, balance) SELECT $1, g, $2 FROM generate_series(0, $3 - 1) AS g', [
    runId,
    INITIAL_BALANCE,
    accounts,
  ]);

  const proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
  const url = new URL(proxy.url(stack.poolerUrl));
  url.searchParams.set('connection_limit', '3');
  url.searchParams.set('pool_timeout', '10');
  url.searchParams.set('connect_timeout', '3');
  const managers: AppManager[] = Array.from({ length: instances }, (_, i) =>
    createConnectionPoolManager({
      createClient: (adapter) => new PrismaClient({ adapter }),
      env: { DATABASE_URL: url.toString(), USE_TRANSACTION_MODE: 'true' },
      retry: i % 2 === 1 ? (options.retry ?? RIDE_OUT_RETRY) : undefined,
      applicationName: `soak_${i}`,
    }),
  );

  const records: CallRecord[] = [];
  let attempts = 0;
  let stopping = false;

  const transfer = async (manager: AppManager): Promise<void> => {
    const key = `t-${randomUUID()}`;
    const from = uniform(0, accounts - 1);
    const to = (from + uniform(1, accounts - 1)) % accounts;
    const amount = uniform(1, 100);
    const record: CallRecord = { key, op: 'transfer', outcome: 'ok', errorKind: null, errorMessage: null, alreadyApplied: false };
    records.push(record);
    try {
      const result = await manager.writeWithPooling(
        async (tx) => {
          attempts++;
          // The idempotency-key pattern: the key goes in FIRST, in the same transaction. If an
          // earlier attempt whose COMMIT outcome was unknown did commit, the key is already there:
          // nothing more is written and the call reports "already applied".
          const inserted = await tx.$executeRaw`
            INSERT INTO soak_operation (key, run_id, kind) VALUES (${key}, ${runId}, 'transfer') ON CONFLICT (key) DO NOTHING`;
          if (inserted === 0) return 'already-applied' as const;
          await tx.$executeRaw`UPDATE soak_account SET balance = balance - ${amount} WHERE run_id = ${runId} AND id = ${from}`;
          await tx.$executeRaw`INSERT INTO soak_entry (run_id, key, account, delta) VALUES (${runId}, ${key}, ${from}, ${-amount})`;
          await tx.$executeRaw`UPDATE soak_account SET balance = balance + ${amount} WHERE run_id = ${runId} AND id = ${to}`;
          await tx.$executeRaw`INSERT INTO soak_entry (run_id, key, account, delta) VALUES (${runId}, ${key}, ${to}, ${amount})`;
          return 'applied' as const;
        },
        // Safe only because the transaction checks its own key first.
        { idempotent: true },
      );
      record.alreadyApplied = result === 'already-applied';
    } catch (error) {
      record.outcome = 'failed';
      record.errorKind = classifyError(error).kind;
      record.errorMessage = (error as Error)?.message?.slice(0, 200) ?? String(error);
    }
  };

  const increment = async (manager: AppManager): Promise<void> => {
    const key = `i-${randomUUID()}`;
    const account = uniform(0, accounts - 1);
    const record: CallRecord = { key, op: 'increment', outcome: 'ok', errorKind: null, errorMessage: null, alreadyApplied: false };
    records.push(record);
    try {
      // Not idempotent: a plain INSERT of the key, and the default policy (an unknown COMMIT
      // outcome is surfaced, never retried). The caller resolves it by looking the key up.
      await manager.writeWithPooling(async (tx) => {
        attempts++;
        await tx.$executeRaw`INSERT INTO soak_operation (key, run_id, kind) VALUES (${key}, ${runId}, 'increment')`;
        await tx.$executeRaw`UPDATE soak_account SET balance = balance + 1 WHERE run_id = ${runId} AND id = ${account}`;
        await tx.$executeRaw`INSERT INTO soak_entry (run_id, key, account, delta) VALUES (${runId}, ${key}, ${account}, 1)`;
      });
    } catch (error) {
      record.outcome = 'failed';
      record.errorKind = classifyError(error).kind;
      record.errorMessage = (error as Error)?.message?.slice(0, 200) ?? String(error);
    }
  };

  const worker = async (manager: AppManager): Promise<void> => {
    while (!stopping) {
      if (Math.random() < 0.7) await transfer(manager);
      else await increment(manager);
    }
  };

  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const faultErrors: string[] = [];
  const unexpectedExits: string[] = [];
  let hung = 0;
  const workers = managers.flatMap((manager) => Array.from({ length: workersPerInstance }, () => worker(manager)));
  const faultPhaseStarted = performance.now();
  try {
    await sleep(uniform(gapMin, gapMax));
    // Every kind once in random order, then random kinds until the time is up.
    const queue = shuffled(FAULT_KINDS);
    while (queue.length > 0 || performance.now() - faultPhaseStarted < options.durationMs) {
      const kind = queue.shift() ?? (FAULT_KINDS[Math.floor(Math.random() * FAULT_KINDS.length)] as FaultKind);
      const t0 = performance.now();
      try {
        for (const exit of await reviveDead(stack)) {
          unexpectedExits.push(exit);
          log(`UNEXPECTED: ${exit}`);
        }
        await injectFault(kind, stack, proxy);
        faults[kind]++;
        log(`fault ${kind} (${Math.round(performance.now() - t0)} ms); ${records.length} calls so far`);
      } catch (error) {
        faultErrors.push(`${kind}: ${(error as Error).message}`);
        log(`fault ${kind} FAILED to inject: ${(error as Error).message}`);
      }
      await sleep(uniform(gapMin, gapMax));
    }
  } finally {
    proxy.setMode('pass');
    await resumeIfPaused(stack.adminUrl).catch((error: Error) => faultErrors.push(`final resume: ${error.message}`));
    // Calls in flight finish (or fail) on a healthy stack; a worker that never returns is a hang.
    await sleep(500);
    stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled(workers).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 90_000);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) hung = workers.length;
  }
  const durationMs = Math.round(performance.now() - faultPhaseStarted);

  const retriesByKind: Record<string, number> = {};
  let retries = 0;
  const lostCommits = { committed: 0, aborted: 0, unknown: 0 };
  for (const manager of managers) {
    const metrics = manager.getMetrics();
    retries += metrics.retries;
    lostCommits.committed += metrics.lostCommits.committed;
    lostCommits.aborted += metrics.lostCommits.aborted;
    lostCommits.unknown += metrics.lostCommits.unknown;
    for (const [kind, count] of Object.entries(metrics.retriesByKind)) bump(retriesByKind, kind, count);
  }
  await Promise.all(managers.map((m) => m.disconnect()));
  await proxy.close();

  // ---- compare the database with what the callers were told ----
  const operations = await directWithRetry<{ key: string; kind: string }>(
    stack.directUrl,
    'SELECT key, kind FROM soak_operation WHERE run_id = $1',
    [runId],
  );
  const entries = await directWithRetry<{ key: string; n: number; sum: string }>(
    stack.directUrl,
    'SELECT key, count(*)::int AS n, sum(delta)::text AS sum FROM soak_entry WHERE run_id = $1 GROUP BY key',
    [runId],
  );
  const balances = await directWithRetry<{ id: number; balance: string; entries: string }>(
    stack.directUrl,
    `SELECT a.id, a.balance::text AS balance, coalesce(sum(e.delta), 0)::text AS entries
       FROM soak_account a LEFT JOIN soak_entry e ON e.run_id = a.run_id AND e.account = a.id
      WHERE a.run_id = $1 GROUP BY a.id, a.balance ORDER BY a.id`,
    [runId],
  );
  const opByKey = new Map(operations.map((o) => [o.key, o.kind]));
  const entriesByKey = new Map(entries.map((e) => [e.key, e]));
  const expectedEntries = (op: string) => (op === 'transfer' ? 2 : 1);

  const violations: SoakReport['violations'] = {
    lost: [],
    duplicated: [],
    halfApplied: [],
    failedButApplied: [],
    unclassified: [],
    balanceMismatch: [],
    orphans: [],
    hung,
  };
  const errorsByKind: Record<string, number> = {};
  const outcomeUnknown = { total: 0, applied: 0, notApplied: 0 };
  const known = new Set<string>();
  for (const record of records) {
    known.add(record.key);
    const op = opByKey.get(record.key);
    const entry = entriesByKey.get(record.key);
    const applied = op !== undefined || entry !== undefined;
    if (entry && entry.n > expectedEntries(record.op)) violations.duplicated.push(record.key);
    if (applied && (op === undefined || entry?.n !== expectedEntries(record.op) || (record.op === 'transfer' && entry.sum !== '0'))) {
      if (!(entry && entry.n > expectedEntries(record.op))) violations.halfApplied.push(record.key);
    }
    if (record.outcome === 'ok') {
      if (!applied) violations.lost.push(record.key);
      continue;
    }
    const kind = record.errorKind ?? 'application';
    bump(errorsByKind, kind);
    if (kind === 'application' || kind === 'database') violations.unclassified.push(`${record.key}: ${kind}: ${record.errorMessage}`);
    if (kind === 'outcome-unknown') {
      outcomeUnknown.total++;
      if (applied) outcomeUnknown.applied++;
      else outcomeUnknown.notApplied++;
    } else if (applied) {
      violations.failedButApplied.push(`${record.key}: ${kind}: ${record.errorMessage}`);
    }
  }
  for (const key of opByKey.keys()) if (!known.has(key)) violations.orphans.push(key);
  for (const key of entriesByKey.keys()) if (!known.has(key) && !opByKey.has(key)) violations.orphans.push(key);
  for (const row of balances) {
    if (BigInt(row.balance) !== BigInt(INITIAL_BALANCE) + BigInt(row.entries)) {
      violations.balanceMismatch.push(`account ${row.id}: balance ${row.balance}, entries say ${INITIAL_BALANCE + Number(row.entries)}`);
    }
  }

  const acknowledged = records.filter((r) => r.outcome === 'ok').length;
  return {
    runId,
    startedAt: startedAt.toISOString(),
    durationMs,
    instances,
    workers: instances * workersPerInstance,
    calls: records.length,
    acknowledged,
    failed: records.length - acknowledged,
    attempts,
    retries,
    retriesByKind,
    faults,
    faultErrors,
    unexpectedExits,
    errorsByKind,
    dedupedByKey: records.filter((r) => r.alreadyApplied).length,
    outcomeUnknown,
    lostCommits,
    violations,
  };
}

/** Total number of violations (0 means the run passed). */
export function violationCount(report: SoakReport): number {
  const v = report.violations;
  return (
    v.lost.length +
    v.duplicated.length +
    v.halfApplied.length +
    v.failedButApplied.length +
    v.unclassified.length +
    v.balanceMismatch.length +
    v.orphans.length +
    v.hung
  );
}

const sorted = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** A human-readable report. */
export function formatReport(report: SoakReport): string {
  const v = report.violations;
  const list = (name: string, items: string[]) =>
    `  ${name.padEnd(18)} ${items.length}${items.length ? `  e.g. ${items.slice(0, 3).join(' | ')}` : ''}`;
  return [
    `ledger soak ${report.runId} (${report.startedAt})`,
    `  fault phase        ${(report.durationMs / 1000).toFixed(1)} s, ${report.instances} instances × ${report.workers / report.instances} workers`,
    `  calls              ${report.calls} (acknowledged ${report.acknowledged}, failed ${report.failed})`,
    `  attempts           ${report.attempts} callback runs; retries ${report.retries} (${sorted(report.retriesByKind)})`,
    `  faults injected    ${sorted(report.faults)}`,
    ...(report.faultErrors.length ? [`  fault errors       ${report.faultErrors.join(' | ')}`] : []),
    ...(report.unexpectedExits.length ? [`  unexpected exits   ${report.unexpectedExits.join(' | ')}`] : []),
    `  errors by kind     ${sorted(report.errorsByKind)}`,
    `  outcome unknown    ${report.outcomeUnknown.total} (resolved by key: ${report.outcomeUnknown.applied} applied, ${report.outcomeUnknown.notApplied} not applied)`,
    `  lost COMMITs       settled committed ${report.lostCommits.committed}, aborted ${report.lostCommits.aborted}; unknown ${report.lostCommits.unknown}`,
    `  deduped by key     ${report.dedupedByKey} (idempotent retry found its own committed key)`,
    'violations',
    list('lost', v.lost),
    list('duplicated', v.duplicated),
    list('half-applied', v.halfApplied),
    list('failed-but-applied', v.failedButApplied),
    list('unclassified', v.unclassified),
    list('balance mismatch', v.balanceMismatch),
    list('orphans', v.orphans),
    `  hung workers       ${v.hung}`,
    violationCount(report) === 0 ? 'RESULT: PASS (zero lost, zero duplicated, every failure classified)' : 'RESULT: FAIL',
  ].join('\n');
}
