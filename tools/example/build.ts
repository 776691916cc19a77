/**
 * `react-router build` of examples/remix-app, skipped when build/ is newer than every input (the
 * app, its schema, the package's dist/, the configs and the lock file). Shared by `npm run example` and the browser test.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const appRoot = path.join(repoRoot, 'examples/remix-app');
const serverEntry = path.join(appRoot, 'build/server/index.js');

function newestMtime(entry: string): number {
  if (!existsSync(entry)) return 0;
  const info = statSync(entry);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const child of readdirSync(entry)) newest = Math.max(newest, newestMtime(path.join(entry, child)));
  return newest;
}

/** True when build/ is missing or older than one of its inputs. */
export function buildIsStale(): boolean {
  if (!existsSync(serverEntry) || !existsSync(path.join(appRoot, 'build/client/assets'))) return true;
  const inputs = [
    path.join(appRoot, 'app'),
    path.join(appRoot, 'vite.config.ts'),
    path.join(appRoot, 'react-router.config.ts'),
    path.join(appRoot, 'package-lock.json'),
    path.join(appRoot, 'prisma/schema.prisma'),
    // The package the app installs (linked with file:../..): its build, not its sources.
    path.join(repoRoot, 'dist'),
  ];
  const newestInput = Math.max(...inputs.map(newestMtime));
  return newestInput > statSync(serverEntry).mtimeMs;
}

/** The example's own dependencies are installed (they are not the root project's). */
export function assertDependencies(): void {
  if (!existsSync(path.join(appRoot, 'node_modules/@react-router/dev/package.json'))) {
    throw new Error('examples/remix-app has no node_modules: run `npm ci --prefix examples/remix-app` first');
  }
}

/** Builds when stale (or always with `force`); resolves to whether a build ran. */
export async function ensureBuild(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<boolean> {
  assertDependencies();
  if (!options.force && !buildIsStale()) return false;
  const log = options.log ?? (() => {});
  log('building examples/remix-app (react-router build)…');
  const cli = path.join(appRoot, 'node_modules/@react-router/dev/bin.js');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'build'], { cwd: appRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`react-router build failed (exit ${code}):\n${output.join('').slice(-4000)}`);
  return true;
}
