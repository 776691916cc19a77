/**
 * The app's service file: this app's generated Prisma client bound to the pooling manager. Import
 * it only from server code (Server Components, Server Actions, route handlers, instrumentation.ts).
 *
 * One manager per process, kept on `globalThis` under `globalKey`: Next.js compiles this file once
 * per bundle layer (instrumentation.ts, Server Components, Server Actions, route handlers), and
 * `next dev` re-evaluates it on every hot reload; without the key each copy would open its own pool.
 */
import 'server-only';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from '@/lib/generated/prisma/client';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
  globalKey: 'next-app',
  // Prisma's query compiler runs once during warmup (instrumentation.ts) instead of in the first request.
  warmupQuery: (tx) => tx.workspace.findFirst({ select: { id: true } }),
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
/** Plain Prisma calls with the wrappers' guarantees (retries, metrics, spans, replica routing): for single reads and writes. */
export const prisma = connectionPoolManager.prisma;
