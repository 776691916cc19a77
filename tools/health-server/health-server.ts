/**
 * The standalone health server: `node:http` serving `/api/health` (JSON, 200/503) and `/api/metrics`
 * (Prometheus text) from any source with `getHealth()` and `getMetrics()`, e.g. a manager.
 * Used by `npm run health-server`, the load test and the tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EndpointOptions } from '../../src/health/endpoint-access.ts';
import {
  createHealthHandler,
  createMetricsHandler,
  type FetchHandler,
  type HealthSource,
  type MetricsSource,
  toNodeListener,
} from '../../src/health/http.ts';

export interface HealthServerOptions {
  /** 0 picks a free port. Defaults to 3001. */
  port?: number;
  /** Interface to bind. Defaults to every interface (a container's health probe comes from outside). */
  host?: string;
  manager: HealthSource & MetricsSource;
  /** Who may see details and metrics (token, env, statusCacheMs). Defaults to the handlers' defaults. */
  endpoint?: EndpointOptions;
}

export interface HealthServer {
  /** Base URL, e.g. `http://localhost:3001`; append `/api/health`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open (keep-alive) connections. Does not disconnect the manager. */
  close(): Promise<void>;
}

export const HEALTH_PATH = '/api/health';
export const METRICS_PATH = '/api/metrics';

/** Routes by path: the two endpoints for GET/HEAD, 405 for other methods, 404 elsewhere. */
export function createObservabilityRouter(manager: HealthSource & MetricsSource, endpoint: EndpointOptions = {}): FetchHandler {
  const routes: Record<string, FetchHandler> = {
    [HEALTH_PATH]: createHealthHandler(manager, endpoint),
    [METRICS_PATH]: createMetricsHandler(manager, endpoint),
  };
  return async (request) => {
    const route = routes[new URL(request.url).pathname];
    if (!route) return new Response('not found\n', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('method not allowed\n', {
        status: 405,
        headers: { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' },
      });
    }
    return route(request);
  };
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const port = options.port ?? 3001;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new TypeError(`startHealthServer: port must be 0–65535, got ${String(port)}`);
  const server = http.createServer(toNodeListener(createObservabilityRouter(options.manager, options.endpoint)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const host = options.host === undefined || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    port: actualPort,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
