/**
 * `next build` of examples/next-app, skipped when the last successful build was made from the same
 * inputs: a SHA-256 over the app's sources, its schema, configs and lock file, and the package's
 * dist/ (what `file:../..` links), written to .next/source-hash after the build. A content hash, not
 * mtimes: `npm ci` rewrites dist/ on every run with the same bytes, and that must not cost a 1-2 minute
 * rebuild. Shared by `npm run example:next` and the browser test.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const nextAppRoot = path.join(repoRoot, 'examples/next-app');
const hashFile = path.join(nextAppRoot, '.next/source-hash');
/** Derived or installed: never an input. */
const SKIP = new Set(['node_modules', '.next', 'generated']);

function listFiles(entry: string, out: string[]): string[] {
  if (!existsSync(entry)) return out;
  if (!statSync(entry).isDirectory()) {
    out.push(entry);
    return out;
  }
  for (const child of readdirSync(entry).sort()) if (!SKIP.has(child)) listFiles(path.join(entry, child), out);
  return out;
}

/** The hash of everything the build reads from this repository. */
export function sourceHash(): string {
  const inputs = ['app', 'lib', 'instrumentation.ts', 'next.config.ts', 'tsconfig.json', 'package-lock.json', 'prisma/schema.prisma']
    .map((name) => path.join(nextAppRoot, name))
    .concat(path.join(repoRoot, 'dist'));
  const hash = createHash('sha256');
  for (const file of inputs.flatMap((input) => listFiles(input, []))) {
    hash.update(path.relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** True when .next/ is missing or was built from other inputs. */
export function nextBuildIsStale(): boolean {
  if (!existsSync(path.join(nextAppRoot, '.next/BUILD_ID')) || !existsSync(hashFile)) return true;
  return readFileSync(hashFile, 'utf8').trim() !== sourceHash();
}

/** The example's own dependencies are installed and its Prisma client generated (they are not the root project's). */
export function assertNextDependencies(): void {
  if (!existsSync(path.join(nextAppRoot, 'node_modules/next/package.json'))) {
    throw new Error('examples/next-app has no node_modules: run `npm ci --prefix examples/next-app` first');
  }
  if (!existsSync(path.join(nextAppRoot, 'lib/generated/prisma/client.ts'))) {
    throw new Error('examples/next-app has no generated Prisma client: run `npm run generate --prefix examples/next-app`');
  }
}

/** The `next` command line of the example, as `[node, args]` for spawn. */
export function nextCli(...args: string[]): [string, string[]] {
  return [process.execPath, [path.join(nextAppRoot, 'node_modules/next/dist/bin/next'), ...args]];
}

/** Builds when stale (or always with `force`); resolves to whether a build ran. */
export async function ensureNextBuild(options: { force?: boolean; log?: (line: string) => void } = {}): Promise<boolean> {
  assertNextDependencies();
  if (!options.force && !nextBuildIsStale()) return false;
  const log = options.log ?? (() => {});
  log('building examples/next-app (next build)…');
  const hash = sourceHash(); // before the build: an input edited meanwhile makes the next run build again
  const [command, args] = nextCli('build');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: nextAppRoot,
      // Offline and quiet: no telemetry call home; the app's pages are dynamic, so nothing reads the database.
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`next build failed (exit ${code}):\n${output.join('').slice(-4000)}`);
  writeFileSync(hashFile, `${hash}\n`);
  return true;
}
