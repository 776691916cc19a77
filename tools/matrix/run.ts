/**
 * `npm run matrix`: the version matrix of docs/supported-versions.md. For the oldest and newest
 * supported @prisma/client + prisma, @prisma/adapter-pg and pg, and for PgBouncer 1.18 (the
 * system's) and a current 1.2x (PGPOOL_PGBOUNCER_BIN, built by tools/stack/build-pgbouncer.sh), it
 * installs the packed package with those versions into a scratch app outside the repository (never
 * the root node_modules), generates this repository's schema there, and runs a consumer scenario on
 * plain `node` against a fresh local stack: plain writes (`manager.prisma`) and wrapped writes
 * (`withPooling`), each a nested create (a user with two posts: one Prisma transaction), for a few
 * seconds while the runner cuts PgBouncer's server connections every few hundred ms
 * (pg_terminate_backend: a statement or COMMIT in flight is lost, as under a PgBouncer KILL). The database then settles every write:
 * 0 written-but-reported-failed and 0 lost are required, and a Prisma client below the supported
 * range must fail at its first call with an IncompatibleDependencyError.
 *
 *   npm run matrix [-- --seconds 8] [--cut-every-ms 300] [--legs 1,3] [--keep] [--json]
 * Env: PGPOOL_PGBOUNCER_BIN_NEW (the current PgBouncer; legs that need it fail without it).
 * Exit code 1 when any leg fails. Prints one line per leg and the total time.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { intArg } from '../lib/args.ts';
import { generateAndCompile } from '../lib/consumer-build.ts';
import { REPO_ROOT } from '../lib/markers.ts';
import { adminCommand } from '../stack/faults/pgbouncer-admin.ts';
import { startStack } from '../stack/start-stack.ts';

const run = promisify(execFile);

interface Versions {
  readonly client: string;
  readonly adapter: string;
  readonly pg: string;
}

interface Leg {
  readonly name: string;
  readonly versions: Versions;
  /** `system` = the PgBouncer on PATH (Debian 12: 1.18); `new` = PGPOOL_PGBOUNCER_BIN_NEW. */
  readonly pgbouncer: 'system' | 'new';
  readonly expect: 'safe' | 'refused';
  /** Warning codes the leg must see (and no other). */
  readonly warnings: readonly string[];
}

const OLDEST: Versions = { client: '7.10.0', adapter: '7.0.0', pg: '8.16.3' };
const NEWEST: Versions = { client: '7.10.1', adapter: '7.10.1', pg: '8.23.1' };
/** Below the supported range: refused at the first call. */
const UNSUPPORTED: Versions = { client: '7.9.1', adapter: '7.10.1', pg: '8.23.1' };

const LEGS: readonly Leg[] = [
  { name: 'oldest, PgBouncer 1.18', versions: OLDEST, pgbouncer: 'system', expect: 'safe', warnings: ['PGPOOL_PG_NO_PIPELINE'] },
  { name: 'oldest, PgBouncer new', versions: OLDEST, pgbouncer: 'new', expect: 'safe', warnings: ['PGPOOL_PG_NO_PIPELINE'] },
  { name: 'newest, PgBouncer 1.18', versions: NEWEST, pgbouncer: 'system', expect: 'safe', warnings: [] },
  { name: 'newest, PgBouncer new', versions: NEWEST, pgbouncer: 'new', expect: 'safe', warnings: [] },
  { name: 'client 7.9.1 (unsupported)', versions: UNSUPPORTED, pgbouncer: 'new', expect: 'refused', warnings: [] },
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

/**
 * Cuts every server connection of the `app` user every `everyMs` (pg_terminate_backend, 57P01) until
 * stopped; returns how many backends it ended. A statement or a COMMIT in flight is lost the way a
 * PgBouncer KILL loses it. (PgBouncer's own `KILL app`, repeated while the pool reconnects, made
 * both 1.18 and 1.24.1 segfault here — pgbouncer/pgbouncer#1401 — which would test PgBouncer rather
 * than this package.)
 */
function faultLoop(superuserUrl: string, everyMs: number): { stop: () => Promise<number> } {
  let stopped = false;
  let ended = 0;
  const abort = new AbortController();
  const loop = (async () => {
    const client = new pg.Client({ connectionString: superuserUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      while (!stopped) {
        await sleep(everyMs, undefined, { signal: abort.signal }).catch(() => {});
        if (stopped) break;
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = 'app' AND pid <> pg_backend_pid()",
        );
        ended += rows[0]?.n ?? 0;
      }
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      abort.abort();
      await loop;
      return ended;
    },
  };
}

interface LegResult {
  readonly leg: string;
  readonly versions: string;
  readonly pgbouncer: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly seconds: number;
}

async function runLeg(leg: Leg, app: string, durationMs: number, newBin: string | undefined, killEveryMs: number): Promise<LegResult> {
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
    const kills = faultLoop(stack.superuserUrl, killEveryMs);
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
      await kills.stop().then((n) => {
        killCount = n;
      });
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
    const summary = `${version}; ${r.length} writes: ${count('ok')} ok, ${count('failed')} failed, ${count('unknown')} unknown (settled: ${r.filter((x) => x.outcome === 'unknown' && written.has(x.email)).length} written); ${failedButWritten} failed-but-written, ${lost} lost, ${torn} torn; ${killCount} server connections cut, ${report.retries} retries; warnings [${warnings.join(', ')}]`;
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
    if (!alive) return result(false, `PgBouncer stopped answering during the run; ${summary}`, version);
    // Most writes must get through: a run where everything failed proves nothing about written-but-failed.
    const ok = failedButWritten === 0 && lost === 0 && torn === 0 && count('ok') * 2 >= r.length && killCount > 0 && warningsOk;
    return result(ok, `${summary}${failedKinds ? `; failed: ${failedKinds}` : ''}`, version);
  } finally {
    await stack.stop();
  }
}

let killCount = 0;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const at = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const durationMs = intArg('--seconds', at('--seconds'), 8, { min: 1, max: 600 }) * 1000;
  const json = argv.includes('--json');
  const killEveryMs = intArg('--cut-every-ms', at('--cut-every-ms'), 300, { min: 50, max: 60_000 });
  const only = at('--legs');
  const keep = argv.includes('--keep');
  const newBin = process.env.PGPOOL_PGBOUNCER_BIN_NEW;
  if (newBin && !existsSync(newBin)) throw new Error(`PGPOOL_PGBOUNCER_BIN_NEW=${newBin} does not exist`);
  const started = performance.now();
  const root = mkdtempSync(path.join(os.tmpdir(), 'pgpool-matrix-'));
  const results: LegResult[] = [];
  try {
    const tarball = await pack(root);
    const apps = new Map<string, string>();
    for (const leg of LEGS.filter((_, i) => only === undefined || only.split(',').includes(String(i + 1)))) {
      const key = versionKey(leg.versions);
      if (!apps.has(key)) {
        const t = performance.now();
        apps.set(key, await scratchApp(root, tarball, leg.versions, leg.expect === 'refused'));
        console.error(`[matrix] installed ${key} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      }
      const outcome = await runLeg(leg, apps.get(key) as string, durationMs, newBin, killEveryMs).catch(
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
