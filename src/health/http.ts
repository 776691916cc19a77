/**
 * Fetch-API handlers, `(request: Request) => Promise<Response>`: usable verbatim as Remix / React
 * Router resource-route loaders and Next.js route handlers, and from `node:http` through `toNodeListener`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkMilliseconds } from '../config/milliseconds.ts';
import { classifyError } from '../errors/classify-error.ts';
import type { MetricsSnapshot } from '../metrics/metrics.ts';
import type { PoolStats } from '../metrics/pool-stats.ts';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../metrics/prometheus.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import { createEndpointAccess, DEFAULT_STATUS_CACHE_MS, type EndpointOptions, type PlatformSource } from './endpoint-access.ts';
import type { HealthReport } from './health-check.ts';

export type FetchHandler = (request: Request) => Promise<Response>;

export interface HealthSource extends PlatformSource {
  getHealth(): Promise<HealthReport>;
}

export interface MetricsSource extends PlatformSource {
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

const UNAUTHORIZED_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NO_STORE };

/** 401 with the challenge RFC 6750 §3 asks for; the body says how to get in, never why a token failed. */
function unauthorized(tokenConfigured: boolean): Response {
  const body = tokenConfigured
    ? 'send Authorization: Bearer <PGPOOL_ENDPOINT_TOKEN>\n'
    : 'set PGPOOL_ENDPOINT_TOKEN on the server, then send Authorization: Bearer <token>\n';
  return new Response(body, { status: 401, headers: { ...UNAUTHORIZED_HEADERS, 'WWW-Authenticate': 'Bearer realm="metrics"' } });
}

const statusCode = (status: HealthReport['status']): number => (status === 'unhealthy' ? 503 : 200);

/**
 * `/api/health`: 200 for `healthy` and `degraded` (the instance still serves), 503 for `unhealthy`.
 * A health check that throws (bad configuration, closed manager) answers 503 `{ status: 'unhealthy',
 * error: <classified kind> }`: never a message, stack or URL.
 *
 * Callers not authorized to see details (see src/health/endpoint-access.ts: a token is set and they
 * did not send it, or a serverless platform without a token) get `{ status }` alone, from a probe at
 * most `statusCacheMs` old: they share one probe per interval instead of each opening a connection.
 */
export function createHealthHandler(source: HealthSource, options: EndpointOptions = {}): FetchHandler {
  const access = createEndpointAccess(source, options);
  const cacheMs = checkMilliseconds('statusCacheMs', options.statusCacheMs, { zero: true }) ?? DEFAULT_STATUS_CACHE_MS;
  /** The last probe's status and when it ended (performance.now()). */
  let last: { status: HealthReport['status']; at: number } | null = null;
  let probing: Promise<HealthReport['status']> | null = null;
  const probe = async (): Promise<HealthReport> => {
    const report = await source.getHealth();
    last = { status: report.status, at: performance.now() };
    return report;
  };
  /** The status from a fresh-enough probe, or a new one shared by every caller that arrives meanwhile. */
  const cachedStatus = (): Promise<HealthReport['status']> => {
    if (last !== null && performance.now() - last.at < cacheMs) return Promise.resolve(last.status);
    probing ??= probe()
      .then((report) => report.status)
      .finally(() => {
        probing = null;
      });
    return probing;
  };
  return async (request) => {
    try {
      const { authorized } = await access.check(request);
      if (!authorized) {
        const status = await cachedStatus();
        return json({ status }, statusCode(status));
      }
      const report = await probe();
      return json(report, statusCode(report.status));
    } catch (error) {
      return json({ status: 'unhealthy', error: classifyError(error).kind }, 503);
    }
  };
}

/**
 * `/api/metrics`: Prometheus text exposition 0.0.4 of `getMetrics()`; 401 to callers not authorized
 * (see src/health/endpoint-access.ts).
 */
export function createMetricsHandler(source: MetricsSource, options: EndpointOptions = {}): FetchHandler {
  const access = createEndpointAccess(source, options);
  return async (request) => {
    try {
      const { authorized, tokenConfigured } = await access.check(request);
      if (!authorized) return unauthorized(tokenConfigured);
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
export function healthLoader(source: HealthSource, options: EndpointOptions = {}): LoaderOrRouteHandler {
  const handler = createHealthHandler(source, options);
  return (arg) => handler(requestOf(arg));
}

/**
 * `/api/metrics` for a framework: `export const loader = metricsLoader(connectionPoolManager);` (React
 * Router / Remix) or `export const GET = metricsLoader(connectionPoolManager);` (a Next.js route handler).
 */
export function metricsLoader(source: MetricsSource, options: EndpointOptions = {}): LoaderOrRouteHandler {
  const handler = createMetricsHandler(source, options);
  return (arg) => handler(requestOf(arg));
}
