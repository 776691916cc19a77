import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { HealthReport } from '../../../src/health/health-check.ts';
import { createHealthHandler, createMetricsHandler, healthLoader, metricsLoader, toNodeListener } from '../../../src/health/http.ts';
import { createMetrics } from '../../../src/metrics/metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../../../src/metrics/prometheus.ts';

function report(status: HealthReport['status']): HealthReport {
  return {
    status,
    checks: {
      database: { status: status === 'unhealthy' ? 'unhealthy' : 'healthy', latency: 1 },
      connectionPool: {
        status: status === 'degraded' ? 'degraded' : 'healthy',
        mode: 'transaction',
        port: 6543,
        provider: 'pgbouncer',
        connections: { active: 0, idle: 0, total: 0, waiting: 0, limit: 3 },
        utilization: 0,
      },
    },
  };
}

const request = new Request('http://localhost/api/health');

describe('createHealthHandler', () => {
  it.each([
    ['healthy', 200],
    ['degraded', 200],
    ['unhealthy', 503],
  ] as const)('%s → %d, JSON, no-store', async (status, code) => {
    const response = await createHealthHandler({ getHealth: async () => report(status) })(request);
    expect(response.status).toBe(code);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual(report(status));
  });

  it('a thrown error → 503 with a kind, never the message, stack or URL', async () => {
    const error = new Error('connect failed for postgres://app:hunter2@db:5432/app');
    const response = await createHealthHandler({ getHealth: async () => Promise.reject(error) })(request);
    expect(response.status).toBe(503);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ status: 'unhealthy', error: 'application' });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('at ');
  });
});

describe('createMetricsHandler', () => {
  it('renders Prometheus text with its content type and no-store', async () => {
    const metrics = createMetrics();
    metrics.recordOperation('read', 2_000_000n, { ok: true });
    const pool = { active: 1, idle: 0, total: 1, waiting: 0, limit: 3 };
    const response = await createMetricsHandler({ getMetrics: () => ({ ...metrics.snapshot(), pool, readPool: null }) })(request);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    expect(text).toContain('pgpool_operations_total{kind="read"} 1');
    expect(text).toContain('pgpool_pool_limit{pool="primary"} 3');
  });

  it('a throwing source → 500 without details', async () => {
    const response = await createMetricsHandler({
      getMetrics: () => {
        throw new Error('secret detail');
      },
    })(request);
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain('secret');
  });
});

describe('healthLoader / metricsLoader: one handler for both framework call shapes', () => {
  const metricsSource = {
    getMetrics: () => ({ ...createMetrics().snapshot(), pool: { active: 1, idle: 2, total: 3, waiting: 0, limit: 3 } }),
  };
  it.each([
    ['a React Router / Remix loader, called with { request }', { request }],
    ['a Next.js route handler, called with the Request itself', request],
  ] as const)('%s', async (_shape, arg) => {
    const health = await healthLoader({ getHealth: async () => report('unhealthy') })(arg);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual(report('unhealthy'));
    const metrics = await metricsLoader(metricsSource)(arg);
    expect(metrics.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(await metrics.text()).toContain('pgpool_pool_limit{pool="primary"} 3');
  });
});

describe('toNodeListener', () => {
  it('serves a Fetch handler over node:http: method, path, headers and status go through', async () => {
    const server = http.createServer(
      toNodeListener(async (req) => {
        const url = new URL(req.url);
        return new Response(
          JSON.stringify({ method: req.method, path: url.pathname, q: url.searchParams.get('q'), h: req.headers.get('x-test') }),
          {
            status: 201,
            headers: { 'X-Reply': 'yes' },
          },
        );
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/some/path?q=1`, { headers: { 'X-Test': 'abc' } });
      expect(response.status).toBe(201);
      expect(response.headers.get('x-reply')).toBe('yes');
      expect(await response.json()).toEqual({ method: 'GET', path: '/some/path', q: '1', h: 'abc' });
      const head = await fetch(`http://127.0.0.1:${port}/x`, { method: 'HEAD' });
      expect(head.status).toBe(201);
      expect(await head.text()).toBe('');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a handler that throws answers 500', async () => {
    const server = http.createServer(
      toNodeListener(async () => {
        throw new Error('nope');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('nope');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
