/**
 * The package as a user gets it: `npm pack`, installed into a fresh app outside the repository
 * with a schema that is not ours and its own generated client; its service file written by the
 * CLI's `init`; type-checked by stock TypeScript 5.9 and by this repository's TypeScript 7 under
 * `nodenext`, `node16` and `bundler`; run on plain `node` (no tsx) against the shared stack; loaded
 * with `require()` from CommonJS (Node ≥ 20.19's require(esm)); the same build run unchanged on Bun
 * and on Deno (both from npm, devDependencies here), plain and with `sslmode=verify-full` through a
 * TLS-only PgBouncer; and the CLI's `check` run against the stack, then against a wrong password.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { sql } from '../../support/managers.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TS5 = '~5.9.3';
const version = (name: string): string =>
  (JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

const SCHEMA = `generator client {
  provider             = "prisma-client"
  output               = "./src/generated/prisma"
  moduleFormat         = "esm"
  importFileExtension  = "js"
}

datasource db {
  provider = "postgresql"
}

model ConsumerInvoice {
  id     Int     @id @default(autoincrement())
  amount Int
  note   String?
}
`;

const APP = `import { batchWithPooling, connectionPoolManager, prisma, readWithPooling, withPooling, writeWithPooling } from './services/connection-pool-manager.server.js';

const created = await writeWithPooling(async (tx) => {
  const a = await tx.consumerInvoice.create({ data: { amount: 10, note: 'first' } });
  await tx.consumerInvoice.update({ where: { id: a.id }, data: { amount: 11 } });
  return a;
});
const found = await withPooling((tx) => tx.consumerInvoice.findUnique({ where: { id: created.id } }));
const batch = await batchWithPooling([
  (tx) => tx.consumerInvoice.create({ data: { amount: 1 } }),
  (tx) => tx.consumerInvoice.create({ data: { amount: 2 } }),
  (tx) => tx.consumerInvoice.count(),
]);
const total = await readWithPooling(async (tx) => (await tx.consumerInvoice.aggregate({ _sum: { amount: true } }))._sum.amount);
const amount: number | null = found?.amount ?? null;
// Plain calls, as in a model file that only changed its import: precisely typed (a select'ed shape).
const plain = await prisma.consumerInvoice.create({ data: { amount: 5, note: 'plain' }, select: { id: true, note: true } });
const plainNote: string | null = plain.note;
const plainFound = await prisma.consumerInvoice.findUnique({ where: { id: plain.id }, select: { amount: true } });
const plainAmount: number | undefined = plainFound?.amount;
const metrics = connectionPoolManager.getMetrics();
const health = await connectionPoolManager.getHealth();
const { runtime, tls } = connectionPoolManager.config;
await connectionPoolManager.disconnect();
console.log(JSON.stringify({ amount, plainNote, plainAmount, batchCount: batch[2], total, totalQueries: metrics.totalQueries, failedQueries: metrics.failedQueries, health: health.status, closed: connectionPoolManager.closed, runtime, tls: tls.verify }));
`;

function tsconfig(moduleResolution: 'nodenext' | 'node16' | 'bundler'): string {
  const module = moduleResolution === 'bundler' ? 'esnext' : moduleResolution;
  return JSON.stringify({
    compilerOptions: {
      target: 'es2022',
      module,
      moduleResolution,
      strict: true,
      outDir: 'build',
      rootDir: 'src',
      types: ['node'],
      skipLibCheck: false,
    },
    include: ['src'],
  });
}

const TABLE = 'CREATE TABLE IF NOT EXISTS "ConsumerInvoice" (id serial PRIMARY KEY, amount int NOT NULL, note text)';

/** What the consumer prints after its 30-odd operations; `runtime` is what detectRuntime saw. */
const consumerResult = (runtime: string, tls: string) => ({
  amount: 11,
  plainNote: 'plain',
  plainAmount: 5,
  batchCount: expect.any(Number),
  total: expect.any(Number),
  totalQueries: 6,
  failedQueries: 0,
  health: 'healthy',
  closed: true,
  runtime,
  tls,
});

/**
 * The built consumer on another runtime: the same files, no flags but Deno's permissions (env reads,
 * TCP, reading node_modules and the CA file; `--allow-sys` for `os.userInfo()`-style lookups pg makes).
 */
const RUNTIMES = {
  bun: { binary: path.join(repoRoot, 'node_modules/.bin/bun'), args: ['build/app.js'] },
  deno: {
    binary: path.join(repoRoot, 'node_modules/.bin/deno'),
    args: ['run', '--allow-env', '--allow-net', '--allow-read', '--allow-sys', 'build/app.js'],
  },
} as const;

describe('the packed package in a fresh app', () => {
  const stack = inject('stack');
  let app: string;
  let packDir: string;
  let built: Promise<unknown> | null = null;
  let tlsStack: Promise<LocalStack> | null = null;
  /** One TLS-only stack (private CA, PgBouncer client_tls_sslmode=require) for every runtime. */
  const tlsOnly = () => {
    tlsStack ??= startStack({ tls: true, migrate: false }).then(async (started) => {
      await sql(started.directUrl, TABLE);
      return started;
    });
    return tlsStack;
  };
  /** tsc once (nodenext) → build/app.js, which node, Bun and Deno all run. */
  const build = () => {
    built ??= run(path.join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.nodenext.json'], { cwd: app });
    return built;
  };
  const env = (databaseUrl: string) => ({
    ...process.env,
    DATABASE_URL: databaseUrl,
    USE_TRANSACTION_MODE: 'true',
    NODE_ENV: 'production',
    DEBUG: '',
  });

  beforeAll(async () => {
    packDir = mkdtempSync(path.join(os.tmpdir(), 'ppp-pack-'));
    app = mkdtempSync(path.join(os.tmpdir(), 'ppp-consumer-'));
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: repoRoot, maxBuffer: 1 << 26 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    if (!packed) throw new Error('npm pack printed no result');
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }));
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        path.join(packDir, packed.filename),
        `@prisma/client@${version('@prisma/client')}`,
        `@prisma/adapter-pg@${version('@prisma/adapter-pg')}`,
        `pg@${version('pg')}`,
        `prisma@${version('prisma')}`,
        `@types/node@${version('@types/node')}`,
        `@types/pg@${version('@types/pg')}`,
        `typescript@${TS5}`,
      ],
      { cwd: app, maxBuffer: 1 << 26 },
    );
    writeFileSync(path.join(app, 'schema.prisma'), SCHEMA);
    await run(path.join(app, 'node_modules/.bin/prisma'), ['generate', '--schema', 'schema.prisma'], {
      cwd: app,
      env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', DATABASE_URL: stack.directUrl },
    });
    await sql(stack.directUrl, TABLE);
    // The app's service file, written by the package's own CLI: exactly the documented one.
    await run(
      path.join(app, 'node_modules/.bin/prisma-pgbouncer-pooling'),
      ['init', '--path', 'src/services/connection-pool-manager.server.ts', '--client', '../generated/prisma/client.js'],
      { cwd: app },
    );
    writeFileSync(path.join(app, 'src/app.ts'), APP);
    for (const mode of ['nodenext', 'node16', 'bundler'] as const) writeFileSync(path.join(app, `tsconfig.${mode}.json`), tsconfig(mode));
    // Here, under the hook's long timeout: tsc on a busy 2-core machine can take most of a test's minute.
    await build();
  }, 300_000);

  afterAll(async () => {
    await (await tlsStack?.catch(() => null))?.stop();
    await sql(stack.directUrl, 'DROP TABLE IF EXISTS "ConsumerInvoice"').catch(() => {});
    if (app) rmSync(app, { recursive: true, force: true });
    if (packDir) rmSync(packDir, { recursive: true, force: true });
  });

  it('ships the build, the docs and the bin, and nothing of the repository', () => {
    const pkg = path.join(app, 'node_modules/prisma-pgbouncer-pooling');
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.scripts).not.toHaveProperty('postinstall');
    expect(manifest.scripts).not.toHaveProperty('install');
    expect(manifest.peerDependencies).toMatchObject({
      '@prisma/client': expect.any(String),
      '@prisma/adapter-pg': expect.any(String),
      pg: expect.any(String),
    });
    const entries = readFileSync(path.join(pkg, 'dist/index.js'), 'utf8');
    expect(entries).toContain('createConnectionPoolManager');
    for (const absent of ['src', 'test', 'tools', 'scripts', 'examples', 'prisma', 'biome.json', 'dist/services', 'dist/generated']) {
      expect(() => readFileSync(path.join(pkg, absent))).toThrow();
    }
  });

  it.each([
    ['TypeScript 5.9', 'nodenext'],
    ['TypeScript 5.9', 'node16'],
    ['TypeScript 5.9', 'bundler'],
    ['TypeScript 7', 'nodenext'],
    ['TypeScript 7', 'node16'],
    ['TypeScript 7', 'bundler'],
  ] as const)('type-checks with %s, moduleResolution %s', async (ts, mode) => {
    const tsc = ts === 'TypeScript 7' ? path.join(repoRoot, 'node_modules/.bin/tsc') : path.join(app, 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', `tsconfig.${mode}.json`, '--noEmit'], { cwd: app }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(result).toBe('');
  });

  it('runs the four wrappers, plain calls, getMetrics and getHealth on plain node', async () => {
    await build();
    const { stdout } = await run(process.execPath, ['build/app.js'], { cwd: app, env: env(stack.poolerUrl) });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(result).toEqual(consumerResult('local', 'none'));
    expect(result.batchCount).toBeGreaterThanOrEqual(3);
  });

  describe.each(Object.entries(RUNTIMES))('on %s, unchanged', (name, runtime) => {
    const runOn = async (databaseUrl: string) => {
      await build();
      const { stdout } = await run(runtime.binary, [...runtime.args], { cwd: app, env: env(databaseUrl), maxBuffer: 1 << 24 });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    };

    it('plain: the four wrappers, getMetrics and getHealth', async () => {
      expect(await runOn(stack.poolerUrl)).toEqual(consumerResult(name, 'none'));
    });

    it('sslmode=verify-full through a TLS-only PgBouncer with a private CA', async () => {
      const tlsStack = await tlsOnly();
      expect(tlsStack.poolerUrl).toMatch(/sslmode=verify-full&sslrootcert=/);
      expect(await runOn(tlsStack.poolerUrl)).toEqual(consumerResult(name, 'full'));
    });
  });

  it('loads from CommonJS with require()', async () => {
    const { stdout } = await run(
      process.execPath,
      ['-e', "const m = require('prisma-pgbouncer-pooling'); console.log(typeof m.createConnectionPoolManager, typeof m.classifyError)"],
      { cwd: app },
    );
    expect(stdout.trim()).toBe('function function');
  });

  it('`check` passes against the stack (DATABASE_URL from .env)', async () => {
    writeFileSync(path.join(app, '.env'), `DATABASE_URL=${stack.poolerUrl}\nUSE_TRANSACTION_MODE=true\n`);
    try {
      const { DATABASE_URL: _omit, ...rest } = env(stack.poolerUrl);
      // Exit code 1 (a failed check) still prints the report: read it either way, to show which check failed.
      const { stdout } = await run(path.join(app, 'node_modules/.bin/prisma-pgbouncer-pooling'), ['check', '--json'], {
        cwd: app,
        env: rest,
        maxBuffer: 1 << 24,
      }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }));
      const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checks.length).toBeGreaterThanOrEqual(9);
    } finally {
      rmSync(path.join(app, '.env'), { force: true });
    }
    const leftovers = await sql(stack.directUrl, "SELECT tablename FROM pg_tables WHERE tablename LIKE 'pgbouncer_pooling_check_%'");
    expect(leftovers).toEqual([]);
  });

  it('`check` fails with one clear line against a wrong password', async () => {
    const url = new URL(stack.poolerUrl);
    url.password = 'not-the-password-123';
    const failure = await run(path.join(app, 'node_modules/.bin/prisma-pgbouncer-pooling'), ['check'], {
      cwd: app,
      env: env(url.toString()),
    }).then(
      () => null,
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toBe('');
    const lines = (failure?.stderr ?? '').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^prisma-pgbouncer-pooling check: FAILED: cannot reach .*: auth: /);
    expect(lines[0]).not.toContain('not-the-password-123');
  });
});
