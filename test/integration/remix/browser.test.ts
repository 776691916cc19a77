/**
 * The example React Router 7 app (examples/remix-app) end to end: built, served by the same entry
 * as `npm run example` against the shared stack's PgBouncer in transaction mode, and driven by
 * Debian's Chromium through playwright-core. Never skipped: a missing browser or missing example
 * dependencies fail the run with the command that fixes it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertDependencies, ensureBuild } from '../../../tools/example/build.ts';
import { expectCleanStop, openPage, type RunningApp, repoRoot, startApp } from '../../support/example-app.ts';

const SCREENSHOT = path.join(repoRoot, 'artifacts/remix-e2e.png');

async function metric(page: Page, name: string): Promise<number> {
  return Number(await page.getByTestId(`metric-${name}`).textContent());
}

it('the example typechecks against the library (tsc -p examples/remix-app, the root TypeScript)', async () => {
  assertDependencies();
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', 'examples/remix-app'], { cwd: repoRoot }).catch(
    (error: { stdout?: string; stderr?: string }) => ({ stdout: `${error.stdout ?? ''}${error.stderr ?? ''}`, failed: true }),
  );
  expect(result.stdout).toBe('');
  expect('failed' in result).toBe(false);
});

it("the example uses the package as an installed dependency, not this repository's sources", async () => {
  await ensureBuild();
  const server = readFileSync(path.join(repoRoot, 'examples/remix-app/build/server/index.js'), 'utf8');
  // Externalized: Node loads it from node_modules/prisma-pgbouncer-pooling (its dist/) at run time.
  expect(server).toMatch(/from ["']prisma-pgbouncer-pooling["']/);
  expect(server).not.toContain('createConnectionPoolManager(options)');
  expect(realpathSync(path.join(repoRoot, 'examples/remix-app/node_modules/prisma-pgbouncer-pooling'))).toBe(repoRoot);
});

describe('examples/remix-app in headless Chromium', () => {
  const stack = inject('stack');
  let app: RunningApp | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let db: pg.Client;
  let browserErrors: string[] = [];

  beforeAll(async () => {
    const started = Date.now();
    const built = await ensureBuild();
    console.error(`[remix e2e] ${built ? 'built' : 'reused the build'} in ${Date.now() - started} ms`);
    app = await startApp(
      'tools/example/run-example.ts',
      { NODE_ENV: 'production', DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true', PGBOUNCER_ADMIN_URL: stack.adminUrl },
      { name: 'example app', readyTimeoutMs: 30000 },
    );
    db = new pg.Client({ connectionString: stack.directUrl });
    await db.connect();
    const opened = await openPage();
    browser = opened.browser;
    page = opened.page;
    browserErrors = opened.errors;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await expectCleanStop(app, 'example app');
  });

  it('serves /api/health and /api/metrics from the library handlers, in transaction mode through PgBouncer', async () => {
    type Report = { status: string; checks: { connectionPool: { mode: string; port: number }; pgbouncer?: { status: string } } };
    // The PgBouncer check is `degraded` while another client briefly waits on the shared pooler: poll for healthy.
    await expect
      .poll(async () => ((await (await fetch(`${app?.baseUrl}/api/health`)).json()) as Report).status, { timeout: 15_000 })
      .toBe('healthy');
    const health = await fetch(`${app?.baseUrl}/api/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as Report;
    expect(body.checks.connectionPool).toMatchObject({ mode: 'transaction', port: stack.poolerPort });
    expect(body.checks.pgbouncer?.status).toBe('healthy');

    const metrics = await fetch(`${app?.baseUrl}/api/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('pgpool_operations_total{kind="write"}');
  });

  it('lists the pages, creates one with blocks through the form, and the panel counts the operations', async () => {
    await page.goto(`${app?.baseUrl}/`);
    expect(await page.locator('h1').textContent()).toBe('Demo workspace');
    await page.locator('[data-testid="status-panel"][data-hydrated="true"]').waitFor();
    expect(await page.getByTestId('metric-mode').textContent()).toBe(`transaction (:${stack.poolerPort})`);
    const readsBefore = await metric(page, 'reads');
    const writesBefore = await metric(page, 'writes');
    expect(readsBefore).toBeGreaterThanOrEqual(1); // this page's own loader

    const title = `E2E page ${Date.now()}`;
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

    // The action's write and the revalidating loader's read show up in the live panel.
    await expect.poll(() => metric(page, 'writes')).toBeGreaterThanOrEqual(writesBefore + 1);
    await expect.poll(() => metric(page, 'reads')).toBeGreaterThanOrEqual(readsBefore + 1);
    expect(await metric(page, 'failed')).toBe(0);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(1000);
  });

  it('the login action stamps lastActive and writes an ActivityLog row in one write', async () => {
    const countLogins = async () => {
      const { rows } = await db.query<{ n: number; last_active: Date | null }>(
        `SELECT count(a.id)::int AS n, u."lastActive" AS last_active
           FROM "User" u LEFT JOIN "ActivityLog" a ON a."userId" = u.id AND a.action = 'login'
          WHERE u.email = 'demo@example.com' GROUP BY u.id`,
      );
      return rows[0] ?? { n: 0, last_active: null };
    };
    const before = await countLogins();
    const writesBefore = await metric(page, 'writes');
    const clickedAt = Date.now();

    await page.getByRole('button', { name: 'Log in as demo@example.com' }).click();
    await expect.poll(async () => Number(await page.getByTestId('activity-count').textContent())).toBeGreaterThanOrEqual(before.n + 1);

    const after = await countLogins();
    expect(after.n).toBe(before.n + 1);
    expect(after.last_active?.getTime()).toBeGreaterThanOrEqual(clickedAt - 5_000);
    expect(await page.getByTestId('last-active').textContent()).toBe(after.last_active?.toISOString());
    await expect.poll(() => metric(page, 'writes')).toBeGreaterThanOrEqual(writesBefore + 1);
    expect(browserErrors).toEqual([]);
  });
});
