/**
 * The example Next.js App Router app (examples/next-app) end to end: built once per source hash
 * (tools/example/next-build.ts), served by the same entry as `npm run example:next` (`next start`)
 * against the shared stack's PgBouncer in transaction mode, and driven by Debian's Chromium through
 * playwright-core. Never skipped: a missing browser or missing example dependencies fail the run
 * with the command that fixes it.
 */
import { mkdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureNextBuild, nextAppRoot } from '../../../tools/example/next-build.ts';
import { expectCleanStop, openPage, type RunningApp, repoRoot, startApp } from '../../support/example-app.ts';

const SCREENSHOT = path.join(repoRoot, 'artifacts/next-e2e.png');

async function metric(page: Page, name: string): Promise<number> {
  return Number(await page.getByTestId(`metric-${name}`).textContent());
}

it("the example installs the package by link (file:../..), not this repository's sources", () => {
  expect(realpathSync(path.join(nextAppRoot, 'node_modules/prisma-pgbouncer-pooling'))).toBe(repoRoot);
});

describe('examples/next-app in headless Chromium', () => {
  const stack = inject('stack');
  let app: RunningApp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let db: pg.Client;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    const built = await ensureNextBuild();
    console.error(`[next e2e] ${built ? 'built' : 'reused the build'} in ${Date.now() - started} ms`);
    app = await startApp(
      'tools/example/run-next.ts',
      { DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true', PGBOUNCER_ADMIN_URL: stack.adminUrl },
      { name: 'next-app', readyTimeoutMs: 60000 },
    );
    db = new pg.Client({ connectionString: stack.directUrl });
    await db.connect();
    const opened = await openPage();
    browser = opened.browser;
    page = opened.page;
    browserErrors = opened.errors;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await expectCleanStop(app, 'next-app');
  });

  it('the Server Component renders the workspace; warmup and OpenTelemetry ran in instrumentation.ts', async () => {
    await page.goto(`${app?.baseUrl}/`);
    expect(await page.locator('h1').textContent()).toBe('Demo workspace');
    await page.locator('[data-testid="status-panel"][data-hydrated="true"]').waitFor();
    expect(await page.getByTestId('metric-mode').textContent()).toBe(`transaction (:${stack.poolerPort})`);
    expect(await metric(page, 'reads')).toBeGreaterThanOrEqual(1); // this page's own readWithPooling…
    expect(await metric(page, 'plain-reads')).toBeGreaterThanOrEqual(1); // …and its plain prisma.user read
    // register() warmed the same manager the page uses (one per process, whichever bundle layer imports it)…
    expect(await metric(page, 'warmup')).toBeGreaterThanOrEqual(1);
    // …and registered a TracerProvider before the first call, so every wrapper and plain call has its span.
    const calls = (await metric(page, 'reads')) + (await metric(page, 'plain-reads'));
    await expect.poll(() => metric(page, 'spans')).toBeGreaterThanOrEqual(calls);
  });

  it('serves /api/health and /api/metrics from the library handlers, in transaction mode through PgBouncer', async () => {
    const health = async () => {
      const response = await fetch(`${app?.baseUrl}/api/health`);
      const body = (await response.json()) as {
        status: string;
        checks: { connectionPool: { mode: string; port: number }; pgbouncer?: { status: string } };
      };
      return { code: response.status, body };
    };
    // PgBouncer's console can report a waiting client for a moment while other tests' pools settle.
    await expect.poll(async () => (await health()).body.status, { timeout: 15_000 }).toBe('healthy');
    const { code, body } = await health();
    expect(code).toBe(200);
    expect(body.checks.connectionPool).toMatchObject({ mode: 'transaction', port: stack.poolerPort });
    expect(body.checks.pgbouncer?.status).toBeDefined();

    const metrics = await fetch(`${app?.baseUrl}/api/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('pgpool_operations_total{kind="write"}');
    expect(text).toMatch(/^pgpool_operations_total\{kind="read"\} [1-9]/m);
  });

  it('a page created through the Server Action form appears, is in Postgres, and survives a reload', async () => {
    await page.goto(`${app?.baseUrl}/`);
    await page.locator('[data-testid="status-panel"][data-hydrated="true"]').waitFor();
    const writesBefore = await metric(page, 'writes');

    const title = `Next E2E page ${Date.now()}`;
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Blocks').fill('Alpha block\nBeta block');
    await page.getByRole('button', { name: 'Create page' }).click();

    const listed = page.getByTestId('page').filter({ hasText: title });
    await listed.waitFor();
    await expect(listed.getByTestId('block').allTextContents()).resolves.toEqual(['Alpha block', 'Beta block']);
    await expect.poll(() => page.getByLabel('Title').inputValue()).toBe(''); // the form resets after success

    // The row, straight from Postgres (not through the app or PgBouncer).
    const { rows } = await db.query<{ id: string; workspace: string; blocks: string[] }>(
      `SELECT p.id, w.name AS workspace, array_agg(b.content ORDER BY b.position) AS blocks
         FROM "Page" p JOIN "Workspace" w ON w.id = p."workspaceId" JOIN "Block" b ON b."pageId" = p.id
        WHERE p.title = $1 GROUP BY p.id, w.name`,
      [title],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ workspace: 'Demo workspace', blocks: ['Alpha block', 'Beta block'] });
    expect(await listed.getAttribute('data-page-id')).toBe(rows[0]?.id);
    await expect.poll(() => metric(page, 'writes')).toBeGreaterThanOrEqual(writesBefore + 1);

    await page.reload();
    const afterReload = page.getByTestId('page').filter({ hasText: title });
    await afterReload.waitFor();
    expect(await afterReload.getAttribute('data-page-id')).toBe(rows[0]?.id);
    await expect(afterReload.getByTestId('block').allTextContents()).resolves.toEqual(['Alpha block', 'Beta block']);
    expect(await metric(page, 'failed')).toBe(0);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);
  });

  it('the login Server Action stamps lastActive and writes an ActivityLog row in one write; no page errors', async () => {
    const countLogins = async () => {
      const { rows } = await db.query<{ n: number; last_active: Date | null }>(
        `SELECT count(a.id)::int AS n, u."lastActive" AS last_active
           FROM "User" u LEFT JOIN "ActivityLog" a ON a."userId" = u.id AND a.action = 'login'
          WHERE u.email = 'demo@example.com' GROUP BY u.id`,
      );
      return rows[0] ?? { n: 0, last_active: null };
    };
    const before = await countLogins();
    await page.getByRole('button', { name: 'Log in as demo@example.com' }).click();
    await expect.poll(async () => Number(await page.getByTestId('activity-count').textContent())).toBeGreaterThanOrEqual(before.n + 1);

    const after = await countLogins();
    expect(after.n).toBe(before.n + 1);
    expect(await page.getByTestId('last-active').textContent()).toBe(after.last_active?.toISOString());
    expect(browserErrors).toEqual([]);
  });
});
