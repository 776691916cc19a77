/**
 * The main job, end to end as a user runs it: `tsx scripts/test-connection-pooling.ts --json`
 * against the shared stack, once with no DATABASE_URL (it brings its own stack and must leave
 * nothing behind), and once against a dead URL (it must fail and say what to do).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { withoutPipelineWarning } from '../../support/installed-versions.ts';
import { processesMentioning } from '../../support/processes.ts';

const stack = inject('stack');
const root = path.resolve(import.meta.dirname, '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(env: Record<string, string | undefined>, args: string[] = ['--json']): Promise<Outcome> {
  // A clean environment: nothing of this test process's DATABASE_URL & co. leaks in.
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DATABASE_URL|USE_TRANSACTION_MODE|PGBOUNCER_ADMIN_URL|INSTANCE_COUNT|MAX_POOL_SIZE)/.test(k),
    ),
  );
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['scripts/test-connection-pooling.ts', ...args],
      { cwd: root, env: { ...base, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('scripts/test-connection-pooling.ts', () => {
  it('passes every check against a configured database and prints one JSON object', async () => {
    const out = await run({
      DATABASE_URL: stack.poolerUrl,
      DATABASE_URL_SESSION: stack.directUrl,
      PGBOUNCER_ADMIN_URL: stack.adminUrl,
      USE_TRANSACTION_MODE: 'true',
    });
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c: { name: string }) => c.name)).toEqual([
      'configuration',
      'effective URL and budget',
      'connectivity: direct vs pooler',
      'wrappers on the real schema (documented usage)',
      'concurrency burst (50 × connection_limit)',
      'prepared statements in transaction mode',
      'Serializable conflict is retried',
      'health',
      'metrics',
    ]);
    expect(result.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(result.config.mode).toBe('transaction');
    expect(result.health.checks.pgbouncer).toBeDefined();
    expect(result.metrics.p99Latency).toBeGreaterThanOrEqual(result.metrics.p95Latency);
    expect(out.stdout).not.toContain(new URL(stack.poolerUrl).password);
  });

  it('with no DATABASE_URL starts its own stack, passes, and leaves no process or temp dir', async () => {
    const out = await run({});
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout).ok).toBe(true);
    // Quiet when right: no configuration warning about its own stack (its port, its URLs).
    // (A pg without `pipeline` rightly gets its one PGPOOL_PG_NO_PIPELINE, about pg, not the stack.)
    expect(withoutPipelineWarning(out.stderr)).not.toMatch(/PrismaPgbouncerPoolingWarning|PGPOOL_/);
    const dir = /initdb in (\S+)\/pgdata/.exec(out.stderr)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir as string)).toBe(false);
    expect(processesMentioning(dir as string)).toEqual([]);
  });

  it('fails with exit code 1 and names what to do when the database is unreachable', async () => {
    const url = new URL(stack.poolerUrl);
    url.port = '1'; // nothing listens there
    const out = await run({ DATABASE_URL: url.toString(), USE_TRANSACTION_MODE: 'true' }, []);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/FAIL/);
    expect(out.stdout).toMatch(/→ .*docs\/[a-z-]+\.md/);
    expect(out.stdout + out.stderr).not.toContain(url.password);
  });
});

describe('npm run load', () => {
  it('drives /api/health with autocannon and reports zero non-2xx with the pool figures', async () => {
    const out = await new Promise<Outcome>((resolve) => {
      const base = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|USE_TRANSACTION_MODE|PGBOUNCER_ADMIN_URL)/.test(k)),
      );
      const env = { ...base, DATABASE_URL: stack.poolerUrl, USE_TRANSACTION_MODE: 'true', PGBOUNCER_ADMIN_URL: stack.adminUrl };
      execFile(
        tsx,
        ['tools/load/run.ts', '--duration', '3', '--connections', '50', '--json'],
        { cwd: root, env, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout);
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.non2xx).toBe(0);
    expect(summary.errors).toBe(0);
    expect(summary.latencyMs.p99).toBeGreaterThanOrEqual(summary.latencyMs.p50);
    expect(summary.pool).toMatchObject({ active: 0, waiting: 0, limit: 3 });
  });
});
