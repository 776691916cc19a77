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
import { NoMatchingHostError } from '../errors/errors.ts';
import type { PgClientSettings } from './client-settings.ts';
import { aimClientAt } from './pg-internals.ts';

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

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export interface MultiHostSetup {
  /** Settings for pg: the first host's single-host URL. */
  readonly settings: PgClientSettings;
  /** The host list; null when the URL needs no host selection (one host, `any`). */
  readonly hostList: HostList | null;
  /** Wraps a client class (the TLS-aware one) with the multi-host connect; the class itself when not needed. */
  readonly wrap: (Base: ClientConstructor) => ClientConstructor;
}

/** Reads the URL's host list; a single host with `any` passes through untouched. */
export function multiHostSetup(settings: PgClientSettings, random: () => number = Math.random): MultiHostSetup {
  const parsed = parseDatabaseUrl(settings.connectionString, settings.variable);
  const hostList = parseHostList(parsed, settings.variable);
  if (!needsHostSelection(hostList) && parsed.hosts.length <= 1 && !hasHostListParams(parsed)) {
    return { settings, hostList: null, wrap: (Base) => Base };
  }
  const first = hostList.hosts[0] as HostEndpoint;
  const single = Object.freeze({ ...settings, connectionString: singleHostUrl(parsed, first) });
  if (!needsHostSelection(hostList)) return { settings: single, hostList: null, wrap: (Base) => Base };
  return { settings: single, hostList, wrap: (Base) => multiHostClient(hostList, Base, random) };
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
export function multiHostClient(hostList: HostList, Base: ClientConstructor, random: () => number = Math.random): ClientConstructor {
  const names = describeHosts(hostList);
  const attrs = hostList.targetSessionAttrs;
  let preferred: HostEndpoint | null = null;

  /** Probes the hosts on throwaway clients: the first that matches (libpq's order), or null; `answered` if any host did. */
  async function probe(config: pg.ClientConfig): Promise<{ host: HostEndpoint | null; answered: boolean }> {
    const order = hostList.loadBalanceHosts === 'random' ? shuffle(hostList.hosts, random) : [...hostList.hosts];
    let fallback: HostEndpoint | null = null;
    let answered = false;
    for (const host of order) {
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
      } catch {
        // refused, timed out, shutting down: the next host (libpq moves on the same way)
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

    async #connectToMatch(): Promise<this> {
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
        if (attrs !== 'any') {
          const state = await readSessionState(this);
          // prefer-standby only orders the probe (standbys first); any server is acceptable on the connection.
          const ok = attrs === 'prefer-standby' || sessionMatches(attrs, state);
          if (!ok) throw new NoMatchingHostError(attrs, names, 'matched');
        }
      } catch (error) {
        preferred = null; // the next connect probes again
        await this.end().catch(() => {});
        if (error instanceof NoMatchingHostError) throw error;
        // A refused or dropped connection to the host that matched before: the primary is moving.
        throw known !== null ? new NoMatchingHostError(attrs, names, 'answered', { cause: error }) : error;
      }
      preferred = host;
      return this;
    }
  };
}
