/**
 * `npm run stack`: starts the local Postgres + PgBouncer stack, prints its URLs and keeps it
 * up until Ctrl-C, then removes every trace of it.
 *   --max-connections N   Postgres max_connections (default 100)
 *   --pool-size N         PgBouncer default_pool_size (default 20)
 *   --max-client-conn N   PgBouncer max_client_conn (default 5000)
 *   --tls                 PgBouncer behind client TLS with a private CA (see docs/tls-and-providers.md)
 */
import { parseArgs } from 'node:util';
import { intArg } from '../lib/args.ts';
import { startStack } from './start-stack.ts';

const { values } = parseArgs({
  options: {
    'max-connections': { type: 'string' },
    'pool-size': { type: 'string' },
    'max-client-conn': { type: 'string' },
    tls: { type: 'boolean' },
  },
});

const intOption = (name: 'max-connections' | 'pool-size' | 'max-client-conn'): number | undefined =>
  values[name] === undefined ? undefined : intArg(`--${name}`, values[name], 0);

const stack = await startStack({
  maxConnections: intOption('max-connections'),
  defaultPoolSize: intOption('pool-size'),
  maxClientConn: intOption('max-client-conn'),
  tls: values.tls ?? false,
  log: (line) => console.error(line),
});

// These are throwaway credentials of a local, loopback-only stack: printing them is the point.
console.log(`DATABASE_URL=${stack.poolerUrl}`);
console.log(`DATABASE_URL_SESSION=${stack.directUrl}`);
console.log(`PGBOUNCER_ADMIN_URL=${stack.adminUrl}`);
if (stack.tls) console.error(`private CA: ${stack.tls.caFile} (PKCS#12 client identity: ${stack.tls.clientIdentityFile})`);
console.error('local stack is up; Ctrl-C stops it and removes its files');
// The stack's own SIGINT handler stops everything and exits; this keeps the loop alive meanwhile.
setInterval(() => {}, 1 << 30);
