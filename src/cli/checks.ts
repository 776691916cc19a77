/**
 * `prisma-pgbouncer-pooling check`: the main job's checks that need no schema of ours, against
 * the app's own DATABASE_URL. Everything they write goes to one scratch table with a random name,
 * created first and dropped last, so nothing of the app's tables is touched and nothing is left.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactDatabaseUrl } from '../config/database-url.ts';
import { resolveDirectDatabaseUrl } from '../config/env-urls.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import { classifyError, type ErrorKind } from '../errors/classify-error.ts';
import { describeEndpointAccess } from '../health/endpoint-access.ts';
import type { HealthReport } from '../health/health-check.ts';
import { type ConnectionPoolManager, createConnectionPoolManager, type ManagerMetrics } from '../manager/connection-pool-manager.ts';
import { detectRuntime } from '../runtime/detect-runtime.ts';
import { type CheckOutcome, CheckRunner, describeError } from './check-runner.ts';
import { networkCause } from './network-cause.ts';
import { RawClient, type RawTransaction } from './raw-client.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface CheckReport {
  ok: boolean;
  /** Set when the database could not be reached at all: the one line to show. */
  fatal: string | null;
  checks: CheckRunner['results'];
  config?: unknown;
  health?: unknown;
  metrics?: unknown;
}

export interface CheckOptions {
  progress?: (text: string) => void;
  /** Where each variable came from (`process.env`, `.env.local` …), for messages. */
  sources?: Readonly<Record<string, string>>;
}

const DOCS = 'docs/troubleshooting.md in the package';

/** Names and troubleshooting steps of the checks every runner shares (the CLI, the repository's demo). */
export const CHECK_NAMES = Object.freeze({
  configuration: 'configuration',
  budget: 'effective URL and budget',
  health: 'health',
  metrics: 'metrics',
});
export const FIXES = Object.freeze({
  configuration: 'Fix the variable named in the error (docs/configuration.md).',
  budget: 'Set INSTANCE_COUNT / MAX_POOL_SIZE so that INSTANCE_COUNT × connection_limit ≤ MAX_POOL_SIZE (docs/configuration.md).',
  health: 'A failing database check names the error kind (docs/health-and-metrics.md).',
  metrics: 'Failed operations are listed by kind in errorsByKind (docs/health-and-metrics.md).',
});

/** What the shared checks read of a manager (any client type). */
interface ManagerView {
  readonly config: PoolConfig;
  getHealth(): Promise<HealthReport>;
  getMetrics(): ManagerMetrics;
}

/** ` (from .env.local)` for a variable read from a file or set by a flag; '' for process.env or unknown. */
const fromWhere = (sources: Readonly<Record<string, string>> | undefined, variable: string): string => {
  const source = sources?.[variable];
  return source === undefined || source === 'process.env' ? '' : ` (from ${source})`;
};

/** Runtime, mode and why; which variable the URL came from (and which file); the direct URL for migrations. */
export function configurationOutcome(manager: ManagerView, env: Env, sources?: Readonly<Record<string, string>>): CheckOutcome {
  const runtime = detectRuntime(env);
  const c = manager.config;
  let direct: string;
  try {
    const found = resolveDirectDatabaseUrl(env);
    direct = `; migrations (directDatabaseUrl): ${found.reason}${fromWhere(sources, found.variable)}`;
  } catch (error) {
    direct = `; migrations (directDatabaseUrl): ${describeError(error)}`;
  }
  const endpoints = describeEndpointAccess(env, runtime);
  return {
    ok: endpoints.ok,
    detail: `runtime ${runtime.runtime}${runtime.evidence ? ` (${runtime.evidence})` : ''}; ${c.mode} mode: ${c.reason}; URL from ${c.urlVariable}${fromWhere(sources, c.urlVariable)}${fromWhere(sources, 'USE_TRANSACTION_MODE') === ' (from --pooled)' ? '; transaction mode forced by --pooled' : ''}; TLS: ${c.tls.summary}${direct}; ${endpoints.text}`,
  };
}

/**
 * The one line for an unreachable database: the variable (and its file), the URL as the user wrote
 * it and as the pool used it (both redacted), and the cause — the OS-level one when TCP fails.
 */
async function unreachable(config: PoolConfig, env: Env, sources: CheckOptions['sources'], detail: string): Promise<string> {
  const variable = config.urlVariable;
  const given = redactDatabaseUrl((env[variable] ?? '').trim());
  const used = given === config.databaseUrl ? '' : `, used as ${config.databaseUrl}`;
  const host = config.hosts[0]?.host ?? 'localhost';
  // The port tested is the one the pool uses: the rewritten one, when the package chose it.
  const cause = await networkCause(host, config.port, Math.min(config.connectTimeoutMs, 5000)).catch(() => null);
  const rewrite = config.portRewrite;
  const rewritten =
    rewrite !== null && config.port === rewrite.to && (cause ?? detail).includes('ECONNREFUSED')
      ? `; port ${rewrite.to} is a port this package chose (${rewrite.from} → ${rewrite.to}): ${rewrite.hint}`
      : '';
  return `cannot reach ${variable}${fromWhere(sources, variable)} ${given}${used}: ${cause ?? detail}${rewritten}`;
}

/** The effective URL (redacted) and whether INSTANCE_COUNT × connection_limit fits MAX_POOL_SIZE. */
export function budgetOutcome({ config: c }: ManagerView): CheckOutcome {
  const warnings = c.warnings.length ? `; warnings: ${c.warnings.join(' | ')}` : '';
  return {
    ok: c.instanceCount * c.connectionLimit <= c.maxPoolSize,
    detail: `${c.databaseUrl}; connection_limit ${c.connectionLimit} (${c.connectionLimitSource}) × ${c.instanceCount} instances ≤ MAX_POOL_SIZE ${c.maxPoolSize}; pool timeout ${c.poolTimeoutMs} ms${warnings}`,
  };
}

/** The health report: anything but `unhealthy` passes. */
export async function healthOutcome(manager: ManagerView): Promise<CheckOutcome & { health: HealthReport }> {
  const health = await manager.getHealth();
  const { database, connectionPool } = health.checks;
  return {
    ok: health.status !== 'unhealthy',
    detail: `${health.status}: database ${database.status} (${database.latency} ms), pool ${connectionPool.status} ${connectionPool.utilization}% used`,
    health,
  };
}

/** Counters and percentiles: no failure beyond the `expected` ones, ordered percentiles. */
export function metricsOutcome(
  manager: ManagerView,
  expected: Partial<Record<ErrorKind, number>> = {},
): CheckOutcome & { metrics: ManagerMetrics } {
  const m = manager.getMetrics();
  const ordered = m.p50Latency <= m.p95Latency && m.p95Latency <= m.p99Latency && m.p99Latency <= m.maxLatency;
  const expectedFailures = Object.values(expected).reduce((sum, n) => sum + (n ?? 0), 0);
  const matches = Object.entries(expected).every(([kind, n]) => (m.errorsByKind[kind] ?? 0) === n);
  const note = expectedFailures > 0 ? ` (${expectedFailures} expected: ${Object.keys(expected).join(', ')})` : '';
  return {
    ok: m.failedQueries === expectedFailures && matches && m.totalQueries > 0 && ordered,
    detail: `${m.totalQueries} operations, ${m.failedQueries} failed${note}, ${m.retries} retries; latency avg ${m.avgLatency} / p50 ${m.p50Latency} / p95 ${m.p95Latency} / p99 ${m.p99Latency} / max ${m.maxLatency} ms`,
    metrics: m,
  };
}

/** Mean of `n` sequential `SELECT 1` through the manager's pool, in ms. */
async function meanRoundTrip(manager: ConnectionPoolManager<RawClient>, n: number): Promise<number> {
  await manager.client.$queryRawUnsafe('SELECT 1');
  const started = performance.now();
  for (let i = 0; i < n; i++) await manager.client.$queryRawUnsafe('SELECT 1');
  return (performance.now() - started) / n;
}

export async function runChecks(env: Env, options: CheckOptions = {}): Promise<CheckReport> {
  const runner = new CheckRunner(options);
  const report: CheckReport = { ok: false, fatal: null, checks: runner.results };
  let manager: ConnectionPoolManager<RawClient>;
  try {
    manager = createConnectionPoolManager({
      createClient: (adapter) => new RawClient(adapter),
      env,
      applicationName: 'prisma-pgbouncer-pooling:check',
      globalKey: null,
      // The report shows config.warnings itself (the configuration check's detail).
      onWarning: () => {},
    });
    report.config = manager.config;
  } catch (error) {
    // A ConfigError's message starts with the variable at fault: no "configuration: config:" prefix.
    const variable = (error as { variable?: string }).variable;
    report.fatal = `${describeError(error)}${variable === undefined ? '' : fromWhere(options.sources, variable.split(' ')[0] ?? variable)}`;
    return report;
  }
  const table = `pgbouncer_pooling_check_${randomBytes(4).toString('hex')}`;
  try {
    await runner.check(CHECK_NAMES.configuration, FIXES.configuration, async () => configurationOutcome(manager, env, options.sources));
    await runner.check(CHECK_NAMES.budget, FIXES.budget, async () => budgetOutcome(manager));

    const variable = manager.config.urlVariable;
    const reachable = await runner.check('connectivity', `Check host, port, user and password in ${variable} (${DOCS}).`, async () => {
      const mean = await meanRoundTrip(manager, 20);
      return { ok: true, detail: `SELECT 1 through the pool: mean ${mean.toFixed(2)} ms over 20` };
    });
    if (!reachable) {
      const failed = runner.results.at(-1);
      report.fatal = await unreachable(manager.config, env, options.sources, failed?.detail ?? 'unknown error');
      return report;
    }

    await runner.check('wrappers on a scratch table', `The database user needs CREATE on its schema (${DOCS}).`, async () => {
      await manager.client.$executeRawUnsafe(
        `CREATE TABLE "${table}" (id serial PRIMARY KEY, label text NOT NULL, n int NOT NULL DEFAULT 0)`,
      );
      const inserted = await manager.withPooling(async (tx) => {
        await tx.$executeRawUnsafe(`INSERT INTO "${table}" (label) VALUES ($1)`, 'with');
        return tx.$queryRawUnsafe<{ id: number }>(`SELECT id FROM "${table}" WHERE label = $1`, 'with');
      });
      const batch = await manager.batchWithPooling(
        ['a', 'b', 'c'].map(
          (label) => (tx: RawTransaction) => tx.$executeRawUnsafe(`INSERT INTO "${table}" (label) VALUES ($1)`, `batch-${label}`),
        ),
        { parallel: true },
      );
      const updated = await manager.writeWithPooling(async (tx) => {
        const n = await tx.$executeRawUnsafe(`UPDATE "${table}" SET n = n + 1 WHERE label = $1`, 'with');
        await tx.$executeRawUnsafe(`INSERT INTO "${table}" (label) VALUES ($1)`, 'write');
        return n;
      });
      const rows = await manager.readWithPooling((tx) =>
        tx.$queryRawUnsafe<{ count: bigint | number }>(`SELECT count(*) AS count FROM "${table}"`),
      );
      const readOnly = await manager
        .readWithPooling((tx) => tx.$executeRawUnsafe(`INSERT INTO "${table}" (label) VALUES ($1)`, 'must-fail'))
        .then(
          () => 'accepted a write',
          (error: unknown) => classifyError(error).kind,
        );
      const count = Number(rows[0]?.count);
      const ok = inserted.length === 1 && batch.length === 3 && updated === 1 && count === 5 && readOnly === 'read-only';
      return {
        ok,
        detail: `withPooling, batchWithPooling (parallel, 3 ops), writeWithPooling, readWithPooling (${count} rows); a write in readWithPooling: ${readOnly}`,
      };
    });

    await runner.check(
      'concurrency burst (50 × connection_limit)',
      `Raise pool_timeout or lower concurrency (${DOCS}, "timeouts").`,
      async () => {
        const total = 50 * manager.config.connectionLimit;
        const results = await Promise.allSettled(
          Array.from({ length: total }, (_, i) => manager.withPooling((tx) => tx.$queryRawUnsafe('SELECT $1::int AS n', i))),
        );
        const failed = results.filter((r) => r.status === 'rejected').length;
        return {
          ok: failed === 0,
          detail: `${total - failed}/${total} transactions ok through ${manager.config.connectionLimit} connection(s)`,
        };
      },
    );

    await runner.check(
      'prepared statements',
      `Do not enable named statements through PgBouncer < 1.21 in transaction mode (${DOCS}, "prepared statement does not exist").`,
      async () => {
        const c = manager.config;
        const results = await Promise.allSettled(
          Array.from({ length: 100 }, (_, i) =>
            manager.withPooling((tx) => tx.$queryRawUnsafe(`SELECT label FROM "${table}" WHERE label = $1`, `x${i % 5}`)),
          ),
        );
        const failed = results.filter((r) => r.status === 'rejected').length;
        const ok = failed === 0 && (c.mode === 'session' || !c.statementCache);
        return {
          ok,
          detail: `${c.mode} mode, ${c.statementCache ? 'named (cached)' : 'unnamed'} statements; 100 concurrent parameterized queries, ${failed} errors`,
        };
      },
    );

    await runner.check('Serializable conflict is retried', 'Raise retry.maxConflictAttempts (docs/wrappers.md).', async () => {
      await manager.client.$executeRawUnsafe(`INSERT INTO "${table}" (label) VALUES ('counter')`);
      const before = manager.getMetrics().retriesByKind.serialization ?? 0;
      // A conflict on purpose, not by luck: both first attempts read the counter, then each waits
      // for the other to have read before writing, so Serializable must fail one of them (40001).
      // With connection_limit 1 they cannot overlap; the wait then gives up after a second.
      let read = 0;
      let bothRead!: () => void;
      const barrier = new Promise<void>((resolve) => {
        bothRead = resolve;
      });
      const increment = () =>
        manager.writeWithPooling(async (tx, { attempt }) => {
          const [row] = await tx.$queryRawUnsafe<{ n: number }>(`SELECT n FROM "${table}" WHERE label = 'counter'`);
          if (attempt === 1) {
            if (++read === 2) bothRead();
            await Promise.race([barrier, sleep(1000, undefined, { ref: false })]);
          }
          await tx.$executeRawUnsafe(`UPDATE "${table}" SET n = $1 WHERE label = 'counter'`, (row?.n ?? 0) + 1);
        });
      await Promise.all([increment(), increment()]);
      const [final] = await manager.client.$queryRawUnsafe<{ n: number }>(`SELECT n FROM "${table}" WHERE label = 'counter'`);
      const retried = (manager.getMetrics().retriesByKind.serialization ?? 0) - before;
      const overlap = manager.config.connectionLimit >= 2;
      return {
        ok: Number(final?.n) === 2 && (retried > 0 || !overlap),
        detail: overlap
          ? `2 overlapping read-modify-write increments → ${final?.n}; ${retried} serialization retries`
          : `connection_limit 1: transactions cannot overlap, so no conflict to retry; 2 increments → ${final?.n}`,
      };
    });

    await runner.check(CHECK_NAMES.health, FIXES.health, async () => {
      const { health, ...outcome } = await healthOutcome(manager);
      report.health = health;
      return outcome;
    });

    // The one failure expected: the write refused inside readWithPooling.
    await runner.check(CHECK_NAMES.metrics, FIXES.metrics, async () => {
      const { metrics, ...outcome } = metricsOutcome(manager, { 'read-only': 1 });
      report.metrics = metrics;
      return outcome;
    });
  } finally {
    await manager.client.$executeRawUnsafe(`DROP TABLE IF EXISTS "${table}"`).catch(() => {});
    await manager.disconnect();
  }
  report.ok = runner.ok;
  return report;
}
