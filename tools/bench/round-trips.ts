/**
 * Latency at a given network round trip, and honest overhead ratios (docs/round-trips.md).
 *
 * - Latency at RTT 0, 2 and 20 ms: the delay proxy (tools/stack/faults/tcp-proxy.ts, `{ delayMs }`
 *   = RTT/2 each way) in front of PgBouncer (transaction mode). Rows: a bare query, raw
 *   `$transaction` on stock @prisma/adapter-pg, raw `$transaction` on our adapter, each wrapper, and
 *   the physical limit (round trips a client must wait for, given that Prisma runs a transaction's
 *   statements one at a time). The rows take turns call by call, so a drift of the machine's load
 *   hits every row alike. Medians and the 10th–90th percentile; flights = request flights the
 *   proxy counted per call (round trips without a clock).
 * - Ratios at RTT 0, A B A B interleaved (tools/bench/interleaved.ts): `withPooling` vs raw
 *   `$transaction` (same SQL, same maxWait/timeout), throughput and CPU per call.
 * - The session-mode named-statement default: named vs unnamed statements, interleaved the same way.
 *
 * `npx tsx tools/bench/round-trips.ts [--quick] [--no-docs]` runs it alone on its own stack and
 * writes the tables into docs/round-trips.md between the markers; `npm run bench` runs it too.
 */

import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { startProxy } from '../stack/faults/tcp-proxy.ts';
import { type LocalStack, startStack } from '../stack/start-stack.ts';
import { type InterleavedResult, interleaved, quantile } from './interleaved.ts';
import { type AppClient, type AppManager, createAppClient, POINT_SELECT_SQL, seed } from './workload.ts';

export interface Row {
  name: string;
  /** Round trips a client must wait for (physical limit); null where it is not the point. */
  limit: number | null;
}

export interface LatencyRow extends Row {
  flights: number;
  ms: { median: number; p10: number; p90: number };
  /** Median in RTT units (null at RTT 0). */
  rtt: number | null;
}

export interface RttRun {
  rttMs: number;
  /** Median round trip of the proxy itself (echo, no database): the unit of the `rtt` figures. */
  measuredRttMs: number;
  samples: number;
  rows: LatencyRow[];
}

export interface RoundTripResults {
  generatedAt: string;
  quick: boolean;
  latency: RttRun[];
  overhead: {
    /** withPooling (A) vs raw $transaction on stock adapter-pg (B): what an app gets. */
    vsStockRaw: InterleavedResult;
    /** withPooling (A) vs raw $transaction on the same client and adapter (B): the wrapper's own call path. */
    vsSameClientRaw: InterleavedResult;
    /** readWithPooling (A) vs raw ReadCommitted $transaction on stock adapter-pg (B). */
    readVsStockRaw: InterleavedResult;
    /** `findUnique` through manager.prisma (A) vs the same call on the bare client, same pool (B): the extension's cost. */
    plainVsBare: InterleavedResult;
  };
  statementCache: { namedVsUnnamed: InterleavedResult };
}

type Call = () => Promise<unknown>;

function rowsFor(manager: AppManager, stock: AppClient, id: () => string): (Row & { run: Call })[] {
  return [
    { name: 'bare `findUnique` (no transaction)', limit: 1, run: () => stock.user.findUnique({ where: { id: id() } }) },
    {
      name: '`prisma.user.findUnique` through `manager.prisma` (plain call)',
      limit: 1,
      run: () => manager.prisma.user.findUnique({ where: { id: id() } }),
    },
    {
      name: 'raw `$transaction`, 1 query (stock adapter-pg)',
      limit: null,
      run: () => stock.$transaction((tx) => tx.user.findUnique({ where: { id: id() } })),
    },
    {
      name: 'raw `$transaction`, 1 query (our adapter)',
      limit: 2,
      run: () => manager.client.$transaction((tx) => tx.user.findUnique({ where: { id: id() } })),
    },
    {
      name: '`readWithPooling`, 1 query',
      limit: 1,
      run: () => manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: id() } })),
    },
    {
      name: '`readWithPooling` RepeatableRead, 1 query',
      limit: 2,
      run: () => manager.readWithPooling((tx) => tx.user.findUnique({ where: { id: id() } }), { isolationLevel: 'RepeatableRead' }),
    },
    { name: '`withPooling`, 1 query', limit: 2, run: () => manager.withPooling((tx) => tx.user.findUnique({ where: { id: id() } })) },
    {
      name: '`writeWithPooling`, update + create',
      limit: 3,
      run: () =>
        manager.writeWithPooling(async (tx) => {
          const user = await tx.user.update({ where: { id: id() }, data: { lastActive: new Date() } });
          return tx.activityLog.create({ data: { userId: user.id, action: 'round-trips' } });
        }),
    },
    {
      name: '`batchWithPooling`, 3 ops',
      limit: 4,
      run: () => {
        const userId = id();
        return manager.batchWithPooling([
          (tx) => tx.user.findUnique({ where: { id: userId } }),
          (tx) => tx.post.count({ where: { userId } }),
          (tx) => tx.workspace.findMany({ where: { ownerId: userId } }),
        ]);
      },
    },
  ];
}

function stockClient(url: string, max: number): { client: AppClient; pool: pg.Pool } {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {});
  return { client: createAppClient(new PrismaPg(pool)), pool };
}

const r2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The network alone: a TCP echo server behind its own delay proxy. Its round trip is the RTT the
 * proxy really gives (the nominal delay plus timer lateness on this machine, ~1 ms a hop under
 * load), so the RTT units below divide by it, not by the nominal figure.
 */
async function startEcho(delayMs: number): Promise<{ ping: () => Promise<void>; close: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: port, mode: { delayMs } });
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    ping: () =>
      new Promise<void>((resolve) => {
        socket.once('data', () => resolve());
        socket.write('x');
      }),
    close: async () => {
      socket.destroy();
      await proxy.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Every row at one RTT: rows take turns call by call; connection limit 1 (one warm connection each). */
export async function measureAtRtt(stack: LocalStack, rttMs: number, samples: number, users: number): Promise<RttRun> {
  const proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort, mode: { delayMs: rttMs / 2 } });
  const url = proxy.url(stack.poolerUrl);
  const manager: AppManager = createConnectionPoolManager({
    createClient: createAppClient,
    env: { DATABASE_URL: url, USE_TRANSACTION_MODE: 'true' },
    pool: { connectionLimit: 1 },
  });
  const stock = stockClient(url, 1);
  const echo = await startEcho(rttMs / 2);
  // pg alone on the same path, pipelined as our adapter does: the floor without Prisma's own work.
  const bare = new pg.Client({ connectionString: url, pipeline: true } as pg.ClientConfig);
  await bare.connect();
  let n = 0;
  const id = () => String((n++ % users) + 1);
  const rows = [
    { name: 'network round trip (echo through the proxy, no database)', limit: 1, run: echo.ping },
    {
      name: 'pg alone: `BEGIN` + point select pipelined, then `COMMIT`',
      limit: 2,
      run: async () => {
        await Promise.all([bare.query('BEGIN'), bare.query(POINT_SELECT_SQL, [id()])]);
        await bare.query('COMMIT');
      },
    },
    ...rowsFor(manager, stock.client, id),
  ];
  const times: number[][] = rows.map(() => []);
  const flights: number[] = rows.map(() => 0);
  try {
    for (const row of rows) for (let w = 0; w < 3; w++) await row.run(); // warm: connections, clients, plans
    for (let s = 0; s < samples; s++) {
      for (const [i, row] of rows.entries()) {
        const f0 = proxy.flights();
        const t0 = process.hrtime.bigint();
        await row.run();
        (times[i] as number[]).push(Number(process.hrtime.bigint() - t0) / 1e6);
        flights[i] = (flights[i] ?? 0) + proxy.flights() - f0;
      }
    }
  } finally {
    // Every resource closes even if one close fails (a leftover server would keep the process alive).
    await Promise.allSettled([manager.disconnect(), stock.client.$disconnect().then(() => stock.pool.end()), bare.end()]);
    await Promise.allSettled([proxy.close(), echo.close()]);
  }
  const measuredRttMs = quantile(times[0] as number[], 0.5);
  return {
    rttMs,
    measuredRttMs: r2(measuredRttMs),
    samples,
    rows: rows.map((row, i) => {
      const list = times[i] as number[];
      const median = quantile(list, 0.5);
      return {
        name: row.name,
        limit: row.limit,
        flights: i === 0 ? 1 : r2((flights[i] ?? 0) / samples),
        ms: { median: r2(median), p10: r2(quantile(list, 0.1)), p90: r2(quantile(list, 0.9)) },
        rtt: rttMs > 0 ? r2(median / measuredRttMs) : null,
      };
    }),
  };
}

/** RTT 0: A B A B interleaved ratios of the wrappers against raw `$transaction`. */
export async function measureOverhead(
  stack: LocalStack,
  users: number,
  options: { pairs: number; callsPerBlock: number; concurrency: number },
): Promise<RoundTripResults['overhead']> {
  const manager: AppManager = createConnectionPoolManager({
    createClient: createAppClient,
    env: { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' },
    pool: { connectionLimit: options.concurrency },
  });
  const stock = stockClient(stack.poolerUrl, options.concurrency);
  // Like with like: the same maxWait/timeout the wrapper passes.
  const same = { maxWait: manager.config.poolTimeoutMs + 1000, timeout: 10_000 };
  const id = (i: number) => String((i % users) + 1);
  const wrapper = (i: number) => manager.withPooling((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, id(i)));
  try {
    return {
      vsStockRaw: await interleaved(
        wrapper,
        (i) => stock.client.$transaction((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, id(i)), same),
        options,
      ),
      vsSameClientRaw: await interleaved(
        wrapper,
        (i) => manager.client.$transaction((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, id(i)), same),
        options,
      ),
      readVsStockRaw: await interleaved(
        (i) => manager.readWithPooling((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, id(i))),
        (i) => stock.client.$transaction((tx) => tx.$queryRawUnsafe(POINT_SELECT_SQL, id(i)), { ...same, isolationLevel: 'ReadCommitted' }),
        options,
      ),
      plainVsBare: await interleaved(
        (i) => manager.prisma.user.findUnique({ where: { id: id(i) } }),
        (i) => manager.client.user.findUnique({ where: { id: id(i) } }),
        options,
      ),
    };
  } finally {
    await manager.disconnect();
    await stock.client.$disconnect();
    await stock.pool.end();
  }
}

/** Session mode, direct: named (cached) statements (A) vs unnamed (B), on the read mix. */
export async function measureStatementCache(
  stack: LocalStack,
  users: number,
  options: { pairs: number; callsPerBlock: number; concurrency: number },
): Promise<InterleavedResult> {
  const session = (cacheSize: string): AppManager => {
    const url = new URL(stack.directUrl);
    url.searchParams.set('statement_cache_size', cacheSize);
    return createConnectionPoolManager({
      createClient: createAppClient,
      env: { DATABASE_URL: url.toString(), USE_TRANSACTION_MODE: 'false' },
      pool: { connectionLimit: options.concurrency },
    });
  };
  const named = session('100');
  const unnamed = session('0');
  if (!named.config.statementCache || unnamed.config.statementCache)
    throw new Error('round-trips: statement cache settings not as expected');
  const mix = (manager: AppManager) => (i: number) => {
    const id = String((i % users) + 1);
    return i % 2 === 0
      ? manager.readWithPooling((tx) => tx.user.findUnique({ where: { id } }))
      : manager.readWithPooling((tx) => tx.page.findMany({ where: { workspaceId: `w${id}` }, include: { blocks: true } }));
  };
  try {
    return await interleaved(mix(named), mix(unnamed), options);
  } finally {
    await Promise.all([named.disconnect(), unnamed.disconnect()]);
  }
}

export async function measureRoundTrips(
  stack: LocalStack,
  users: number,
  quick: boolean,
  log: (line: string) => void,
): Promise<RoundTripResults> {
  const latency: RttRun[] = [];
  for (const rtt of [0, 2, 20]) {
    log(`round-trips: latency at RTT ${rtt} ms`);
    latency.push(await measureAtRtt(stack, rtt, quick ? (rtt === 20 ? 15 : 40) : rtt === 20 ? 60 : 200, users));
  }
  const abOptions = quick ? { pairs: 16, callsPerBlock: 150, concurrency: 8 } : { pairs: 60, callsPerBlock: 400, concurrency: 8 };
  log(`round-trips: overhead at RTT 0, ${abOptions.pairs} interleaved pairs of ${abOptions.callsPerBlock} calls`);
  const overhead = await measureOverhead(stack, users, abOptions);
  log('round-trips: session-mode named vs unnamed statements, interleaved');
  const namedVsUnnamed = await measureStatementCache(stack, users, abOptions);
  return { generatedAt: new Date().toISOString(), quick, latency, overhead, statementCache: { namedVsUnnamed } };
}

const fmtSpread = (s: { median: number; p10: number; p90: number }, unit = '') => `${s.median}${unit} (${s.p10}–${s.p90})`;

export function renderRoundTrips(results: RoundTripResults): string {
  const lines: string[] = [];
  const rtts = results.latency.map((run) => run.rttMs);
  lines.push(
    `Generated by \`tools/bench/round-trips.ts\` on ${results.generatedAt.slice(0, 10)}${results.quick ? ' (quick run)' : ''}, on a shared 2-core machine. Through PgBouncer 1.18 (transaction mode) behind the delay proxy; one warm connection per client; calls one at a time.`,
    '',
    `| call | limit (RTT) | flights | ${results.latency.map((run) => (run.rttMs === 0 ? 'RTT 0: ms' : `RTT ${run.rttMs} ms (measured ${run.measuredRttMs} ms): RTT units`)).join(' | ')} |`,
    `|---|---|---|${rtts.map(() => '---').join('|')}|`,
  );
  const first = results.latency[0];
  for (const [i, row] of (first?.rows ?? []).entries()) {
    const cells = results.latency.map((run) => {
      const r = run.rows[i] as LatencyRow;
      if (run.rttMs === 0) return `${r.ms.median} (${r.ms.p10}–${r.ms.p90})`;
      return `**${r.rtt}** (${r2(r.ms.p10 / run.measuredRttMs)}–${r2(r.ms.p90 / run.measuredRttMs)}); ${r2(r.ms.median / run.rttMs)} nominal`;
    });
    lines.push(`| ${row.name} | ${row.limit ?? '—'} | ${row.flights} | ${cells.join(' | ')} |`);
  }
  const samples = results.latency.map((run) => `${run.samples} at RTT ${run.rttMs}`).join(', ');
  lines.push(
    '',
    `Medians with the 10th–90th percentile in brackets; samples per row: ${samples}. Flights: request flights per call counted by the proxy (round trips without a clock).`,
  );
  const ab = (name: string, r: InterleavedResult) =>
    `| ${name} | ${fmtSpread(r.throughputRatio, '×')} | ${fmtSpread(r.cpuRatio, '×')} | ${fmtSpread(r.addedCpuUs)} | ${r.a.cpuUs} / ${r.b.cpuUs} |`;
  const o = results.overhead;
  lines.push(
    '',
    `Ratios at RTT 0, A B A B interleaved: ${o.vsStockRaw.pairs} pairs of blocks of ${o.vsStockRaw.callsPerBlock} calls, concurrency ${o.vsStockRaw.concurrency}; median (10th–90th percentile) of the per-pair ratios. ≥ 1 means A is faster / cheaper.`,
    '',
    '| A vs B | throughput A ÷ B | CPU per call B ÷ A | CPU µs A adds per call | CPU µs per call A / B |',
    '|---|---|---|---|---|',
    ab('`withPooling` vs raw `$transaction` (stock adapter-pg), same maxWait/timeout', o.vsStockRaw),
    ab('`withPooling` vs raw `$transaction` on the same client (our adapter): the call path alone', o.vsSameClientRaw),
    ab('`readWithPooling` vs raw ReadCommitted `$transaction` (stock adapter-pg)', o.readVsStockRaw),
    ab('`prisma.user.findUnique` through `manager.prisma` vs the bare client (same pool): the plain-call path alone', o.plainVsBare),
    ab('session mode: named statements vs unnamed (`readWithPooling` read mix, direct)', results.statementCache.namedVsUnnamed),
  );
  return lines.join('\n');
}

export function writeRoundTripsDoc(results: RoundTripResults): void {
  updateGeneratedBlocks('docs/round-trips.md', { 'round-trips': renderRoundTrips(results) });
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const log = (line: string) => console.error(line);
  const stack = await startStack({ log });
  try {
    const users = 200;
    await seed(stack.directUrl, users);
    const results = await measureRoundTrips(stack, users, quick, log);
    console.log(JSON.stringify(results));
    console.log(renderRoundTrips(results));
    if (!process.argv.includes('--no-docs')) {
      writeRoundTripsDoc(results);
      log('round-trips: wrote docs/round-trips.md');
    }
  } finally {
    await stack.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
