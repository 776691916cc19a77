/**
 * The `prisma.config.ts` the README and docs/recipes/prisma-config.md show, run by the real Prisma
 * CLI in a scratch project: `prisma generate` passes in a build that has only a pooled URL, a
 * migration command gets the ConfigError instead of migrating through the pooler, and the config
 * reads `.env.local` before `.env` with the environment's own variables first. A control config that
 * reads the URL eagerly (`url: directDatabaseUrl()`) must fail `prisma generate` the same way, so
 * the test can tell the two apart. `prisma-pgbouncer-pooling` resolves to the built package (dist/)
 * by Node's self-reference; `PRISMA_SCHEMA_ENGINE_BINARY` keeps the CLI offline.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/lib/markers.ts';

const SCHEMA = `generator client {
  provider = "prisma-client"
  output   = "../generated/prisma"
}

datasource db {
  provider = "postgresql"
}

model User {
  id String @id
}
`;

const POOLED_ONLY = 'postgresql://app:secret@pooler.internal:6543/app';

/** The first ```ts fence of a Markdown file that starts with `// prisma.config.ts`. */
function configFrom(file: string): string {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  const match = /```ts\n(\/\/ prisma\.config\.ts\n[\s\S]*?)```/.exec(text);
  if (!match?.[1]) throw new Error(`${file}: no prisma.config.ts sample`);
  return match[1];
}

const scratchRoot = path.join(REPO_ROOT, '.scratch');
mkdirSync(scratchRoot, { recursive: true });
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function project(config: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(scratchRoot, 'prisma-config-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, 'prisma'));
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), SCHEMA);
  writeFileSync(path.join(dir, 'prisma.config.ts'), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Runs a command with only the variables given (and PATH, HOME): what a build machine has. */
const run = (cwd: string, command: string, args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      path.join(REPO_ROOT, 'node_modules/.bin', command),
      args,
      {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', ...env },
        timeout: 120_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: `${stdout}${stderr}` }),
    );
  });

describe.each(['README.md', 'docs/recipes/prisma-config.md'])('the prisma.config.ts of %s', (file) => {
  const config = configFrom(file);

  it('lets prisma generate run with only the pooled URL, and stops a migration with the ConfigError', async () => {
    const dir = project(config);
    const generated = await run(dir, 'prisma', ['generate'], { DATABASE_URL: POOLED_ONLY });
    expect(generated.output).toContain('Generated Prisma Client');
    expect(generated.code).toBe(0);
    expect(existsSync(path.join(dir, 'generated/prisma/client.ts'))).toBe(true);

    const status = await run(dir, 'prisma', ['migrate', 'status'], { DATABASE_URL: POOLED_ONLY });
    expect(status.code).not.toBe(0);
    expect(status.output).toContain('DATABASE_URL_SESSION: is not set and DATABASE_URL points at a transaction-mode pooler');
    expect(status.output).not.toContain('secret');
  });

  it('reads .env.local before .env, and a variable the environment set before both', async () => {
    const dir = project(config, {
      '.env.local': 'DIRECT_URL=postgresql://app:pw@from-env-local:5432/app\n',
      '.env': 'DIRECT_URL=postgresql://app:pw@from-env:5432/app\nDATABASE_URL_SESSION=\n',
      'print-url.ts': "import config from './prisma.config.ts';\nconsole.log(config.datasource?.url);\n",
    });
    const fromFiles = await run(dir, 'tsx', ['print-url.ts'], {});
    expect(fromFiles.output.trim()).toBe('postgresql://app:pw@from-env-local:5432/app');
    const fromEnv = await run(dir, 'tsx', ['print-url.ts'], { DIRECT_URL: 'postgresql://app:pw@from-platform:5432/app' });
    expect(fromEnv.output.trim()).toBe('postgresql://app:pw@from-platform:5432/app');
  });
});

describe('control: a config that reads the URL eagerly', () => {
  it('fails prisma generate when only the pooled URL is set', async () => {
    const eager = configFrom('docs/recipes/prisma-config.md').replace(
      /datasource: \{[\s\S]*?\n {2}\},\n/,
      'datasource: { url: directDatabaseUrl() },\n',
    );
    expect(eager).toContain('url: directDatabaseUrl()');
    const dir = project(eager);
    const generated = await run(dir, 'prisma', ['generate'], { DATABASE_URL: POOLED_ONLY });
    expect(generated.code).not.toBe(0);
    expect(generated.output).toContain('DATABASE_URL_SESSION');
  });
});
