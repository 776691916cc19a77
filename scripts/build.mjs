// `npm run build` (also run by `pretest` when dist/ is missing): src/ → dist/.
//
// - The runtime entry (src/index.ts → dist/index.js) and the CLI (src/cli/main.ts → dist/cli/main.js)
//   are each ONE bundled ESM file (esbuild). Why a bundle: a serverless instance pays the package's
//   import on every cold start, and with one file per module (the former plain-tsc build: ~46 files)
//   most of that time went to resolving, reading and linking modules, not to running them (see the
//   cold-start section of docs/benchmarks.md, measured on the packed package). The CLI is its own
//   entry, so the runtime entry never loads it.
// - Dependencies and peers (pg, @prisma/*, debug, @opentelemetry/api) stay external: the app's copies are
//   used (one pg, one Prisma runtime, one OpenTelemetry API with its global providers).
// - Types: tsc still writes the `.d.ts` files (with declaration maps), one per module as before, so
//   every TypeScript moduleResolution reads them unchanged (`npm run check:package`).
// - Source maps: `.js.map` beside each bundle, with the sources' text inlined (`sourcesContent`), since
//   src/ is not in the published package.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });

const tsc = spawnSync('tsc', ['-p', 'tsconfig.build.json'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// The edge guard is its own file, imported first by the entry and kept external to it: an app's
// bundler then evaluates it before the entry's own imports of node built-ins and pg, which a single
// module would hoist above it (and on an edge runtime the first of those would fail with a stack
// trace instead of the guard's one sentence). package.json's `sideEffects` names it.
const EDGE_GUARD = './runtime/edge-guard.ts';
const keepEdgeGuardExternal = {
  name: 'edge-guard-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/runtime\/edge-guard\.ts$/ }, (args) =>
      args.importer.endsWith('src/index.ts') ? { path: EDGE_GUARD.replace(/\.ts$/, '.js'), external: true } : undefined,
    );
  },
};

const common = {
  outdir: 'dist',
  bundle: true,
  format: 'esm',
  platform: 'node',
  // package.json engines: ^20.19 || ^22.12 || >=24. Nothing is lowered for it (class fields, `#private` stay).
  target: 'node20.19',
  packages: 'external',
  sourcemap: true,
  sourcesContent: true,
  // Minified: V8 compiles the whole module at import, and less text is less to scan (about a third less import
  // time in the cold-start measurements); with `node --enable-source-maps` stack traces map back to src/.
  minify: true,
  logLevel: 'warning',
};

await build({ ...common, entryPoints: { index: 'src/index.ts', 'cli/main': 'src/cli/main.ts' }, plugins: [keepEdgeGuardExternal] });
await build({ ...common, entryPoints: { 'runtime/edge-guard': 'src/runtime/edge-guard.ts' } });
