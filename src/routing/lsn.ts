/**
 * PostgreSQL WAL positions (`pg_lsn`), compared as 64-bit integers. Pure.
 *
 * Postgres prints an LSN as two hexadecimal halves, `X/Y` = (X << 32) | Y, each half up to 8 digits
 * (PostgreSQL docs, "pg_lsn Type"). Text comparison is wrong (`0/A0000000` vs `1/0`), so everything
 * here goes through BigInt.
 */

/** A WAL position as an unsigned 64-bit integer. */
export type Lsn = bigint;

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** `'16/B374D848'` → 0x16B374D848n; null for anything that is not an LSN (null input included). */
export function parseLsn(text: string | null | undefined): Lsn | null {
  if (typeof text !== 'string') return null;
  const match = LSN_TEXT.exec(text);
  if (!match) return null;
  const [, high = '', low = ''] = match;
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** The inverse of `parseLsn`, in Postgres' own spelling (upper case, no leading zeros). */
export function formatLsn(lsn: Lsn): string {
  if (lsn < 0n || lsn > 0xffffffffffffffffn) throw new RangeError(`not a 64-bit WAL position: ${lsn}`);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** -1, 0 or 1, like a sort comparator. */
export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of two positions; null counts as "nothing required". */
export function maxLsn(a: Lsn | null, b: Lsn | null): Lsn | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** The earlier of two positions. */
export function minLsn(a: Lsn, b: Lsn): Lsn {
  return a < b ? a : b;
}

/** True when a server that has replayed up to `replayed` shows everything up to `required`. */
export function hasReplayed(replayed: Lsn | null, required: Lsn | null): boolean {
  if (required === null) return true;
  return replayed !== null && replayed >= required;
}
