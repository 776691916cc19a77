/**
 * `init` in empty project folders shaped like real apps: the file lands where the framework expects
 * it, the client import follows the schema's generator output and the tsconfig aliases, nothing is
 * overwritten, and when it cannot tell it writes nothing and says so in one sentence.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../../support/cli.ts';

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
});
