/**
 * What the manager reports of its pools: `getMetrics()` (the metrics snapshot plus live pool
 * figures) and `getHealth()`'s probe (src/health/health-check.ts over these pools).
 */
import { hostListSummary } from '../config/host-list.ts';
import { checkHealthDetailed, type HealthReport, type HealthVerdict } from '../health/health-check.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import { EMPTY_POOL_STATS, sumPoolStats } from '../metrics/pool-stats.ts';
import { buildClientSettings } from '../pool/client-settings.ts';
import { pingDatabase, readPgbouncerPools } from '../pool/health-probes.ts';
import { hostFigures, hostFleetOf } from '../pool/host-fleet.ts';
import { readPoolStats } from '../pool/read-pool-stats.ts';
import type { ResolvedManagerOptions } from './manager-options.ts';
import type { PoolSet } from './pool-set.ts';
import type { ManagerMetrics, PrismaClientLike } from './types.ts';

/** `getMetrics()`: counters and percentiles, plus each pool's figures now (zeros before the first call). */
export function managerMetrics(
  snapshot: MetricsSnapshot,
  pools: PoolSet<unknown> | null,
  warmup: { readonly connections: number; readonly failures: number },
): ManagerMetrics {
  const replicaPools =
    pools?.replicas.map((h) => ({
      name: h.target.poolName,
      address: h.target.address,
      port: h.target.port,
      stats: readPoolStats(h.pool, h.limit),
    })) ?? [];
  return {
    ...snapshot,
    pool: pools ? readPoolStats(pools.primary.pool, pools.primary.limit) : { ...EMPTY_POOL_STATS },
    readPool: replicaPools.length === 0 ? null : sumPoolStats(replicaPools.map((r) => r.stats)),
    replicaPools,
    readsByTarget: pools?.router?.readsByTarget() ?? { replica: 0, 'primary-fallback': 0, 'primary-consistency': 0 },
    replicas: pools?.router?.figures() ?? [],
    warmupConnections: warmup.connections,
    warmupFailures: warmup.failures,
    poolNames: pools ? { primary: pools.primary.target.poolName, read: pools.replicas[0]?.target.poolName ?? null } : null,
    hosts: pools ? hostFigures(pools.primary.pool) : [],
  };
}

/**
 * The seed's health report: `SELECT 1` on a fresh connection (never queued behind the app's
 * transactions; see src/pool/health-probes.ts), the primary pool's figures, and PgBouncer's when
 * `PGBOUNCER_ADMIN_URL` is set.
 */
export function probePoolSetHealth<C extends PrismaClientLike>(
  { config, primary, router }: PoolSet<C>,
  options: ResolvedManagerOptions<C>,
  failovers: () => number,
): Promise<{ report: HealthReport; verdict: HealthVerdict }> {
  const timeoutMs = options.healthTimeoutMs;
  // pg's own timeouts are a backstop only: the deadline in checkHealth decides (and aborts the probe).
  const probe = { timeoutMs: timeoutMs + 1000, applicationName: `${options.applicationName}:health` };
  const adminUrl = config.pgbouncerAdminConnectionString;
  return checkHealthDetailed(
    {
      mode: config.mode,
      port: config.port,
      provider: config.provider,
      poolStats: () => readPoolStats(primary.pool, primary.limit),
      // The pool's own settings builder (inside the probe: an unreadable CA file is a failed check, not a throw).
      pingDatabase: (signal) => pingDatabase(buildClientSettings(config.connectionString, { tls: config.tls }), { ...probe, signal }),
      readPgbouncer: adminUrl ? (signal) => readPgbouncerPools(adminUrl, config.database ?? '', { ...probe, signal }) : null,
      readReplicas: router ? (signal) => router.health(signal) : null,
      hostList: hostListSummary(config.connectionString),
      hostStates: () => hostFleetOf(primary.pool)?.status() ?? null,
      failovers,
    },
    { timeoutMs, thresholds: options.healthThresholds },
  );
}
