/**
 * Postgres stopped behind a live PgBouncer: the health endpoint answers 503 within its timeout,
 * then healthy again once Postgres is back — the same manager, never recreated. Runs on a stack
 * this file starts itself (stopping the shared one would break other files).
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '~/health/health-check.ts';
import { createHealthHandler } from '~/health/http.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

let stack: LocalStack;
let manager: TestManager;

beforeAll(async () => {
  stack = await startStack();
  manager = testManager(stack, { PGBOUNCER_ADMIN_URL: stack.adminUrl }, { healthTimeoutMs: 1000 });
});
afterAll(async () => {
  await manager?.disconnect();
  await stack?.stop();
});

describe('health while Postgres is down', () => {
  it('503 within the timeout while stopped; healthy again after startPostgres() with the same manager', async () => {
    await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
    const handler = createHealthHandler(manager);
    const before = await handler(new Request('http://localhost/api/health'));
    expect(before.status).toBe(200);

    await stack.stopPostgres('fast');
    const started = performance.now();
    const response = await handler(new Request('http://localhost/api/health'));
    // An upper bound only: 1000 ms timeout, generous for a loaded 2-core machine.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(response.status).toBe(503);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const down = (await response.json()) as HealthReport;
    expect(down.status).toBe('unhealthy');
    expect(down.checks.database.status).toBe('unhealthy');
    // PgBouncer keeps the client waiting for a server it cannot reach (timeout), or refuses it (connection).
    expect(['timeout', 'connection']).toContain(down.checks.database.error);
    // PgBouncer itself is up: its console still answers.
    expect(down.checks.pgbouncer?.status).toMatch(/healthy|degraded/);
    expect(down.checks.pgbouncer?.error).toBeUndefined();
    const text = JSON.stringify(down);
    expect(text).not.toContain(new URL(stack.poolerUrl).password);
    expect(text).not.toContain(new URL(stack.adminUrl).password);

    await stack.startPostgres();
    // PgBouncer retries the server login every second (server_login_retry = 1): poll, bounded.
    let last: HealthReport | null = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      last = await manager.getHealth();
      if (last.status === 'healthy') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(last?.status).toBe('healthy');
    // And the app's own pool works again through the same manager.
    await expect(manager.withPooling((tx) => tx.$queryRaw`SELECT 1 AS one`)).resolves.toEqual([{ one: 1 }]);
    expect((await handler(new Request('http://localhost/api/health'))).status).toBe(200);
  });
});
