/**
 * A scratch consumer app's build, after the packed package and Prisma were installed into it: this
 * repository's schema generated into the app (offline: PRISMA_SCHEMA_ENGINE_BINARY, see DESIGN.md)
 * and the app's `src/` compiled to plain JavaScript with a NodeNext tsconfig of its own. Shared by
 * the cold-start bench (tools/bench/consumer-app.ts) and the version matrix (tools/matrix/run.ts).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './markers.ts';

const run = promisify(execFile);

export async function generateAndCompile(dir: string): Promise<void> {
  const schema = readFileSync(path.join(REPO_ROOT, 'prisma/schema.prisma'), 'utf8').replace(
    /output\s*=\s*"[^"]*"/,
    'output = "./src/generated/prisma"\n  importFileExtension = "js"',
  );
  writeFileSync(path.join(dir, 'schema.prisma'), schema);
  await run(path.join(dir, 'node_modules/.bin/prisma'), ['generate', '--schema', 'schema.prisma'], {
    cwd: dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', DATABASE_URL: 'postgresql://localhost/unused' },
  });
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        outDir: 'build',
        rootDir: 'src',
        skipLibCheck: true,
        types: [],
      },
      include: ['src'],
    }),
  );
  await run(path.join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], { cwd: dir });
}
