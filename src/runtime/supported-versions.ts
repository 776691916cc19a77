/**
 * The dependency versions this package supports, checked where a peer range cannot be: pnpm, yarn
 * and `npm --legacy-peer-deps` install outside the ranges, so what the range promises is also
 * checked at run time. Pure: reads a version string, imports neither Prisma nor pg.
 *
 * - `@prisma/client` ≤ 7.9 reports a COMMIT lost in the middle of a nested write as P2028
 *   "Transaction already closed: A rollback cannot be executed on a committed transaction" although
 *   the write may have committed (fixed in 7.10.0; the client alone decides, whatever the adapter's
 *   version). Measured under PgBouncer KILLs: 1 of 7 (7.9.1) and 5 of 8 (7.0.1) writes reported
 *   failed were in the table. No retry or error can be made safe on top of that, so such a client
 *   is refused at its first use, with the version and the supported range.
 * Kept equal to package.json's peer ranges by test/unit/runtime/supported-versions.test.ts.
 */
import { UnsupportedDependencyVersionError } from '../errors/errors.ts';

/** package.json's peerDependencies, as the supported ranges (docs/supported-versions.md). */
export const SUPPORTED_RANGES = Object.freeze({
  '@prisma/client': '>=7.10.0 <7.11',
  '@prisma/adapter-pg': '>=7.0.0 <7.11',
  pg: '>=8.16.3 <9',
} as const);

/** The lowest @prisma/client that reports a lost COMMIT as unknown rather than as a rollback. */
export const MIN_PRISMA_CLIENT: readonly [number, number, number] = Object.freeze([7, 10, 0]) as unknown as readonly [
  number,
  number,
  number,
];

/** `7.9.1` → [7, 9, 1]; a pre-release or build suffix is ignored; null when it is not a version. */
export function parseVersion(version: string): [number, number, number] | null {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : null;
}

const below = (a: readonly number[], b: readonly number[]): boolean => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
};

/**
 * The Prisma client's version, from the instance: Prisma 7's client keeps it in `_clientVersion`
 * (the generated client's `clientVersion`, else the runtime's); pinned by
 * test/unit/runtime/supported-versions.test.ts. Null for anything else (a client of the app's own
 * that is not Prisma's, a test double).
 */
export function prismaClientVersion(client: unknown): string | null {
  if (typeof client !== 'object' || client === null) return null;
  const version = (client as { _clientVersion?: unknown })._clientVersion;
  return typeof version === 'string' ? version : null;
}

/** Throws UnsupportedDependencyVersionError (an IncompatibleDependencyError) for a Prisma client below 7.10.0; anything unreadable passes. */
export function assertSupportedPrismaClient(client: unknown): void {
  const version = prismaClientVersion(client);
  const parsed = version === null ? null : parseVersion(version);
  if (parsed === null || parsed[0] !== MIN_PRISMA_CLIENT[0] || !below(parsed, MIN_PRISMA_CLIENT)) return;
  throw new UnsupportedDependencyVersionError(
    '@prisma/client',
    version as string,
    SUPPORTED_RANGES['@prisma/client'],
    'Prisma ≤ 7.9 reports a COMMIT lost in a nested write as P2028 "Transaction already closed" although the write may have committed, so a failed write could not be told from a written one; install @prisma/client and prisma 7.10 and run prisma generate',
  );
}
