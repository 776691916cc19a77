/**
 * The endpoints on a deployment, over real HTTP (the health-server tool) against the shared stack:
 * on a serverless platform without PGPOOL_ENDPOINT_TOKEN the metrics answer 401 and the health
 * report is the status alone; with the token, 401 without it and 200 with it; locally, as before.
 */
import { createRequire } from 'node:module';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { EndpointOptions } from '~/health/endpoint-access.ts';
import type { HealthReport } from '~/health/health-check.ts';
import type { ConfigWarning } from '~/logging/config-warnings.ts';
import { type HealthServer, startHealthServer } from '../../../tools/health-server/health-server.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => { name: string }[];

const TOKEN = 'integration-token-0123456789abcdef';
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'endpoint-auth-test' };

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function serve(manager: TestManager, endpoint: EndpointOptions): Promise<HealthServer> {
  cleanups.push(() => manager.disconnect());
  const server = await startHealthServer({ port: 0, host: '127.0.0.1', manager, endpoint });
  cleanups.push(() => server.close());
  return server;
}

const fetchWith = (url: string, token?: string) => fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

describe('/api/health and /api/metrics on a serverless platform', () => {
  it('without PGPOOL_ENDPOINT_TOKEN: metrics 401, health the status alone, one PGPOOL_ENDPOINT_TOKEN_UNSET warning', async () => {
    const warnings: ConfigWarning[] = [];
    const manager = testManager(stack, LAMBDA);
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    expect(manager.config.serverless).toBe(true);
    // The handlers' environment has neither a token nor a platform: the manager's resolved config decides.
    const server = await serve(manager, { env: {}, onWarning: (w) => warnings.push(w) });

    const metrics = await fetchWith(`${server.url}/api/metrics`);
    expect(metrics.status).toBe(401);
    expect(metrics.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body = await metrics.text();
    expect(body).toContain('PGPOOL_ENDPOINT_TOKEN');
    expect(body).not.toContain('pgpool_');

    const health = await fetchWith(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });

    // A token the server does not have opens nothing.
    expect((await fetchWith(`${server.url}/api/metrics`, TOKEN)).status).toBe(401);
    expect(warnings.map((w) => w.code)).toEqual(['PGPOOL_ENDPOINT_TOKEN_UNSET', 'PGPOOL_ENDPOINT_TOKEN_UNSET']);
    // One per handler (health and metrics), each said once however many requests came.
    expect(new Set(warnings.map((w) => w.message)).size).toBe(1);
  });

  it('with PGPOOL_ENDPOINT_TOKEN: 401 without the token, 200 and the Prometheus text with it; health details with it only', async () => {
    const manager = testManager(stack, LAMBDA);
    const server = await serve(manager, { env: { PGPOOL_ENDPOINT_TOKEN: TOKEN } });

    expect((await fetchWith(`${server.url}/api/metrics`)).status).toBe(401);
    expect((await fetchWith(`${server.url}/api/metrics`, `${TOKEN}-wrong`)).status).toBe(401);
    const metrics = await fetchWith(`${server.url}/api/metrics`, TOKEN);
    expect(metrics.status).toBe(200);
    const names = parsePrometheus(await metrics.text()).map((f) => f.name);
    expect(names).toContain('pgpool_pool_connections');

    expect(await (await fetchWith(`${server.url}/api/health`)).json()).toEqual({ status: 'healthy' });
    const detailed = (await (await fetchWith(`${server.url}/api/health`, TOKEN)).json()) as HealthReport;
    expect(detailed.status).toBe('healthy');
    expect(detailed.checks.connectionPool).toMatchObject({ mode: 'transaction', port: stack.poolerPort });
  });

  it('anonymous health requests do not each reach the database: one probe serves them within statusCacheMs', async () => {
    const manager = testManager(stack, LAMBDA);
    let probes = 0;
    const counted = {
      getHealth: () => {
        probes++;
        return manager.getHealth();
      },
      getMetrics: manager.getMetrics,
      get initialized() {
        return manager.initialized;
      },
      get config() {
        return manager.config;
      },
      disconnect: () => manager.disconnect(),
    };
    const server = await serve(counted as unknown as TestManager, { env: LAMBDA, statusCacheMs: 60_000, onWarning: () => {} });
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetchWith(`${server.url}/api/health`).then((r) => r.json())));
    for (let i = 0; i < 10; i++) answers.push(await (await fetchWith(`${server.url}/api/health`)).json());
    expect(answers.every((a) => JSON.stringify(a) === '{"status":"healthy"}')).toBe(true);
    expect(probes).toBe(1);
  });
});

describe('/api/health and /api/metrics locally', () => {
  it('without a token nothing changes: metrics 200, the full health report', async () => {
    const warnings: ConfigWarning[] = [];
    const manager = testManager(stack);
    const server = await serve(manager, { env: {}, onWarning: (w) => warnings.push(w) });
    const metrics = await fetchWith(`${server.url}/api/metrics`);
    expect(metrics.status).toBe(200);
    expect(parsePrometheus(await metrics.text()).length).toBeGreaterThan(0);
    const report = (await (await fetchWith(`${server.url}/api/health`)).json()) as HealthReport;
    expect(report.checks.database.status).toBe('healthy');
    expect(warnings).toEqual([]);
  });
});
