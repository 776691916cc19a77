/**
 * Overhead figures, each measured in this process on one statement or one small transaction:
 * - our `withPooling` vs a raw `prisma.$transaction` on the same client vs raw `pg`, same SQL;
 * - one `metrics.recordOperation`;
 * - pgbench (the C client: the practical limit) through the same PgBouncer, same SQL;
 * - named (cached) vs unnamed prepared statements in session mode, and what named statements
 *   do through PgBouncer 1.18 in transaction mode.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { createLatencyHistogram } from '../../src/metrics/latency-histogram.ts';
import { createMetrics, type OperationKind } from '../../src/metrics/metrics.ts';
import { type LatencySummary, summarize } from './latency.ts';
import { type AppManager, createAppClient, POINT_SELECT_PGBENCH, POINT_SELECT_SQL } from './workload.ts';

export interface LoopResult {
  ops: number;
  failed: number;
  opsPerS: number;
  latency: LatencySummary;
}

/** Runs `fn` from `concurrency` loops for `durationMs` (after a short warm-up) and times every call. */
export async function timeLoop(fn: (i: number) => Promise<unknown>, concurrency: number, durationMs: number): Promise<LoopResult> {
  const warmEnd = performance.now() + Math.min(500, durationMs / 4);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      for (let i = k; performance.now() < warmEnd; i += concurrency) await fn(i).catch(() => {});
    }),
  );
  const samples: number[] = [];
  let failed = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      for (let i = k; performance.now() < end; i += concurrency) {
        const t0 = process.hrtime.bigint();
        try {
          await fn(i);
          samples.push(Math.max(1, Number((process.hrtime.bigint() - t0) / 1000n)));
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { ops: samples.length, failed, opsPerS: Math.round((samples.length / elapsed) * 1000 * 10) / 10, latency: summarize(samples) };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export interface WrapperOverhead {
  concurrency: number;
  rounds: number;
  /** Median over rounds; one round runs the three variants back to back, in turn. */
  opsPerS: { rawPg: number; rawPrisma: number; withPooling: number };
  /** Mean µs per call at concurrency 1 (median over rounds). */
  meanUsAtC1: { rawPg: number; rawPrisma: number; withPooling: number };
  /** withPooling ÷ raw $transaction, raw $transaction ÷ raw pg (throughput at `concurrency`). */
  ratios: { withPoolingVsRawPrisma: number; rawPrismaVsRawPg: number; withPoolingVsRawPg: number };
  /** Added µs per call at concurrency 1. */
  addedUs: { withPoolingOverRawPrisma: number; rawPrismaOverRawPg: number };
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** BEGIN; the point select; COMMIT through PgBouncer: raw pg one by one (three round trips), the two Prisma variants through our adapter (BEGIN pipelined with the select: two). */
export async function measureWrapperOverhead(
  poolerUrl: string,
  users: number,
  options: { concurrency: number; durationMs: number; rounds: number },
): Promise<WrapperOverhead> {
  const { concurrency, durationMs, rounds } = options;
  const idOf = (i: number) => String((i % users) + 1);
  const pool = new pg.Pool({ connectionString: poolerUrl, max: concurrency });
  const manager: AppManager = createConnectionPoolManager({
    createClient: createAppClient,
    env: { DATABASE_URL: poolerUrl, USE_TRANSACTION_MODE: 'true' },
    pool: { connectionLimit: concurrency },
  });
  const sameOptions = { maxWait: manager.config.poolTimeoutMs + 1000, timeout: 10_000 };
  const variants = {
    rawPg: async (i: number) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(POINT_SELECT_SQL, [idOf(i)]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    // Like with like: the same maxWait/timeout the wrapper passes to $transaction.
    rawPrisma: (i: number) => manager.client.$transaction((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, idOf(i)), sameOptions),
    withPooling: (i: number) => manager.withPooling((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, idOf(i))),
  };
  type Name = keyof typeof variants;
  const names = Object.keys(variants) as Name[];
  const throughput: Record<Name, number[]> = { rawPg: [], rawPrisma: [], withPooling: [] };
  const meanUs: Record<Name, number[]> = { rawPg: [], rawPrisma: [], withPooling: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        throughput[name].push((await timeLoop(variants[name], concurrency, durationMs)).opsPerS);
        meanUs[name].push((await timeLoop(variants[name], 1, durationMs / 2)).latency.meanMs * 1000);
      }
    }
  } finally {
    await manager.disconnect();
    await pool.end();
  }
  const t = { rawPg: median(throughput.rawPg), rawPrisma: median(throughput.rawPrisma), withPooling: median(throughput.withPooling) };
  const m = { rawPg: median(meanUs.rawPg), rawPrisma: median(meanUs.rawPrisma), withPooling: median(meanUs.withPooling) };
  return {
    concurrency,
    rounds,
    opsPerS: t,
    meanUsAtC1: { rawPg: Math.round(m.rawPg), rawPrisma: Math.round(m.rawPrisma), withPooling: Math.round(m.withPooling) },
    ratios: {
      withPoolingVsRawPrisma: round(t.withPooling / t.rawPrisma, 3),
      rawPrismaVsRawPg: round(t.rawPrisma / t.rawPg, 3),
      withPoolingVsRawPg: round(t.withPooling / t.rawPg, 3),
    },
    addedUs: { withPoolingOverRawPrisma: Math.round(m.withPooling - m.rawPrisma), rawPrismaOverRawPg: Math.round(m.rawPrisma - m.rawPg) },
  };
}

export interface MetricsCost {
  calls: number;
  nsPerRecordOperation: number;
  /** One bare record into the metrics' own histogram, for scale (the metrics record makes two, plus counters). */
  nsPerHistogramRecord: number;
}

export function measureMetricsCost(calls: number): MetricsCost {
  const kinds: OperationKind[] = ['read', 'write', 'default', 'batch'];
  const durations = Array.from({ length: 1024 }, (_, i) => BigInt(200_000 + ((i * 7919) % 50_000_000)));
  const time = (fn: (i: number) => void): number => {
    for (let i = 0; i < Math.min(calls, 100_000); i++) fn(i); // warm-up (JIT)
    const best: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < calls; i++) fn(i);
      best.push(Number(process.hrtime.bigint() - t0) / calls);
    }
    return Math.min(...best);
  };
  const metrics = createMetrics();
  const ok = { ok: true } as const;
  const failed = { ok: false, errorKind: 'serialization' } as const;
  const nsPerRecordOperation = time((i) =>
    metrics.recordOperation(kinds[i & 3] ?? 'read', durations[i & 1023] ?? 1n, i % 50 === 0 ? failed : ok),
  );
  // The metrics' own histogram (sparse, HDR precision: src/metrics/latency-histogram.ts).
  const histogram = createLatencyHistogram();
  const nsPerHistogramRecord = time((i) => histogram.record(200 + (i & 1023)));
  return { calls, nsPerRecordOperation: round(nsPerRecordOperation, 1), nsPerHistogramRecord: round(nsPerHistogramRecord, 1) };
}

export interface PgbenchResult {
  /** null when pgbench is not installed or failed; `note` says why. */
  tps: number | null;
  latencyAvgMs: number | null;
  command: string;
  note: string | null;
  /** Our `withPooling` on the same SQL, same PgBouncer, same concurrency (from the overhead run). */
  withPoolingOpsPerS: number | null;
  /** withPooling ÷ pgbench. */
  ratio: number | null;
}

function findPgbench(pgBinDirs: string[]): string | null {
  for (const dir of [...pgBinDirs, ...(process.env.PATH ?? '').split(path.delimiter)]) {
    const file = path.join(dir, 'pgbench');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return null;
}

export function pgbenchVersion(): string | null {
  const bin = findPgbench(['/usr/lib/postgresql/15/bin']);
  if (!bin) return null;
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

/** pgbench -n -c C -j 2 -T secs -M simple on the same BEGIN; point select; COMMIT, through PgBouncer. */
export async function runPgbench(
  poolerUrl: string,
  users: number,
  options: { concurrency: number; seconds: number; withPoolingOpsPerS: number | null },
): Promise<PgbenchResult> {
  const url = new URL(poolerUrl);
  const args = ['-n', '-c', String(options.concurrency), '-j', '2', '-T', String(options.seconds), '-M', 'simple'];
  const command = `pgbench ${args.join(' ')} -D users=${users} -f <BEGIN; point select; COMMIT>`;
  const empty = { tps: null, latencyAvgMs: null, command, withPoolingOpsPerS: options.withPoolingOpsPerS, ratio: null };
  const bin = findPgbench(['/usr/lib/postgresql/15/bin']);
  if (!bin) {
    return { ...empty, note: 'pgbench not found (Debian: apt-get install postgresql-client); row skipped' };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgpool-bench-'));
  try {
    const script = path.join(dir, 'point-select.sql');
    writeFileSync(script, POINT_SELECT_PGBENCH);
    const fullArgs = [
      ...args,
      '-D',
      `users=${users}`,
      '-f',
      script,
      '-h',
      url.hostname,
      '-p',
      url.port,
      '-U',
      decodeURIComponent(url.username),
    ];
    fullArgs.push(url.pathname.slice(1));
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(bin, fullArgs, {
        env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout: out, stderr: err });
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        resolve({ code: -1, stdout: out, stderr: String(error) });
      });
    });
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1] ?? Number.NaN);
    const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1] ?? Number.NaN);
    if (code !== 0 || !Number.isFinite(tps)) {
      const why = (stderr || stdout).trim().split('\n').slice(-2).join(' ').replaceAll(url.password, '***');
      return { ...empty, note: `pgbench failed (exit ${code}): ${why}` };
    }
    return {
      tps: round(tps, 1),
      latencyAvgMs: Number.isFinite(latency) ? latency : null,
      command,
      note: null,
      withPoolingOpsPerS: options.withPoolingOpsPerS,
      ratio: options.withPoolingOpsPerS === null ? null : round(options.withPoolingOpsPerS / tps, 3),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface StatementModes {
  concurrency: number;
  rounds: number;
  /** Session mode, direct: named (cached) statements vs `statement_cache_size=0`. */
  named: { opsPerS: number; p50Ms: number; p95Ms: number };
  unnamed: { opsPerS: number; p50Ms: number; p95Ms: number };
  /** named ÷ unnamed throughput. */
  namedVsUnnamed: number;
  /** Named statements forced through PgBouncer 1.18 in transaction mode (a misconfiguration), and the default (unnamed). */
  throughPgbouncer: {
    named: { ok: number; failed: number; preparedStatementErrors: number };
    unnamed: { ok: number; failed: number; preparedStatementErrors: number };
  };
}

/** The read mix (user by id, pages with blocks) through `readWithPooling`. */
const readMix = (manager: AppManager, users: number) => (i: number) => {
  const id = String((i % users) + 1);
  return i % 2 === 0
    ? manager.readWithPooling((tx) => tx.user.findUnique({ where: { id } }))
    : manager.readWithPooling((tx) => tx.page.findMany({ where: { workspaceId: `w${id}` }, include: { blocks: true } }));
};

function preparedErrors(manager: AppManager): number {
  const m = manager.getMetrics();
  return (m.errorsByKind['prepared-statement'] ?? 0) + (m.retriesByKind['prepared-statement'] ?? 0);
}

export async function measureStatementModes(
  directUrl: string,
  poolerUrl: string,
  users: number,
  options: { concurrency: number; durationMs: number; rounds: number },
): Promise<StatementModes> {
  const { concurrency, durationMs, rounds } = options;
  const sessionManager = (url: string): AppManager =>
    createConnectionPoolManager({
      createClient: createAppClient,
      env: { DATABASE_URL: url, USE_TRANSACTION_MODE: 'false' },
      pool: { connectionLimit: concurrency },
    });
  const unnamedUrl = new URL(directUrl);
  unnamedUrl.searchParams.set('statement_cache_size', '0');
  const namedUrl = new URL(directUrl);
  namedUrl.searchParams.set('statement_cache_size', '100');
  const named = sessionManager(namedUrl.toString());
  const unnamed = sessionManager(unnamedUrl.toString());
  if (!named.config.statementCache || unnamed.config.statementCache) throw new Error('bench: statement cache settings not as expected');
  const runs = { named: [] as LoopResult[], unnamed: [] as LoopResult[] };
  try {
    for (let r = 0; r < rounds; r++) {
      runs.named.push(await timeLoop(readMix(named, users), concurrency, durationMs));
      runs.unnamed.push(await timeLoop(readMix(unnamed, users), concurrency, durationMs));
    }
  } finally {
    await Promise.all([named.disconnect(), unnamed.disconnect()]);
  }
  const pick = (list: LoopResult[]) => ({
    opsPerS: median(list.map((l) => l.opsPerS)),
    p50Ms: median(list.map((l) => l.latency.p50Ms)),
    p95Ms: median(list.map((l) => l.latency.p95Ms)),
  });

  // Through PgBouncer: the default (unnamed) and named statements the pooler cannot track.
  const pooled = (tracks: boolean): AppManager =>
    createConnectionPoolManager({
      createClient: createAppClient,
      env: { DATABASE_URL: poolerUrl, USE_TRANSACTION_MODE: 'true' },
      pool: { connectionLimit: concurrency, poolerTracksPreparedStatements: tracks },
      retry: { maxAttempts: 1 },
    });
  const through = async (tracks: boolean) => {
    const manager = pooled(tracks);
    try {
      manager.resetMetrics();
      const result = await timeLoop(readMix(manager, users), concurrency, Math.min(durationMs, 3000));
      return { ok: result.ops, failed: result.failed, preparedStatementErrors: preparedErrors(manager) };
    } finally {
      await manager.disconnect();
    }
  };
  const namedStats = pick(runs.named);
  const unnamedStats = pick(runs.unnamed);
  return {
    concurrency,
    rounds,
    named: namedStats,
    unnamed: unnamedStats,
    namedVsUnnamed: round(namedStats.opsPerS / unnamedStats.opsPerS, 3),
    throughPgbouncer: { named: await through(true), unnamed: await through(false) },
  };
}
