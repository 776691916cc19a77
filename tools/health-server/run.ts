/**
 * `npm run health-server`: serves `/api/health` and `/api/metrics` on `PORT` (default 3001) with the
 * app singleton, so `curl http://localhost:3001/api/health` works.
 *
 * With DATABASE_URL unset it starts the local stack first and points the singleton at it
 * (transaction mode through PgBouncer, plus the admin console for the `pgbouncer` check).
 * Ctrl-C / SIGTERM: closes the server, disconnects the manager, stops the stack.
 */

import { portArg } from '../lib/args.ts';
import { startStackUnlessConfigured } from '../stack/use-local-stack.ts';
import { startHealthServer } from './health-server.ts';

const port = portArg('PORT', process.env.PORT, 3001);

const stack = await startStackUnlessConfigured({ log: (line) => console.error(line) });

// Imported only now: the singleton reads process.env at first use, which must see the stack's URLs.
const { connectionPoolManager } = await import('../../src/services/connection-pool-manager.server.ts');
const server = await startHealthServer({ port, host: process.env.HOST, manager: connectionPoolManager });
console.log(`health server on ${server.url}/api/health and ${server.url}/api/metrics`);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: stopping`);
  await server.close().catch(() => {});
  await connectionPoolManager.disconnect().catch(() => {});
  await stack?.stop();
  process.exit(0);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
