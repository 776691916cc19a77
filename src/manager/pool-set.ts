/**
 * The manager's pools: the primary's and one per read replica, each with its Prisma client,
 * admission and telemetry, plus the read router over the replicas. Built together, torn down
 * together: `openPoolSet` leaves nothing open when any step throws (a replica's TLS file, the
 * router), so the manager's next call simply tries again. The clients are built at first need (a
 * factory that throws fails that call, and the next one builds again): a first request that reads
 * must not pay for a write client it does not use (a PrismaClient takes milliseconds to construct;
 * docs/benchmarks.md, cold start).
 */
import type pg from 'pg';
import { createAdapter } from '../adapter/create-adapter.ts';
import type { SettleOutcome } from '../adapter/outcome-record.ts';
import type { ClientHandle } from '../call/call-plan.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import { classifyError } from '../errors/classify-error.ts';
import { configWarningCode } from '../logging/config-warnings.ts';
import { managerLog } from '../logging/loggers.ts';
import type { PoolTarget } from '../metrics/sink.ts';
import { createPool, pgPipelineWarning, statementName } from '../pool/create-pool.ts';
import { releaseHostFleet } from '../pool/host-fleet.ts';
import { PoolAdmission } from '../pool/pool-admission.ts';
import { createReadRouter, type ReadRouter } from '../routing/read-router.ts';
import { replicaStartTimeoutMs } from '../routing/routing-options.ts';
import { assertSupportedPrismaClient } from '../runtime/supported-versions.ts';
import { describePoolTarget } from '../telemetry/pool-target.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { settleOnPool } from '../transaction/settle-outcome.ts';
import type { ResolvedManagerOptions } from './manager-options.ts';
import type { DatabaseServer, PrismaClientLike } from './types.ts';

export interface PoolHandle<C> extends ClientHandle<C> {
  /** Role, host, port, namespace and a `db.client.connection.pool.name` of its own (telemetry, metrics, Prometheus). */
  readonly target: PoolTarget;
  /** The client of writes and `withPooling`, built on first access. */
  readonly client: C;
  /** Built on first read: its transactions open READ ONLY (one BEGIN, Postgres enforces it). */
  readonly readOnlyClient: C;
  /** The clients built so far (what `closePoolSet` disconnects). */
  builtClients(): C[];
  readonly pool: pg.Pool;
  readonly limit: number;
  readonly admission: PoolAdmission;
  /** Stops this pool's telemetry; null without telemetry. */
  readonly stopTelemetry: (() => void) | null;
  /**
   * Settles a lost COMMIT answer on a fresh connection of this pool (src/transaction/settle-outcome.ts):
   * the primary's only (writes run there), and undefined when `settleTimeoutMs` is 0.
   */
  readonly settle: SettleOutcome | undefined;
}

export interface PoolSet<C> {
  readonly config: PoolConfig;
  readonly primary: PoolHandle<C>;
  /** One per DATABASE_URL_READ entry, in order. */
  readonly replicas: readonly PoolHandle<C>[];
  /** The primary, then the replicas: what warmup, the keep-alive and shutdown go over. */
  readonly all: readonly PoolHandle<C>[];
  /** Picks primary or replica for each read attempt (src/routing); null without replicas. */
  readonly router: ReadRouter<PoolHandle<C>> | null;
}

/** One pool's connection settings: the primary's from the config, or one of `config.readReplicas`. */
interface Endpoint {
  readonly connectionString: string;
  readonly connectionLimit: number;
  readonly tls: PoolConfig['tls'];
  readonly portRewrite: PoolConfig['portRewrite'];
}

let pipelineWarned = false;

/** Once per process: a pg without `pipeline` costs every transaction a round trip (PGPOOL_PG_NO_PIPELINE). */
function warnAboutPipeline(onWarning: ResolvedManagerOptions<PrismaClientLike>['onWarning']): void {
  const message = pgPipelineWarning();
  if (message === null || pipelineWarned) return;
  pipelineWarned = true;
  onWarning({ code: configWarningCode(message), message });
}

/** The warning for an adapter-pg that ignores statementNameGenerator (PGPOOL_ADAPTER_NO_STATEMENT_NAMES). */
export const ADAPTER_NO_STATEMENT_NAMES_WARNING =
  'the installed @prisma/adapter-pg does not name prepared statements (statementNameGenerator needs @prisma/adapter-pg ≥ 7.6.0): poolerTracksPreparedStatements (or statement_cache_size) is ignored and every statement stays unnamed, parsed again on each call; install @prisma/adapter-pg ≥ 7.6.0';

let statementNamesWarned = false;

/** Once per process, when the first adapter that should name statements turns out not to. */
function warnStatementNamesIgnored(onWarning: ResolvedManagerOptions<PrismaClientLike>['onWarning']): () => void {
  return () => {
    if (statementNamesWarned) return;
    statementNamesWarned = true;
    onWarning({ code: configWarningCode(ADAPTER_NO_STATEMENT_NAMES_WARNING), message: ADAPTER_NO_STATEMENT_NAMES_WARNING });
  };
}

/** Builds every pool of `config`, or none: on a throw, what was built is closed before rethrowing. */
export function openPoolSet<C extends PrismaClientLike>(
  config: PoolConfig,
  options: ResolvedManagerOptions<C>,
  telemetry: Telemetry | null,
): PoolSet<C> {
  warnAboutPipeline(options.onWarning);
  const built: PoolHandle<C>[] = [];
  const names = new Set<string>();
  const open = (endpoint: Endpoint, role: PoolTarget['role'], replicaIndex: number | null): PoolHandle<C> => {
    const target = describePoolTarget(role, endpoint.connectionString, config.schema, {
      poolName: options.telemetry.poolName,
      taken: names,
    });
    names.add(target.poolName);
    const handle = openHandle(config, endpoint, target, replicaIndex, options, telemetry);
    built.push(handle);
    return handle;
  };
  try {
    const primary = open(config, 'primary', null);
    const replicas = config.readReplicas.map((replica, index) => open(replica, 'read', index));
    const router =
      replicas.length === 0
        ? null
        : createReadRouter({
            handles: replicas,
            config,
            options: options.routing,
            primaryPool: primary.pool,
            applicationName: options.applicationName,
            log: managerLog,
          });
    return { config, primary, replicas, all: [primary, ...replicas], router };
  } catch (error) {
    for (const handle of built) {
      handle.stopTelemetry?.();
      releaseHostFleet(handle.pool);
      void handle.pool.end();
    }
    throw error;
  }
}

function openHandle<C extends PrismaClientLike>(
  config: PoolConfig,
  endpoint: Endpoint,
  target: PoolTarget,
  replicaIndex: number | null,
  options: ResolvedManagerOptions<C>,
  telemetry: Telemetry | null,
): PoolHandle<C> {
  const { role } = target;
  const { connectionString, connectionLimit, tls, portRewrite } = endpoint;
  const variable = role === 'read' ? 'DATABASE_URL_READ' : 'DATABASE_URL';
  const pool = createPool({ connectionString, connectionLimit, tls, variable, portRewrite }, config, {
    applicationName: options.applicationName,
    onIdleError: (error) => managerLog('%s pool: idle connection error (%s), discarded', target.poolName, classifyError(error).kind),
  });
  try {
    managerLog(
      '%s pool %s created: max %d, pool timeout %d ms, connect timeout %d ms, idle %d ms, named statements %s',
      role,
      target.poolName,
      connectionLimit,
      config.poolTimeoutMs,
      config.connectTimeoutMs,
      config.idleTimeoutMs,
      config.statementCache ? 'on' : 'off',
    );
    const adapterOptions = {
      schema: config.schema,
      statementName: config.statementCache ? statementName : undefined,
      // A replica behind PgBouncer that lost its server hangs a connected client instead of refusing
      // it: bound the wait so the read can still fall back to the primary within the pool timeout.
      beginTimeoutMs: role === 'read' ? replicaStartTimeoutMs(config) : undefined,
      onStatementNamesIgnored: warnStatementNamesIgnored(options.onWarning),
    };
    // What createClient is told: which server, so an app can give replicas options of their own.
    const server = (readOnly: boolean): DatabaseServer =>
      Object.freeze({ role: role === 'read' ? 'replica' : 'primary', host: target.address, port: target.port, replicaIndex, readOnly });
    let writeClient: C | null = null;
    let readOnlyClient: C | null = null;
    const handle: PoolHandle<C> = {
      target,
      get client(): C {
        writeClient ??= supportedClient(options.createClient(createAdapter(pool, adapterOptions), server(false)));
        return writeClient;
      },
      get readOnlyClient(): C {
        readOnlyClient ??= supportedClient(options.createClient(createAdapter(pool, { ...adapterOptions, readOnly: true }), server(true)));
        return readOnlyClient;
      },
      builtClients: () => [writeClient, readOnlyClient].filter((c): c is C => c !== null),
      pool,
      limit: connectionLimit,
      admission: new PoolAdmission(pool, connectionLimit, options.maxWaitingCallers),
      stopTelemetry: telemetry?.observePool(pool, connectionLimit, target) ?? null,
      settle: role === 'primary' && options.settleTimeoutMs > 0 ? settleOnPool(pool, { timeoutMs: options.settleTimeoutMs }) : undefined,
    };
    return handle;
  } catch (error) {
    releaseHostFleet(pool);
    void pool.end();
    throw error;
  }
}

/**
 * The app's client, refused at its first use when it is a Prisma client this package cannot make
 * safe (src/runtime/supported-versions.ts); disconnected first, so nothing stays open.
 */
function supportedClient<C extends PrismaClientLike>(client: C): C {
  try {
    assertSupportedPrismaClient(client);
  } catch (error) {
    void client.$disconnect().catch(() => {});
    throw error;
  }
  return client;
}

/** Stops the router, telemetry, clients and pools, in that order; never rejects. */
export async function closePoolSet<C extends PrismaClientLike>(set: PoolSet<C>): Promise<void> {
  await set.router?.close();
  for (const h of set.all) h.stopTelemetry?.();
  // A multi-host URL's pools let go of their host monitors (the last user stops the probes).
  for (const h of set.all) releaseHostFleet(h.pool);
  const clients = set.all.flatMap((h) => h.builtClients());
  await Promise.all(
    clients.map((client) =>
      client.$disconnect().catch((error: unknown) => managerLog('client disconnect failed: %s', classifyError(error).kind)),
    ),
  );
  await Promise.all(
    set.all.map((h) => h.pool.end().catch((error: unknown) => managerLog('pool end failed: %s', classifyError(error).kind))),
  );
}
