/**
 * `npm run load -- [--duration 30] [--connections 100] [--path /api/health]`
 *
 * Starts the local stack (unless DATABASE_URL is set) and the health server on a free port,
 * runs autocannon against it, then prints requests/s, latency p50 / p97.5 / p99, the non-2xx
 * count and the pool figures after the run. Exit code 1 when any response was not 2xx or any
 * request errored.
 */
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startHealthServer } from '../health-server/health-server.ts';
import { intArg } from '../lib/args.ts';
import { startStackUnlessConfigured } from '../stack/use-local-stack.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    connections: { type: 'string', default: '100' },
    path: { type: 'string', default: '/api/health' },
    json: { type: 'boolean', default: false },
  },
});

const duration = intArg('--duration', values.duration, 30);
const connections = intArg('--connections', values.connections, 100);

const stack = await startStackUnlessConfigured({ log: (line) => console.error(line) });
const { connectionPoolManager } = await import('~/services/connection-pool-manager.server');
const server = await startHealthServer({ port: 0, host: '127.0.0.1', manager: connectionPoolManager });
const url = `${server.url}${values.path}`;

let exitCode = 1;
try {
  console.error(`autocannon -c ${connections} -d ${duration} ${url}`);
  const result = await autocannon({ url, connections, duration });
  const metrics = connectionPoolManager.getMetrics();
  const summary = {
    url: values.path,
    connections,
    durationSeconds: duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, max: result.latency.max },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    pool: metrics.pool,
    health: (await connectionPoolManager.getHealth()).status,
  };
  exitCode = summary.non2xx === 0 && summary.errors === 0 && summary.requests > 0 ? 0 : 1;
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else {
    console.log(`\n${summary.requests} requests in ${duration} s at -c ${connections}: ${summary.requestsPerSecond} req/s`);
    console.log(
      `latency p50 ${summary.latencyMs.p50} ms, p97.5 ${summary.latencyMs.p97_5} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms`,
    );
    console.log(`non-2xx: ${summary.non2xx}, errors: ${summary.errors}, timeouts: ${summary.timeouts}`);
    console.log(`pool after the run: ${JSON.stringify(summary.pool)}; health ${summary.health}`);
    console.log(exitCode === 0 ? 'PASS: zero non-2xx' : 'FAIL: some requests were not 2xx (see docs/troubleshooting.md)');
  }
} finally {
  await server.close();
  await connectionPoolManager.disconnect();
  await stack?.stop();
}
process.exitCode = exitCode;
