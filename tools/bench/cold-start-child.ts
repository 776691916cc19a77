/**
 * One cold start, in a fresh `node` process started by tools/bench/cold-start.ts. Prints one JSON
 * line: `{ importMs, firstMs, warmMs[] }` (ms, `performance.now()` differences).
 *
 * Environment (set by the parent):
 * - ARM: `package` (first `readWithPooling`), `package-warmup` (`void warmup()` right after the
 *   manager is created), `package-warmup-query` (the same with `warmupQuery`), `prisma` (bare
 *   PrismaClient + PrismaPg, first `findFirst`). (The import-only rows run an inline script, see cold-start.ts.)
 * - MODULE: the package entry to import (a path or file URL; `src/index.ts` through tsx until a
 *   build exists, `dist/index.js` after).
 * - DATABASE_URL: where to connect (the pooler, or the delay proxy in front of it).
 * - ARRIVAL_MS: idle time between start-up and the first request (the request "arriving a moment later").
 * - WARM_REQUESTS: requests measured after the first one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

type Arm = 'package' | 'package-warmup' | 'package-warmup-query' | 'prisma';

const arm = process.env.ARM as Arm;
const moduleUrl = (process.env.MODULE ?? '').startsWith('file:')
  ? (process.env.MODULE as string)
  : pathToFileURL(process.env.MODULE ?? '').href;
const databaseUrl = process.env.DATABASE_URL ?? '';
const arrivalMs = Number(process.env.ARRIVAL_MS ?? 1000);
const warmRequests = Number(process.env.WARM_REQUESTS ?? 5);
const clientUrl = new URL('../../src/generated/prisma/client.ts', import.meta.url).href;

const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const value = await fn();
  return [value, performance.now() - started];
};

async function main(): Promise<{ importMs: number; firstMs?: number; warmMs?: number[] }> {
  if (arm === 'prisma') {
    const [[{ PrismaClient }, { PrismaPg }], importMs] = await timed(() =>
      Promise.all([import(clientUrl) as Promise<typeof import('../../src/generated/prisma/client.ts')>, import('@prisma/adapter-pg')]),
    );
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
    await sleep(arrivalMs);
    const [, firstMs] = await timed(() => prisma.user.findFirst());
    const warmMs: number[] = [];
    for (let i = 0; i < warmRequests; i++) warmMs.push((await timed(() => prisma.user.findFirst()))[1]);
    await prisma.$disconnect();
    return { importMs, firstMs, warmMs };
  }
  const [[pkg, { PrismaClient }], importMs] = await timed(() =>
    Promise.all([
      import(moduleUrl) as Promise<typeof import('../../src/index.ts')>,
      import(clientUrl) as Promise<typeof import('../../src/generated/prisma/client.ts')>,
    ]),
  );
  const manager = pkg.createConnectionPoolManager({
    createClient: (adapter) => new PrismaClient({ adapter }),
    env: { DATABASE_URL: databaseUrl, USE_TRANSACTION_MODE: 'true' },
    warmupQuery: arm === 'package-warmup-query' ? (tx) => tx.user.findFirst() : undefined,
  });
  if (arm !== 'package') void manager.warmup();
  await sleep(arrivalMs);
  const read = () => manager.readWithPooling((tx) => tx.user.findFirst());
  const [, firstMs] = await timed(read);
  const warmMs: number[] = [];
  for (let i = 0; i < warmRequests; i++) warmMs.push((await timed(read))[1]);
  const { warmupFailures } = manager.getMetrics();
  await manager.disconnect();
  if (warmupFailures > 0) throw new Error(`warmup failed ${warmupFailures} time(s)`);
  return { importMs, firstMs, warmMs };
}

main().then(
  (result) => console.log(JSON.stringify(result)),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
