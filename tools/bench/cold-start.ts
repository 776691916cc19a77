/**
 * `npm run bench -- --cold-start`: what a fresh instance pays before its first answer, and what
 * `warmup()` saves. Each run is a fresh `node` process (tools/bench/cold-start-child.ts): import,
 * wait ARRIVAL_MS (the instance idles until its first request), first request, then warm ones.
 * Arms run interleaved (run i of every arm, then run i+1) so machine noise spreads over all of them,
 * at RTT 0 (PgBouncer on loopback) and RTT 20 ms (tools/stack/faults/tcp-proxy.ts, 10 ms each way).
 * Writes bench-results/cold-start.json and the table between the cold-start markers of
 * docs/serverless-platforms.md. A benchmark, not a test: nothing here asserts.
 *
 * Options: --runs=N (default 7; --quick 3), --arrival-ms=1000, --module=dist/index.js (the package
 * entry: the build, `npm run build` first; `--module=src/index.ts` measures the sources through
 * tsx without building), --no-docs (print only).
 * Loaders: the import rows load a `.js` entry with plain `node` and a `.ts` entry through
 * `node --import tsx` (Node 20 cannot strip types; tsx transforms at load, cached on disk, and
 * costs per file). The request rows always run under tsx: the child and this repository's generated
 * Prisma client are TypeScript, for every arm alike, bare Prisma included.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { intArg, usageError } from '../lib/args.ts';
import { REPO_ROOT as ROOT, updateGeneratedBlocks } from '../lib/markers.ts';
import { startProxy } from '../stack/faults/index.ts';
import { startStack } from '../stack/start-stack.ts';
import { seed } from './workload.ts';

const CHILD = fileURLToPath(new URL('./cold-start-child.ts', import.meta.url));
const DOC = 'docs/serverless-platforms.md';
const log = (line: string) => console.error(line);

const REQUEST_ARMS = ['prisma', 'package', 'package-warmup', 'package-warmup-query'] as const;
const IMPORT_ARMS = ['import', 'import-own'] as const;
type RequestArm = (typeof REQUEST_ARMS)[number];
type Arm = RequestArm | (typeof IMPORT_ARMS)[number];

const LABELS: Record<Arm, string> = {
  prisma: 'bare Prisma (PrismaClient + PrismaPg), first `findFirst`',
  package: 'package, first `readWithPooling`, no warmup',
  'package-warmup': 'package, `void warmup()` at start, first `readWithPooling`',
  'package-warmup-query': 'package, `warmup()` + `warmupQuery`, first `readWithPooling`',
  import: 'import of the package entry (with pg, adapter-pg, debug)',
  'import-own': "import of the package entry, its dependencies already loaded (the package's own code)",
};

interface Sample {
  importMs: number;
  firstMs?: number;
  warmMs?: number[];
}

export interface ColdStartOptions {
  runs: number;
  arrivalMs: number;
  module: string;
  writeDocs: boolean;
}

function parseOptions(argv: readonly string[]): ColdStartOptions {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const runs = intArg('--runs', value('runs'), argv.includes('--quick') ? 3 : 7);
  const arrivalMs = intArg('--arrival-ms', value('arrival-ms'), 1000, { min: 0 });
  const module = path.resolve(ROOT, value('module') ?? 'dist/index.js');
  if (!/\.(ts|js|mjs)$/.test(module)) usageError(`--module must be a .ts, .js or .mjs file, got "${module}"`);
  if (!existsSync(module))
    usageError(`--module ${path.relative(ROOT, module)} does not exist (run \`npm run build\` first, or pass --module=src/index.ts)`);
  return { runs, arrivalMs, module, writeDocs: !argv.includes('--no-docs') };
}

function runChild(options: ColdStartOptions, arm: Arm, databaseUrl: string): Promise<Sample> {
  const tsx = ['--import', 'tsx'];
  // Import rows: a tiny inline script, so a built entry is measured without any loader at all.
  const importScript = `${arm === 'import-own' ? "await Promise.all([import('pg'), import('@prisma/adapter-pg'), import('debug')]);" : ''}
    const t = performance.now(); await import(${JSON.stringify(pathToFileURL(options.module).href)});
    console.log(JSON.stringify({ importMs: performance.now() - t }));`;
  const args = (IMPORT_ARMS as readonly string[]).includes(arm)
    ? [...(options.module.endsWith('.ts') ? tsx : []), '--input-type=module', '-e', importScript]
    : [...tsx, CHILD];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ARM: arm, MODULE: options.module, DATABASE_URL: databaseUrl, ARRIVAL_MS: String(options.arrivalMs), DEBUG: '' },
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
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
/** `median (min–max)` */
const spread = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;

interface ArmResult {
  arm: Arm;
  rttMs: number;
  importMs: number[];
  firstMs: number[];
  /** Per run: the median of that run's warm requests. */
  warmMs: number[];
  /** Per run: first ÷ that run's warm median. */
  ratio: number[];
}

export interface ColdStartResults {
  generatedAt: string;
  options: Omit<ColdStartOptions, 'writeDocs'>;
  /** How the import rows loaded the entry. */
  importLoader: 'tsx' | 'node';
  environment: { node: string; cores: number; loadAverage: { start: number; end: number } };
  results: ArmResult[];
}

export function renderColdStart(r: ColdStartResults): string {
  const rel = path.relative(ROOT, r.options.module);
  const lines = [
    `Measured ${r.generatedAt.slice(0, 10)} on ${r.environment.cores} shared cores (load average ${r.environment.loadAverage.start.toFixed(1)} → ${r.environment.loadAverage.end.toFixed(1)}), Node ${r.environment.node}, ` +
      `${r.options.runs} fresh processes per row, arms interleaved; entry \`${rel}\`; import rows ${r.importLoader === 'tsx' ? 'through `node --import tsx` (TypeScript transformed at load, from its cache)' : 'by plain `node`'}, request rows under tsx (the generated client is TypeScript); ` +
      `the first request arrives ${r.options.arrivalMs} ms after the imports. Times in ms: median (min–max). ` +
      '"warm" is the median of the 5 requests after the first in the same process; "first ÷ warm" is per run, then the median.',
    '',
    '| RTT | what | import | first request | warm request | first ÷ warm |',
    '|---:|---|---:|---:|---:|---:|',
  ];
  for (const x of r.results.filter((x) => (REQUEST_ARMS as readonly string[]).includes(x.arm))) {
    lines.push(
      `| ${x.rttMs} ms | ${LABELS[x.arm]} | ${spread(x.importMs)} | ${spread(x.firstMs)} | ${spread(x.warmMs)} | ${median(x.ratio).toFixed(2)}× |`,
    );
  }
  lines.push('', '| import cost | ms |', '|---|---:|');
  for (const x of r.results.filter((x) => (IMPORT_ARMS as readonly string[]).includes(x.arm))) {
    lines.push(`| ${LABELS[x.arm]} | ${spread(x.importMs)} |`);
  }
  return lines.join('\n');
}

export async function runColdStart(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  const loadStart = os.loadavg()[0] ?? 0;
  log(`cold-start: ${options.runs} runs per arm, arrival ${options.arrivalMs} ms, entry ${options.module}`);
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
        found = { arm, rttMs, importMs: [], firstMs: [], warmMs: [], ratio: [] };
        results.push(found);
      }
      return found;
    };
    // One discarded run per RTT: PgBouncer opens its server connections and the OS caches the files.
    for (const [, url] of urls) await runChild(options, 'package-warmup', url);
    for (let run = 1; run <= options.runs; run++) {
      log(`cold-start: run ${run}/${options.runs}`);
      for (const [rttMs, url] of urls) {
        for (const arm of REQUEST_ARMS) {
          const sample = await runChild(options, arm, url);
          const x = slot(arm, rttMs);
          const warm = median(sample.warmMs ?? []);
          x.importMs.push(sample.importMs);
          x.firstMs.push(sample.firstMs ?? Number.NaN);
          x.warmMs.push(warm);
          x.ratio.push((sample.firstMs ?? Number.NaN) / warm);
        }
      }
      for (const arm of IMPORT_ARMS) slot(arm, 0).importMs.push((await runChild(options, arm, stack.poolerUrl)).importMs);
    }
    const output: ColdStartResults = {
      generatedAt: new Date().toISOString(),
      options: { runs: options.runs, arrivalMs: options.arrivalMs, module: options.module },
      importLoader: options.module.endsWith('.ts') ? 'tsx' : 'node',
      environment: { node: process.versions.node, cores: os.cpus().length, loadAverage: { start: loadStart, end: os.loadavg()[0] ?? 0 } },
      results,
    };
    const markdown = renderColdStart(output);
    console.log(markdown);
    mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(path.join(ROOT, 'bench-results/cold-start.json'), `${JSON.stringify(output, null, 2)}\n`);
    if (options.writeDocs) {
      updateGeneratedBlocks(DOC, { 'cold-start': markdown });
      log(`cold-start: updated ${DOC}`);
    }
  } finally {
    await proxy.close();
    await stack.stop();
  }
}
