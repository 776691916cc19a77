/**
 * Edge runtimes have no TCP sockets, so no PostgreSQL pool can run there: importing the package
 * (or creating a manager) in one throws a single ConfigError that says so and what to use instead,
 * rather than a stack trace from inside `pg`.
 *
 * Signals, as the platforms document them: Vercel's Edge runtime (and Next.js' edge runtime, and
 * the `edge-runtime` package that emulates them) define a global `EdgeRuntime` string
 * (vercel.com/docs/functions/runtimes/edge#check-if-you-are-running-on-the-edge-runtime); Next.js
 * sets `process.env.NEXT_RUNTIME` to `edge` there (nextjs.org/docs/app/api-reference/edge).
 * Cloudflare Workers are not an edge runtime in this sense: they have TCP (cloudflare:sockets).
 */
import { ConfigError } from '../errors/errors.ts';

/** The globals read here; tests pass their own. */
export interface EdgeSignals {
  readonly EdgeRuntime?: unknown;
  readonly process?: { readonly env?: Readonly<Record<string, string | undefined>> };
}

/** The variable that proves an edge runtime (`EdgeRuntime` or `NEXT_RUNTIME`), or null. */
export function detectEdgeRuntime(globals: EdgeSignals = globalThis as EdgeSignals): 'EdgeRuntime' | 'NEXT_RUNTIME' | null {
  if (typeof globals.EdgeRuntime === 'string') return 'EdgeRuntime';
  // `process` may be missing altogether on the edge, or be a partial shim.
  if (globals.process?.env?.NEXT_RUNTIME === 'edge') return 'NEXT_RUNTIME';
  return null;
}

/** The one sentence an edge import gets. */
export function edgeRuntimeError(evidence: 'EdgeRuntime' | 'NEXT_RUNTIME'): ConfigError {
  const what = evidence === 'EdgeRuntime' ? 'EdgeRuntime is defined' : 'NEXT_RUNTIME is "edge"';
  return new ConfigError(
    evidence,
    `${what}: an edge runtime (Vercel Edge, Next.js edge) has no TCP sockets, so prisma-pgbouncer-pooling cannot open a PostgreSQL pool here; run this route as a Node.js function (Next.js: export const runtime = 'nodejs'), or query from the edge over HTTP with Neon's (@prisma/adapter-neon) or Prisma Postgres' (@prisma/adapter-ppg) driver adapter.`,
  );
}

/** Throws the edge ConfigError in an edge runtime; does nothing elsewhere. */
export function assertTcpRuntime(globals?: EdgeSignals): void {
  const evidence = detectEdgeRuntime(globals);
  if (evidence !== null) throw edgeRuntimeError(evidence);
}
