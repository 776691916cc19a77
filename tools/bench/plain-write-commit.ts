/**
 * The `plainWriteCommit` trade-off (docs/reliability.md, "Plain writes: confirmed or one flight"),
 * measured on a stack of its own for a lone `prisma.activityLog.create()` through `manager.prisma`:
 *
 * - round trips: request flights the fault proxy counts per write (exact, no clock);
 * - throughput: `'confirmed'` against `'one-flight'`, interleaved A B B A (tools/bench/interleaved.ts),
 *   6 callers, through the delay proxy at RTT ≈ 0 and at 4 ms (2 ms each way);
 * - under faults: writers under PgBouncer `KILL` (then `RESUME`) every 300 ms
 *   (tools/soak/kill-loop.ts) for each mode and with settling off (`settleTimeoutMs: 0`): lost
 *   COMMIT answers settled committed / aborted, outcomes left unknown, and the correctness checks;
 *   and, for comparison, the same write wrapped in `writeWithPooling` (COMMIT in a flight of its own).
 *
 *   npx tsx tools/bench/plain-write-commit.ts [--seconds 20] [--pairs 6] [--update-docs]
 *     [--modes confirmed,one-flight,off,wrapped] [--skip-throughput]
 *
 * `--update-docs` writes the tables between the plain-write-commit markers of docs/reliability.md
 * (it needs every mode and the throughput part). `--modes` and `--skip-throughput` are for looking
 * at one row under many KILLs without paying for the rest. Each unknown outcome's cause is printed
 * (`unknownCauses`); DEBUG=DatabasePooling adds what its outcome record held.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import type { PlainWriteCommit } from '../../src/adapter/outcome-record.ts';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import { type ConnectionPoolManager, createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { intArg, positiveArg, usageError } from '../lib/args.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { queryOnce } from '../lib/pg.ts';
import { type KillLoopReport, runKillLoop } from '../soak/kill-loop.ts';
import { startProxy } from '../stack/faults/tcp-proxy.ts';
import { startStack } from '../stack/start-stack.ts';
import { interleaved } from './interleaved.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    pairs: { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    modes: { type: 'string' },
    'skip-throughput': { type: 'boolean', default: false },
  },
});
const seconds = positiveArg('--seconds', values.seconds, 20);
const pairs = intArg('--pairs', values.pairs, 6);

type AppManager = ConnectionPoolManager<InstanceType<typeof PrismaClient>>;
type Mode = PlainWriteCommit | 'off' | 'wrapped';
const ALL_MODES: readonly Mode[] = ['confirmed', 'one-flight', 'off', 'wrapped'];
const MODES: readonly Mode[] =
  values.modes === undefined
    ? ALL_MODES
    : values.modes.split(',').map((m) => (ALL_MODES.includes(m as Mode) ? (m as Mode) : usageError(`--modes: unknown mode "${m}"`)));
const skipThroughput = values['skip-throughput'];
if (values['update-docs'] && (skipThroughput || MODES.length !== ALL_MODES.length))
  usageError('--update-docs needs every mode and the throughput part');

const stack = await startStack({ postgresSettings: { synchronous_commit: 'on' }, log: (line) => process.stderr.write(`${line}\n`) });
const log = (line: string) => process.stderr.write(`${line}\n`);
try {
  const userId = `pwc-${randomUUID()}`;
  await queryOnce(stack.directUrl, `INSERT INTO "User" ("id", "email", "name") VALUES ($1, $1 || '@pwc.test', 'pwc')`, [userId]);
  const proxy = await startProxy({ upstreamHost: '127.0.0.1', upstreamPort: stack.poolerPort });
  const manager = (mode: Mode, url: string, connectionLimit: number): AppManager =>
    createConnectionPoolManager({
      createClient: (adapter) => new PrismaClient({ adapter }),
      env: { DATABASE_URL: url, USE_TRANSACTION_MODE: 'true' },
      pool: { connectionLimit },
      ...(mode === 'off' ? { settleTimeoutMs: 0 } : mode === 'wrapped' ? {} : { plainWriteCommit: mode }),
      onWarning: () => {},
    });
  // The key is the row's action: tools/soak/kill-loop.ts looks the rows up by it.
  const write = (m: AppManager) => (key: string | number) =>
    m.prisma.activityLog.create({ data: { userId, action: String(key) } }).then((row) => row);
  const writeAs = (mode: Mode, m: AppManager) =>
    mode === 'wrapped'
      ? (key: string | number) => m.writeWithPooling((tx) => tx.activityLog.create({ data: { userId, action: String(key) } }))
      : write(m);

  // Round trips.
  const flights: Record<Mode, number> = { confirmed: 0, 'one-flight': 0, off: 0, wrapped: 0 };
  for (const mode of MODES) {
    const m = manager(mode, proxy.url(stack.poolerUrl), 1);
    await m.prisma.user.findFirst(); // warm: the connection exists
    const before = proxy.flights();
    for (let i = 0; i < 20; i++) await writeAs(mode, m)(`rt-${mode}-${i}`);
    flights[mode] = (proxy.flights() - before) / 20;
    await m.disconnect();
  }
  log(`flights per write: ${JSON.stringify(flights)}`);

  // Throughput, confirmed (A) vs one-flight (B).
  const throughput: { rtt: string; result: Awaited<ReturnType<typeof interleaved>> }[] = [];
  for (const delayMs of skipThroughput ? [] : [0, 2]) {
    proxy.setMode({ delayMs });
    const a = manager('confirmed', proxy.url(stack.poolerUrl), 3);
    const b = manager('one-flight', proxy.url(stack.poolerUrl), 3);
    const result = await interleaved(write(a), write(b), { pairs, callsPerBlock: delayMs === 0 ? 600 : 300, concurrency: 6 });
    throughput.push({ rtt: delayMs === 0 ? '≈ 0' : `${2 * delayMs} ms`, result });
    log(`throughput at RTT ${2 * delayMs} ms: ${JSON.stringify(result)}`);
    await Promise.all([a.disconnect(), b.disconnect()]);
  }
  proxy.setMode('pass');
  await proxy.close();

  // Faults.
  const faults: { mode: Mode; report: KillLoopReport }[] = [];
  for (const mode of MODES) {
    const m = manager(mode, stack.poolerUrl, 4);
    const report = await runKillLoop({ stack, userId, write: writeAs(mode, m), metrics: () => m.getMetrics(), durationMs: seconds * 1000 });
    faults.push({ mode, report });
    log(`KILL loop, ${mode}: ${JSON.stringify(report)}`);
    await m.disconnect();
  }

  const label = (mode: Mode) =>
    mode === 'off'
      ? 'settling off (`settleTimeoutMs: 0`)'
      : mode === 'wrapped'
        ? 'wrapped (`writeWithPooling`), for comparison'
        : `\`'${mode}'\``;
  const per100 = (n: number, of: number) => (of === 0 ? '–' : ((100 * n) / of).toFixed(1));
  const table = [
    `Generated by \`npx tsx tools/bench/plain-write-commit.ts --seconds ${seconds} --pairs ${pairs} --update-docs\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus().length} cores, Node ${process.version}; PgBouncer 1.18 in transaction mode, Postgres 15, \`synchronous_commit = on\`).`,
    '',
    '| plain write | round trips | KILLs | calls | acknowledged | lost answers settled: committed / aborted | unknown (of them committed) | unknown per 100 KILLs | lost / duplicated / failed-but-written |',
    '|---|---|---|---|---|---|---|---|---|',
    ...faults
      .map(({ mode, report: r }) =>
        [
          label(mode),
          flights[mode],
          r.faults,
          r.calls,
          r.acknowledged,
          `${r.lostCommits.committed} / ${r.lostCommits.aborted}`,
          `${r.unknown} (${r.unknownWritten})`,
          per100(r.unknown, r.faults),
          `${r.lost} / ${r.duplicated} / ${r.failedButWritten}`,
        ].join(' | '),
      )
      .map((row) => `| ${row} |`),
    '',
    "Throughput of `'confirmed'` ÷ `'one-flight'` (6 callers, 3 connections, interleaved blocks; median and 10th–90th percentile of the per-pair ratios):",
    '',
    '| RTT | confirmed ÷ one-flight | µs per write, confirmed / one-flight |',
    '|---|---|---|',
    ...throughput.map(
      ({ rtt, result: t }) =>
        `| ${rtt} | ${t.throughputRatio.median}× (${t.throughputRatio.p10}–${t.throughputRatio.p90}) | ${Math.round(t.a.wallUs)} / ${Math.round(t.b.wallUs)} |`,
    ),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  if (values['update-docs']) updateGeneratedBlocks('docs/reliability.md', { 'plain-write-commit': table });
} finally {
  await stack.stop();
}
