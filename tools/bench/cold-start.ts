/**
 * `npm run bench -- --cold-start`: what a fresh instance pays before its first answer, the package's
 * share of it, and what `warmup()` saves. Measured on the package as users get it: `npm pack` (the
 * build), installed into a consumer app outside the repository (tools/bench/consumer-app.ts), each run a
 * fresh plain `node` process (no tsx): Prisma's modules are imported first, then the package (its own
 * import time), the instance idles ARRIVAL_MS (its first request "arrives a moment later"), then the
 * first request and warm ones. Arms run interleaved (run i of every arm, then run i+1), so machine noise
 * spreads over all of them and run i of an arm can be paired with run i of bare Prisma, at RTT 0
 * (PgBouncer on loopback) and RTT 20 ms (tools/stack/faults/tcp-proxy.ts, 10 ms each way).
 * Writes bench-results/cold-start.json and the tables between the cold-start markers of
 * docs/cold-start.md (once: other pages link it). A benchmark, not a test: nothing here asserts.
 *
 * Options: --runs=N (default 15; --quick 3), --arrival-ms=1000, --no-docs (print only).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { intArg } from '../lib/args.ts';
import { REPO_ROOT as ROOT, updateGeneratedBlocks } from '../lib/markers.ts';
import { startProxy } from '../stack/faults/index.ts';
import { startStack } from '../stack/start-stack.ts';
import { type ConsumerApp, createConsumerApp } from './consumer-app.ts';
import { seed } from './workload.ts';

const DOCS = ['docs/cold-start.md'];
const SETTLE_MS = 250;
const log = (line: string) => console.error(line);

const ARMS = [
  'prisma',
  'prisma-transaction',
  'package-plain',
  'package',
  'package-write',
  'package-warmup',
  'package-warmup-query',
  'package-own',
] as const;
type Arm = (typeof ARMS)[number];

const LABELS: Record<Arm, string> = {
  prisma: 'bare Prisma (PrismaClient + PrismaPg), first `findFirst`',
  'prisma-transaction': 'bare Prisma, first interactive `$transaction` with one `findFirst`',
  'package-plain': 'package, first plain `manager.prisma.user.findFirst()`, no warmup',
  package: 'package, first `readWithPooling`, no warmup',
  'package-write': 'package, first `withPooling`, no warmup',
  'package-warmup': 'package, `void warmup()` at start, first `readWithPooling`',
  'package-warmup-query': 'package, `warmup()` + `warmupQuery`, first `readWithPooling`',
  'package-own': "package's own code alone: first `withPooling` on a stub client (no Prisma, no connection)",
};

interface Sample {
  prismaImportMs: number;
  importMs: number | null;
  importCpuMs: number | null;
  firstMs: number;
  firstCpuMs: number;
  warmMs: number[];
}

export interface ColdStartOptions {
  runs: number;
  arrivalMs: number;
  writeDocs: boolean;
}

function parseOptions(argv: readonly string[]): ColdStartOptions {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const runs = intArg('--runs', value('runs'), argv.includes('--quick') ? 3 : 15);
  const arrivalMs = intArg('--arrival-ms', value('arrival-ms'), 1000, { min: 0 });
  return { runs, arrivalMs, writeDocs: !argv.includes('--no-docs') };
}

function runChild(app: ConsumerApp, options: ColdStartOptions, arm: Arm, databaseUrl: string): Promise<Sample> {
  const child = spawn(process.execPath, [app.child], {
    cwd: app.dir,
    env: { ...process.env, ARM: arm, DATABASE_URL: databaseUrl, ARRIVAL_MS: String(options.arrivalMs), DEBUG: '', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    timer.unref();
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`cold-start child ${arm} exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Sample);
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (ms: number) => (Math.abs(ms) >= 100 ? ms.toFixed(0) : ms.toFixed(1));
/** `median (min–max)` */
const spread = (xs: number[]) => (xs.length === 0 ? '–' : `${fmt(median(xs))} (${fmt(Math.min(...xs))} – ${fmt(Math.max(...xs))})`);

interface ArmResult {
  arm: Arm;
  rttMs: number;
  prismaImportMs: number[];
  /** The package's import after Prisma's modules (empty for bare Prisma). */
  importMs: number[];
  /** The same in CPU time of the process. */
  importCpuMs: number[];
  firstMs: number[];
  firstCpuMs: number[];
  /** Per run: the median of that run's warm requests. */
  warmMs: number[];
  /** Per run: first ÷ that run's warm median. */
  ratio: number[];
}

export interface ColdStartResults {
  generatedAt: string;
  options: Omit<ColdStartOptions, 'writeDocs'>;
  tarball: string;
  environment: { node: string; cores: number; loadAverage: { start: number; end: number } };
  results: ArmResult[];
}

/** Run i of `arm` minus run i of bare Prisma (`base`) at the same RTT (the runs were interleaved, so they are neighbours in time). */
function pairedOverBare(
  r: ColdStartResults,
  arm: Arm,
  rttMs: number,
  field: 'firstMs' | 'firstCpuMs',
  base: 'prisma' | 'prisma-transaction' = 'prisma',
): number[] {
  const bare = r.results.find((x) => x.arm === base && x.rttMs === rttMs);
  const ours = r.results.find((x) => x.arm === arm && x.rttMs === rttMs);
  if (!bare || !ours) return [];
  return (ours[field] ?? []).map((ms, i) => ms - (bare[field]?.[i] ?? Number.NaN)).filter(Number.isFinite);
}

export function renderColdStart(r: ColdStartResults): string {
  const rtts = [...new Set(r.results.map((x) => x.rttMs))];
  const bareRows = r.results.filter((x) => x.arm === 'prisma' || x.arm === 'prisma-transaction');
  const packageRows = r.results.filter((x) => !bareRows.includes(x));
  const lines = [
    `Measured ${r.generatedAt.slice(0, 10)} with \`npm run bench -- --cold-start\` on ${r.environment.cores} shared cores (load average ${r.environment.loadAverage.start.toFixed(1)} → ${r.environment.loadAverage.end.toFixed(1)}), Node ${r.environment.node}: ` +
      `\`${r.tarball}\` from \`npm pack\`, installed in a consumer app outside the repository and run by plain \`node\`; ${r.options.runs} fresh processes per row, arms interleaved; ` +
      `Prisma's modules (the generated client, adapter-pg) are imported first, then the package; the first request arrives ${r.options.arrivalMs} ms after the imports; ${SETTLE_MS} ms pass between processes. The URL is the local stack's, without \`sslmode\`: the package's default, \`prefer\`, sends the server an SSLRequest first (one round trip more than bare Prisma, whose pg does not ask), as Prisma 6 and libpq do. Times in ms: median (min – max). ` +
      '"warm" is the median of the 5 requests after the first in the same process; "first ÷ warm" is per run, then the median.',
    '',
    "The package's share of a cold start:",
    '',
    '| what | wall ms | CPU ms |',
    '|---|---:|---:|',
    `| import of the package, Prisma's modules already loaded (every package row) | ${spread(packageRows.flatMap((x) => x.importMs))} | ${spread(packageRows.flatMap((x) => x.importCpuMs))} |`,
    `| import of an empty module at the same point (every bare-Prisma row): the loader, and the work Prisma's modules left running, which any import there pays | ${spread(bareRows.flatMap((x) => x.importMs))} | ${spread(bareRows.flatMap((x) => x.importCpuMs))} |`,
    `| the package's own import: the two medians above, subtracted | ${fmt(median(packageRows.flatMap((x) => x.importMs)) - median(bareRows.flatMap((x) => x.importMs)))} | ${fmt(median(packageRows.flatMap((x) => x.importCpuMs)) - median(bareRows.flatMap((x) => x.importCpuMs)))} |`,
  ];
  const own = r.results.filter((x) => x.arm === 'package-own');
  lines.push(
    `| the package's own code in its first \`withPooling\`: a stub in place of PrismaClient, so no query compiler and no connection (config, pool, adapter, retry, metrics) | ${spread(own.flatMap((x) => x.firstMs))} | ${spread(own.flatMap((x) => x.firstCpuMs))} |`,
  );
  for (const rtt of rtts) {
    for (const [arm, call, base] of [
      ['package-plain', 'manager.prisma.user.findFirst()', 'prisma'],
      ['package', 'readWithPooling', 'prisma'],
      ['package-write', 'withPooling', 'prisma'],
      ['package', 'readWithPooling', 'prisma-transaction'],
      ['package-write', 'withPooling', 'prisma-transaction'],
    ] as const) {
      const what = base === 'prisma' ? "bare Prisma's first `findFirst`" : "bare Prisma's first interactive `$transaction` (like for like)";
      lines.push(
        `| first \`${call}\` minus ${what}, run by run, RTT ${rtt} ms | ${spread(pairedOverBare(r, arm, rtt, 'firstMs', base))} | ${spread(pairedOverBare(r, arm, rtt, 'firstCpuMs', base))} |`,
      );
    }
  }
  lines.push(
    '',
    "CPU ms is the process's own CPU time over the same interval: other processes on a shared machine stretch wall times far more than they stretch it.",
  );
  lines.push(
    '',
    "| RTT | what | Prisma's modules | package import (bare Prisma: an empty module) | first request | warm request | first ÷ warm |",
    '|---:|---|---:|---:|---:|---:|---:|',
  );
  for (const x of r.results) {
    lines.push(
      `| ${x.rttMs} ms | ${LABELS[x.arm]} | ${spread(x.prismaImportMs)} | ${spread(x.importMs)} | ${spread(x.firstMs)} | ${spread(x.warmMs)} | ${median(x.ratio).toFixed(2)}× |`,
    );
  }
  return lines.join('\n');
}

export async function runColdStart(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  const loadStart = os.loadavg()[0] ?? 0;
  log(`cold-start: ${options.runs} runs per arm, arrival ${options.arrivalMs} ms`);
  const app = await createConsumerApp(log);
  const stack = await startStack({ log });
  const proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort, mode: { delayMs: 10 } });
  try {
    await seed(stack.directUrl, 100);
    const urls: [number, string][] = [
      [0, stack.poolerUrl],
      [20, proxy.url(stack.poolerUrl)],
    ];
    const results: ArmResult[] = [];
    const slot = (arm: Arm, rttMs: number): ArmResult => {
      let found = results.find((x) => x.arm === arm && x.rttMs === rttMs);
      if (!found) {
        found = { arm, rttMs, prismaImportMs: [], importMs: [], importCpuMs: [], firstMs: [], firstCpuMs: [], warmMs: [], ratio: [] };
        results.push(found);
      }
      return found;
    };
    // One discarded run per RTT: PgBouncer opens its server connections and the OS caches the files.
    for (const [, url] of urls) await runChild(app, options, 'package-warmup', url);
    for (let run = 1; run <= options.runs; run++) {
      log(`cold-start: run ${run}/${options.runs}`);
      for (const [rttMs, url] of urls) {
        for (const arm of ARMS) {
          const sample = await runChild(app, options, arm, url);
          // Let the previous process's disconnect work (PgBouncer, Postgres) finish before the next one
          // starts: on 2 shared cores it otherwise lands in the next process's import and first call.
          await sleep(SETTLE_MS);
          const x = slot(arm, rttMs);
          const warm = median(sample.warmMs);
          x.prismaImportMs.push(sample.prismaImportMs);
          if (sample.importMs !== null) x.importMs.push(sample.importMs);
          if (sample.importCpuMs !== null) x.importCpuMs.push(sample.importCpuMs);
          x.firstMs.push(sample.firstMs);
          x.firstCpuMs.push(sample.firstCpuMs);
          x.warmMs.push(warm);
          x.ratio.push(sample.firstMs / warm);
        }
      }
    }
    const output: ColdStartResults = {
      generatedAt: new Date().toISOString(),
      options: { runs: options.runs, arrivalMs: options.arrivalMs },
      tarball: app.tarball,
      environment: { node: process.versions.node, cores: os.cpus().length, loadAverage: { start: loadStart, end: os.loadavg()[0] ?? 0 } },
      results,
    };
    const markdown = renderColdStart(output);
    console.log(markdown);
    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench-results/cold-start.json'), `${JSON.stringify(output, null, 2)}\n`);
    if (options.writeDocs) {
      for (const doc of DOCS) {
        updateGeneratedBlocks(doc, { 'cold-start': markdown });
        log(`cold-start: updated ${doc}`);
      }
    }
  } finally {
    await proxy.close();
    await stack.stop();
    app.remove();
  }
}
