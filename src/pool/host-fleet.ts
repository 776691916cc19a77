/**
 * The hosts of one pool's multi-host URL (a fleet of poolers, or database servers), each with its
 * monitor (src/pool/host-monitor.ts), and the connections open to each.
 *
 * - Where a new connection goes (`order()`): the hosts that are up, in the URL's order or shuffled
 *   for each connection with `load_balance_hosts=random` (libpq §34.1.2: "hosts are tried in random
 *   order", which spreads the connections of many clients across the fleet); a host that is down is
 *   tried only when no host is up (the monitors may not have seen it come back yet).
 * - What is open where (`track`): each connected client is remembered with its host until it ends,
 *   so that a host found dead can have its connections ended (`destroyClientSocket`: queries on
 *   them fail as lost connections and are retried elsewhere; idle ones leave the pool).
 * - The figures (`status()`): each host's state and counters, for metrics and the health report.
 *
 * One fleet per URL in a process (src/pool/multi-host.ts `acquireHostFleet`): the pools of several
 * managers on the same URL, and the health check's one-off connection, share its monitors, so each
 * host has one monitor per process. Users `retain()` it and `release()` it; the last release stops
 * the probes. Pools find theirs through `hostFleetOf(pool)`.
 */
import type pg from 'pg';
import type { HostEndpoint, HostList } from '../config/host-list.ts';
import { HostMonitor, type HostStatus, type ProbeBackoff } from './host-monitor.ts';
import { destroyClientSocket } from './pg-internals.ts';

export interface HostFleetOptions {
  /** One probe of one host on a fresh connection (see HostMonitorOptions.probe). Set later by the client class. */
  probe?: (host: HostEndpoint) => Promise<void>;
  onChange?: (status: HostStatus) => void;
  /** Called once when the fleet closes (the shared registry forgets it). */
  onClose?: () => void;
  backoff?: ProbeBackoff;
  random?: () => number;
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export class HostFleet {
  readonly monitors: readonly HostMonitor[];
  readonly #list: HostList;
  readonly #random: () => number;
  readonly #open = new Map<HostMonitor, Set<pg.ClientBase>>();
  readonly #hostOf = new WeakMap<pg.ClientBase, HostMonitor>();
  #probe: ((host: HostEndpoint) => Promise<void>) | null;
  #users = 0;
  #closed = false;
  readonly #onClose: (() => void) | undefined;

  constructor(list: HostList, options: HostFleetOptions = {}) {
    this.#list = list;
    this.#random = options.random ?? Math.random;
    this.#probe = options.probe ?? null;
    this.#onClose = options.onClose;
    this.monitors = list.hosts.map(
      (host) =>
        new HostMonitor({
          host,
          probe: (h) => (this.#probe ? this.#probe(h) : Promise.reject(new Error('no probe yet'))),
          onDown: () => this.#endConnections(host),
          onChange: options.onChange,
          backoff: options.backoff,
          random: this.#random,
        }),
    );
  }

  /** The probe, known once the pool's client class exists (it connects the way the pool does). */
  setProbe(probe: (host: HostEndpoint) => Promise<void>): void {
    this.#probe = probe;
  }

  /** The hosts to try for one new connection, best first (see above). */
  order(): HostMonitor[] {
    const ordered = this.#list.loadBalanceHosts === 'random' ? shuffle(this.monitors, this.#random) : [...this.monitors];
    const up = ordered.filter((m) => m.state === 'up');
    return up.length > 0 ? [...up, ...ordered.filter((m) => m.state !== 'up')] : ordered;
  }

  monitorFor(host: HostEndpoint): HostMonitor | undefined {
    return this.monitors.find((m) => m.host.host === host.host && m.host.port === host.port);
  }

  /** `client` is connected to `monitor`'s host until it ends. */
  track(client: pg.ClientBase, monitor: HostMonitor): void {
    let open = this.#open.get(monitor);
    if (!open) {
      open = new Set();
      this.#open.set(monitor, open);
    }
    open.add(client);
    this.#hostOf.set(client, monitor);
    client.once('end', () => open.delete(client));
  }

  /** The host `client` was connected to, if it is one of this fleet's. */
  hostOf(client: pg.ClientBase): HostMonitor | undefined {
    return this.#hostOf.get(client);
  }

  /** Connections open per host now (`host:port` → count). */
  openConnections(): Record<string, number> {
    return Object.fromEntries(this.monitors.map((m) => [m.name, this.#open.get(m)?.size ?? 0]));
  }

  status(): HostStatus[] {
    return this.monitors.map((m) => m.status());
  }

  /** One more user (a pool, a one-off connection). */
  retain(): this {
    this.#users++;
    return this;
  }

  /** One user fewer; the last one stops the probes. Returns true when that was the last. */
  release(): boolean {
    this.#users = Math.max(0, this.#users - 1);
    if (this.#users > 0) return false;
    this.close();
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every probe now, whoever still uses the fleet. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const monitor of this.monitors) monitor.close();
    this.#onClose?.();
  }

  #endConnections(host: HostEndpoint): void {
    const monitor = this.monitorFor(host);
    const open = monitor ? this.#open.get(monitor) : undefined;
    if (!open) return;
    for (const client of [...open]) destroyClientSocket(client);
    open.clear();
  }
}

const fleets = new WeakMap<pg.Pool, HostFleet>();

/** Remembers `pool`'s fleet (src/pool/create-pool.ts). */
export function registerHostFleet(pool: pg.Pool, fleet: HostFleet): void {
  fleets.set(pool, fleet);
}

/** The pool is closing: it no longer uses its fleet (the last user stops the probes). */
export function releaseHostFleet(pool: pg.Pool): void {
  const fleet = fleets.get(pool);
  if (!fleet) return;
  fleets.delete(pool);
  fleet.release();
}

/** The fleet of `pool`'s multi-host URL; undefined for a single-host URL. */
export function hostFleetOf(pool: pg.Pool): HostFleet | undefined {
  return fleets.get(pool);
}

/** `getMetrics().hosts`: each host's status and the connections open to it now; empty for a single-host pool. */
export function hostFigures(pool: pg.Pool): (HostStatus & { readonly openConnections: number })[] {
  const fleet = fleets.get(pool);
  if (!fleet) return [];
  const open = fleet.openConnections();
  return fleet.status().map((status) => ({ ...status, openConnections: open[status.host] ?? 0 }));
}
