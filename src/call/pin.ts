/**
 * Pins: where `prisma.$primary()`, `$replica()` and `$after(token)` send a client's reads. Pure.
 *
 * They compose in any order and the strictest wins:
 * - `$primary()` anywhere in the chain sends every read to the primary (it sees everything);
 * - tokens combine: `$after(a).$after(b)` waits for the later of the two positions;
 * - `$replica()` relaxes only this instance's read-your-writes: a token in the chain still holds
 *   (`$replica().$after(t)` and `$after(t).$replica()` read from a replica that has replayed `t`,
 *   else from the primary).
 * So `$primary().$replica()` is the primary, and `$replica().$after(t)` equals `$after(t).$replica()`.
 * Writes always go to the primary, whatever the pin.
 */
import type { TokenPosition } from '../routing/consistency-token.ts';

export type PinTarget = 'auto' | 'primary' | 'replica';

export interface Pin {
  /** `auto`: a replica that has replayed this instance's writes (and `after`), else the primary. */
  readonly target: PinTarget;
  /** The position reads must see, from an `$after(token)` in the chain; null when none. */
  readonly after: TokenPosition | null;
  /** One string per distinct pin: the cache key of its client. */
  readonly key: string;
}

const keyOf = (target: PinTarget, after: TokenPosition | null): string =>
  after === null ? target : `${target}@${after.timeline ?? ''}.${after.lsn.toString(16)}`;

const pin = (target: PinTarget, after: TokenPosition | null): Pin => Object.freeze({ target, after, key: keyOf(target, after) });

/** The pin of `manager.prisma` itself. */
export const AUTO_PIN: Pin = pin('auto', null);

/** `pinned.$primary()` / `.$replica()`: the primary wins over everything, a replica only over auto. */
export function withTarget(current: Pin, target: 'primary' | 'replica'): Pin {
  const next: PinTarget = current.target === 'primary' || target === 'primary' ? 'primary' : 'replica';
  return next === current.target ? current : pin(next, current.after);
}

/**
 * `pinned.$after(token)`, the token already parsed: the later position wins. Positions of different
 * timelines cannot be compared by LSN: the higher timeline (the newer primary) wins, since a read
 * that must see it may also have to see the other one only on that newer primary.
 */
export function withAfter(current: Pin, after: TokenPosition | null): Pin {
  if (after === null) return current;
  const kept = current.after;
  if (kept !== null && !isLater(after, kept)) return current;
  return pin(current.target, after);
}

function isLater(a: TokenPosition, b: TokenPosition): boolean {
  if (a.timeline !== null && b.timeline !== null && a.timeline !== b.timeline) return a.timeline > b.timeline;
  return a.lsn > b.lsn;
}
