/**
 * The dashboard and the alert rules against a real Prometheus (Debian's `prometheus` package)
 * scraping the example React Router app (examples/remix-app, built and started as its browser test
 * does: one build shared by both) with the documented scrape config. The app runs as on a serverless
 * platform (Cloud Run's K_SERVICE) with PGPOOL_ENDPOINT_TOKEN set, against the shared stack's
 * PgBouncer in transaction mode with a read URL: its /api/metrics answers 401 without the token and
 * 200 with it, and Prometheus scrapes it through the config's `authorization` block. Traffic is the
 * app's own pages and actions over HTTP (page loads, logins, a page created, one created with a title
 * Postgres refuses, one login while the app's INSERT grant on ActivityLog is revoked); then every panel query and every alert rule's query runs through the HTTP API
 * and must return data, `promtool check rules` must pass and Prometheus must have loaded the rules.
 *
 * Prometheus runs on a free loopback port with its data under a `pgpool-stack-*` temp dir, so the
 * CI script's leftover check sees it if it were ever left behind; both go in afterAll.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureBuild } from '../../../tools/example/build.ts';
import { findFreePort } from '../../../tools/stack/start-stack.ts';
import { expectCleanStop, type RunningApp, startApp } from '../../support/example-app.ts';

const stack = inject('stack');
const DASHBOARDS = fileURLToPath(new URL('../../../docs/dashboards/', import.meta.url));
const JOB = 'prisma-pgbouncer-pooling';
const TOKEN = 'dashboard-test-token-0123456789abcdef';
const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p)) ?? 'prometheus';
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p)) ?? 'promtool';

let app: RunningApp | undefined;
let prometheus: ChildProcess | null = null;
let prometheusUrl = '';
let dir = '';
let traffic: NodeJS.Timeout | null = null;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface QueryResult {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  error?: string;
}

async function query(expr: string): Promise<QueryResult> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  return (await response.json()) as QueryResult;
}

/** Grafana's variables as a dashboard user would have them: this job, a 1-minute rate window. */
const resolveVariables = (expr: string) => expr.replaceAll('$job', JOB).replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');

/** An alert's query without its threshold: `a / b > 0.9` → `a / b` (the data it judges). */
function withoutThreshold(expr: string): string {
  const match = /^([\s\S]*?)\s*(?:>=|<=|==|!=|>|<)\s*-?[\d.e]+\s*$/.exec(expr.trim());
  if (!match?.[1]) throw new Error(`alert expression has no trailing threshold: ${expr}`);
  return match[1];
}

/** The alert rules' expressions, read from the YAML as Prometheus does (one `expr:` line each). */
function alertExpressions(): Array<{ alert: string; expr: string }> {
  const text = readFileSync(path.join(DASHBOARDS, 'alerts.yml'), 'utf8');
  return [...text.matchAll(/- alert: (\S+)\n\s+expr: (.+)\n/g)].map((m) => ({ alert: m[1] as string, expr: m[2] as string }));
}

function panelQueries(): Array<{ title: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(path.join(DASHBOARDS, 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
  };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })));
}

function run(file: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

const withToken = { authorization: `Bearer ${TOKEN}` };

/** A form post to the example's workspace action (`/?index`), as its page's form sends it. */
const createPage = (title: string) =>
  fetch(`${app?.baseUrl}/?index`, {
    method: 'POST',
    body: new URLSearchParams({ title, blocks: 'Dashboard block' }),
    redirect: 'manual',
  });

/** What a visitor does: the workspace page (reads through readWithPooling) and a login (a write). */
async function visit(): Promise<void> {
  await fetch(`${app?.baseUrl}/`).then((r) => r.arrayBuffer());
  await fetch(`${app?.baseUrl}/login`, { method: 'POST', redirect: 'manual' }).then((r) => r.arrayBuffer());
}

beforeAll(async () => {
  const started = Date.now();
  const built = await ensureBuild();
  console.error(`[dashboard] example ${built ? 'built' : 'build reused'} in ${Date.now() - started} ms`);
  app = await startApp(
    'tools/example/run-example.ts',
    {
      NODE_ENV: 'production',
      DATABASE_URL: stack.poolerUrl,
      // A read URL (the primary itself: the monitor reads its WAL position as lag 0) gives the replica families series.
      DATABASE_URL_READ: stack.directUrl,
      PGBOUNCER_ADMIN_URL: stack.adminUrl,
      // A serverless platform (Cloud Run runs a container like this one): the endpoints need the token.
      K_SERVICE: 'pgpool-dashboard-example',
      PGPOOL_ENDPOINT_TOKEN: TOKEN,
    },
    { name: 'example app', readyTimeoutMs: 30_000 },
  );
  await visit();
  expect((await createPage(`Dashboard page ${Date.now()}`)).status).toBeLessThan(400);
  // Postgres refuses a NUL byte in text: a failed write the app's caller caused (error_kind "data")…
  expect((await createPage('refused\u0000title')).status).toBe(500);
  // …and one the database caused, as a deploy that dropped a grant would (42501, error_kind "query"):
  // the PgpoolOperationsFailing alert leaves out the kinds a caller causes. The grant is back at once.
  const admin = new pg.Client({ connectionString: stack.superuserUrl });
  await admin.connect();
  try {
    await admin.query('REVOKE INSERT ON "ActivityLog" FROM app');
    expect((await fetch(`${app.baseUrl}/login`, { method: 'POST', redirect: 'manual' })).status).toBe(500);
  } finally {
    await admin.query('GRANT INSERT ON "ActivityLog" TO app');
    await admin.end();
  }
  traffic = setInterval(() => void visit().catch(() => {}), 200);

  dir = mkdtempSync(path.join(tmpdir(), 'pgpool-stack-prometheus-'));
  writeFileSync(path.join(dir, 'token'), TOKEN);
  // The documented scrape config, pointed at this server: its authorization block sends the token.
  const config = readFileSync(path.join(DASHBOARDS, 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
    .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s')
    .replace('scheme: https', 'scheme: http')
    .replace('/etc/prometheus/pgpool-endpoint-token', path.join(dir, 'token'))
    .replace('your-app.example.com', new URL(app.baseUrl).host)
    .replace('- alerts.yml', `- ${path.join(DASHBOARDS, 'alerts.yml')}`);
  expect(config).toContain(new URL(app.baseUrl).host);
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  expect(await run(PROMTOOL, ['check', 'config', path.join(dir, 'prometheus.yml')])).toMatchObject({ code: 0 });

  const port = await findFreePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr?.on('data', (chunk: Buffer) => {
    log = `${log}${chunk}`.slice(-4000);
  });
  // Ready, then at least three scrapes of this job (rate() needs two samples in its window).
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error(`Prometheus did not scrape the app in time:\n${log}`);
    if (prometheus.exitCode !== null) throw new Error(`Prometheus exited (${prometheus.exitCode}):\n${log}`);
    const ready = await query(`count_over_time(up{job="${JOB}"}[1m])`).catch(() => null);
    if (Number(ready?.data?.result?.[0]?.value?.[1] ?? 0) >= 4) break;
    await sleep(250);
  }
}, 60_000);

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
  await expectCleanStop(app, 'example app');
});

describe('the dashboard against a real Prometheus scraping the example app', () => {
  it('on a serverless platform the metrics endpoint answers 401 without the token and 200 with it; health details only with it', async () => {
    const anonymous = await fetch(`${app?.baseUrl}/api/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('pgpool_');
    expect((await fetch(`${app?.baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}-wrong` } })).status).toBe(401);
    const metrics = await fetch(`${app?.baseUrl}/api/metrics`, { headers: withToken });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('pgpool_operations_total{kind="read"}');
    expect(await (await fetch(`${app?.baseUrl}/api/health`)).json()).toEqual({ status: expect.any(String) });
    const detailed = (await (await fetch(`${app?.baseUrl}/api/health`, { headers: withToken })).json()) as {
      checks: { connectionPool: { mode: string; port: number } };
    };
    expect(detailed.checks.connectionPool).toMatchObject({ mode: 'transaction', port: stack.poolerPort });
  });

  it('the scrape succeeds through the authorization block', async () => {
    const up = await query(`up{job="${JOB}"}`);
    expect(up.data.result.map((r) => r.value[1])).toEqual(['1']);
  });

  it('every panel query returns data', async () => {
    const panels = panelQueries();
    expect(panels.length).toBeGreaterThanOrEqual(19);
    const empty: string[] = [];
    for (const { title, expr } of panels) {
      const result = await query(resolveVariables(expr));
      expect(result.status, `${title}: ${result.error ?? ''}`).toBe('success');
      if (result.data.result.length === 0) empty.push(`${title}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });

  it("every alert rule's query returns data, and Prometheus loaded every rule", async () => {
    const alerts = alertExpressions();
    expect(alerts.length).toBeGreaterThanOrEqual(12);
    const empty: string[] = [];
    for (const { alert, expr } of alerts) {
      const result = await query(withoutThreshold(expr));
      expect(result.status, `${alert}: ${result.error ?? ''}`).toBe('success');
      if (result.data.result.length === 0) empty.push(`${alert}: ${expr}`);
    }
    expect(empty).toEqual([]);
    const rules = (await (await fetch(`${prometheusUrl}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
    };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(alerts.map((a) => a.alert).sort());
    expect(loaded.filter((r) => r.health === 'err')).toEqual([]);
  });

  it('promtool check rules passes', async () => {
    const result = await run(PROMTOOL, ['check', 'rules', path.join(DASHBOARDS, 'alerts.yml')]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});
