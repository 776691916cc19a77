#!/usr/bin/env node
/**
 * The package's command line:
 *   npx prisma-pgbouncer-pooling check [--json]                  checks the app's DATABASE_URL
 *   npx prisma-pgbouncer-pooling init [--path FILE] [--client IMPORT]   writes the service file
 * Exit codes: 0 ok, 1 a check failed, 2 bad usage.
 */
import { parseArgs } from 'node:util';

const USAGE = `usage: prisma-pgbouncer-pooling <command>

  check [--json]                    run the pooling checks against DATABASE_URL (.env is read when present)
  init [--path FILE] [--client IMPORT]
                                    write the service file (default app/services/connection-pool-manager.server.ts,
                                    PrismaClient imported from '~/generated/prisma/client'); never overwrites`;

function usage(message: string): never {
  process.stderr.write(`prisma-pgbouncer-pooling: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const { loadAppEnv } = await import('./env-file.ts');
  const { runChecks } = await import('./checks.ts');
  const { env } = loadAppEnv(process.cwd(), process.env);
  const tty = !values.json && process.stderr.isTTY;
  const report = await runChecks(env, { progress: (text) => tty && process.stderr.write(`\r\x1b[2K${text}`) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else if (report.fatal) {
    process.stderr.write(`prisma-pgbouncer-pooling check: FAILED: ${report.fatal}\n`);
  } else {
    const { renderTable } = await import('./check-runner.ts');
    process.stdout.write(`\n${renderTable(report.checks)}\n`);
  }
  return report.ok ? 0 : 1;
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { path: { type: 'string' }, client: { type: 'string' } }, strict: true });
  const { writeServiceFile } = await import('./init.ts');
  const result = writeServiceFile(process.cwd(), { path: values.path, clientImport: values.client });
  if (!result.written) {
    process.stderr.write(`prisma-pgbouncer-pooling init: ${result.file} ${result.reason}\n`);
    return 1;
  }
  process.stdout.write(`wrote ${result.file}\n`);
  return 0;
}

const [command, ...rest] = process.argv.slice(2);
let code: number;
try {
  if (command === 'check') code = await check(rest);
  else if (command === 'init') code = await init(rest);
  else if (command === undefined || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    code = command === undefined ? 2 : 0;
  } else usage(`unknown command "${command}"`);
} catch (error) {
  // parseArgs' own errors name the option; anything else is one classified line, URLs redacted.
  if (String((error as { code?: unknown })?.code).startsWith('ERR_PARSE_ARGS')) usage((error as Error).message);
  const { describeError } = await import('./check-runner.ts');
  process.stderr.write(`prisma-pgbouncer-pooling ${command}: FAILED: ${describeError(error)}\n`);
  code = 1;
}
process.exitCode = code;
