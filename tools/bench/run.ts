/**
 * `npm run bench [-- --quick] [-- --update-docs]`: session mode (direct) vs transaction mode
 * (PgBouncer) side by side with N simulated serverless instances, plus overhead figures.
 * Prints tables, writes bench-results/latest.json, and with --update-docs the docs/benchmarks.md section
 * between the bench markers. Benchmarks, not tests: nothing here asserts.
 *
 * Options: --quick (N = 100, 1000; short windows; under 2 minutes), --update-docs (the tables in
 * docs/benchmarks.md and docs/round-trips.md), --cold-start (only the cold-start benchmark,
 * tools/bench/cold-start.ts),
 * --render (no run: rewrite the docs blocks and charts from bench-results/latest.json),
 * --telemetry (only the OpenTelemetry per-call cost; with --update-docs into docs/opentelemetry.md),
 * --n=100,1000 (instance counts), --think-ms=3000 (mean pause between an instance's requests),
 * --window-s=20 (measurement window per run), --client=light|prisma (what each simulated instance runs
 * on: tools/bench/light-client.ts, the default, or a PrismaClient each), --sections=scale,overheads,round-trips,plain-cost
 * (default all; with --update-docs only the docs blocks and charts of the sections run are rewritten),
 * --session-n=100,1000 (the N that also run in session mode; default: all of --n; direct mode past a few
 * thousand instances is a reconnect storm that stalls the simulation itself on a small machine),
 * --connect-timeout-s=N (`connect_timeout` in every simulated instance's URL; default: the package's, 5 s; on
 * a machine whose other load starves the simulated instances' logins, a longer one keeps them from timing out).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { queryOnce } from '../lib/pg.ts';
import { findBinaries } from '../stack/binaries.ts';
import { type LocalStack, startStack } from '../stack/start-stack.ts';
import { writeCharts } from './charts.ts';
import { measureMetricsCost, measureStatementModes, measureWrapperOverhead, runPgbench } from './overheads.ts';
import { measureLoginCostAndSwitch } from './pgbouncer-auth.ts';
import { measurePlainCost, type PlainCostResults, renderPlainCost } from './plain-cost.ts';
import { childrenOf } from './proc-memory.ts';
import type { BenchClient } from './protocol.ts';
import { type BenchResults, computeRatios, renderBlocks, renderMarkdown } from './report.ts';
import { measureRoundTrips, renderRoundTrips, writeRoundTripsDoc } from './round-trips.ts';
import { liveWorkers, runScale, type ScaleResult } from './scale.ts';
import { seed } from './workload.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = (line: string) => console.error(line);

// ---- options -------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = flag('quick');
const ns = (value('n') ?? (quick ? '100,1000' : '100,1000,10000')).split(',').map(Number);
if (ns.some((n) => !(Number.isInteger(n) && n > 0))) throw new Error('bench: --n must be a comma-separated list of positive integers');
const thinkMs = Number(value('think-ms') ?? 3000);
const windowMs = Number(value('window-s') ?? (quick ? 6 : 20)) * 1000;
/**
 * Unless --think-ms is given, the pause grows with N past 1,000 instances so that the offered load stays
 * at what N = 1,000 offers (~333 operations/s, about what this 2-core machine serves): the rows then compare
 * how many instances each mode admits and serves, not how deep a queue grows. The window grows with it so
 * that every instance's first operation falls inside it.
 */
const thinkFor = (n: number): number => (value('think-ms') === undefined ? Math.max(thinkMs, n * 3) : thinkMs);
const windowFor = (n: number): number => Math.max(windowMs, Math.round(thinkFor(n) * 1.5));
const client = (value('client') ?? 'light') as BenchClient;
const sessionNs = value('session-n') === undefined ? null : new Set(value('session-n')?.split(',').map(Number));
const connectTimeoutS = value('connect-timeout-s') === undefined ? undefined : Number(value('connect-timeout-s'));
if (connectTimeoutS !== undefined && !(Number.isInteger(connectTimeoutS) && connectTimeoutS > 0))
  throw new Error('bench: --connect-timeout-s must be a positive integer');
if (client !== 'light' && client !== 'prisma') throw new Error('bench: --client must be light or prisma');
const SECTIONS = ['scale', 'overheads', 'round-trips', 'plain-cost'] as const;
const sections = new Set((value('sections') ?? SECTIONS.join(',')).split(','));
for (const section of sections)
  if (!(SECTIONS as readonly string[]).includes(section))
    throw new Error(`bench: --sections takes ${SECTIONS.join(', ')}; got "${section}"`);
const POOL_SIZE = 40;
const MAX_CONNECTIONS = 100;
const WORKERS = 4;

// ---- cleanup: workers and stacks on every exit -------------------------------------------------
const stacks: LocalStack[] = [];
process.on('exit', () => {
  for (const worker of liveWorkers) worker.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const worker of liveWorkers) worker.kill('SIGKILL');
    // start-stack's own handler stops the stacks and exits; without a stack, exit here.
    if (stacks.length === 0) process.exit(130);
  });
}

function openFilesLimit(): number | null {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || null;
  } catch {
    return null;
  }
}

function versions(directUrlVersion: string): Record<string, string> {
  const require = createRequire(path.join(ROOT, 'package.json'));
  const version = (name: string) => {
    try {
      return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  let pgbouncer = '?';
  try {
    pgbouncer = /PgBouncer (\S+)/.exec(execFileSync(findBinaries().pgbouncer, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    // stays '?'
  }
  return {
    node: process.versions.node,
    postgres: directUrlVersion,
    pgbouncer,
    prisma: version('@prisma/client'),
    adapterPg: version('@prisma/adapter-pg'),
    pg: version('pg'),
  };
}

async function queryOne(url: string, sql: string): Promise<string> {
  const rows = await queryOnce<Record<string, string>>(url, sql);
  return Object.values(rows[0] ?? {})[0] ?? '';
}

/** Waits (bounded) until the previous run's backends are gone, so runs do not overlap. */
async function waitForBackends(stack: LocalStack, atMost: number): Promise<void> {
  const pid = stack.pids().postgres;
  if (pid === null) return;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const titles = childrenOf(pid).map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    });
    if (titles.filter((t) => t.startsWith('postgres: app ')).length <= atMost) return;
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const limitFiles = openFilesLimit();
  const loadStart = os.loadavg()[0] ?? 0;
  let loadMax = loadStart;
  const loadTimer = setInterval(() => {
    loadMax = Math.max(loadMax, os.loadavg()[0] ?? 0);
  }, 1000);
  loadTimer.unref();
  if (loadStart > os.cpus().length) {
    log(`bench: note: load average ${loadStart.toFixed(1)} on ${os.cpus().length} cores; other processes will skew the figures`);
  }
  const maxN = Math.max(...ns);
  const users = Math.max(10_000, maxN);
  // PgBouncer needs a file descriptor per client: keep max_client_conn inside `ulimit -n`.
  const maxClientConn = Math.max(1000, Math.min((limitFiles ?? 10_000) - 200, maxN * 3 + 200));
  const skipped: string[] = [];

  log(`bench: ${quick ? 'quick' : 'full'} run, N = ${ns.join(', ')}, window ${windowMs / 1000} s, think ${thinkMs} ms`);
  const sessionStack = await startStack({ maxConnections: MAX_CONNECTIONS, log });
  stacks.push(sessionStack);
  const pooledStack = await startStack({
    maxConnections: MAX_CONNECTIONS,
    defaultPoolSize: POOL_SIZE,
    maxClientConn,
    // Room for a cold-start wave of connections (Linux caps it at net.core.somaxconn).
    pgbouncerSettings: { listen_backlog: 4096 },
    // Start with plain-text passwords so the login-cost row can compare them with SCRAM verifiers.
    plainTextAuthFile: true,
    log,
  });
  stacks.push(pooledStack);
  try {
    // The session stack's PgBouncer would hold a server connection from its readiness check.
    await sessionStack.stopPgbouncer();
    log(`bench: seeding ${users} users (with workspaces, pages, blocks) on both stacks`);
    await Promise.all([seed(sessionStack.directUrl, users), seed(pooledStack.directUrl, users)]);
    log('bench: PgBouncer login cost, plain-text auth_file vs SCRAM verifiers (the runs below use verifiers)');
    const loginCost = await measureLoginCostAndSwitch(pooledStack, quick ? 100 : 500);
    const superuserReserved = Number(await queryOne(sessionStack.superuserUrl, 'SHOW superuser_reserved_connections'));
    const postgresVersion = (await queryOne(sessionStack.superuserUrl, 'SHOW server_version')).split(' ')[0] ?? '?';

    const scale: ScaleResult[] = [];
    // A first guess until a run measures it: a PrismaClient per instance takes a few MB, a light client a few hundred KB.
    let rssPerInstanceMb = client === 'prisma' ? 2 : 0.5;
    let lastN = 0;
    for (const wanted of sections.has('scale') ? ns : []) {
      // Worker memory grows with N (a Prisma client and pool per instance, ~2-3 MB each): go as far as this
      // machine's free memory allows, with a margin, instead of running into the OOM killer.
      const freeMb = os.freemem() / 1024 / 1024;
      const needMb = (n: number) => n * rssPerInstanceMb * 1.3 + 1024;
      let n = wanted;
      if (needMb(wanted) > freeMb) {
        const fits = Math.floor((freeMb - 1024) / (rssPerInstanceMb * 1.3) / 500) * 500;
        skipped.push(
          `N = ${wanted.toLocaleString('en-US')}: the simulated instances would need about ${Math.round(needMb(wanted) / 1024)} GiB (${rssPerInstanceMb.toFixed(1)} MB each, measured at N = ${lastN.toLocaleString('en-US')}), ${Math.round(freeMb / 1024)} GiB are free${fits > lastN ? `; ran N = ${fits.toLocaleString('en-US')} instead` : ''}`,
        );
        log(`bench: N=${wanted} does not fit in memory${fits > lastN ? `; running N=${fits} instead` : ''}`);
        if (fits <= lastN) continue;
        n = fits;
      }
      if (n + POOL_SIZE + 50 > maxClientConn) {
        skipped.push(`N = ${n} pooled: PgBouncer max_client_conn ${maxClientConn} (bounded by ulimit -n ${limitFiles}) is below N`);
        continue;
      }
      const common = {
        instances: n,
        workers: n <= 100 ? 2 : WORKERS,
        // A cold-start wave, 12 ms between instances, at most 120 s: a first request costs the simulated instance
        // ~17 ms of CPU here (SCRAM's PBKDF2, Prisma's engine start), and all instances share 2 cores.
        rampMs: Math.min(120_000, Math.max(1000, n * 12)),
        warmupCapMs: 60_000 + Math.min(120_000, n * 12),
        thinkMs: thinkFor(n),
        windowMs: windowFor(n),
        graceMs: 15_000,
        connectTimeoutS,
        log,
      };
      if (sessionNs === null || sessionNs.has(wanted)) {
        await waitForBackends(sessionStack, 0);
        log(`bench: N=${n} session mode (direct to Postgres)`);
        scale.push(await runScale(sessionStack, { ...common, client, mode: 'session', maxPoolSize: MAX_CONNECTIONS - superuserReserved }));
      } else {
        skipped.push(
          `N = ${n.toLocaleString('en-US')} in session mode (\`--session-n\`): ${n.toLocaleString('en-US')} instances reconnecting straight to Postgres stall the simulation itself on this machine (its worker processes stop answering), so only the pooled row ran`,
        );
      }
      log(`bench: N=${n} transaction mode (PgBouncer)`);
      const pooled = await runScale(pooledStack, { ...common, client, mode: 'transaction', maxPoolSize: POOL_SIZE });
      scale.push(pooled);
      // From the largest run so far: small runs overstate it (fixed costs spread over few instances). The
      // light client's is taken after the warm-up: what the instances hold, not the window's latency samples and garbage.
      const heldMb = client === 'prisma' ? pooled.workerRssMb : pooled.readyWorkerRssMb;
      rssPerInstanceMb = Math.max(client === 'prisma' ? 1 : 0.1, (heldMb - pooled.idleWorkerRssMb) / n);
      lastN = n;
    }

    const overheads = sections.has('overheads') ? await measureOverheads(sessionStack, pooledStack, users) : null;
    let roundTrips: Awaited<ReturnType<typeof measureRoundTrips>> | null = null;
    if (sections.has('round-trips')) {
      log('bench: round trips at RTT 0, 2, 20 ms and interleaved overhead ratios (tools/bench/round-trips.ts)');
      roundTrips = await measureRoundTrips(pooledStack, users, quick, log);
    }
    let plainCost: PlainCostResults | null = null;
    if (sections.has('plain-cost')) {
      log('bench: a plain call through manager.prisma against the bare client and a no-op $extends (tools/bench/plain-cost.ts)');
      plainCost = await measurePlainCost(pooledStack, users, quick, log, `npm run bench -- ${argv.join(' ')}`);
    }

    const results: BenchResults = {
      generatedAt: new Date().toISOString(),
      argv,
      quick,
      durationS: Math.round((Date.now() - started) / 1000),
      environment: {
        cores: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? '?',
        memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
        openFilesLimit: limitFiles,
        loadAverage: { start: loadStart, end: os.loadavg()[0] ?? null, maxSeen: Math.max(loadMax, os.loadavg()[0] ?? 0) },
        versions: versions(postgresVersion),
      },
      settings: {
        maxConnections: MAX_CONNECTIONS,
        superuserReserved,
        pgbouncerPoolSize: POOL_SIZE,
        pgbouncerMaxClientConn: maxClientConn,
        thinkMs,
        windowMs,
        users,
        connectTimeoutS: connectTimeoutS ?? null,
      },
      scale,
      ratios: computeRatios(scale),
      loginCost,
      wrapperOverhead: overheads?.wrapperOverhead ?? null,
      metricsCost: overheads?.metricsCost ?? null,
      pgbench: overheads?.pgbench ?? null,
      statements: overheads?.statements ?? null,
      skipped,
    };
    console.log(renderMarkdown(results));
    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench-results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    log('bench: wrote bench-results/latest.json');
    if (roundTrips) {
      console.log(renderRoundTrips(roundTrips));
      writeFileSync(path.join(ROOT, 'bench-results/round-trips.json'), `${JSON.stringify(roundTrips, null, 2)}\n`);
    }
    if (plainCost) {
      console.log(renderPlainCost(plainCost));
      writeFileSync(path.join(ROOT, 'bench-results/plain-cost.json'), `${JSON.stringify(plainCost, null, 2)}\n`);
    }
    if (flag('update-docs')) {
      if (roundTrips) {
        writeRoundTripsDoc(roundTrips);
        log('bench: updated docs/round-trips.md (round-trip tables)');
      }
      if (plainCost) {
        updateGeneratedBlocks('docs/round-trips.md', { 'plain-cost': renderPlainCost(plainCost) });
        log('bench: updated docs/round-trips.md (plain-call cost)');
      }
      const blocks = renderBlocks(results);
      if (Object.keys(blocks).length > 0) {
        updateGeneratedBlocks('docs/benchmarks.md', blocks);
        log(`bench: updated docs/benchmarks.md (${Object.keys(blocks).join(', ')})`);
      }
      for (const file of await writeCharts(results, roundTrips)) log(`bench: wrote ${file}`);
    }
  } finally {
    for (const worker of liveWorkers) worker.kill('SIGKILL');
    await Promise.allSettled(stacks.map((s) => s.stop()));
  }
}

async function measureOverheads(sessionStack: LocalStack, pooledStack: LocalStack, users: number) {
  log('bench: overheads (wrapper vs raw, metrics record, pgbench, prepared statements)');
  const overheadOptions = quick ? { concurrency: 8, durationMs: 1000, rounds: 1 } : { concurrency: 8, durationMs: 2000, rounds: 5 };
  const wrapperOverhead = await measureWrapperOverhead(pooledStack.poolerUrl, users, overheadOptions);
  const metricsCost = measureMetricsCost(quick ? 300_000 : 2_000_000);
  const pgbench = await runPgbench(pooledStack.poolerUrl, users, {
    concurrency: 8,
    seconds: quick ? 2 : 10,
    withPoolingOpsPerS: wrapperOverhead.opsPerS.withPooling,
  });
  const statements = await measureStatementModes(sessionStack.directUrl, pooledStack.poolerUrl, users, {
    concurrency: 8,
    durationMs: quick ? 1000 : 2000,
    rounds: quick ? 1 : 4,
  });

  return { wrapperOverhead, metricsCost, pgbench, statements };
}

/**
 * `--render`: no run; the docs blocks and charts of bench-results/latest.json (the last run's own output)
 * are written again, for a change to the report's wording or the charts' design.
 */
async function renderOnly(): Promise<void> {
  const results = JSON.parse(readFileSync(path.join(ROOT, 'bench-results/latest.json'), 'utf8')) as BenchResults;
  const blocks = renderBlocks(results);
  updateGeneratedBlocks('docs/benchmarks.md', blocks);
  log(`bench: updated docs/benchmarks.md (${Object.keys(blocks).join(', ')}) from bench-results/latest.json (${results.generatedAt})`);
  for (const file of await writeCharts(results, null)) log(`bench: wrote ${file}`);
}

// `--cold-start`: only the cold-start benchmark (tools/bench/cold-start.ts; its options are listed there).
// `--telemetry`: only the OpenTelemetry per-call cost (tools/bench/telemetry-cost.ts).
const entry = flag('render')
  ? renderOnly
  : flag('cold-start')
    ? () => import('./cold-start.ts').then((bench) => bench.runColdStart(argv))
    : flag('telemetry')
      ? () => import('./telemetry-cost.ts').then((bench) => bench.main(argv))
      : main;
entry().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
