/**
 * `npm run matrix`: the consumer side of the version matrix of docs/supported-versions.md. For the
 * oldest and newest supported @prisma/client + prisma, @prisma/adapter-pg and pg (./versions.ts), and
 * for PgBouncer 1.18 (the system's) and a current 1.2x (PGPOOL_PGBOUNCER_BIN_NEW, built by
 * tools/stack/build-pgbouncer.sh), it installs the packed package with those versions into a scratch
 * app outside the repository (never the root node_modules), generates this repository's schema
 * there, and runs a consumer scenario on plain `node` against a fresh local stack: plain writes
 * (`manager.prisma`) and wrapped writes (`withPooling`), each a nested create (a user with two posts:
 * one Prisma transaction), for a few seconds while the runner cuts connections every few hundred ms.
 * Each leg names its fault; all use PgBouncer's `KILL app` + `RESUME app`, sent once no client is
 * mid-login (`kill-no-login`). `--fault kill` (plain KILL) and `--fault terminate`
 * (`pg_terminate_backend` of the server connections) are there to reproduce and compare: repeated
 * KILLs segfaulted PgBouncer 1.18 and 1.24.1 (pgbouncer/pgbouncer#1401; counts and reproduction in
 * docs/supported-versions.md). Either way a statement or COMMIT in flight is lost. The database then
 * settles every write: 0 written-but-reported-failed and 0 lost are required, a PgBouncer that exited
 * fails the leg, and a Prisma client below the supported range must fail at its first call with an
 * IncompatibleDependencyError. The repository's own integration suite on the oldest versions is
 * ./oldest-suite.ts (`npm run matrix:oldest`).
 *
 *   npm run matrix [-- --seconds 8] [--cut-every-ms 300] [--legs 1,3] [--repeat 3]
 *                  [--fault kill|kill-no-login|terminate] [--keep] [--json]
 * Env: PGPOOL_PGBOUNCER_BIN_NEW (the current PgBouncer; legs that need it fail without it).
 * Exit code 1 when any leg fails. Prints one line per leg and the total time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { intArg } from '../lib/args.ts';
import { generateAndCompile } from '../lib/consumer-build.ts';
import { REPO_ROOT } from '../lib/markers.ts';
import { adminCommand, kill, killWhenNoLogins } from '../stack/faults/pgbouncer-admin.ts';
import { startStack } from '../stack/start-stack.ts';
import { NEWEST, OLDEST, UNSUPPORTED, type Versions } from './versions.ts';

const run = promisify(execFile);

interface Leg {
  readonly name: string;
  readonly versions: Versions;
  /** `system` = the PgBouncer on PATH (Debian 12: 1.18); `new` = PGPOOL_PGBOUNCER_BIN_NEW. */
  readonly pgbouncer: 'system' | 'new';
  readonly expect: 'safe' | 'refused';
  /** How connections are cut while the leg runs (`--fault` overrides it for every leg). */
  readonly fault: Fault;
  /** Warning codes the leg must see (and no other). */
  readonly warnings: readonly string[];
}

const LEGS: readonly Leg[] = [
  // KILL once no client is mid-login: every leg survived it 3 runs of 3 (docs/supported-versions.md).
  {
    name: 'oldest, PgBouncer 1.18',
    versions: OLDEST,
    pgbouncer: 'system',
    expect: 'safe',
    fault: 'kill-no-login',
    warnings: ['PGPOOL_PG_NO_PIPELINE'],
  },
  {
    name: 'oldest, PgBouncer new',
    versions: OLDEST,
    pgbouncer: 'new',
    expect: 'safe',
    fault: 'kill-no-login',
    warnings: ['PGPOOL_PG_NO_PIPELINE'],
  },
  { name: 'newest, PgBouncer 1.18', versions: NEWEST, pgbouncer: 'system', expect: 'safe', fault: 'kill-no-login', warnings: [] },
  { name: 'newest, PgBouncer new', versions: NEWEST, pgbouncer: 'new', expect: 'safe', fault: 'kill-no-login', warnings: [] },
  { name: 'client 7.9.1 (unsupported)', versions: UNSUPPORTED, pgbouncer: 'new', expect: 'refused', fault: 'kill-no-login', warnings: [] },
];

/** The consumer scenario, plain ESM JavaScript run by `node` in the scratch app. Prints one JSON line. */
const CHILD = `import { classifyError, createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from './build/generated/prisma/client.js';
const runId = process.env.RUN_ID;
const deadline = Date.now() + Number(process.env.DURATION_MS);
const warnings = [];
const manager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
  env: { DATABASE_URL: process.env.DATABASE_URL, USE_TRANSACTION_MODE: 'true' },
  onWarning: (w) => warnings.push(w.code),
});
const results = [];
let next = 0;
const data = (email) => ({ email, posts: { create: [{ title: 'a' }, { title: 'b' }] } });
async function worker() {
  while (Date.now() < deadline) {
    const i = next++;
    const email = runId + '-' + i + '@matrix.test';
    try {
      if (i % 2 === 0) await manager.prisma.user.create({ data: data(email) });
      else await manager.withPooling((tx) => tx.user.create({ data: data(email) }));
      results.push({ email, outcome: 'ok' });
      if (results.length % 25 === 0) console.error('progress', results.length, JSON.stringify(manager.getMetrics().errorsByKind));
    } catch (error) {
      const { kind } = classifyError(error);
      results.push({ email, outcome: kind === 'outcome-unknown' ? 'unknown' : 'failed', kind, name: error?.name ?? null, message: String(error?.message ?? error).slice(0, 300) });
      if (kind === 'dependency') break;
    }
  }
}
await Promise.all([worker(), worker(), worker(), worker()]);
const { retries } = manager.getMetrics();
await manager.disconnect();
console.log(JSON.stringify({ results, warnings, retries }));
`;

interface ChildReport {
  results: { email: string; outcome: 'ok' | 'failed' | 'unknown'; kind?: string; name?: string | null; message?: string }[];
  warnings: string[];
  retries: number;
}

const versionKey = (v: Versions) => `client ${v.client}, adapter-pg ${v.adapter}, pg ${v.pg}`;

async function pack(dir: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: REPO_ROOT, maxBuffer: 1 << 26 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string }[];
  if (!packed) throw new Error('npm pack printed no result');
  return path.join(dir, packed.filename);
}

/** A scratch app with the tarball and `versions`, this repository's schema generated and compiled. */
async function scratchApp(root: string, tarball: string, v: Versions, refused: boolean): Promise<string> {
  const dir = mkdtempSync(path.join(root, 'app-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'matrix-consumer', private: true, type: 'module' }));
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball];
  args.push(`@prisma/client@${v.client}`, `prisma@${v.client}`, `@prisma/adapter-pg@${v.adapter}`, `pg@${v.pg}`);
  // An unsupported client is outside the peer range: npm refuses it, as pnpm and yarn would not.
  if (refused) args.push('--legacy-peer-deps');
  await run('npm', args, { cwd: dir, maxBuffer: 1 << 26 });
  await generateAndCompile(dir);
  writeFileSync(path.join(dir, 'child.mjs'), CHILD);
  return dir;
}

/** How the runner cuts connections during a leg (`--fault`). */
type Fault = 'kill' | 'kill-no-login' | 'terminate';

interface FaultCount {
  /** KILLs (or backends terminated) that succeeded. */
  readonly cuts: number;
  /** Fault commands that failed (e.g. the admin console did not answer). */
  readonly failures: number;
  /** The first failure's message. */
  readonly firstFailure: string | null;
}

/**
 * Cuts connections every `everyMs` until stopped.
 * - `kill`: PgBouncer's admin `KILL app` then `RESUME app` (KILL leaves the database paused) on a fresh
 *   console connection: every client and server connection of `app` drops at once.
 * - `kill-no-login`: the same, sent once no client is mid-login (killWhenNoLogins), which kept
 *   PgBouncer alive where plain KILLs segfaulted it; test/support/kill-loop.ts does the same.
 * - `terminate`: `pg_terminate_backend` of every server connection of the `app` user (57P01): the
 *   same loss seen from the server side, with the clients' connections to PgBouncer kept.
 */
function faultLoop(fault: Fault, urls: { superuserUrl: string; adminUrl: string }, everyMs: number): { stop: () => Promise<FaultCount> } {
  let stopped = false;
  let cuts = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  const abort = new AbortController();
  const loop = (async () => {
    const client = fault === 'terminate' ? new pg.Client({ connectionString: urls.superuserUrl }) : null;
    client?.on('error', () => {});
    await client?.connect();
    try {
      while (!stopped) {
        await sleep(everyMs, undefined, { signal: abort.signal }).catch(() => {});
        if (stopped) break;
        if (client) {
          const { rows } = await client.query<{ n: number }>(
            "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = 'app' AND pid <> pg_backend_pid()",
          );
          cuts += rows[0]?.n ?? 0;
        } else {
          // Bounded: a PgBouncer that stops answering (1.18 spun at 100% CPU after a RESUME here)
          // never closes the console connection, and pg's end() waits for that close.
          const timer = new AbortController();
          const deadline = sleep(8000, 'timeout' as const, { signal: timer.signal }).catch(() => 'timeout' as const);
          const outcome = await Promise.race([
            (fault === 'kill'
              ? kill(urls.adminUrl, 'app', { resume: true, connectTimeoutMs: 2000, queryTimeoutMs: 5000 })
              : killWhenNoLogins(urls.adminUrl, 'app', { connectTimeoutMs: 2000, queryTimeoutMs: 5000 })
            ).then(
              () => 'ok' as const,
              (error: unknown) => {
                firstFailure ??= error instanceof Error ? error.message : String(error);
                return 'refused' as const;
              },
            ),
            deadline,
          ]);
          timer.abort();
          if (outcome === 'ok') cuts++;
          else failures++;
          if (outcome === 'timeout') break;
        }
      }
    } finally {
      await client?.end().catch(() => {});
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      abort.abort();
      await loop;
      return { cuts, failures, firstFailure };
    },
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function logTail(file: string, lines = 3): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' / ');
  } catch {
    return 'no log';
  }
}

interface LegResult {
  readonly leg: string;
  readonly versions: string;
  readonly pgbouncer: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly seconds: number;
}

async function runLeg(leg: Leg, app: string, durationMs: number, newBin: string | undefined, cutEveryMs: number): Promise<LegResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string, pgbouncer: string): LegResult => ({
    leg: leg.name,
    versions: versionKey(leg.versions),
    pgbouncer,
    ok,
    detail,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  });
  if (leg.pgbouncer === 'new' && !newBin) return result(false, 'PGPOOL_PGBOUNCER_BIN_NEW is not set', 'new (missing)');
  const previous = process.env.PGPOOL_PGBOUNCER_BIN;
  if (leg.pgbouncer === 'new') process.env.PGPOOL_PGBOUNCER_BIN = newBin;
  else delete process.env.PGPOOL_PGBOUNCER_BIN;
  const stack = await startStack({ log: () => {} }).finally(() => {
    if (previous === undefined) delete process.env.PGPOOL_PGBOUNCER_BIN;
    else process.env.PGPOOL_PGBOUNCER_BIN = previous;
  });
  try {
    const version = (await adminCommand<{ version: string }>(stack.adminUrl, 'SHOW VERSION')).rows[0]?.version ?? '?';
    const runId = `m${Date.now().toString(36)}`;
    const fault = leg.fault;
    const pgbouncerPid = stack.pids().pgbouncer;
    const kills = faultLoop(fault, stack, cutEveryMs);
    let report: ChildReport;
    try {
      const { stdout } = await run('node', ['child.mjs'], {
        cwd: app,
        env: { ...process.env, DATABASE_URL: stack.poolerUrl, RUN_ID: runId, DURATION_MS: String(durationMs), DEBUG: '' },
        maxBuffer: 1 << 26,
        timeout: 90_000,
      });
      report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ChildReport;
    } catch (error) {
      const paused = await adminCommand<{ name: string; paused: number; disabled: number }>(stack.adminUrl, 'SHOW DATABASES').then(
        ({ rows }) => JSON.stringify(rows.find((row) => row.name === 'app') ?? null),
        (e: unknown) => String(e),
      );
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        .trim()
        .split('\n')
        .slice(-5)
        .join(' | ');
      throw new Error(
        `node child.mjs failed (${(error as { signal?: string }).signal ?? (error as { code?: unknown }).code}); app database ${paused}; stderr: ${stderr}`,
      );
    } finally {
      cutCount = await kills.stop();
    }
    const client = new pg.Client({ connectionString: stack.superuserUrl });
    await client.connect();
    const rows = await client
      .query<{ email: string; posts: number }>(
        'SELECT u.email, count(p.id)::int AS posts FROM "User" u LEFT JOIN "Post" p ON p."userId" = u.id WHERE u.email LIKE $1 GROUP BY u.email',
        [`${runId}-%`],
      )
      .finally(() => client.end());
    const written = new Map(rows.rows.map((r) => [r.email, r.posts]));
    const r = report.results;
    const count = (o: string) => r.filter((x) => x.outcome === o).length;
    const failedButWritten = r.filter((x) => x.outcome === 'failed' && written.has(x.email)).length;
    const lost = r.filter((x) => x.outcome === 'ok' && !written.has(x.email)).length;
    const torn = [...written.values()].filter((posts) => posts !== 2).length;
    const warnings = [...new Set(report.warnings)].sort();
    const warningsOk = JSON.stringify(warnings) === JSON.stringify([...leg.warnings].sort());
    const summary = `${version}; ${r.length} writes: ${count('ok')} ok, ${count('failed')} failed, ${count('unknown')} unknown (settled: ${r.filter((x) => x.outcome === 'unknown' && written.has(x.email)).length} written); ${failedButWritten} failed-but-written, ${lost} lost, ${torn} torn; ${fault !== 'terminate' ? `${cutCount.cuts} KILL+RESUME (${cutCount.failures} refused${cutCount.firstFailure ? `, first: ${cutCount.firstFailure}` : ''})` : `${cutCount.cuts} server connections cut`}, ${report.retries} retries; warnings [${warnings.join(', ')}]`;
    if (leg.expect === 'refused') {
      const first = r[0];
      const refused =
        first?.kind === 'dependency' &&
        /@prisma\/client 7\.9\.1 is not supported \(supported: >=7\.10\.0 <7\.11\)/.test(first.message ?? '');
      return result(
        refused && written.size === 0,
        refused ? `refused at the first call: ${first?.message}` : `not refused: ${summary}`,
        version,
      );
    }
    const firstOfKind = new Map<string, string>();
    for (const x of r)
      if (x.outcome === 'failed' && !firstOfKind.has(`${x.kind}`))
        firstOfKind.set(`${x.kind}`, `${x.kind}:${x.name}: ${x.message?.replace(/\s+/g, ' ').slice(-160)}`);
    const failedKinds = [...firstOfKind.values()].join(' / ');
    // A pooler that died would fail every write: say so rather than count its refusals.
    const alive = await adminCommand(stack.adminUrl, 'SHOW VERSION').then(
      () => true,
      () => false,
    );
    const exited = pgbouncerPid !== null && !processAlive(pgbouncerPid);
    if (!alive || exited)
      return result(
        false,
        `PgBouncer ${exited ? 'exited' : 'stopped answering (process still running)'} during the run (log: ${logTail(path.join(stack.baseDir, 'pgbouncer.log'))}); ${summary}`,
        version,
      );
    // Most writes must get through: a run where everything failed proves nothing about written-but-failed.
    const ok = failedButWritten === 0 && lost === 0 && torn === 0 && count('ok') * 2 >= r.length && cutCount.cuts > 0 && warningsOk;
    return result(ok, `${summary}${failedKinds ? `; failed: ${failedKinds}` : ''}`, version);
  } finally {
    await stack.stop();
  }
}

let cutCount: FaultCount = { cuts: 0, failures: 0, firstFailure: null };

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const durationMs = intArg('--seconds', at('--seconds'), 8, { min: 1, max: 600 }) * 1000;
  const json = argv.includes('--json');
  const cutEveryMs = intArg('--cut-every-ms', at('--cut-every-ms'), 300, { min: 50, max: 60_000 });
  const only = at('--legs');
  const keep = argv.includes('--keep');
  const faultFlag = at('--fault');
  if (faultFlag !== undefined && faultFlag !== 'kill' && faultFlag !== 'kill-no-login' && faultFlag !== 'terminate')
    throw new Error('--fault must be kill, kill-no-login or terminate');
  const faultArg: Fault | undefined = faultFlag;
  const repeat = intArg('--repeat', at('--repeat'), 1, { min: 1, max: 20 });
  const newBin = process.env.PGPOOL_PGBOUNCER_BIN_NEW;
  if (newBin && !existsSync(newBin)) throw new Error(`PGPOOL_PGBOUNCER_BIN_NEW=${newBin} does not exist`);
  const started = performance.now();
  const root = mkdtempSync(path.join(os.tmpdir(), 'pgpool-matrix-'));
  const results: LegResult[] = [];
  try {
    const tarball = await pack(root);
    const apps = new Map<string, string>();
    const chosen = LEGS.filter((_, i) => only === undefined || only.split(',').includes(String(i + 1)));
    const legs = chosen.flatMap((leg) => Array.from({ length: repeat }, () => (faultArg ? { ...leg, fault: faultArg } : leg)));
    for (const leg of legs) {
      const key = versionKey(leg.versions);
      if (!apps.has(key)) {
        const t = performance.now();
        apps.set(key, await scratchApp(root, tarball, leg.versions, leg.expect === 'refused'));
        console.error(`[matrix] installed ${key} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      const outcome = await runLeg(leg, apps.get(key) as string, durationMs, newBin, cutEveryMs).catch(
        (error: unknown): LegResult => ({
          leg: leg.name,
          versions: key,
          pgbouncer: leg.pgbouncer,
          ok: false,
          detail: `error: ${error instanceof Error ? error.message : String(error)}`,
          seconds: 0,
        }),
      );
      results.push(outcome);
      console.error(
        `[matrix] ${outcome.ok ? 'PASS' : 'FAIL'} ${outcome.leg} (${outcome.versions}; ${outcome.pgbouncer}; ${outcome.seconds} s): ${outcome.detail}`,
      );
    }
  } finally {
    if (keep) console.error(`[matrix] kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  const failed = results.filter((r) => !r.ok).length;
  if (json) console.log(JSON.stringify({ seconds, results }));
  console.error(`[matrix] ${results.length - failed} of ${results.length} legs passed in ${seconds} s`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
