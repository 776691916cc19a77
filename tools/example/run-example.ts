/**
 * `npm run example`: serves the example app on PORT (default 3001).
 *
 * - DATABASE_URL unset: starts the local Postgres + PgBouncer stack and points the app at its
 *   PgBouncer in transaction mode (DATABASE_URL = pooler, USE_TRANSACTION_MODE=true,
 *   PGBOUNCER_ADMIN_URL = its admin console). Ctrl-C stops the server, then the stack.
 * - DATABASE_URL set: serves against it as configured.
 *
 * Builds the app first when build/ is missing or stale. The environment is complete before the
 * server build (and with it the library's singleton) is imported.
 */
import { portArg } from '../lib/args.ts';
import { startStack } from '../stack/start-stack.ts';
import { exportStackEnv } from '../stack/use-local-stack.ts';
import { ensureBuild } from './build.ts';
import { stopOnSignal } from './stop-on-signal.ts';

const log = (line: string) => console.error(`[example] ${line}`);
const port = portArg('PORT', process.env.PORT, 3001);

await ensureBuild({ log });

let stack: Awaited<ReturnType<typeof startStack>> | null = null;
if (!process.env.DATABASE_URL) {
  log('DATABASE_URL is unset: starting the local Postgres + PgBouncer stack');
  stack = await startStack({ log });
  exportStackEnv(stack);
}

// Imported only now: React and the app's copy of the library read the environment at import time.
const { startServer } = await import('../../examples/remix-app/server.mjs');
const app = await startServer({ port, host: process.env.HOST });
log(`listening on http://localhost:${app.port}  (health: /api/health, metrics: /api/metrics)`);
console.log(`READY http://localhost:${app.port}`);

// Ctrl-C: close the HTTP server and the pool.
stopOnSignal({
  log,
  withStack: stack !== null,
  stop: () =>
    app.close().then(
      () => 0,
      (error: unknown) => {
        log(`server close failed: ${String(error)}`);
        return 1;
      },
    ),
});
