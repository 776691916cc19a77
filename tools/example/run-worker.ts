/**
 * `npm run example:worker`: builds examples/cloudflare-worker and serves it under workerd
 * (miniflare) on PORT (default 8787).
 *
 * - DATABASE_URL unset: starts the local Postgres + PgBouncer stack; the Worker's Hyperdrive
 *   binding (HYPERDRIVE) then points at its PgBouncer, and PGBOUNCER_ADMIN_URL at its console.
 * - DATABASE_URL set: it is the Hyperdrive binding's local connection string (a password is required).
 * Ctrl-C stops workerd, then the stack.
 */
import { portArg } from '../lib/args.ts';
import { startStack } from '../stack/start-stack.ts';
import { exportStackEnv } from '../stack/use-local-stack.ts';
import { stopOnSignal } from './stop-on-signal.ts';
import { startExampleWorker } from './worker.ts';

const log = (line: string) => console.error(`[worker] ${line}`);
const port = portArg('PORT', process.env.PORT, 8787);

let stack: Awaited<ReturnType<typeof startStack>> | null = null;
if (!process.env.DATABASE_URL) {
  log('DATABASE_URL is unset: starting the local Postgres + PgBouncer stack');
  stack = await startStack({ log });
  exportStackEnv(stack);
  // The local console speaks no TLS. Say so: without sslmode the default is `prefer`, whose TLS
  // question (the SSLRequest) does not complete over workerd's sockets, and the health check's
  // PgBouncer probe would time out there.
  process.env.PGBOUNCER_ADMIN_URL = `${stack.adminUrl}${stack.adminUrl.includes('?') ? '&' : '?'}sslmode=disable`;
}

const worker = await startExampleWorker({
  port,
  host: process.env.HOST,
  databaseUrl: process.env.DATABASE_URL as string,
  env: process.env,
  log,
});
log(`listening on ${worker.url}  (POST /users, GET /users/:email, GET /api/health)`);
console.log(`READY ${worker.url}`);

// Ctrl-C: stop workerd.
stopOnSignal({
  log,
  withStack: stack !== null,
  stop: () =>
    worker.close().then(
      () => 0,
      (error: unknown) => {
        log(`workerd stop failed: ${String(error)}`);
        return 1;
      },
    ),
});
