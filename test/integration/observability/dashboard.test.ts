/**
 * The dashboard and the alert rules against a real Prometheus (Debian's `prometheus` package):
 * it scrapes the health server's /api/metrics with the documented scrape config (bearer token in
 * the `authorization` block) while the app does work on the shared stack, then every panel query
 * and every alert rule's query runs through the HTTP API and must return data; `promtool check
 * rules` must pass and Prometheus must have loaded the rules.
 *
 * Prometheus runs on a free loopback port with its data under a `pgpool-stack-*` temp dir, so the
 * CI script's leftover check sees it if it were ever left behind; both go in afterAll.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HealthServer, startHealthServer } from '../../../tools/health-server/health-server.ts';
import { findFreePort } from '../../../tools/stack/start-stack.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const DASHBOARDS = fileURLToPath(new URL('../../../docs/dashboards/', import.meta.url));
const JOB = 'prisma-pgbouncer-pooling';
const TOKEN = 'dashboard-test-token-0123456789abcdef';
const PROMETHEUS = ['/usr/bin/prometheus', '/usr/local/bin/prometheus'].find((p) => existsSync(p)) ?? 'prometheus';
const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p)) ?? 'promtool';

let manager: TestManager;
let server: HealthServer;
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

/** Work of every kind, plus one failing call, so every family has series. */
async function work(): Promise<void> {
  await manager.withPooling((tx) => tx.$queryRaw`SELECT 1`);
  await manager.readWithPooling((tx) => tx.$queryRaw`SELECT 2`);
  await manager.writeWithPooling((tx) => tx.$queryRaw`SELECT 3`);
  await manager.batchWithPooling([(tx) => tx.$queryRaw`SELECT 4`]);
  await manager.prisma.$queryRaw`SELECT 5`;
}

beforeAll(async () => {
  // A replica URL (the primary itself: the monitor reads its WAL position as lag 0) gives the replica families series.
  manager = testManager(stack, { DATABASE_URL_READ: stack.directUrl });
  await work();
  await manager.withPooling((tx) => tx.$queryRaw`SELECT * FROM pgpool_dashboard_no_such_table`).catch(() => {});
  server = await startHealthServer({ port: 0, host: '127.0.0.1', manager, endpoint: { env: { PGPOOL_ENDPOINT_TOKEN: TOKEN } } });
  traffic = setInterval(() => void work().catch(() => {}), 200);

  dir = mkdtempSync(path.join(tmpdir(), 'pgpool-stack-prometheus-'));
  writeFileSync(path.join(dir, 'token'), TOKEN);
  // The documented scrape config, pointed at this server: its authorization block sends the token.
  const config = readFileSync(path.join(DASHBOARDS, 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: \S+/, 'scrape_interval: 1s')
    .replace(/evaluation_interval: \S+/, 'evaluation_interval: 1s')
    .replace('scheme: https', 'scheme: http')
    .replace('/etc/prometheus/pgpool-endpoint-token', path.join(dir, 'token'))
    .replace('your-app.example.com', `127.0.0.1:${server.port}`)
    .replace('- alerts.yml', `- ${path.join(DASHBOARDS, 'alerts.yml')}`);
  expect(config).toContain(`127.0.0.1:${server.port}`);
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
  await server?.close();
  await manager?.disconnect();
});

describe('the dashboard against a real Prometheus scraping the app', () => {
  it('the scrape succeeds through the authorization block (the app answers 401 without it)', async () => {
    expect((await fetch(`${server.url}/api/metrics`)).status).toBe(401);
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
