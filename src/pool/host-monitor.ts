/**
 * One host of a multi-host URL, watched by one monitor: whether new connections may go there.
 *
 * After the AWS Advanced NodeJS Wrapper's enhanced failure monitoring (a monitoring connection per
 * host, then the connections to a dead host are aborted) and libpq's multi-host connect: a host that
 * refuses, times out or goes silent is marked down once — by whoever saw it first — and from then
 * on this monitor alone decides when it is back, by probing it with backoff on a throwaway
 * connection (connect + `SELECT 1`), instead of every connect probing every host (a login storm in
 * the very moment a fleet exists for). Marking a host down also ends the connections already open
 * to it (`onDown`), so that pooled connections to a frozen pooler are not handed out to wait for
 * the silence bound one after the other.
 *
 * Every timer is unref'd; `close()` stops the probes. A probe never throws out of its timer.
 */
import type { HostEndpoint } from '../config/host-list.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';

export type HostState = 'up' | 'down';

/** Backoff of the probes of a down host: first after `firstMs`, then ×2 up to `maxMs`, each ±20 % jitter. */
export interface ProbeBackoff {
  readonly firstMs: number;
  readonly maxMs: number;
}

/** Short enough to take a restarted pooler back within a second or two; capped so a long outage costs one login every 5 s. */
export const DEFAULT_PROBE_BACKOFF: ProbeBackoff = Object.freeze({ firstMs: 250, maxMs: 5_000 });

export interface HostMonitorCounters {
  /** Times the host was marked down. */
  readonly downs: number;
  /** Times a probe found it back. */
  readonly recoveries: number;
  /** Probes run (each one connection attempt). */
  readonly probes: number;
}

export interface HostStatus extends HostMonitorCounters {
  /** `host:port` (no credentials). */
  readonly host: string;
  readonly state: HostState;
  /** Why it went down the last time: an error kind (`connection`, `silent` …); null while it never did. */
  readonly lastDownReason: string | null;
}

export interface HostMonitorOptions {
  readonly host: HostEndpoint;
  /** Resolves when the host answered a fresh connection (and the session matches), rejects otherwise. Must bound its own wait. */
  readonly probe: (host: HostEndpoint) => Promise<void>;
  /** Called when the host is marked down: end the connections open to it. */
  readonly onDown?: (host: HostEndpoint) => void;
  /** Called on every state change (logs). */
  readonly onChange?: (status: HostStatus) => void;
  readonly backoff?: ProbeBackoff;
  readonly random?: () => number;
}

export class HostMonitor {
  readonly host: HostEndpoint;
  readonly name: string;
  #state: HostState = 'up';
  #downs = 0;
  #recoveries = 0;
  #probes = 0;
  #lastDownReason: string | null = null;
  #delayMs = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #probing = false;
  #closed = false;
  readonly #options: HostMonitorOptions;
  readonly #backoff: ProbeBackoff;

  constructor(options: HostMonitorOptions) {
    this.#options = options;
    this.host = options.host;
    this.name = options.host.host.includes(':')
      ? `[${options.host.host}]:${options.host.port}`
      : `${options.host.host}:${options.host.port}`;
    this.#backoff = options.backoff ?? DEFAULT_PROBE_BACKOFF;
  }

  get state(): HostState {
    return this.#state;
  }

  /**
   * Something saw this host refuse, time out or go silent. The first report marks it down, ends the
   * connections open to it and starts the probes; reports while it is down change nothing.
   */
  markDown(reason: string): void {
    if (this.#closed || this.#state === 'down') return;
    this.#state = 'down';
    this.#downs++;
    this.#lastDownReason = reason;
    this.#delayMs = this.#backoff.firstMs;
    this.#options.onChange?.(this.status());
    try {
      this.#options.onDown?.(this.host);
    } catch {
      // ending connections is best effort: the silence bound still covers any left
    }
    this.#schedule();
  }

  status(): HostStatus {
    return {
      host: this.name,
      state: this.#state,
      downs: this.#downs,
      recoveries: this.#recoveries,
      probes: this.#probes,
      lastDownReason: this.#lastDownReason,
    };
  }

  /** Stops probing (the pool is closing). */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== null || this.#probing) return;
    const jitter = 0.8 + 0.4 * (this.#options.random ?? Math.random)();
    this.#timer = setTimeout(
      () => {
        this.#timer = null;
        void this.#probe();
      },
      Math.round(this.#delayMs * jitter),
    );
    unrefTimer(this.#timer);
  }

  async #probe(): Promise<void> {
    if (this.#closed || this.#state === 'up') return;
    this.#probing = true;
    this.#probes++;
    let ok = false;
    try {
      await this.#options.probe(this.host);
      ok = true;
    } catch {
      // still down: probe again later
    } finally {
      this.#probing = false;
    }
    if (this.#closed) return;
    if (ok) {
      this.#state = 'up';
      this.#recoveries++;
      this.#options.onChange?.(this.status());
      return;
    }
    this.#delayMs = Math.min(this.#backoff.maxMs, this.#delayMs * 2);
    this.#schedule();
  }
}
