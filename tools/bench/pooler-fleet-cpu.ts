/**
 * `npm run bench:fleet [-- --poolers=1,3] [-- --window-s=8] [-- --update-docs]`: PgBouncer's CPU per
 * pooler under one load, with the load on one pooler and spread over a fleet listed in one URL
 * (`load_balance_hosts=random`; tools/stack/pooler-fleet.ts). The same offered load each time:
 * `--instances` managers (app instances, 3 connections each in transaction mode) with `--callers`
 * callers each running `readWithPooling` back to back for the window. Reads each pooler's CPU time
 * from /proc and its transactions from its own `SHOW STATS`. A benchmark: nothing here asserts.
 * With --update-docs the table goes into docs/pooler-fleets.md between the `fleet-cpu` markers.
 */
import os from 'node:os';
import { PrismaClient } from '../../src/generated/prisma/client.ts';
import { createConnectionPoolManager } from '../../src/manager/connection-pool-manager.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { transactionsServed } from '../stack/faults/pgbouncer-admin.ts';
import { startPoolerFleet } from '../stack/pooler-fleet.ts';
import { startStack } from '../stack/start-stack.ts';
import { cpuSeconds } from './proc-cpu.ts';

const argv = process.argv.slice(2);
const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positive = (name: string, fallback: number) => {
  const n = Number(value(name) ?? fallback);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`bench:fleet: --${name} must be a positive integer`);
  return n;
};
const poolerCounts = (value('poolers') ?? '1,3').split(',').map(Number);
if (poolerCounts.some((n) => !(Number.isInteger(n) && n > 0 && n <= 8))) throw new Error('bench:fleet: --poolers takes counts from 1 to 8');
const windowMs = positive('window-s', 8) * 1000;
const instances = positive('instances', 6);
const callers = positive('callers', 4);
const log = (line: string) => console.error(line);

interface Row {
  readonly poolers: number;
  readonly transactionsPerSecond: number;
  /** Per pooler: share of one core, and µs of CPU per transaction it served. */
  readonly perPooler: { cpuPercent: number; transactions: number; cpuUsPerTransaction: number }[];
}

async function measure(directUrl: string, poolers: number): Promise<Row> {
  const fleet = await startPoolerFleet({ directUrl, count: poolers, port: 6543, log });
  const managers = Array.from({ length: instances }, () =>
    createConnectionPoolManager({
      createClient: (adapter) => new PrismaClient({ adapter }),
      env: { DATABASE_URL: fleet.url('load_balance_hosts=random'), USE_TRANSACTION_MODE: 'true', INSTANCE_COUNT: String(instances) },
      onWarning: () => {},
    }),
  );
  try {
    // Warm: every instance opens its connections (logins are not what this measures).
    await Promise.all(managers.map((m) => Promise.all(Array.from({ length: 3 }, () => m.readWithPooling((tx) => tx.user.count())))));
    const indexes = Array.from({ length: poolers }, (_, i) => i);
    const cpuBefore = indexes.map((i) => cpuSeconds(fleet.pid(i) as number) ?? 0);
    const xactBefore = await Promise.all(indexes.map((i) => transactionsServed(fleet.urlOf(i))));
    const started = performance.now();
    await Promise.all(
      managers.flatMap((m) =>
        Array.from({ length: callers }, async () => {
          while (performance.now() - started < windowMs) await m.readWithPooling((tx) => tx.user.findFirst());
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = indexes.map((i, k) => (cpuSeconds(fleet.pid(i) as number) ?? 0) - (cpuBefore[k] ?? 0));
    const xacts = (await Promise.all(indexes.map((i) => transactionsServed(fleet.urlOf(i))))).map((n, k) => n - (xactBefore[k] ?? 0));
    const total = xacts.reduce((a, b) => a + b, 0);
    return {
      poolers,
      transactionsPerSecond: Math.round(total / seconds),
      perPooler: indexes.map((_, k) => ({
        cpuPercent: Math.round(((cpu[k] ?? 0) / seconds) * 1000) / 10,
        transactions: xacts[k] ?? 0,
        cpuUsPerTransaction: (xacts[k] ?? 0) === 0 ? 0 : Math.round(((cpu[k] ?? 0) * 1e6) / (xacts[k] ?? 1)),
      })),
    };
  } finally {
    await Promise.all(managers.map((m) => m.disconnect()));
    await fleet.stop();
  }
}

function render(rows: readonly Row[], date: string): string {
  const lines = [
    `\`npm run bench:fleet -- --poolers=${poolerCounts.join(',')} --window-s=${windowMs / 1000} --instances=${instances} --callers=${callers}\` on ${date}, ${os.cpus().length} cores shared with the load generator and Postgres (1-minute load average at the end ${(os.loadavg()[0] ?? 0).toFixed(1)}): ${instances} app instances, ${callers} callers each running \`readWithPooling\` back to back, PgBouncer 1.18 in transaction mode.`,
    '',
    '| poolers | transactions/s (all) | per pooler: CPU (% of a core) | per pooler: transactions | per pooler: CPU µs per transaction |',
    '|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.poolers} | ${r.transactionsPerSecond} | ${r.perPooler.map((p) => p.cpuPercent).join(' / ')} | ${r.perPooler.map((p) => p.transactions).join(' / ')} | ${r.perPooler.map((p) => p.cpuUsPerTransaction).join(' / ')} |`,
    ),
  ];
  return lines.join('\n');
}

const stack = await startStack({ log });
try {
  const rows: Row[] = [];
  for (const poolers of poolerCounts) {
    log(`bench:fleet: ${poolers} pooler(s), ${windowMs / 1000} s`);
    rows.push(await measure(stack.directUrl, poolers));
  }
  const table = render(rows, new Date().toISOString().slice(0, 10));
  console.log(table);
  if (argv.includes('--update-docs')) log(`updated ${updateGeneratedBlocks('docs/pooler-fleets.md', { 'fleet-cpu': table })}`);
} finally {
  await stack.stop();
}
