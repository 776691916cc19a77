/**
 * The cross-instance consistency token: a WAL position on the primary, as a short opaque string
 * an app can carry in a cookie or a header (only `[0-9A-Za-z.]`, so no quoting or encoding).
 * Pure.
 *
 * A read given `{ after: token }` goes to a replica only once that replica has replayed up to the
 * position, otherwise to the primary. Tokens are not secret and not signed (a forged one can only
 * send reads to the primary).
 *
 * `v2.<timeline>.<high>.<low>` carries the WAL timeline the position belongs to: after a promotion
 * the new primary starts a new timeline, and a position of the old one can be ahead of everything
 * the new timeline has (the tail the standby never received), so comparing it with a replica's
 * replay position would keep reads off every replica until the new timeline happened to pass it.
 * A token of another timeline is sent to the primary at once instead (src/routing/read-router.ts).
 * `v1.<high>.<low>` tokens (no timeline) stay valid: compared by position alone.
 */
import { ConfigError } from '../errors/errors.ts';
import type { Lsn } from './lsn.ts';

const TOKEN = /^v1\.([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/;
const TOKEN_V2 = /^v2\.([0-9a-f]{1,8})\.([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/;
/** Longer than any valid token: a longer value is not echoed, nor parsed. */
const MAX_LENGTH = 32;

/** A WAL position and the timeline it belongs to (null: not known, a v1 token). */
export interface TokenPosition {
  readonly lsn: Lsn;
  readonly timeline: number | null;
}

/**
 * WAL position → token: with a timeline `v2.<timeline>.<high>.<low>` (0x16B374D848n on timeline 2 →
 * `v2.2.16.b374d848`), without one `v1.16.b374d848`.
 */
export function encodeConsistencyToken(lsn: Lsn, timeline: number | null = null): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new RangeError(`not a 64-bit WAL position: ${lsn}`);
  const halves = `${(lsn >> 32n).toString(16)}.${(lsn & 0xffffffffn).toString(16)}`;
  if (timeline === null) return `v1.${halves}`;
  if (!(Number.isInteger(timeline) && timeline >= 1 && timeline <= 0xffffffff)) throw new RangeError(`not a WAL timeline: ${timeline}`);
  return `v2.${timeline.toString(16)}.${halves}`;
}

/**
 * Token → WAL position. `undefined`, `null` and `''` mean "no requirement" (a missing cookie).
 * Anything else that is not a token throws ConfigError naming `option`, without echoing the value
 * (it comes from a client). Reads v1 and v2 tokens.
 */
export function parseConsistencyToken(token: unknown, option = 'after'): Lsn | null {
  return parseTokenPosition(token, option)?.lsn ?? null;
}

/** Token → WAL position and timeline (null for a v1 token); see `parseConsistencyToken`. */
export function parseTokenPosition(token: unknown, option = 'after'): TokenPosition | null {
  if (token === undefined || token === null || token === '') return null;
  if (typeof token !== 'string') throw new ConfigError(option, `must be a string from consistencyToken(), got ${typeof token}`);
  const text = token.length <= MAX_LENGTH ? token.trim().toLowerCase() : '';
  const v2 = TOKEN_V2.exec(text);
  const v1 = v2 ? null : TOKEN.exec(text);
  if (!v1 && !v2) {
    throw new ConfigError(
      option,
      `is not a consistency token (expected the string consistencyToken() returned, like "v2.1.0.3000148"; got ${token.length} characters)`,
    );
  }
  const [high = '', low = ''] = v2 ? [v2[2], v2[3]] : [v1?.[1], v1?.[2]];
  const timeline = v2 ? Number.parseInt(v2[1] ?? '', 16) : null;
  if (timeline === 0) throw new ConfigError(option, 'is not a consistency token (timeline 0 does not exist)');
  return { lsn: (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`), timeline };
}
