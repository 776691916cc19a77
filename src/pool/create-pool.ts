/**
 * The Prisma 7 translation: a resolved config → the real `pg.Pool` that @prisma/adapter-pg uses.
 *
 * Prisma 7 ignores the v6 URL parameters (`connection_limit`, `pool_timeout`, `connect_timeout`,
 * `pgbouncer`, `statement_cache_size`); Prisma's v7 upgrade guide maps them to node-postgres pool
 * options, which is what this file does:
 * - `connection_limit` → `max`
 * - `pool_timeout`     → `connectionTimeoutMillis` on the pool (the wait for a free connection;
 *                        pg's default 0 waits forever, we never pass 0)
 * - `connect_timeout`  → `connectionTimeoutMillis` on each new pg.Client (TCP + auth)
 * - `socket_timeout`   → pg's `query_timeout` (client-side limit on one query; Prisma 6 documented
 *                        it as "maximum number of seconds to wait until a single query terminates")
 * - idle timeout       → `idleTimeoutMillis` (short in serverless runtimes)
 * - `keepalives`, `keepalives_idle` (libpq) → pg's `keepAlive`, `keepAliveInitialDelayMillis`
 * - `silenceTimeoutMs` (`tcp_user_timeout`, or the serverless default) → a watch on each client
 *   that destroys a connection silent for that long while a query is outstanding
 * - `schema`           → adapter-pg's `schema` option (a startup `options=-c search_path` would be
 *                        dropped by PgBouncer's ignore_startup_parameters)
 * - `pgbouncer=true` / `statement_cache_size=0` → no `statementNameGenerator`: adapter-pg then sends
 *   unnamed statements, which PgBouncer < 1.21 in transaction mode needs (named ones fail with
 *   42P05 / 26000 once transactions move between server connections).
 * Prisma-only and TLS parameters are stripped from the URL before pg sees it; the TLS ones become
 * pg's `ssl` option (src/pool/client-settings.ts, shared with the health probe).
 */
import pg from 'pg';
import type { PortRewrite } from '../config/providers.ts';
import type { PoolConfig } from '../config/resolve-pool-config.ts';
import type { TlsOptions } from '../config/tls-options.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import { timersCanUnref } from '../runtime/unref-timer.ts';
import { buildClientSettings, pgClientConfig, tlsAwareClient } from './client-settings.ts';
import { type HostFleet, registerHostFleet } from './host-fleet.ts';
import { multiHostSetup } from './multi-host.ts';
import { destroyClientSocket, PG_NO_PIPELINE_WARNING, pgSupportsPipeline, watchServerVersion } from './pg-internals.ts';
import { rewrittenPortAware } from './rewritten-port.ts';
import { SilenceWatch, watchedQuery } from './silence-watch.ts';

/** One pool's target: the primary or the read replica. */
export interface PoolTarget {
  /** Real URL, password included. */
  readonly connectionString: string;
  readonly connectionLimit: number;
  /** The URL's TLS intent (`config.tls`, `config.read.tls`). Defaults to parsing the URL. */
  readonly tls?: TlsOptions;
  /** The environment variable the URL came from, named in TLS errors. Defaults to `DATABASE_URL`. */
  readonly variable?: string;
  /** The port the package chose for this URL (`config.portRewrite`): a refused connect there says so. */
  readonly portRewrite?: PortRewrite | null;
}

export interface CreatePoolHooks {
  /** Errors of idle clients (server restart, PgBouncer KILL …). Without a listener pg would crash the process. */
  onIdleError?: (error: Error) => void;
  /** Application name shown in pg_stat_activity / SHOW CLIENTS. */
  applicationName?: string;
}

let crypto: ReturnType<typeof nodeBuiltin<'node:crypto'>> | undefined;

/** Same SQL text → same name, so pg's per-connection statement cache can reuse it. Runs per query: node:crypto is looked up once. */
export function statementName(sql: string): string {
  crypto ??= nodeBuiltin('node:crypto');
  return `s_${crypto.createHash('sha1').update(sql).digest('base64url')}`;
}

function ignoreClientError(): void {}

const CREATED_AT = Symbol('createdAt');

/**
 * When the pool created this client (`performance.now()`), or undefined for a client not made by
 * our pool. pg-pool calls `connect()` right after constructing a client, so this is when its
 * connection attempt started (telemetry's `db.client.connection.create_time`).
 */
export function connectionCreatedAt(client: object): number | undefined {
  return (client as { [CREATED_AT]?: number })[CREATED_AT];
}

interface WatchedClient {
  readonly host: string;
  readonly port: number;
  readonly silence: Pick<SilenceWatch, 'idle' | 'lastActivityAt'> | null;
}

/**
 * After `silent` was cut: the pool's other clients to the same host that sit idle and have not sent
 * or heard anything since `quietSince` (when `silent` last heard from the host). A client used
 * since then has proven its path alive; a busy one has its own watch; a never-used one is new.
 * Exported for unit tests: pure over its inputs.
 */
export function idleSuspects<T extends WatchedClient>(clients: Iterable<T>, silent: WatchedClient, quietSince: number): T[] {
  const suspects: T[] = [];
  for (const client of clients) {
    const watch = client.silence;
    if (client === silent || !watch?.idle || watch.lastActivityAt === 0) continue;
    if (client.host === silent.host && client.port === silent.port && watch.lastActivityAt <= quietSince) suspects.push(client);
  }
  return suspects;
}

export function buildPgPoolConfig(target: PoolTarget, config: PoolConfig, hooks: CreatePoolHooks = {}): pg.PoolConfig {
  const { fleet, ...pgConfig } = buildPoolSetup(target, config, hooks);
  // A pool built from these options is not tracked: it does not hold the shared fleet.
  fleet?.release();
  return pgConfig;
}

/** The pg.Pool options and, for a multi-host URL, the fleet of host monitors its clients report to. */
function buildPoolSetup(target: PoolTarget, config: PoolConfig, hooks: CreatePoolHooks): pg.PoolConfig & { fleet: HostFleet | null } {
  const connectTimeoutMs = config.connectTimeoutMs;
  // A multi-host URL (libpq's h1,h2 + target_session_attrs): pg gets one host, the class picks it (src/pool/multi-host.ts).
  const hosts = multiHostSetup(buildClientSettings(target.connectionString, { tls: target.tls, variable: target.variable }));
  const settings = hosts.settings;
  // pg.Pool hands its own options to every new Client; this subclass gives the Client its own
  // connect timeout while the pool keeps `connectionTimeoutMillis` for the acquire wait, and turns
  // a TLS failure at connect into a TlsError that names the URL parameter to change.
  const silenceMs = config.silenceTimeoutMs;
  // This pool's clients, for the sweep after a silent connection (see `idleSuspects`).
  const live = new Set<TimedClient>();
  class TimedClient extends hosts.wrap(rewrittenPortAware(target.portRewrite, tlsAwareClient(settings, pg.Client))) {
    readonly [CREATED_AT] = performance.now();
    // The bound on a silent connection (src/pool/silence-watch.ts): the client is destroyed, never reused.
    readonly #silence =
      silenceMs === null
        ? null
        : new SilenceWatch(
            this,
            silenceMs,
            () => `${this.host}:${this.port}`,
            (quietSince) => {
              // A silent host in a fleet is down for every new connection until its monitor finds it back.
              hosts.fleet?.hostOf(this)?.markDown('silent');
              // What cuts one path (a moved IP, a dropped NAT mapping, a frozen pooler) cuts the others opened
              // before it: idle ones that have not heard from the host since are ended now, so that the
              // retry gets a fresh connection instead of another half bound on a dead one.
              for (const client of idleSuspects(live, this, quietSince)) destroyClientSocket(client);
            },
          );
    /** Silence watch state, for the sweep. */
    get silence(): SilenceWatch | null {
      return this.#silence;
    }
    constructor(options: pg.ClientConfig) {
      // pipeline: our adapter writes a transaction's BEGIN together with its first statement
      // (src/adapter/pipelined-transaction.ts); a lone query behaves exactly as without it.
      super({ ...options, connectionTimeoutMillis: connectTimeoutMs, pipeline: true } as pg.ClientConfig);
      // Every client always has an 'error' listener. pg-pool removes its idle listener when it
      // hands a client out and adapter-pg adds its own a microtask later; a FATAL that arrives in
      // the same read as the login's ReadyForQuery (PgBouncer KILL or restart during connect)
      // falls in between and, unheard, would crash the process. The error still reaches the
      // client's next query and the pool drops the client, so nothing is lost by ignoring it here.
      this.on('error', ignoreClientError);
      if (silenceMs !== null) {
        live.add(this);
        this.once('end', () => live.delete(this));
      }
      // Which statement asks for a transaction's id depends on the server's version (src/adapter/pipelined-transaction.ts).
      watchServerVersion(this);
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's query() is overloaded (promise, callback, Submittable)
    override query(...args: any[]): any {
      // biome-ignore lint/suspicious/noExplicitAny: see above
      const send = (...a: unknown[]) => (super.query as (...b: unknown[]) => any)(...a);
      return this.#silence === null ? send(...args) : watchedQuery(this.#silence, send, args);
    }
  }
  return {
    ...pgClientConfig(settings),
    max: target.connectionLimit,
    connectionTimeoutMillis: config.poolTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    // pg-pool closes idle clients only above `min`; 0 lets every idle connection close, which the
    // keep-alive (src/lifecycle/keep-alive.ts) and frozen instances rely on.
    min: 0,
    query_timeout: config.socketTimeoutMs ?? undefined,
    // An idle pool never keeps a serverless handler (or a script) alive. pg-pool then calls
    // `unref()` on its idle timers unguarded: only where timers have it (not on workerd).
    allowExitOnIdle: timersCanUnref(),
    // Detects a dead peer (frozen instance, dropped NAT entry) on idle sockets; libpq's `keepalives`
    // and `keepalives_idle` from the URL (src/config/tcp-settings.ts). Node sets the idle time only.
    keepAlive: config.tcp.keepAlive,
    keepAliveInitialDelayMillis: config.tcp.keepAliveIdleMs ?? undefined,
    application_name: hooks.applicationName,
    // @types/pg declares `Client` as a zero-argument constructor; pg really passes the options.
    Client: TimedClient as unknown as new () => pg.ClientBase,
    fleet: hosts.fleet,
  };
}

let pipelineChecked: string | null | undefined;

/** The warning for an installed pg without the `pipeline` option, or null; checked once per process. */
export function pgPipelineWarning(): string | null {
  pipelineChecked ??= pgSupportsPipeline(pg.Client) ? null : PG_NO_PIPELINE_WARNING;
  return pipelineChecked;
}

/** The pool; our adapter over it is built by its user (src/manager/pool-set.ts), one layer up. */
export function createPool(target: PoolTarget, config: PoolConfig, hooks: CreatePoolHooks = {}): pg.Pool {
  const { fleet, ...pgConfig } = buildPoolSetup(target, config, hooks);
  const pool = new pg.Pool(pgConfig);
  // A multi-host URL's host monitors, found by the manager for metrics, health and shutdown.
  if (fleet) registerHostFleet(pool, fleet);
  pool.on('error', (error) => hooks.onIdleError?.(error));
  return pool;
}
