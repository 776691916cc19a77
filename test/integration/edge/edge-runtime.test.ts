/**
 * An edge runtime (no TCP) that imports the package gets one ConfigError sentence, not a stack
 * trace from inside pg. Run under the `edge-runtime` package (what Vercel's and Next.js' edge
 * runtimes are emulated with), on the package's entry bundled the way an edge build does it
 * (browser/edge-light conditions, Node built-ins and dependencies left to the platform).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgeRuntime } from 'edge-runtime';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** An app module that imports the package, bundled as one script (esbuild keeps ESM evaluation order). */
async function bundle(appCode: string): Promise<string> {
  const result = await esbuild.build({
    stdin: { contents: appCode, resolveDir: repoRoot, loader: 'ts' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
    // Dependencies and Node built-ins are the platform's business: left as require() calls, which
    // the edge cannot satisfy — exactly where pg would fail without the guard.
    packages: 'external',
    external: ['node:*'],
    // The built entry (what an app installs), so package.json's `sideEffects` applies as in an app's build.
    alias: { 'prisma-pgbouncer-pooling': path.join(repoRoot, 'dist/index.js') },
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

/** Evaluates `code` in a fresh edge runtime; resolves to what it threw (name and message), or null. */
function evaluateOnEdge(code: string): { name: string; message: string; variable: unknown } | null {
  const runtime = new EdgeRuntime();
  try {
    runtime.evaluate(code);
    return null;
  } catch (error) {
    // The error comes from another realm: compare by name, not instanceof.
    const e = error as { name: string; message: string; variable?: unknown };
    return { name: e.name, message: e.message, variable: e.variable };
  }
}

let importOnly: string;
let createManager: string;

beforeAll(async () => {
  importOnly = await bundle(`import { resolvePoolConfig } from 'prisma-pgbouncer-pooling'; globalThis.loaded = typeof resolvePoolConfig;`);
  createManager = await bundle(
    `import { createConnectionPoolManager } from 'prisma-pgbouncer-pooling';
     export const manager = createConnectionPoolManager({ createClient: () => ({}) as never, env: {} });`,
  );
});

describe('importing the package on an edge runtime', () => {
  it('throws one ConfigError naming the runtime and what to use instead', () => {
    const thrown = evaluateOnEdge(importOnly);
    expect(thrown).not.toBeNull();
    expect(thrown?.name).toBe('ConfigError');
    expect(thrown?.variable).toBe('EdgeRuntime');
    expect(thrown?.message).toMatch(
      /^EdgeRuntime: EdgeRuntime is defined: an edge runtime \(Vercel Edge, Next\.js edge\) has no TCP sockets/,
    );
    expect(thrown?.message).toMatch(/Node\.js function \(Next\.js: export const runtime = 'nodejs'\)/);
    expect(thrown?.message).toMatch(/@prisma\/adapter-neon.*@prisma\/adapter-ppg/);
    // One sentence: one line, one full stop at its end, and nothing from inside pg.
    expect(thrown?.message).not.toContain('\n');
    expect(thrown?.message.match(/\.(\s|$)/g)).toHaveLength(1);
    expect(thrown?.message).not.toMatch(/require\(|\bnet\b|\bpg\b/);
  });

  it('throws the same when the app creates a manager', () => {
    expect(evaluateOnEdge(createManager)).toMatchObject({ name: 'ConfigError', variable: 'EdgeRuntime' });
  });

  it('the same bundle loads on a runtime with TCP (the guard is not what fails)', () => {
    // Outside the edge VM the guard passes and the bundle goes on to its first require() of a dependency.
    const runInNode = new Function('require', `${importOnly}; return globalThis.loaded;`);
    expect(runInNode((id: string) => (id === 'pg' ? { default: {} } : {}))).toBeDefined();
  });
});
