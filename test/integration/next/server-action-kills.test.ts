/**
 * examples/next-app's Server Actions under PgBouncer `KILL` (then `RESUME`) every 300 ms, driven
 * from headless Chromium: every submission's outcome is read from what the page shows, then checked
 * against Postgres. A page shown created exists exactly once; a page shown not created (the form's
 * error, or the error boundary) does not exist; nothing is written twice. Both forms: "Create page"
 * (a `writeWithPooling` transaction, page and block) and "Create quick page" (a plain
 * `prisma.page.create`, whose lost COMMIT answers are settled by `pg_xact_status`).
 *
 * Reuses browser.test.ts's build (tools/example/next-build.ts skips a build of the same inputs;
 * integration files run one at a time). Runs on a stack of its own: PgBouncer itself does not always
 * survive this (1.18 was seen spinning at 100 % CPU, no longer answering, after 5 to 43 KILLs of
 * this traffic; 1.24.1 exiting after 26), so a watchdog restarts a PgBouncer that died or stopped
 * answering, and the restarts are reported (a restart is one more fault the app must ride through).
 *
 * An error shown is reported with what the server logged for it: the error boundary shows Next.js'
 * digest, `next start` logs the real error beside the same digest, and the app runs with
 * `DEBUG=DatabasePooling,ConnectionPoolManager` so the call's retries are in the lines before it
 * (the whole log is written to artifacts/next-kills-server.log). That is how the boundary shown
 * for a saved page was found: the action committed, and the page's re-render read failed with
 * 08P01 `database removed` three times in a row, each attempt cut by the next KILL.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNextBuild } from '../../../tools/example/next-build.ts';
import { updateGeneratedBlocks } from '../../../tools/lib/markers.ts';
import { adminCommand } from '../../../tools/stack/faults/pgbouncer-admin.ts';
import { type LocalStack, startStack } from '../../../tools/stack/start-stack.ts';
import { expectCleanStop, openPage, type RunningApp, repoRoot, startApp } from '../../support/example-app.ts';
import { startKillLoop } from '../../support/kill-loop.ts';

/** Submissions per form; the two forms run side by side in two tabs. */
const PER_FORM = 75;
/** A guard against a hung call, not a speed check: a settled lost COMMIT may wait up to 15 s. */
const OUTCOME_TIMEOUT_MS = 90_000;

type Form = 'create' | 'quick';
/** What the page showed for one submission. `boundary`: the error boundary replaced the page. */
type Shown = 'created' | 'failed' | 'unknown' | 'boundary';
interface Submission {
  form: Form;
  title: string;
  shown: Shown;
  /** The id the page showed (created only; empty when the write committed and its row was lost). */
  pageId: string;
  /** For `boundary`: the boundary's digest and message, to find the server's log line of the error. */
  error?: string;
}

/** Sums `<name>{…}` samples of a Prometheus text whose labels match `labels`. */
function sample(text: string, name: string, labels: RegExp = /.*/): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name && labels.test(match[2] ?? '')) sum += Number(match[3]);
  }
  return sum;
}

/**
 * Restarts the stack's PgBouncer when its process is gone or its console has not answered three
 * checks in a row (2 s each): a pooler that stopped working is a restart, not the end of the run.
 */
function startPgbouncerWatchdog(stack: LocalStack): { readonly restarts: number; stop(): Promise<void> } {
  let stopped = false;
  let restarts = 0;
  const loop = (async () => {
    let silent = 0;
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const pid = stack.pids().pgbouncer;
      const alive = pid !== null && existsSync(`/proc/${pid}`);
      const answered =
        alive &&
        (await adminCommand(stack.adminUrl, 'SHOW VERSION', { connectTimeoutMs: 2000, queryTimeoutMs: 2000 }).then(
          () => true,
          () => false,
        ));
      silent = answered ? 0 : silent + 1;
      if (!stopped && (!alive || silent >= 3)) {
        await stack.restartPgbouncer();
        restarts++;
        silent = 0;
      }
    }
  })();
  return {
    get restarts() {
      return restarts;
    },
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('examples/next-app Server Actions under PgBouncer KILL every 300 ms', () => {
  let stack: LocalStack;
  const database = 'app';
  let app: RunningApp | undefined;
  let browser: Browser | undefined;
  let db: pg.Client;

  beforeAll(async () => {
    stack = await startStack();
    const built = await ensureNextBuild();
    console.error(`[next kills] ${built ? 'built' : 'reused the build'}`);
    app = await startApp(
      'tools/example/run-next.ts',
      {
        DATABASE_URL: stack.poolerUrl,
        USE_TRANSACTION_MODE: 'true',
        PGBOUNCER_ADMIN_URL: stack.adminUrl,
        // Each call's retries in the server log, for the report of an error shown (no URL or password is logged).
        DEBUG: 'DatabasePooling,ConnectionPoolManager',
      },
      { name: 'next-app', readyTimeoutMs: 60000 },
    );
    db = new pg.Client({ connectionString: stack.directUrl });
    await db.connect();
    browser = (await openPage()).browser;
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await db?.end();
    await expectCleanStop(app, 'next-app');
    await stack?.stop();
  });

  it('no page shown as failed exists, every page shown as created exists once, nothing twice', { timeout: 600_000 }, async () => {
    const baseUrl = app?.baseUrl ?? '';
    const metricsText = async () => (await fetch(`${baseUrl}/api/metrics`)).text();
    const run = `kills-${randomUUID().slice(0, 8)}`;
    const submissions: Submission[] = [];
    let pageLoadFailures = 0;
    /** What the boundary showed when a load of `/` rendered it. */
    const pageLoadErrors: string[] = [];
    const boundaryError = async (page: Page) => {
      const boundary = page.getByTestId('error-boundary');
      return `digest ${await boundary.getAttribute('data-digest')}: ${await boundary.getAttribute('data-message')}`;
    };

    /** Opens `/` until it renders, hydrated (a load can fail while the KILLs go on: counted). */
    const open = async (page: Page) => {
      for (let attempt = 1; ; attempt++) {
        const response = await page.goto(`${baseUrl}/`).catch(() => null);
        const ready = page.locator('[data-testid="status-panel"][data-hydrated="true"], [data-testid="error-boundary"]').first();
        const rendered =
          response?.ok() &&
          (await ready.waitFor({ timeout: OUTCOME_TIMEOUT_MS }).then(
            () => true,
            () => false,
          ));
        if (rendered && (await page.getByTestId('status-panel').isVisible())) return;
        pageLoadFailures++;
        if (rendered) pageLoadErrors.push(await boundaryError(page));
        if (attempt === 60) throw new Error(`/ did not render in 60 loads:\n${app?.output().slice(-4000)}`);
        await new Promise((resolve) => setTimeout(resolve, 500)); // a PgBouncer restart takes seconds
      }
    };

    const drive = async (form: Form) => {
      const context = await (browser as Browser).newContext();
      const page = await context.newPage();
      // Every wait bounded: a hung call fails the run with its step instead of the test's timeout.
      page.setDefaultTimeout(OUTCOME_TIMEOUT_MS);
      try {
        await open(page);
        for (let i = 0; i < PER_FORM; i++) {
          const title = `${run} ${form} ${i}`;
          if (form === 'create') {
            await page.getByLabel('Title', { exact: true }).fill(title);
            await page.getByLabel('Blocks').fill(`block of ${title}`);
            await page.getByRole('button', { name: 'Create page', exact: true }).click();
          } else {
            await page.getByLabel('Quick page', { exact: true }).fill(title);
            await page.getByRole('button', { name: 'Create quick page', exact: true }).click();
          }
          // This submission's outcome (by its title), or the error boundary in place of the page.
          const shown = page.locator(`[data-testid="action-outcome"][data-title="${title}"], [data-testid="error-boundary"]`).first();
          await shown.waitFor({ timeout: OUTCOME_TIMEOUT_MS });
          if ((await shown.getAttribute('data-testid')) === 'error-boundary') {
            submissions.push({ form, title, shown: 'boundary', pageId: '', error: await boundaryError(page) });
            await open(page);
            continue;
          }
          const outcome = (await shown.getAttribute('data-outcome')) as Exclude<Shown, 'boundary'>;
          const pageId = (await shown.getAttribute('data-page-id')) ?? '';
          submissions.push({
            form,
            title,
            shown: outcome,
            pageId,
            ...(outcome === 'created' ? {} : { error: (await shown.textContent()) ?? '' }),
          });
        }
      } finally {
        await context.close();
      }
    };

    const before = await metricsText();
    const started = Date.now();
    const killer = startKillLoop(stack.adminUrl, database);
    const watchdog = startPgbouncerWatchdog(stack);
    try {
      await Promise.all([drive('create'), drive('quick')]);
    } finally {
      await killer.stop();
      await watchdog.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const after = await metricsText();
    const delta = (name: string, labels?: RegExp) => sample(after, name, labels) - sample(before, name, labels);

    // Postgres itself, not through the app or PgBouncer.
    const { rows } = await db.query<{ title: string; ids: string[]; blocks: number }>(
      `SELECT p.title, array_agg(DISTINCT p.id) AS ids, count(b.id)::int AS blocks
         FROM "Page" p LEFT JOIN "Block" b ON b."pageId" = p.id
        WHERE p.title LIKE $1 GROUP BY p.title`,
      [`${run} %`],
    );
    const written = new Map(rows.map((row) => [row.title, row]));
    const count = (title: string) => written.get(title)?.ids.length ?? 0;

    const by = (shown: Shown) => submissions.filter((s) => s.shown === shown);
    const report = {
      seconds,
      submissions: submissions.length,
      created: by('created').length,
      createdWithoutId: by('created').filter((s) => s.pageId === '').length,
      failed: by('failed').length,
      boundary: by('boundary').length,
      unknown: by('unknown').length,
      unknownWritten: by('unknown').filter((s) => count(s.title) > 0).length,
      rows: rows.reduce((n, row) => n + row.ids.length, 0),
      kills: killer.kills,
      killLoopAdminErrors: killer.adminErrors,
      pgbouncerRestarts: watchdog.restarts,
      pageLoadFailures,
      writeRetries: delta('pgpool_retries_total', /kind="(write|plain-write)"/),
      readRetries: delta('pgpool_retries_total', /kind="(read|plain-read)"/),
      // Calls that met a KILL (08P01 database removed) or a restart and were retried until failoverTimeoutMs.
      failoverCalls: delta('pgpool_failover_calls_total'),
      lostCommits: {
        committed: delta('pgpool_lost_commits_total', /outcome="committed"/),
        aborted: delta('pgpool_lost_commits_total', /outcome="aborted"/),
        unknown: delta('pgpool_lost_commits_total', /outcome="unknown"/),
      },
      failedOperations: delta('pgpool_operations_failed_total'),
    };
    console.error(`[next kills] ${JSON.stringify(report)}`);

    expect(submissions).toHaveLength(2 * PER_FORM);
    const shownError = submissions.filter((s) => s.shown === 'failed' || s.shown === 'boundary');
    // Each error shown with the server's log of it: the digest the boundary showed is on the last
    // line of `next start`'s report of that error, which starts at its `⨯` line; the debug lines
    // just before it are that call's failed attempts.
    const log = app?.output().split('\n') ?? [];
    mkdirSync(path.join(repoRoot, 'artifacts'), { recursive: true });
    writeFileSync(path.join(repoRoot, 'artifacts/next-kills-server.log'), log.join('\n'));
    const serverLog = (error = '') => {
      const digest = /^digest (\S+):/.exec(error)?.[1];
      const at = digest ? log.findIndex((line) => line.includes(digest)) : -1;
      if (at === -1) return `${error} (not in the server log)`;
      let from = at;
      while (from > 0 && at - from < 40 && !log[from]?.includes('⨯')) from--;
      for (let n = 0; n < 8 && from > 0 && /^\S+Z (DatabasePooling|ConnectionPoolManager) /.test(log[from - 1] ?? ''); n++) from--;
      return `${error}\n${log.slice(from, at + 1).join('\n')}`;
    };
    const shownErrors = shownError.map((s) => `${s.title} (${s.shown}, written ${count(s.title)}): ${serverLog(s.error)}`);
    if (shownErrors.length + pageLoadErrors.length > 0) {
      console.error(
        `[next kills] errors shown:\n${[...shownErrors, ...pageLoadErrors.map((e) => `page load: ${serverLog(e)}`)].join('\n')}`,
      );
    }
    const serverErrors = log
      .filter((line) => line.includes('⨯'))
      .slice(-20)
      .join('\n');
    expect(
      {
        // An error shown for a page that was saved: the user would create it again.
        failedButWritten: shownError.filter((s) => count(s.title) > 0).map((s) => s.title),
        // Shown created, yet missing or there more than once.
        createdNotOnce: by('created')
          .filter((s) => count(s.title) !== 1)
          .map((s) => s.title),
        // The id the page showed is the row's.
        createdOtherId: by('created')
          .filter((s) => s.pageId !== '' && !written.get(s.title)?.ids.includes(s.pageId))
          .map((s) => s.title),
        duplicated: rows.filter((row) => row.ids.length > 1).map((row) => row.title),
        // A page and its block are one transaction: never one without the other.
        halfWritten: rows.filter((row) => row.title.includes(' create ') && row.blocks !== 1).map((row) => row.title),
        notSubmitted: rows.filter((row) => !submissions.some((s) => s.title === row.title)).map((row) => row.title),
      },
      `errors shown:\n${shownErrors.join('\n')}\nthe app's last errors:\n${serverErrors}`,
    ).toEqual({ failedButWritten: [], createdNotOnce: [], createdOtherId: [], duplicated: [], halfWritten: [], notSubmitted: [] });
    // "Could not confirm" is not an error, but it must stay rare: only what the database cannot tell.
    expect(report.unknown).toBeLessThanOrEqual(Math.max(1, Math.floor(report.kills / 100)));
    // The faults bit: PgBouncer dropped connections, and calls met them (retried, or a lost COMMIT settled).
    expect(report.kills).toBeGreaterThan(10);
    expect(report.writeRetries + report.lostCommits.committed + report.lostCommits.aborted).toBeGreaterThan(0);

    // A passing run's report is the figure docs/nextjs.md shows (no figure is typed by hand).
    if (process.env.PGPOOL_UPDATE_DOCS === '1') {
      const version = (await adminCommand<{ version: string }>(stack.adminUrl, 'SHOW VERSION')).rows[0]?.version ?? 'PgBouncer';
      const command = 'PGPOOL_UPDATE_DOCS=1 npx vitest run --project integration test/integration/next/server-action-kills.test.ts';
      const block = `\`\`\`text\n[next kills] ${JSON.stringify(report)}\n\`\`\`\n\nOne run against ${version}, \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`;
      console.error(`[next kills] written: ${updateGeneratedBlocks('docs/nextjs.md', { 'next-kills': block })}`);
    }
  });
});
