/**
 * A consumer app outside the repository, as a user has it: the package from `npm pack` (which runs
 * `prepack`: the build), installed with the same Prisma, adapter-pg and pg versions as this repository,
 * this repository's schema generated into the app and compiled to JavaScript, and a child script that
 * runs on plain `node` (no tsx, no TypeScript loader). For the cold-start bench (tools/bench/cold-start.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generateAndCompile } from '../lib/consumer-build.ts';
import { REPO_ROOT } from '../lib/markers.ts';

const run = promisify(execFile);

export interface ConsumerApp {
  readonly dir: string;
  /** The child script (plain ESM JavaScript) in the app. */
  readonly child: string;
  /** The package version the app installed (from the tarball). */
  readonly tarball: string;
  remove(): void;
}

const version = (name: string): string =>
  (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * One cold start (see cold-start.ts for the arms). The bare-Prisma arms import an empty module where the
 * package arms import the package, so the package's own share of that import can be told apart. Prints one JSON line:
 * `{ prismaImportMs, importMs, importCpuMs, firstMs, firstCpuMs, warmMs[] }`: ms of wall time (`performance.now()`)
 * and of the process's CPU time (`process.cpuUsage()`, which other processes on a shared machine disturb far less).
 */
const CHILD = `import { setTimeout as sleep } from 'node:timers/promises';
const arm = process.env.ARM;
const databaseUrl = process.env.DATABASE_URL;
const arrivalMs = Number(process.env.ARRIVAL_MS ?? 1000);
const warmRequests = Number(process.env.WARM_REQUESTS ?? 5);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const timed = async (fn) => { const c = cpu(); const t = performance.now(); const value = await fn(); return [value, performance.now() - t, cpu() - c]; };
// Prisma's own modules first, in every arm: the package's import is then its own share.
const [[{ PrismaClient }, { PrismaPg }], prismaImportMs] = await timed(() =>
  Promise.all([import('./build/generated/prisma/client.js'), import('@prisma/adapter-pg')]));
let importMs = null;
let importCpuMs = null;
let call;
let close;
if (arm === 'prisma' || arm === 'prisma-transaction') {
  // The same point, an empty module: what any import there pays (the loader, and work Prisma's modules left running).
  [, importMs, importCpuMs] = await timed(() => import('./empty.mjs'));
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  call = arm === 'prisma' ? () => prisma.user.findFirst() : () => prisma.$transaction((tx) => tx.user.findFirst());
  close = () => prisma.$disconnect();
} else {
  const [pkg, ms, cpuMs] = await timed(() => import('prisma-pgbouncer-pooling'));
  importMs = ms;
  importCpuMs = cpuMs;
  // package-own: a stub in place of Prisma (no query compiler, no connection), so that what is timed is this package's own code.
  const stub = { $transaction: async (fn) => fn({ user: { findFirst: async () => null } }), $disconnect: async () => {} };
  const manager = pkg.createConnectionPoolManager({
    createClient: arm === 'package-own' ? () => stub : (adapter) => new PrismaClient({ adapter }),
    env: { DATABASE_URL: databaseUrl, USE_TRANSACTION_MODE: 'true' },
    warmupQuery: arm === 'package-warmup-query' ? (tx) => tx.user.findFirst() : undefined,
  });
  if (arm === 'package-warmup' || arm === 'package-warmup-query') void manager.warmup();
  call = arm === 'package-write' || arm === 'package-own'
    ? () => manager.withPooling((tx) => tx.user.findFirst())
    : arm === 'package-plain'
      ? () => manager.prisma.user.findFirst()
      : () => manager.readWithPooling((tx) => tx.user.findFirst());
  close = async () => {
    const { warmupFailures } = manager.getMetrics();
    await manager.disconnect();
    if (warmupFailures > 0) throw new Error('warmup failed ' + warmupFailures + ' time(s)');
  };
}
await sleep(arrivalMs);
const [, firstMs, firstCpuMs] = await timed(call);
const warmMs = [];
for (let i = 0; i < warmRequests; i++) warmMs.push((await timed(call))[1]);
await close();
console.log(JSON.stringify({ prismaImportMs, importMs, importCpuMs, firstMs, firstCpuMs, warmMs }));
`;

export async function createConsumerApp(log: (line: string) => void): Promise<ConsumerApp> {
  const packDir = mkdtempSync(path.join(os.tmpdir(), 'ppp-bench-pack-'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ppp-bench-consumer-'));
  const remove = () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(packDir, { recursive: true, force: true });
  };
  try {
    log('cold-start: npm pack (runs the build)');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: REPO_ROOT, maxBuffer: 1 << 26 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
    if (!packed) throw new Error('npm pack printed no result');
    const tarball = path.join(packDir, packed.filename);
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'cold-start-consumer', private: true, type: 'module' }));
    log(`cold-start: installing ${packed.filename} and Prisma ${version('@prisma/client')} into ${dir}`);
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        tarball,
        `@prisma/client@${version('@prisma/client')}`,
        `@prisma/adapter-pg@${version('@prisma/adapter-pg')}`,
        `pg@${version('pg')}`,
        `prisma@${version('prisma')}`,
      ],
      { cwd: dir, maxBuffer: 1 << 26 },
    );
    // This repository's schema, generated into the app and compiled to plain JavaScript with its own tsconfig.
    await generateAndCompile(dir);
    const child = path.join(dir, 'child.mjs');
    writeFileSync(child, CHILD);
    writeFileSync(path.join(dir, 'empty.mjs'), 'export {};\n');
    return { dir, child, tarball: packed.filename, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
