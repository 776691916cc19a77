/**
 * `init` in empty project folders shaped like real apps: the file lands where the framework expects
 * it, the client import follows the schema's generator output and the tsconfig aliases, nothing is
 * overwritten, and when it cannot tell it writes nothing and says so in one sentence.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { adoptSingletonSource } from '~/cli/adopt-singleton.ts';
import { serviceFileSource } from '~/cli/init.ts';
import { cleanEnv, runCli } from '../../support/cli.ts';
import { withoutPipelineWarning } from '../../support/installed-versions.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Shape {
  deps: Record<string, string>;
  files?: Record<string, string>;
  dirs?: string[];
}

function project(shape: Shape): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pgpool-init-'));
  dirs.push(root);
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'app', dependencies: shape.deps }));
  for (const dir of shape.dirs ?? []) mkdirSync(path.join(root, dir), { recursive: true });
  for (const [file, content] of Object.entries(shape.files ?? {})) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), content);
  }
  return root;
}

const schema = (output: string) => `generator client {\n  provider = "prisma-client"\n  output   = "${output}"\n}\n`;
const tsconfig = (paths: Record<string, string[]>) =>
  `{\n  // comments and trailing commas, as create-next-app writes them\n  "compilerOptions": { "moduleResolution": "bundler", "paths": ${JSON.stringify(paths)}, },\n}\n`;
const init = (root: string, ...args: string[]) => runCli(['init', ...args], { cwd: root, env: cleanEnv() });
const read = (root: string, file: string) => readFileSync(path.join(root, file), 'utf8');

describe('init', () => {
  it('Next.js with src/app: src/lib/db.ts (and src/instrumentation.ts), never a root app/', async () => {
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['src/app'],
      files: { 'tsconfig.json': tsconfig({ '@/*': ['./src/*'] }), 'prisma/schema.prisma': schema('../src/generated/prisma') },
    });
    const result = await init(root, '--instrumentation');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('wrote src/lib/db.ts\nwrote src/instrumentation.ts\n');
    expect(existsSync(path.join(root, 'app'))).toBe(false);
    const service = read(root, 'src/lib/db.ts');
    expect(service).toContain("import { PrismaClient } from '@/generated/prisma/client';");
    expect(service).toContain('export const prisma = connectionPoolManager.prisma;');
    const instrumentation = read(root, 'src/instrumentation.ts');
    expect(instrumentation).toContain("if (process.env.NEXT_RUNTIME === 'nodejs') {");
    expect(instrumentation).toContain("await import('./lib/db')");
    expect(instrumentation).toContain('await connectionPoolManager.warmup();');
  });

  it('Next.js with src/app whose generator output is under a root app/: written, with a one-line warning', async () => {
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['src/app'],
      files: { 'tsconfig.json': tsconfig({ '@/*': ['./src/*'] }), 'prisma/schema.prisma': schema('../app/generated/prisma') },
    });
    const result = await init(root);
    expect(result).toMatchObject({ code: 0, stdout: 'wrote src/lib/db.ts\n' });
    expect(result.stderr).toMatch(
      /^prisma-pgbouncer-pooling init: warning: .*makes Next\.js ignore src\/app: set output = "\.\.\/src\/generated\/prisma"\n$/,
    );
    expect(existsSync(path.join(root, 'app'))).toBe(false);
  });

  it('Next.js with a root app/: lib/db.ts, a relative import without an alias; no instrumentation unless asked', async () => {
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['app'],
      files: { 'tsconfig.json': tsconfig({}), 'prisma/schema.prisma': schema('../generated/prisma') },
    });
    expect(await init(root)).toMatchObject({ code: 0, stdout: 'wrote lib/db.ts\n' });
    expect(read(root, 'lib/db.ts')).toContain("from '../generated/prisma/client';");
    expect(existsSync(path.join(root, 'instrumentation.ts'))).toBe(false);
  });

  it('Next.js in JavaScript: lib/db.js', async () => {
    const root = project({ deps: { next: '16.0.0' }, dirs: ['app'], files: { 'prisma/schema.prisma': schema('../generated/prisma') } });
    expect(await init(root)).toMatchObject({ code: 0, stdout: 'wrote lib/db.js\n' });
  });

  it("React Router: app/services/connection-pool-manager.server.ts with the app's ~/* alias", async () => {
    const root = project({
      deps: { 'react-router': '7.0.0', '@react-router/dev': '7.0.0' },
      dirs: ['app/routes'],
      files: { 'tsconfig.json': tsconfig({ '~/*': ['./app/*'] }), 'prisma/schema.prisma': schema('../app/generated/prisma') },
    });
    expect(await init(root)).toMatchObject({ code: 0, stdout: 'wrote app/services/connection-pool-manager.server.ts\n' });
    expect(read(root, 'app/services/connection-pool-manager.server.ts')).toContain("from '~/generated/prisma/client';");
  });

  it('--path and --client win over detection; an existing file is never overwritten', async () => {
    const root = project({ deps: {}, files: { 'src/db.ts': '// mine\n' } });
    expect(await init(root, '--path', 'src/pool.ts', '--client', './generated/client.js')).toMatchObject({
      code: 0,
      stdout: 'wrote src/pool.ts\n',
    });
    expect(read(root, 'src/pool.ts')).toContain("from './generated/client.js';");
    const again = await init(root, '--path', 'src/db.ts', '--client', 'x');
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('prisma-pgbouncer-pooling init: src/db.ts exists; left as is\n');
    expect(read(root, 'src/db.ts')).toBe('// mine\n');
  });

  it.each<[string, Shape, RegExp]>([
    ['no framework', { deps: { express: '5.0.0' } }, /^prisma-pgbouncer-pooling init: cannot tell the framework .*: pass --path <file>/],
    [
      'no schema',
      { deps: { next: '16.0.0' }, dirs: ['app'] },
      /^prisma-pgbouncer-pooling init: cannot tell where your generated PrismaClient is .*: pass --client <import path>/,
    ],
    [
      'a generator without output',
      {
        deps: { next: '16.0.0' },
        dirs: ['app'],
        files: { 'prisma/schema.prisma': 'generator client {\n  provider = "prisma-client"\n}\n' },
      },
      /has no output\): pass --client/,
    ],
  ])('%s: one sentence on stderr, nothing written', async (_name, shape, message) => {
    const root = project(shape);
    const result = await init(root);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(path.join(root, 'lib'))).toBe(false);
    expect(existsSync(path.join(root, 'app/services'))).toBe(false);
  });

  it('a Prisma 6 schema (datasource url = env(...), prisma-client-js): one sentence saying what to do first, exit 1, nothing written', async () => {
    const prisma6 = `generator client {\n  provider = "prisma-client-js"\n}\n\ndatasource db {\n  provider  = "postgresql"\n  url       = env("DATABASE_URL")\n  directUrl = env("DIRECT_URL")\n}\n`;
    const root = project({
      deps: { next: '15.0.0', '@prisma/client': '6.19.0' },
      dirs: ['app'],
      files: { 'prisma/schema.prisma': prisma6 },
    });
    for (const args of [[], ['--adopt', 'lib/prisma.ts'], ['--path', 'lib/x.ts', '--client', 'y']]) {
      const result = await init(root, ...args);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(
        /^prisma-pgbouncer-pooling init: prisma\/schema\.prisma is a Prisma 6 schema \(the datasource sets url = env\("DATABASE_URL"\); the generator is "prisma-client-js"\): move it to Prisma 7 first/,
      );
      expect(result.stderr).toContain('then run init again');
    }
    expect(existsSync(path.join(root, 'lib'))).toBe(false);
    // Only the generator left: still Prisma 6's.
    const generatorOnly = project({
      deps: { next: '15.0.0' },
      dirs: ['app'],
      files: { 'prisma/schema.prisma': 'generator client {\n  provider = "prisma-client-js"\n  output = "../gen"\n}\n' },
    });
    expect((await init(generatorOnly)).stderr).toMatch(/is a Prisma 6 schema \(the generator is "prisma-client-js"\)/);
  });

  it('Next.js: exactly the file the docs show (server-only first, globalKey)', async () => {
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['app'],
      files: { 'tsconfig.json': tsconfig({ '@/*': ['./*'] }), 'prisma/schema.prisma': schema('../lib/generated/prisma') },
    });
    expect(await init(root)).toMatchObject({ code: 0, stdout: 'wrote lib/db.ts\n' });
    expect(read(root, 'lib/db.ts')).toBe(`import 'server-only';
import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
import { PrismaClient } from '@/lib/generated/prisma/client';

export const connectionPoolManager = createConnectionPoolManager({
  createClient: (adapter) => new PrismaClient({ adapter }),
  globalKey: 'app',
});
export const { withPooling, readWithPooling, writeWithPooling, batchWithPooling } = connectionPoolManager;
export const prisma = connectionPoolManager.prisma;
`);
  });

  it('--adopt lib/prisma.ts: the globalForPrisma singleton rewritten in place, its importers untouched', async () => {
    const singleton = `import { PrismaClient } from '@prisma/client'\n\nconst globalForPrisma = globalThis as unknown as { prisma: PrismaClient }\n\nexport const prisma = globalForPrisma.prisma || new PrismaClient()\n\nif (process.env.NODE_ENV !== 'production') globalForPrisma.prisma = prisma\n\nexport default prisma\n`;
    const page = "import prisma from '@/lib/prisma';\nexport default async function Page() { return prisma.user.count(); }\n";
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['app'],
      files: {
        'tsconfig.json': tsconfig({ '@/*': ['./*'] }),
        'prisma/schema.prisma': schema('../lib/generated/prisma'),
        'lib/prisma.ts': singleton,
        'app/page.tsx': page,
      },
    });
    const result = await init(root, '--adopt', 'lib/prisma.ts');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('adopted lib/prisma.ts: the default export, prisma now connectionPoolManager.prisma\n');
    const adopted = read(root, 'lib/prisma.ts');
    expect(adopted).toBe(`${serviceFileSource('@/lib/generated/prisma/client', 'next')}export default prisma;\n`);
    expect(read(root, 'app/page.tsx')).toBe(page);
    expect(existsSync(path.join(root, 'lib/db.ts'))).toBe(false);
    // Twice: refused, left as is.
    const again = await init(root, '--adopt', 'lib/prisma.ts');
    expect(again).toMatchObject({
      code: 1,
      stderr: 'prisma-pgbouncer-pooling init: lib/prisma.ts already uses createConnectionPoolManager; left as is\n',
    });
    expect(read(root, 'lib/prisma.ts')).toBe(adopted);
    // The transform is the one the unit tests pin.
    expect(adoptSingletonSource(singleton, { clientImport: '@/lib/generated/prisma/client', framework: 'next' })).toMatchObject({
      source: adopted,
    });
  });

  it('--adopt of a module it cannot carry over: one sentence, the file untouched', async () => {
    const source =
      "import { PrismaClient } from '@prisma/client';\nexport const prisma = new PrismaClient();\nexport function helper() {}\n";
    const root = project({
      deps: { 'react-router': '7.0.0' },
      dirs: ['app'],
      files: { 'prisma/schema.prisma': schema('../app/generated/prisma'), 'app/db.server.ts': source },
    });
    const result = await init(root, '--adopt', 'app/db.server.ts');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'prisma-pgbouncer-pooling init: app/db.server.ts exports more than the client (function helper): move those to another module, then run init --adopt again\n',
    );
    expect(read(root, 'app/db.server.ts')).toBe(source);
    expect((await init(root, '--adopt', 'app/missing.ts')).stderr).toBe(
      'prisma-pgbouncer-pooling init: --adopt app/missing.ts: no such file\n',
    );
  });
});

describe('a seed run by tsx uses the Next.js service file (server-only inside)', () => {
  const stack = inject('stack');
  const tsx = path.join(REPO, 'node_modules/.bin/tsx');
  const run = (root: string, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        tsx,
        args,
        { cwd: root, env: cleanEnv({ DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true' }), timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  /** A Next.js app folder with the real packages: server-only from npm, this package (its dist) and its peers through its own node_modules. */
  function nextApp(files: Record<string, string> = {}): string {
    const root = project({
      deps: { next: '16.0.0' },
      dirs: ['app', 'node_modules', 'prisma'],
      files: { 'tsconfig.json': tsconfig({}), ...files },
    });
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'app', type: 'module', dependencies: { next: '16.0.0' } }));
    symlinkSync(path.join(REPO, 'node_modules/server-only'), path.join(root, 'node_modules/server-only'));
    symlinkSync(REPO, path.join(root, 'node_modules/prisma-pgbouncer-pooling'));
    return root;
  }
  const client = path.join(REPO, 'src/generated/prisma/client.ts');

  it('`tsx --conditions=react-server prisma/seed.ts` queries the database through it; without the condition server-only refuses', async () => {
    const root = nextApp();
    expect(await init(root, '--client', client)).toMatchObject({ code: 0, stdout: 'wrote lib/db.ts\n' });
    expect(read(root, 'lib/db.ts').startsWith("import 'server-only';\n")).toBe(true);
    writeFileSync(
      path.join(root, 'prisma/seed.ts'),
      "import { connectionPoolManager, withPooling } from '../lib/db';\n\nconst rows = await withPooling((tx) => tx.$queryRaw`SELECT 41 + 1 AS answer`);\nconsole.log(JSON.stringify(rows));\nawait connectionPoolManager.disconnect();\n",
    );
    const seeded = await run(root, ['--conditions=react-server', 'prisma/seed.ts']);
    expect(withoutPipelineWarning(seeded.stderr)).toBe('');
    expect(seeded).toMatchObject({ code: 0, stdout: '[{"answer":42}]\n' });
    const refused = await run(root, ['prisma/seed.ts']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('This module cannot be imported from a Client Component module');
  });

  it("an adopted lib/prisma.ts: the seed's `import prisma from '../lib/prisma'` keeps working, now through the manager", async () => {
    const root = nextApp({
      'lib/prisma.ts':
        "import { PrismaClient } from '@prisma/client'\n\nconst globalForPrisma = globalThis as unknown as { prisma: PrismaClient }\n\nexport const prisma = globalForPrisma.prisma || new PrismaClient()\n\nif (process.env.NODE_ENV !== 'production') globalForPrisma.prisma = prisma\n\nexport default prisma\n",
      'prisma/seed.ts':
        "import prisma, { connectionPoolManager } from '../lib/prisma';\n\nconst rows = await prisma.$queryRaw`SELECT 6 * 7 AS answer`;\nconsole.log(JSON.stringify({ rows, operations: connectionPoolManager.getMetrics().totalQueries }));\nawait connectionPoolManager.disconnect();\n",
    });
    expect(await init(root, '--adopt', 'lib/prisma.ts', '--client', client)).toMatchObject({ code: 0 });
    const seeded = await run(root, ['--conditions=react-server', 'prisma/seed.ts']);
    expect(withoutPipelineWarning(seeded.stderr)).toBe('');
    expect(seeded.code).toBe(0);
    // The plain call went through the manager: its metrics counted it.
    expect(JSON.parse(seeded.stdout)).toEqual({ rows: [{ answer: 42 }], operations: 1 });
  });
});
