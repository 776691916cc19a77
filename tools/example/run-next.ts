/**
 * `npm run example:next`: serves examples/next-app (`next start`) on PORT (default 3002).
 *
 * - DATABASE_URL unset: starts the local Postgres + PgBouncer stack and points the app at its
 *   PgBouncer in transaction mode (DATABASE_URL = pooler, USE_TRANSACTION_MODE=true,
 *   PGBOUNCER_ADMIN_URL = its admin console). Ctrl-C stops the server, then the stack.
 * - DATABASE_URL set: serves against it as configured.
 *
 * Builds the app first when its inputs changed since the last build (tools/example/next-build.ts).
 * Prints `READY <url>` on stdout once Next.js listens.
 */
import { spawn } from 'node:child_process';
import { portArg } from '../lib/args.ts';
import { startStack } from '../stack/start-stack.ts';
import { exportStackEnv } from '../stack/use-local-stack.ts';
import { ensureNextBuild, nextAppRoot, nextCli } from './next-build.ts';
import { stopOnSignal } from './stop-on-signal.ts';

const log = (line: string) => console.error(`[example:next] ${line}`);
const port = portArg('PORT', process.env.PORT, 3002);
/** `next start` leaves after a signal with 128 + its number (143, 130) once it has closed the server. */
const GRACEFUL_EXIT = new Set([0, 130, 143]);

await ensureNextBuild({ log });

let stack: Awaited<ReturnType<typeof startStack>> | null = null;
if (!process.env.DATABASE_URL) {
  log('DATABASE_URL is unset: starting the local Postgres + PgBouncer stack');
  stack = await startStack({ log });
  exportStackEnv(stack);
}

const [command, args] = nextCli('start', '--port', String(port), ...(process.env.HOST ? ['--hostname', process.env.HOST] : []));
const child = spawn(command, args, {
  cwd: nextAppRoot,
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

let ready = false;
child.stdout.on('data', (chunk: Buffer) => {
  process.stderr.write(chunk);
  if (!ready && /Ready in/.test(chunk.toString())) {
    ready = true;
    log(`listening on http://localhost:${port}  (health: /api/health, metrics: /api/metrics)`);
    console.log(`READY http://localhost:${port}`);
  }
});

// Ctrl-C / SIGTERM: Next.js closes its server and exits.
const signals = stopOnSignal({
  log,
  withStack: stack !== null,
  stop: (signal) => {
    child.kill(signal);
    return exited.then((code) => (code !== null && GRACEFUL_EXIT.has(code) ? 0 : 1));
  },
});
void exited.then((code) => {
  if (signals.stopping) return;
  log(`next start exited with ${code}`);
  process.exitCode = 1;
  if (stack === null) process.exit(1);
  void stack.stop().then(() => process.exit(1));
});
