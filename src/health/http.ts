/**
 * Fetch-API handlers, `(request: Request) => Promise<Response>`: usable verbatim as Remix / React
 * Router resource-route loaders and Next.js route handlers, and from `node:http` through `toNodeListener`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classifyError } from '../errors/classify-error.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import type { PoolStats } from '../metrics/pool-stats.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../metrics/prometheus.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import type { HealthReport } from './health-check.ts';

export type FetchHandler = (request: Request) => Promise<Response>;

export interface HealthSource {
  getHealth(): Promise<HealthReport>;
}

export interface MetricsSource {
  getMetrics(): MetricsSnapshot & {
    pool: PoolStats;
    readPool?: PoolStats | null;
    /** Each replica's pool under its `db.client.connection.pool.name`. */
    replicaPools?: ReadonlyArray<{ name: string; stats: PoolStats }>;
    /** `db.client.connection.pool.name` of the pools, for the OpenTelemetry-named families. */
    poolNames?: { primary: string; read: string | null } | null;
  } & Pick<Parameters<typeof renderPrometheus>[0], 'readsByTarget' | 'replicas' | 'warmupConnections' | 'warmupFailures'>;
}

const NO_STORE = 'no-store';

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': NO_STORE },
  });
}

/**
 * `/api/health`: 200 for `healthy` and `degraded` (the instance still serves), 503 for `unhealthy`.
 * A health check that throws (bad configuration, closed manager) answers 503 `{ status: 'unhealthy',
 * error: <classified kind> }`: never a message, stack or URL.
 */
export function createHealthHandler(source: HealthSource): FetchHandler {
  return async () => {
    try {
      const report = await source.getHealth();
      return json(report, report.status === 'unhealthy' ? 503 : 200);
    } catch (error) {
      return json({ status: 'unhealthy', error: classifyError(error).kind }, 503);
    }
  };
}

/** `/api/metrics`: Prometheus text exposition 0.0.4 of `getMetrics()`. */
export function createMetricsHandler(source: MetricsSource): FetchHandler {
  return async () => {
    try {
      const metrics = source.getMetrics();
      return new Response(
        renderPrometheus(metrics, {
          primary: metrics.pool,
          read: metrics.readPool ?? null,
          replicas: metrics.replicaPools ?? null,
          names: metrics.poolNames ?? null,
        }),
        {
          status: 200,
          headers: { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Cache-Control': NO_STORE },
        },
      );
    } catch {
      return new Response('metrics unavailable\n', {
        status: 500,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NO_STORE },
      });
    }
  };
}

/** Serves a Fetch handler from `node:http`: IncomingMessage → Request, Response → ServerResponse. */
export function toNodeListener(handler: FetchHandler): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (value === undefined) continue;
          for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
        }
        const method = req.method ?? 'GET';
        const hasBody = method !== 'GET' && method !== 'HEAD';
        const request = new Request(url, {
          method,
          headers,
          body: hasBody ? (nodeBuiltin('node:stream').Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
          // Required by undici for a streamed request body.
          ...(hasBody ? { duplex: 'half' } : {}),
        } as RequestInit);
        const response = await handler(request);
        res.statusCode = response.status;
        for (const [name, value] of response.headers) res.setHeader(name, value);
        const body = method === 'HEAD' ? null : Buffer.from(await response.arrayBuffer());
        res.end(body);
      } catch {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
          res.setHeader('Cache-Control', NO_STORE);
        }
        res.end('internal error\n');
      }
    })();
  };
}

/**
 * A handler that takes either of the two shapes frameworks call with: React Router / Remix loaders get
 * `{ request }`, Next.js route handlers get the `Request` itself (plus a context we do not need).
 */
export type LoaderOrRouteHandler = (arg: Request | { request: Request }) => Promise<Response>;

/** A Request has no `request` property; a loader's argument object has one. */
const requestOf = (arg: Request | { request: Request }): Request => ('request' in arg ? arg.request : arg);

/**
 * `/api/health` for a framework: `export const loader = healthLoader(connectionPoolManager);` (React
 * Router / Remix) or `export const GET = healthLoader(connectionPoolManager);` (a Next.js route handler).
 */
export function healthLoader(source: HealthSource): LoaderOrRouteHandler {
  const handler = createHealthHandler(source);
  return (arg) => handler(requestOf(arg));
}

/**
 * `/api/metrics` for a framework: `export const loader = metricsLoader(connectionPoolManager);` (React
 * Router / Remix) or `export const GET = metricsLoader(connectionPoolManager);` (a Next.js route handler).
 */
export function metricsLoader(source: MetricsSource): LoaderOrRouteHandler {
  const handler = createMetricsHandler(source);
  return (arg) => handler(requestOf(arg));
}
