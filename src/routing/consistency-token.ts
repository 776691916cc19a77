/**
 * The cross-instance consistency token: a WAL position on the primary, as a short opaque string
 * an app can carry in a cookie or a header (only `[0-9A-Za-z.]`, so no quoting or encoding).
 * Pure.
 *
 * A read given `{ after: token }` goes to a replica only once that replica has replayed up to the
 * position, otherwise to the primary. The `v1.` prefix leaves room to change the format; tokens
 * are not secret and not signed (a forged one can only send reads to the primary).
 */
import { ConfigError } from '../errors/errors.ts';
import type { Lsn } from './lsn.ts';

const PREFIX = 'v1.';
const TOKEN = /^v1\.([0-9a-f]{1,8})\.([0-9a-f]{1,8})$/;
/** Longer than any valid token: a longer value is not echoed, nor parsed. */
const MAX_LENGTH = 32;

/** WAL position → token, e.g. 0x16B374D848n → `v1.16.b374d848`. */
export function encodeConsistencyToken(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new RangeError(`not a 64-bit WAL position: ${lsn}`);
  return `${PREFIX}${(lsn >> 32n).toString(16)}.${(lsn & 0xffffffffn).toString(16)}`;
}

/**
 * Token → WAL position. `undefined`, `null` and `''` mean "no requirement" (a missing cookie).
 * Anything else that is not a token throws ConfigError naming `option`, without echoing the value
 * (it comes from a client).
 */
export function parseConsistencyToken(token: unknown, option = 'after'): Lsn | null {
  if (token === undefined || token === null || token === '') return null;
  if (typeof token !== 'string') throw new ConfigError(option, `must be a string from consistencyToken(), got ${typeof token}`);
  const match = token.length <= MAX_LENGTH ? TOKEN.exec(token.trim().toLowerCase()) : null;
  if (!match) {
    throw new ConfigError(
      option,
      `is not a consistency token (expected the string consistencyToken() returned, like "v1.0.3000148"; got ${token.length} characters)`,
    );
  }
  const [, high = '', low = ''] = match;
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}
