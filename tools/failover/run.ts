/**
 * `npm run failover`: the failover scenarios of docs/failover.md, each on a stack of its own
 * (a 1.5 s switchover with 8 writers on the pooler and 8 on a multi-host direct URL at once; a
 * 1.5 s read-only fence with 8 writers), with wrapped writers and again with an app of plain calls
 * only (on the pooler), `--runs N` times each (default 3). Prints one line per
 * run and path; with `--update-docs` writes the table between the `failover-stalls` markers of
 * docs/failover.md. Exits 1 when any write was lost, written twice or failed.
 *
 *   npm run failover -- [--runs 3] [--update-docs]
 */
import { parseArgs } from 'node:util';
import { intArg } from '../lib/args.ts';
import { updateGeneratedBlocks } from '../lib/markers.ts';
import { runScenario, type ScenarioResult } from './scenarios.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' }, 'update-docs': { type: 'boolean', default: false } } });
const runs = intArg('--runs', values.runs, 3, { max: 20 });

const results: ScenarioResult[] = [];
for (let run = 1; run <= runs; run++) {
  for (const [scenario, style] of [
    ['switchover', 'wrapped'],
    ['fence', 'wrapped'],
    ['switchover', 'plain'],
    ['fence', 'plain'],
  ] as const) {
    for (const r of await runScenario(scenario, { style, only: style === 'plain' ? 'pooler' : undefined })) {
      results.push(r);
      process.stdout.write(
        `run ${run} ${scenario} / ${r.path} / ${style}: ${r.acknowledged} acknowledged, ${r.lost} lost, ${r.duplicated} written twice, ${r.failed} failed, ${r.outcomeUnknown} outcome-unknown (${r.outcomeUnknownApplied} committed); fault ${r.faultWindowMs} ms, longest stall ${r.longestStallMs} ms, resumed ${r.resumeAfterMs} ms after the fault\n`,
      );
      for (const kind of r.failedKinds) process.stdout.write(`  failed: ${kind}\n`);
    }
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};
const sum = (rows: ScenarioResult[], pick: (r: ScenarioResult) => number) => rows.reduce((total, r) => total + pick(r), 0);
const LABELS: Record<string, string> = {
  'switchover/pooler/wrapped': 'switchover, PgBouncer (transaction mode)',
  'switchover/multi-host/wrapped': 'switchover, multi-host direct URL (session mode, standby listed first)',
  'fence/pooler/wrapped': 'primary read-only for 1.5 s, PgBouncer (transaction mode)',
  'switchover/pooler/plain': 'switchover, PgBouncer, an app of plain `prisma.*` calls only',
  'fence/pooler/plain': 'primary read-only for 1.5 s, PgBouncer, an app of plain `prisma.*` calls only',
};
const rows = Object.entries(LABELS).map(([key, label]) => {
  const mine = results.filter((r) => `${r.scenario}/${r.path}/${r.style}` === key);
  const stalls = mine.map((r) => r.longestStallMs);
  return `| ${label} | ${mine.length} | ${median(mine.map((r) => r.faultWindowMs))} | ${median(stalls)} (max ${Math.max(...stalls)}) | ${sum(mine, (r) => r.acknowledged)} | ${sum(mine, (r) => r.lost)} | ${sum(mine, (r) => r.duplicated)} | ${sum(mine, (r) => r.failed)} | ${sum(mine, (r) => r.outcomeUnknown)} (${sum(mine, (r) => r.outcomeUnknownApplied)} committed) |`;
});
const table = [
  `${runs} run(s) per scenario, 8 writers per path (\`writeWithPooling\`, or plain \`prisma.$executeRaw\` writes with no wrapper and no warmup), \`npm run failover -- --runs ${runs} --update-docs\` on ${new Date().toISOString().slice(0, 10)}. Fault: primary stopped → PgBouncer reloaded onto the promoted standby (the multi-host path needs only the promotion), or fenced → lifted. Stall: the longest time no write was acknowledged.`,
  '',
  '| path | runs | fault, median ms | longest stall, median ms | acknowledged | lost | written twice | failed | outcome unknown |',
  '|---|---|---|---|---|---|---|---|---|',
  ...rows,
].join('\n');
process.stdout.write(`\n${table}\n`);
if (values['update-docs']) process.stdout.write(`written: ${updateGeneratedBlocks('docs/failover.md', { 'failover-stalls': table })}\n`);
const bad = results.some((r) => r.lost > 0 || r.duplicated > 0 || r.failed > 0);
process.exit(bad ? 1 : 0);
