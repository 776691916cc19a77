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

  /** Resolves once no call is in flight (at once when none is). */
  drained(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
