/**
 * The keep-alive: keep a function instance up just long enough for the pool to close its idle
 * connections, and not longer. Which platforms get it, and where the current request's
 * `waitUntil` comes from, is decided in platform-lifecycle.ts.
 *
 * Vercel Fluid (and classic functions, Netlify, Lambda) suspend an instance between requests; a
 * suspended process runs no timers, so pg-pool's idle timeout never fires and the idle connections
 * stay open at the pooler until it times them out. `@vercel/functions`' `attachDatabasePool(pool)`
 * solves this by handing the platform's `waitUntil` a promise on every client release that settles
 * `idleTimeoutMillis + 100` ms later (vercel/vercel, packages/functions/src/db-connections/index.ts:
 * `waitUntilIdleTimeout`, read at commit 17d9ebaf8e9b). We own the pool, so we do the same without
 * the dependency, through the request context (request-context.ts), with these differences:
 * - the promise also settles the moment no pooled socket is open any more (pg-pool emits `remove`
 *   once a client's socket has ended), so the instance is not kept up for the 100 ms margin once
 *   there is nothing to close;
 * - when the timer fires while idle connections are still there or still closing (pg's idle
 *   timer runs on the same event loop and is late when the CPU is busy), it waits for them up to
 *   CLOSE_GRACE_MS more instead of letting the instance be suspended with them open;
 * - one timer per pool (Vercel keeps one per process), so a read-replica pool gets its own.
 * Like Vercel's, it caps the wait at 15 minutes − 1 s of instance age, and relies on pg-pool
 * closing idle clients only above `min`, which is therefore 0 (src/pool/create-pool.ts).
 *
 * Pure: no `pg` import; the pool is anything with `on`/`off` for `release` and `remove`.
 */
import { unrefTimer } from '../runtime/unref-timer.ts';
import { firstRequestContext, handToWaitUntil, type WaitUntilSource } from './request-context.ts';

/** The slice of a pg.Pool this module listens to. */
export interface ReleaseEmitter {
  readonly totalCount: number;
  readonly idleCount: number;
  on(event: PoolEvent, listener: (...args: unknown[]) => void): unknown;
  off(event: PoolEvent, listener: (...args: unknown[]) => void): unknown;
}
type PoolEvent = 'connect' | 'release' | 'remove';

/** How a keep-alive promise settled: the pool emptied, the timer ran out, a later release took over, or we stopped (disconnect). */
export type KeepAliveSettle = 'pool-empty' | 'timer' | 'superseded' | 'detached';

export interface KeepAliveOptions {
  /** The pool's `idleTimeoutMillis`. */
  idleTimeoutMs: number;
  /** Where the current request's waitUntil comes from, tried in order (platform-lifecycle.ts). */
  sources: readonly WaitUntilSource[];
  /** Prefix of the log lines, e.g. the platform. */
  label?: string;
  /** Logs (debug namespace of the caller). */
  log?: (format: string, ...args: unknown[]) => void;
  /** Process age in ms; defaults to `process.uptime()`. Injectable for tests. */
  uptimeMs?: () => number;
}

/** Vercel's own margin after the idle timeout, so pg has closed the sockets when the promise settles. */
export const KEEP_ALIVE_MARGIN_MS = 100;
/** Vercel's cap: "Don't wait longer than the maximum duration" (15 minutes − 1 second of instance age). */
const MAXIMUM_DURATION_MS = 15 * 60 * 1000 - 1000;
/** Longest extra wait for idle connections that are late to close (see the file comment). */
export const CLOSE_GRACE_MS = 1000;

/**
 * Attaches the keep-alive to `pool`. Returns a detach function (settles any pending promise,
 * clears the timer, removes the listeners).
 */
export function attachKeepAlive(pool: ReleaseEmitter, options: KeepAliveOptions): () => void {
  const { idleTimeoutMs, sources, label = 'keep-alive', log = () => {} } = options;
  const uptimeMs = options.uptimeMs ?? (() => process.uptime() * 1000);
  let timer: NodeJS.Timeout | null = null;
  let settle: ((how: KeepAliveSettle) => void) | null = null;
  /** Sockets open: pg-pool emits `connect` once per new client and `remove` once its socket has ended. */
  let open = 0;

  const finish = (how: KeepAliveSettle): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    const resolve = settle;
    settle = null;
    resolve?.(how);
  };

  const onRelease = (): void => {
    // A newer release supersedes the pending promise: settle it (its request has its own, newer
    // waitUntil now) and start over, as Vercel's waitUntilIdleTimeout does.
    finish('superseded');
    const waitMs = Math.min(idleTimeoutMs + KEEP_ALIVE_MARGIN_MS, Math.max(KEEP_ALIVE_MARGIN_MS, MAXIMUM_DURATION_MS - uptimeMs()));
    const promise = new Promise<KeepAliveSettle>((resolve) => {
      settle = resolve;
    });
    // The platform keeps the instance up through waitUntil; these timers must not keep a plain process alive.
    timer = setTimeout(onTimer, waitMs);
    unrefTimer(timer);
    const found = firstRequestContext(sources);
    if (!found) {
      log('%s: client released outside a request context; no waitUntil registered', label);
    } else if (handToWaitUntil(found.context, promise)) {
      log('%s: waitUntil (%s) registered for %d ms (pool idle timeout + %d ms)', label, found.source, waitMs, KEEP_ALIVE_MARGIN_MS);
    } else {
      log('%s: waitUntil (%s) threw (request already finished?); none registered', label, found.source);
    }
  };

  const onTimer = (): void => {
    // Idle clients still in the pool, or removed from it but with their socket still closing.
    const lingering = pool.idleCount + Math.max(0, open - pool.totalCount);
    if (lingering > 0) {
      log('%s: %d idle connection(s) not closed yet; waiting up to %d ms more', label, lingering, CLOSE_GRACE_MS);
      timer = setTimeout(() => finish('timer'), CLOSE_GRACE_MS);
      unrefTimer(timer);
      return;
    }
    finish('timer');
  };

  const onConnect = (): void => {
    open++;
  };

  const onRemove = (): void => {
    open = Math.max(0, open - 1);
    if (settle && open === 0) {
      log('%s: every pooled connection is closed; instance may be suspended', label);
      finish('pool-empty');
    }
  };

  pool.on('connect', onConnect);
  pool.on('release', onRelease);
  pool.on('remove', onRemove);
  return () => {
    pool.off('connect', onConnect);
    pool.off('release', onRelease);
    pool.off('remove', onRemove);
    finish('detached');
  };
}
