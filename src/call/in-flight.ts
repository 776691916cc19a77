import { unrefTimer } from '../runtime/unref-timer.ts';

/**
 * Calls that have started and not settled, and who waits for that number to reach 0: what
 * `shutdown()` drains. Every kind of call is counted here, by the call runner alone.
 */
export class InFlight {
  #count = 0;
  readonly #waiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  enter(): void {
    this.#count++;
  }

  leave(): void {
    if (--this.#count === 0) for (const notify of this.#waiters.splice(0)) notify();
  }

  /** Resolves true once no call is in flight (at once when none is), false after `timeoutMs` if some still are. */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.#waiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        unrefTimer(timer); // running calls keep the process alive on their own; this timer must not
      }),
    ]);
    clearTimeout(timer);
    return drained;
  }
}
