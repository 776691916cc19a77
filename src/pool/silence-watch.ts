/**
 * The bound on silence: a connection with a query outstanding that receives no byte from the server
 * for half of `silenceTimeoutMs` is destroyed with a ConnectionSilentError (src/errors/errors.ts).
 * The bound is on the call: the other half is left for the retry or the settle on a fresh
 * connection (src/config/tcp-settings.ts, `silenceCutAfterMs`).
 *
 * Why it is needed: a host that stops answering without closing (an IP that moved in a failover, a
 * deleted pod, a dropped NAT mapping: no RST, no FIN) leaves every query on its open connections
 * waiting forever. pg's `keepAlive` uses the OS idle time (2 h on Linux) and keepalive probes are not
 * even sent while sent data is unacknowledged; Node exposes no TCP_USER_TIMEOUT; and a userspace
 * proxy or pooler in between acknowledges at the TCP level whatever happens behind it. Only the
 * application can see that nothing comes back.
 *
 * What counts: the time since the later of "the first outstanding query was sent" and "the last
 * byte arrived" — so a large result streaming in slowly is never cut, and an idle pooled connection
 * is never watched. A query that legitimately sends nothing for longer (a long `pg_sleep`, a big
 * sort before the first row) is cut as well: the server cannot be asked about it on the same
 * connection while it runs, and a check on another connection would find the host alive in exactly
 * the case this is for (a stale path to a live host). So the rule is: keep the server's
 * `statement_timeout` below the bound, and the server answers (57014) before the bound fires
 * (docs/failover.md, "Silent hosts").
 *
 * Destroying the socket makes pg fail every query on the client with this error and mark it not
 * queryable, so pg-pool removes it on release instead of handing it out again. One timer per busy
 * period, unref'd; a 'data' listener on the client's socket.
 */
import type pg from 'pg';
import { silenceCutAfterMs } from '../config/tcp-settings.ts';
import { ConnectionSilentError } from '../errors/errors.ts';
import { unrefTimer } from '../runtime/unref-timer.ts';
import { clientStream, type WatchableStream } from './pg-internals.ts';

export class SilenceWatch {
  readonly #client: pg.ClientBase;
  readonly #boundMs: number;
  /** Silence longer than this cuts the connection: half the bound. */
  readonly #cutMs: number;
  readonly #host: () => string;
  readonly #onSilent: ((quietSince: number) => void) | undefined;
  #outstanding = 0;
  #lastByteAt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stream: WatchableStream | null = null;
  readonly #onData = (): void => {
    this.#lastByteAt = performance.now();
  };

  /**
   * `host`: `host:port` for the error message (no credentials), asked when the cut fires (a
   * multi-host client is aimed late). `onSilent(quietSince)`: the connection was cut; it last heard
   * from its host at `quietSince` (`performance.now()`).
   */
  constructor(client: pg.ClientBase, boundMs: number, host: () => string, onSilent?: (quietSince: number) => void) {
    this.#client = client;
    this.#boundMs = boundMs;
    this.#cutMs = silenceCutAfterMs(boundMs);
    this.#host = host;
    this.#onSilent = onSilent;
  }

  /**
   * A query is about to be sent: starts the bound if none was outstanding. Returns the function
   * that says it settled (idempotent). Throws IncompatibleDependencyError when the socket is not
   * where pg keeps it (the caller fails that query with it).
   */
  begin(): () => void {
    const stream = clientStream(this.#client);
    if (stream !== this.#stream) {
      this.#stream?.off('data', this.#onData);
      stream.on('data', this.#onData);
      this.#stream = stream;
    }
    if (this.#outstanding++ === 0) {
      this.#lastByteAt = performance.now();
      this.#arm(this.#cutMs);
    }
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      if (--this.#outstanding === 0 && this.#timer !== null) {
        clearTimeout(this.#timer);
        this.#timer = null;
      }
    };
  }

  /** No query outstanding: the connection sits idle in the pool (or was never used). */
  get idle(): boolean {
    return this.#outstanding === 0;
  }

  /** When the connection last sent a query or heard a byte (`performance.now()`); 0: never used. */
  get lastActivityAt(): number {
    return this.#lastByteAt;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(1, Math.ceil(ms)));
    unrefTimer(this.#timer);
  }

  #check(): void {
    this.#timer = null;
    if (this.#outstanding === 0) return;
    const quiet = performance.now() - this.#lastByteAt;
    if (quiet < this.#cutMs) {
      this.#arm(this.#cutMs - quiet);
      return;
    }
    // Never throws from the timer: destroy() on a Node socket only schedules 'error' and 'close'.
    try {
      this.#stream?.destroy(new ConnectionSilentError(this.#cutMs, this.#host(), this.#boundMs));
    } catch {
      // a stream whose destroy throws has nothing left to end
    }
    try {
      // The pool ends its idle connections that have not heard from this host since (src/pool/create-pool.ts);
      // a multi-host pool also marks the host down (src/pool/host-fleet.ts).
      this.#onSilent?.(this.#lastByteAt);
    } catch {
      // never from a timer
    }
  }
}

type QueryArgs = unknown[];

/**
 * Runs `query(...args)` (pg.Client#query, any of its forms) with `watch` counting it outstanding
 * until it settles: the promise form through its promise, the callback form through its callback,
 * a Submittable (pg-cursor, pg-query-stream) through its 'end' / 'error' events.
 */
export function watchedQuery(watch: SilenceWatch, query: (...args: QueryArgs) => unknown, args: QueryArgs): unknown {
  let settled: () => void;
  try {
    settled = watch.begin();
  } catch (error) {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      queueMicrotask(() => (last as (e: unknown) => void)(error));
      return undefined;
    }
    return Promise.reject(error);
  }
  let followed = false;
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === 'function') {
    followed = true;
    args[last] = (...answer: unknown[]) => {
      settled();
      return (callback as (...a: unknown[]) => unknown)(...answer);
    };
  }
  const first = args[0] as { submit?: unknown; once?: (event: string, listener: () => void) => unknown } | null | undefined;
  if (typeof first?.submit === 'function' && typeof first.once === 'function') {
    followed = true;
    first.once('end', settled);
    first.once('error', settled);
  }
  let answer: unknown;
  try {
    answer = query(...args);
  } catch (error) {
    settled();
    throw error;
  }
  if (typeof (answer as PromiseLike<unknown> | undefined)?.then === 'function') {
    (answer as PromiseLike<unknown>).then(settled, settled);
  } else if (!followed) {
    settled(); // a form we do not know how to follow: not watched
  }
  return answer;
}
