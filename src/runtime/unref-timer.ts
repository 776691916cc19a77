/**
 * `unref` only where it exists. Node, Bun and Deno return timer objects with `unref()`; workerd's
 * global `setTimeout` returns a number (developers.cloudflare.com/workers/runtime-apis/nodejs/timers/:
 * only `node:timers` gives Node's objects there), and calling `.unref()` on it would throw a
 * TypeError from inside a timer's owner. Workers have no process to keep alive, so nothing is lost.
 */
export function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => unknown } | null | undefined)?.unref?.();
}

let haveUnref: boolean | undefined;

/**
 * Whether this runtime's global timers can be unref'd: pg-pool's `allowExitOnIdle` calls
 * `timer.unref()` unguarded. Decided once, with a timer that is cleared at once (never at module
 * scope: Workers forbid timers there).
 */
export function timersCanUnref(): boolean {
  if (haveUnref === undefined) {
    const timer: unknown = setTimeout(() => {}, 0);
    haveUnref = typeof (timer as { unref?: unknown } | null)?.unref === 'function';
    clearTimeout(timer as Parameters<typeof clearTimeout>[0]);
  }
  return haveUnref;
}
