/**
 * The long ledger soak for release checks: starts its own Postgres + PgBouncer, injects every
 * fault kind at random for `--minutes N` (default 3) and prints what the database says against
 * what the callers were told. Exits 1 on any lost, duplicated, half-applied or unclassified write.
 *
 *   npm run soak -- --minutes 10 [--instances 2] [--workers 4] [--json report.json]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { intArg, positiveArg } from '../lib/args.ts';
import { startStack } from '../stack/start-stack.ts';
import { formatReport, runLedgerSoak, violationCount } from './ledger-soak.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    instances: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const minutes = positiveArg('--minutes', values.minutes, 3);
const instances = intArg('--instances', values.instances, 2);
const workersPerInstance = intArg('--workers', values.workers, 4);

const stack = await startStack({
  // Acknowledged commits must survive an immediate (crash-like) Postgres shutdown.
  postgresSettings: { synchronous_commit: 'on' },
  log: (line) => process.stderr.write(`${line}\n`),
});
let failed = true;
try {
  process.stderr.write(`soak: ${minutes} min of faults, ${instances} instances × ${workersPerInstance} workers\n`);
  const report = await runLedgerSoak({
    stack,
    durationMs: minutes * 60_000,
    instances,
    workersPerInstance,
    log: values.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });
  process.stdout.write(`${formatReport(report)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
  failed = violationCount(report) > 0;
} finally {
  await stack.stop();
}
// Exit explicitly: after a long run with many proxy resets, Node 20's exit-time handle cleanup
// (Environment::CleanupHandles) was seen spinning at 100% CPU on a request that never completed.
process.exit(failed ? 1 : 0);
