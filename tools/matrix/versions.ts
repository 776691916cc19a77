/**
 * The ends of the supported ranges (docs/supported-versions.md), shared by the consumer matrix
 * (tools/matrix/run.ts) and the oldest-versions run of the integration suite
 * (tools/matrix/oldest-suite.ts). The newest set is what the root package-lock.json installs.
 */
export interface Versions {
  /** @prisma/client and prisma (the CLI goes with the client). */
  readonly client: string;
  readonly adapter: string;
  readonly pg: string;
}

export const OLDEST: Versions = Object.freeze({ client: '7.10.0', adapter: '7.0.0', pg: '8.16.3' });
export const NEWEST: Versions = Object.freeze({ client: '7.10.1', adapter: '7.10.1', pg: '8.23.1' });
/** Below the supported range: refused at the first call. */
export const UNSUPPORTED: Versions = Object.freeze({ client: '7.9.1', adapter: '7.10.1', pg: '8.23.1' });
