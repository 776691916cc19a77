// Serves dist/worker.mjs under workerd through miniflare's API (wrangler 4 needs Node ≥ 22.12;
// miniflare runs workerd on Node 20 too). The Hyperdrive binding HYPERDRIVE's local connection
// string is DATABASE_URL: miniflare then hands the Worker a `<id>.hyperdrive.local` connection
// string that reaches it, as Hyperdrive does in production.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { buildWorker } from './build.mjs';

/** The newest date this workerd accepts that we tested; `nodejs_compat` brings node:async_hooks, net and timers. */
export const COMPATIBILITY_DATE = '2026-06-01';

/** Variables passed to the Worker as string bindings (its `vars`), when set. */
const PASSED_VARS = ['USE_TRANSACTION_MODE', 'PGBOUNCER_ADMIN_URL', 'INSTANCE_COUNT', 'MAX_POOL_SIZE', 'DEBUG', 'PGPOOL_ENDPOINT_TOKEN'];

/**
 * Starts the Worker on `port` (0: a free one) and resolves to `{ url, close }`.
 * `databaseUrl` must carry a password (Hyperdrive's local connection string needs one).
 * `build: false` serves the existing dist/ (the caller built it).
 */
export async function startWorker({ port = 8787, host = '127.0.0.1', databaseUrl, env = process.env, build = true, log = () => {} }) {
  if (!databaseUrl) throw new Error("startWorker: databaseUrl is required (the Hyperdrive binding's local connection string)");
  const { dir } = build ? await buildWorker() : { dir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist') };
  const bindings = Object.fromEntries(PASSED_VARS.filter((name) => env[name]).map((name) => [name, env[name]]));
  const mf = new Miniflare({
    modulesRoot: dir,
    modules: [
      { type: 'ESModule', path: path.join(dir, 'worker.mjs') },
      { type: 'CompiledWasm', path: path.join(dir, 'query_compiler_fast_bg.wasm') },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    hyperdrives: { HYPERDRIVE: databaseUrl },
    bindings,
    host,
    port,
    handleRuntimeStdio: (stdout, stderr) => {
      stdout.on('data', (chunk) => log(String(chunk).trimEnd()));
      stderr.on('data', (chunk) => log(String(chunk).trimEnd()));
    },
  });
  const url = await mf.ready;
  return { url: url.toString().replace(/\/$/, ''), close: () => mf.dispose() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('DATABASE_URL is not set (from the repository root, `npm run example:worker` starts a local stack for you)');
    process.exit(1);
  }
  const worker = await startWorker({
    port: Number(process.env.PORT ?? 8787),
    host: process.env.HOST,
    databaseUrl,
    log: (line) => console.error(line),
  });
  console.log(`READY ${worker.url}`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void worker.close().then(() => process.exit(0)));
}
