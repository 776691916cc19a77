/**
 * The main job: checks a database setup end to end and prints a pass/fail table.
 *
 *   npx tsx scripts/test-connection-pooling.ts [--json]      (also: npm run demo)
 *
 * With DATABASE_URL set it checks that database (it writes a few demo rows tagged with a random id
 * and deletes them again). With nothing set it starts the local stack (Postgres + PgBouncer in
 * transaction mode, migrations applied), runs against it and stops it afterwards.
 * Exit code 0 only when every check passed.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type CheckOutcome, CheckRunner } from '~/cli/check-runner.ts';
import { budgetOutcome, CHECK_NAMES, configurationOutcome, FIXES, healthOutcome, metricsOutcome } from '~/cli/checks.ts';
import { withClient } from '../lib/pg.ts';
import { startStackUnlessConfigured } from '../stack/use-local-stack.ts';

const { values: args } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
const json = args.json ?? false;

const TROUBLESHOOTING = 'docs/troubleshooting.md';
const report: Record<string, unknown> = {};

function progress(text: string): void {
  if (!json && process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${text}`);
}

// The same runner and table as the package's `prisma-pgbouncer-pooling check`; the checks below
// run on this repository's schema.
const runner = new CheckRunner({ progress });
const check = (name: string, fix: string, run: () => Promise<CheckOutcome>) => runner.check(name, fix, run);

/** Mean SELECT 1 round trip over `n` queries on one connection, in ms. */
async function roundTrip(connectionString: string, n = 20): Promise<number> {
  return withClient(
    connectionString,
    async (client) => {
      await client.query('SELECT 1');
      const started = performance.now();
      for (let i = 0; i < n; i++) await client.query('SELECT 1');
      return (performance.now() - started) / n;
    },
    { connectTimeoutMs: 5000 },
  );
}

// Stack progress goes to stderr in both modes: stdout stays one JSON object with --json.
const stack = await startStackUnlessConfigured({ log: (line) => console.error(line) });
// Imported only now: the singleton reads process.env at first use.
const { connectionPoolManager, withPooling, batchWithPooling, readWithPooling, writeWithPooling } = await import(
  '~/services/connection-pool-manager.server'
);
const { stripParams } = await import('~/config/database-url.ts');

const tag = randomUUID().slice(0, 8);
let exitCode = 1;
try {
  await check(CHECK_NAMES.configuration, FIXES.configuration, async () => {
    report.config = connectionPoolManager.config;
    return configurationOutcome(connectionPoolManager, process.env);
  });
  await check(CHECK_NAMES.budget, FIXES.budget, async () => budgetOutcome(connectionPoolManager));

  await check(
    'connectivity: direct vs pooler',
    `Check host, port and credentials; is PgBouncer running on the pooler port? (${TROUBLESHOOTING}, "connection refused")`,
    async () => {
      const config = connectionPoolManager.config;
      const pooled = await roundTrip(stripParams(config.connectionString));
      const directUrl = process.env.DATABASE_URL_SESSION;
      const direct = directUrl ? await roundTrip(stripParams(directUrl)) : null;
      report.latency = { pooledMs: pooled, directMs: direct };
      return {
        ok: true,
        detail: `SELECT 1 mean over 20: ${direct === null ? 'direct n/a (no DATABASE_URL_SESSION)' : `direct ${direct.toFixed(2)} ms`}, through ${config.mode === 'transaction' ? 'the pooler' : 'the session URL'} ${pooled.toFixed(2)} ms`,
      };
    },
  );

  await check(
    'wrappers on the real schema (documented usage)',
    `Apply the migrations in prisma/migrations (docs/migrating-from-prisma-6.md).`,
    async () => {
      const seed = await connectionPoolManager.client.user.create({ data: { email: `demo-${tag}@example.test`, name: 'Demo' } });
      const id = seed.id;
      const { id: workspaceId } = await connectionPoolManager.client.workspace.create({ data: { name: `demo-${tag}`, ownerId: id } });
      const userData = { email: `demo-batch-${tag}@example.test` };
      const workspaceData = { name: `demo-${tag}-batch`, ownerId: id };
      const pageData = { title: `demo page ${tag}`, workspaceId };
      const user = await withPooling(async (tx) => tx.user.findUnique({ where: { id } }));
      const results = await batchWithPooling(
        [
          (tx) => tx.user.create({ data: userData }),
          (tx) => tx.workspace.create({ data: workspaceData }),
          (tx) => tx.page.create({ data: pageData }),
        ],
        { parallel: true },
      );
      const pages = await readWithPooling(async (tx) => tx.page.findMany({ where: { workspaceId }, include: { blocks: true } }));
      const result = await writeWithPooling(async (tx) => {
        const user = await tx.user.update({ where: { id }, data: { lastActive: new Date() } });
        await tx.activityLog.create({ data: { userId: user.id, action: 'login' } });
        return user;
      });
      const ok = user?.id === id && results.length === 3 && pages.length === 1 && result.lastActive instanceof Date;
      return {
        ok,
        detail: `withPooling, batchWithPooling (parallel, 3 ops), readWithPooling (${pages.length} page), writeWithPooling (lastActive + activity log)`,
      };
    },
  );

  await check(
    'concurrency burst (50 × connection_limit)',
    `Raise pool_timeout or lower concurrency; see "timeouts" in ${TROUBLESHOOTING}.`,
    async () => {
      const total = 50 * connectionPoolManager.config.connectionLimit;
      let done = 0;
      const results = await Promise.allSettled(
        Array.from({ length: total }, (_, i) =>
          withPooling(async (tx) => tx.$queryRaw`SELECT ${i}::int AS n`).finally(() => progress(`burst: ${++done}/${total} transactions`)),
        ),
      );
      const failed = results.filter((r) => r.status === 'rejected').length;
      const { pool } = connectionPoolManager.getMetrics();
      return {
        ok: failed === 0,
        detail: `${total - failed}/${total} transactions ok through ${pool.limit} connection(s); ${failed} errors`,
      };
    },
  );

  await check(
    'prepared statements in transaction mode',
    `Do not enable named statements through PgBouncer < 1.21 (${TROUBLESHOOTING}, "prepared statement does not exist").`,
    async () => {
      const config = connectionPoolManager.config;
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) => withPooling((tx) => tx.user.findMany({ where: { name: `x${i % 5}` }, take: 1 }))),
      );
      const failed = results.filter((r) => r.status === 'rejected').length;
      const named = config.statementCache ? 'named (cached)' : 'unnamed';
      const ok = failed === 0 && (config.mode === 'session' || !config.statementCache);
      return { ok, detail: `${config.mode} mode uses ${named} statements; 100 concurrent model queries, ${failed} errors` };
    },
  );

  await check('Serializable conflict is retried', `Raise retry.maxConflictAttempts (docs/wrappers.md).`, async () => {
    const { id } = await connectionPoolManager.client.user.create({ data: { email: `demo-counter-${tag}@example.test`, name: '0' } });
    const before = connectionPoolManager.getMetrics().retriesByKind.serialization ?? 0;
    const n = 30;
    await Promise.all(
      Array.from({ length: n }, () =>
        writeWithPooling(async (tx) => {
          const u = await tx.user.findUniqueOrThrow({ where: { id } });
          await tx.user.update({ where: { id }, data: { name: String(Number(u.name) + 1) } });
        }),
      ),
    );
    const final = await connectionPoolManager.client.user.findUniqueOrThrow({ where: { id } });
    const retried = (connectionPoolManager.getMetrics().retriesByKind.serialization ?? 0) - before;
    return {
      ok: final.name === String(n) && retried > 0,
      detail: `${n} concurrent read-modify-write increments → ${final.name}; ${retried} serialization retries`,
    };
  });

  await check(CHECK_NAMES.health, FIXES.health, async () => {
    const { health, ...outcome } = await healthOutcome(connectionPoolManager);
    report.health = health;
    return outcome;
  });
  await check(CHECK_NAMES.metrics, FIXES.metrics, async () => {
    const { metrics, ...outcome } = metricsOutcome(connectionPoolManager);
    report.metrics = metrics;
    return outcome;
  });
  exitCode = runner.ok ? 0 : 1;
} finally {
  // Remove what the demo wrote (cascades to workspaces' pages, blocks and activity logs).
  await connectionPoolManager.client.workspace.deleteMany({ where: { name: { startsWith: `demo-${tag}` } } }).catch(() => {});
  await connectionPoolManager.client.user.deleteMany({ where: { email: { contains: `-${tag}@example.test` } } }).catch(() => {});
  await connectionPoolManager.disconnect();
  await stack?.stop();
}

if (json) {
  console.log(JSON.stringify({ ok: exitCode === 0, checks: runner.results, ...report }, null, 2));
} else {
  console.log(`\n${runner.table(stack ? ' (local stack started and stopped)' : '')}`);
}
process.exitCode = exitCode;
