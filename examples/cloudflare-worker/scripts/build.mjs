// Bundles src/worker.ts for workerd into dist/: worker.mjs plus the Prisma query compiler's .wasm.
//
// - `--conditions=workerd,worker`: pg then picks pg-cloudflare's socket (cloudflare:sockets) and
//   Prisma's runtime its edge build; `cloudflare:*` stays external (workerd provides it).
// - platform node + the createRequire banner (workerd has no import.meta.url: any absolute path does): some dependencies are CommonJS and require() Node
//   built-ins, which workerd serves under `nodejs_compat`.
// - The client generated with `runtime = "workerd"` imports `./query_compiler_fast_bg.wasm?module`:
//   left external, the file copied beside the bundle and the `?module` dropped, it is loaded as a
//   CompiledWasm module (wrangler does the same with its `CompiledWasm` rule).
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist');

/** `x.wasm?module` → external `./x.wasm`, the file copied to dist/. */
const wasmModules = {
  name: 'wasm-modules',
  setup(build) {
    build.onResolve({ filter: /\.wasm\?module$/ }, (args) => {
      const file = args.path.replace(/\?module$/, '');
      const source = path.resolve(args.resolveDir, file);
      mkdirSync(outdir, { recursive: true });
      copyFileSync(source, path.join(outdir, path.basename(file)));
      return { path: `./${path.basename(file)}`, external: true };
    });
  },
};

export async function buildWorker() {
  await esbuild.build({
    entryPoints: [path.join(root, 'src/worker.ts')],
    outfile: path.join(outdir, 'worker.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    conditions: ['workerd', 'worker'],
    external: ['cloudflare:*'],
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire('/');" },
    plugins: [wasmModules],
    logLevel: 'warning',
    legalComments: 'none',
  });
  return { script: path.join(outdir, 'worker.mjs'), dir: outdir };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { script } = await buildWorker();
  console.error(`built ${path.relative(process.cwd(), script)}`);
}
