#!/usr/bin/env node
/**
 * The package's command line:
 *   npx prisma-pgbouncer-pooling check [--json] [--pooled]       checks the app's DATABASE_URL
 *   npx prisma-pgbouncer-pooling init [--path FILE] [--client IMPORT] [--instrumentation] [--adopt FILE]   writes the service file
 * Exit codes: 0 ok, 1 a check failed, 2 bad usage.
 */
import { parseArgs } from 'node:util';

const USAGE = `usage: prisma-pgbouncer-pooling <command>

  check [--json] [--pooled]         run the pooling checks against DATABASE_URL; reads .env, .env.local,
                                    .env.<NODE_ENV>[.local] as Next.js and Vite do; --pooled checks
                                    PgBouncer's transaction mode (the path serverless functions take)
  init [--path FILE] [--client IMPORT] [--instrumentation]
                                    write the service file where the framework expects it (Next.js: lib/db.ts
                                    or src/lib/db.ts; React Router / Remix: app/services/connection-pool-manager.server.ts),
                                    PrismaClient imported from the schema's generator output; --instrumentation
                                    also writes Next.js' instrumentation.ts (warmup); never overwrites; a Prisma 6
                                    schema (datasource url, prisma-client-js) is refused with what to do first
  init --adopt FILE [--client IMPORT]
                                    rewrite an existing PrismaClient singleton module (e.g. lib/prisma.ts) in place:
                                    its default export and named exports become connectionPoolManager.prisma`;

function usage(message: string): never {
  process.stderr.write(`prisma-pgbouncer-pooling: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function check(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, pooled: { type: 'boolean', default: false } },
    strict: true,
  });
  const { loadAppEnv } = await import('./env-file.ts');
  const { runChecks } = await import('./checks.ts');
  const loaded = loadAppEnv(process.cwd(), process.env);
  const env = { ...loaded.env };
  const sources = { ...loaded.sources };
  if (values.pooled) {
    env.USE_TRANSACTION_MODE = 'true';
    sources.USE_TRANSACTION_MODE = '--pooled';
  }
  const tty = !values.json && process.stderr.isTTY;
  const report = await runChecks(env, { sources, progress: (text) => tty && process.stderr.write(`\r\x1b[2K${text}`) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...report, envFiles: loaded.files }, null, 2)}\n`);
  } else if (report.fatal) {
    process.stderr.write(`prisma-pgbouncer-pooling check: FAILED: ${report.fatal}\n`);
  } else {
    const { renderTable } = await import('./check-runner.ts');
    const files = loaded.files.length === 0 ? 'no .env file' : loaded.files.join(', ');
    process.stdout.write(`\nenv files (NODE_ENV=${loaded.nodeEnv}, first wins): ${files}\n\n${renderTable(report.checks)}\n`);
  }
  return report.ok ? 0 : 1;
}

async function init(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      path: { type: 'string' },
      client: { type: 'string' },
      instrumentation: { type: 'boolean', default: false },
      adopt: { type: 'string' },
    },
    strict: true,
  });
  if (values.adopt !== undefined && (values.path !== undefined || values.instrumentation))
    usage('--adopt rewrites the given file in place: it takes no --path or --instrumentation');
  const { runInit } = await import('./init.ts');
  const result = runInit(process.cwd(), {
    path: values.path,
    clientImport: values.client,
    instrumentation: values.instrumentation,
    adopt: values.adopt,
  });
  for (const file of result.files) {
    const exports = result.adopted?.map((name) => (name === 'default' ? 'the default export' : name)).join(', ');
    process.stdout.write(exports ? `adopted ${file}: ${exports} now connectionPoolManager.prisma\n` : `wrote ${file}\n`);
  }
  if ('reason' in result) {
    process.stderr.write(`prisma-pgbouncer-pooling init: ${result.reason}\n`);
    return 1;
  }
  for (const file of result.skipped) process.stdout.write(`kept ${file} (exists)\n`);
  if (result.warning) process.stderr.write(`prisma-pgbouncer-pooling init: ${result.warning}\n`);
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
