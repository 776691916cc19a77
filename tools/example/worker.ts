/**
 * examples/cloudflare-worker from the repository's side: checks that its own dependencies are
 * installed and serves it under workerd (miniflare) against a database URL. Shared by
 * `npm run example:worker` and the Worker's integration test.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const workerRoot = path.join(repoRoot, 'examples/cloudflare-worker');

/** The example's own dependencies are installed (they are not the root project's). */
export function assertWorkerDependencies(): void {
  for (const dependency of ['miniflare', 'esbuild', '@prisma/client']) {
    if (!existsSync(path.join(workerRoot, 'node_modules', dependency, 'package.json'))) {
      throw new Error('examples/cloudflare-worker has no node_modules: run `npm ci --prefix examples/cloudflare-worker` first');
    }
  }
  // The Worker bundles the package as an app installs it (file:../.. → dist/), not its sources.
  if (!existsSync(path.join(repoRoot, 'dist/index.js'))) throw new Error('the package is not built: run `npm run build` first');
  if (!existsSync(path.join(workerRoot, 'src/generated/prisma/client.ts'))) {
    throw new Error('examples/cloudflare-worker has no generated client: run `npm run generate --prefix examples/cloudflare-worker`');
  }
}

/** Hyperdrive's local connection string must carry a password (miniflare rejects one without). */
export function assertHyperdriveUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a valid postgres:// URL');
  }
  if (parsed.password === '') throw new Error("DATABASE_URL needs a password: a Hyperdrive binding's local connection string requires one");
}

export interface ExampleWorkerOptions {
  port?: number;
  host?: string;
  databaseUrl: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Bundle the Worker first. Defaults to true. */
  build?: boolean;
  log?: (line: string) => void;
}

/** Serves the example Worker; resolves once it listens. */
export async function startExampleWorker(options: ExampleWorkerOptions): Promise<{ url: string; close(): Promise<void> }> {
  assertWorkerDependencies();
  assertHyperdriveUrl(options.databaseUrl);
  const { startWorker } = await import('../../examples/cloudflare-worker/scripts/serve.mjs');
  return startWorker(options);
}

/** Bundles the example Worker (dist/worker.mjs and the query compiler's .wasm). */
export async function buildExampleWorker(): Promise<void> {
  assertWorkerDependencies();
  const { buildWorker } = await import('../../examples/cloudflare-worker/scripts/build.mjs');
  await buildWorker();
}
