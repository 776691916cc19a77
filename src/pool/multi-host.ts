/**
 * libpq's multi-host connect for node-postgres (PostgreSQL docs §34.1.1–34.1.2): a `pg.Client`
 * subclass layer whose `connect()` tries the URL's hosts in order (or shuffled with
 * `load_balance_hosts=random`) and keeps the first whose session matches `target_session_attrs`,
 * asked as libpq asks: `SHOW transaction_read_only` / `pg_is_in_recovery()` (one query).
 * node-postgres has none of it (brianc/node-postgres#3643 is open): it would reject the URL with
 * `Invalid URL`.
 *
 * How, given that a pg.Client cannot connect twice (its connect() refuses a second call, and a
 * failed connect leaves it ended):
 * - Steady state costs nothing extra: the host that matched last time is tried first, on the
 *   client itself, and checked on that same connection (as libpq does).
 * - When that host is gone or no longer matches, the client ends and connect() rejects with
 *   `NoMatchingHostError` (classified `connection`, failover: the retry loop's failover window
 *   runs the call again), and the next connect probes the hosts one by one on throwaway clients
 *   (same settings, TLS included), then connects the client itself to the winner and checks it again.
 * - With `target_session_attrs=any` (a fleet of poolers, or servers where any will do) the hosts'
 *   health is decided by one monitor per host (src/pool/host-fleet.ts, src/pool/host-monitor.ts):
 *   each connect goes straight to a host that is up — the first in the URL's order, or a random one
 *   with `load_balance_hosts=random` — and nothing is probed on the hot path. A host that refuses or
 *   times out is marked down by the connect that saw it (which fails as the lost connection it is,
 *   nothing sent, and is retried: the retry goes to a host that is up); its monitor probes it back
 *   with backoff, and the connections already open to it are ended.
 * - Leaning on pg's internals: the host and port are set on the client (and its
 *   ConnectionParameters) before `super.connect()`, which reads `this.host` / `this.port` there
 *   (pg 8.23 lib/client.js `_connect`), through src/pool/pg-internals.ts: fields that are gone are an
 *   IncompatibleDependencyError (kind `dependency`). test/unit/pool/multi-host.test.ts pins that
 *   pg reads them at connect; if a release stopped, the session check after connect would see the
 *   wrong server and fail as `NoMatchingHostError` (for `any`, the first host is the URL's anyway).
 */
import type pg from 'pg';
import { parseDatabaseUrl } from '../config/database-url.ts';
import { describeHosts, type HostEndpoint, type HostList, needsHostSelection, parseHostList, singleHostUrl } from '../config/host-list.ts';
import { classifyError } from '../errors/classify-error.ts';
import { NoMatchingHostError } from '../errors/errors.ts';
import { managerLog } from '../logging/loggers.ts';
import type { PgClientSettings } from './client-settings.ts';
import { HostFleet } from './host-fleet.ts';
import type { HostMonitor } from './host-monitor.ts';
import { aimClientAt, destroyClientSocket } from './pg-internals.ts';

type ClientConstructor = new (config: pg.ClientConfig) => pg.Client;

/** One query answers every `target_session_attrs`. */
export const SESSION_CHECK_SQL = "SELECT current_setting('transaction_read_only') AS read_only, pg_is_in_recovery() AS in_recovery";

export interface SessionState {
  readonly readOnly: boolean;
  readonly inRecovery: boolean;
}

/** Does a session in `state` match? `prefer-standby`'s second pass (any server) is the caller's. */
export function sessionMatches(attrs: HostList['targetSessionAttrs'], state: SessionState): boolean {
  switch (attrs) {
    case 'any':
    case 'prefer-standby':
      return attrs === 'any' || state.inRecovery;
    case 'read-write':
      return !state.readOnly;
    case 'read-only':
      return state.readOnly;
    case 'primary':
      return !state.inRecovery;
    case 'standby':
      return state.inRecovery;
  }
}

async function readSessionState(client: pg.Client): Promise<SessionState> {
  const { rows } = await client.query<{ read_only: string; in_recovery: boolean }>(SESSION_CHECK_SQL);
  return { readOnly: rows[0]?.read_only === 'on', inRecovery: rows[0]?.in_recovery === true };
}

export interface MultiHostSetup {
  /** Settings for pg: the first host's single-host URL. */
  readonly settings: PgClientSettings;
  /** The host list; null when the URL needs no host selection (one host, `any`). */
  readonly hostList: HostList | null;
  /**
   * The hosts' monitors and open connections, shared by every user of this URL in the process and
   * retained for this one: `release()` it when done (a pool at its end, a one-off connection after
   * use). Null without host selection.
   */
  readonly fleet: HostFleet | null;
  /** Wraps a client class (the TLS-aware one) with the multi-host connect; the class itself when not needed. */
  readonly wrap: (Base: ClientConstructor) => ClientConstructor;
}

/** Reads the URL's host list; a single host with `any` passes through untouched. */
export function multiHostSetup(settings: PgClientSettings, random: () => number = Math.random): MultiHostSetup {
  const parsed = parseDatabaseUrl(settings.connectionString, settings.variable);
  const hostList = parseHostList(parsed, settings.variable);
  if (!needsHostSelection(hostList) && parsed.hosts.length <= 1 && !hasHostListParams(parsed)) {
    return { settings, hostList: null, fleet: null, wrap: (Base) => Base };
  }
  const first = hostList.hosts[0] as HostEndpoint;
  const single = Object.freeze({ ...settings, connectionString: singleHostUrl(parsed, first) });
  if (!needsHostSelection(hostList)) return { settings: single, hostList: null, fleet: null, wrap: (Base) => Base };
  const fleet = acquireHostFleet(settings.connectionString, hostList, random);
  return { settings: single, hostList, fleet, wrap: (Base) => multiHostClient(hostList, Base, random, fleet) };
}

/** Fleets by URL (password included: the same hosts as the same user are the same fleet). Never logged. */
const sharedFleets = new Map<string, HostFleet>();

/**
 * The fleet of `connectionString`'s hosts in this process, retained once for the caller: one monitor
 * per host, whoever connects there. A fleet whose last user released it is replaced by a new one.
 */
export function acquireHostFleet(connectionString: string, hostList: HostList, random: () => number = Math.random): HostFleet {
  let fleet = sharedFleets.get(connectionString);
  if (!fleet || fleet.closed) {
    const created = new HostFleet(hostList, {
      random,
      onChange: (status) =>
        managerLog('host %s is %s%s', status.host, status.state, status.state === 'down' ? ` (${status.lastDownReason})` : ''),
      onClose: () => {
        if (sharedFleets.get(connectionString) === created) sharedFleets.delete(connectionString);
      },
    });
    fleet = created;
    sharedFleets.set(connectionString, fleet);
  }
  return fleet.retain();
}

function hasHostListParams(parsed: ReturnType<typeof parseDatabaseUrl>): boolean {
  return parsed.params.some(([key]) => key === 'host' || key === 'target_session_attrs' || key === 'load_balance_hosts');
}

/** Points a client that has not connected yet at `host` (src/pool/pg-internals.ts; pinned by a unit test). */
export const aimClient = aimClientAt;

/**
 * The class pg-pool constructs: `connect()` picks the host. Each class (one per pool) remembers the
 * host that matched last, shared by its clients.
 */
export function multiHostClient(
  hostList: HostList,
  Base: ClientConstructor,
  random: () => number = Math.random,
  fleet: HostFleet = new HostFleet(hostList, { random }),
): ClientConstructor {
  const names = describeHosts(hostList);
  const attrs = hostList.targetSessionAttrs;
  let preferred: HostEndpoint | null = null;
  /** The settings the pool's clients are built with (connect timeout, TLS): the monitors' probes use them too. */
  let probeConfig: pg.ClientConfig | null = null;

  /** A connection error that says the host is gone (refused, reset, timed out): not a login or TLS refusal. */
  const hostIsGone = (error: unknown) => classifyError(error).kind === 'connection';

  // The monitors' probe: a throwaway connection, `SELECT 1`, each step bounded by the connect timeout.
  fleet.setProbe(async (host) => {
    if (probeConfig === null) throw new Error('no connection was made yet');
    const client = new Base(probeConfig);
    client.on('error', () => {});
    aimClient(client, host);
    try {
      await client.connect();
      const timeout = probeConfig.connectionTimeoutMillis || 5_000;
      await client.query({ text: 'SELECT 1', query_timeout: timeout } as pg.QueryConfig);
      await client.end();
    } catch (error) {
      destroyClientSocket(client); // a frozen host would never answer end()
      throw error;
    }
  });

  /** Probes the hosts on throwaway clients: the first that matches (libpq's order), or null; `answered` if any host did. */
  async function probe(config: pg.ClientConfig): Promise<{ host: HostEndpoint | null; answered: boolean }> {
    let fallback: HostEndpoint | null = null;
    let answered = false;
    for (const monitor of fleet.order()) {
      const host = monitor.host;
      const client = new Base(config);
      client.on('error', () => {});
      aimClient(client, host);
      try {
        await client.connect();
        const state = await readSessionState(client);
        answered = true;
        if (sessionMatches(attrs, state)) return { host, answered };
        // prefer-standby: any server will do when no standby answers (libpq's second pass).
        if (attrs === 'prefer-standby') fallback ??= host;
      } catch (error) {
        // refused, timed out, shutting down: the next host (libpq moves on the same way)
        if (hostIsGone(error)) monitor.markDown(classifyError(error).kind);
      } finally {
        await client.end().catch(() => {});
      }
    }
    return { host: fallback, answered };
  }

  return class MultiHostClient extends Base {
    readonly #config: pg.ClientConfig;
    constructor(config: pg.ClientConfig) {
      super(config);
      this.#config = config;
      probeConfig ??= config;
    }

    // biome-ignore lint/suspicious/noExplicitAny: pg's connect() is overloaded (callback or promise)
    override connect(callback?: (...args: any[]) => void): any {
      const connecting = this.#connectToMatch();
      if (!callback) return connecting;
      connecting.then(
        () => callback(null, this),
        (error: unknown) => callback(error),
      );
      return undefined;
    }

    /** `any`: the monitors decide; straight to the best host that is up, no probe on the hot path. */
    async #connectToFleet(): Promise<this> {
      const monitor = fleet.order()[0] as HostMonitor;
      aimClient(this, monitor.host);
      try {
        await super.connect();
      } catch (error) {
        // Gone (refused, reset, no answer within connect_timeout): down for everyone, until its monitor
        // finds it back. The caller's retry goes to a host that is up; nothing was sent on this one.
        if (hostIsGone(error)) monitor.markDown(classifyError(error).kind);
        await this.end().catch(() => {});
        throw error;
      }
      fleet.track(this, monitor);
      return this;
    }

    async #connectToMatch(): Promise<this> {
      if (attrs === 'any') return this.#connectToFleet();
      const known = preferred;
      let host = known;
      if (host === null) {
        const found = await probe(this.#config);
        if (found.host === null) throw new NoMatchingHostError(attrs, names, found.answered ? 'matched' : 'answered');
        host = found.host;
      }
      aimClient(this, host);
      try {
        await super.connect();
        const state = await readSessionState(this);
        // prefer-standby only orders the probe (standbys first); any server is acceptable on the connection.
        const ok = attrs === 'prefer-standby' || sessionMatches(attrs, state);
        if (!ok) throw new NoMatchingHostError(attrs, names, 'matched');
      } catch (error) {
        preferred = null; // the next connect probes again
        // A host that answered but does not match is not down: only a lost connection marks it.
        if (!(error instanceof NoMatchingHostError) && hostIsGone(error)) fleet.monitorFor(host)?.markDown(classifyError(error).kind);
        await this.end().catch(() => {});
        if (error instanceof NoMatchingHostError) throw error;
        // A refused or dropped connection to the host that matched before: the primary is moving.
        throw known !== null ? new NoMatchingHostError(attrs, names, 'answered', { cause: error }) : error;
      }
      preferred = host;
      const monitor = fleet.monitorFor(host);
      if (monitor) fleet.track(this, monitor);
      return this;
    }
  };
}
