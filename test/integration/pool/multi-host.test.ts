/**
 * libpq multi-host URLs on the real stack (direct, session mode): a dead host listed first is
 * skipped, a host that does not match `target_session_attrs` is skipped, and when none matches the
 * call fails (after its failover window) with a NoMatchingHostError that names hosts, not secrets.
 * The switchover itself is test/integration/failover/switchover.test.ts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { NoMatchingHostError } from '~/errors/errors.ts';
import { findFreePort } from '../../../tools/stack/start-stack.ts';
import { testManager } from '../../support/managers.ts';
import { managerTracker } from '../../support/track.ts';

const stack = inject('stack');
const track = managerTracker('each');
const primary = `127.0.0.1:${stack.postgresPort}`;
const password = new URL(stack.directUrl).password;

/** The stack's direct URL with `hosts` in place of its one host, plus `query`. */
const withHosts = (hosts: string, query: string) => `${stack.directUrl.replace(primary, hosts)}?${query}`;

describe('multi-host URLs (direct, session mode)', () => {
  it('skips a host that refuses connections and keeps the primary; the health report lists the hosts', async () => {
    const dead = `127.0.0.1:${await findFreePort()}`;
    const manager = track(
      testManager(stack, {
        DATABASE_URL: withHosts(`${dead},${primary}`, 'target_session_attrs=read-write'),
        USE_TRANSACTION_MODE: 'false',
      }),
    );
    const value = await manager.writeWithPooling(async (tx) => (await tx.$queryRaw<{ v: number }[]>`SELECT 41 + 1 AS v`)[0]?.v);
    expect(value).toBe(42);
    const health = await manager.getHealth();
    expect(health.status).not.toBe('unhealthy');
    expect(health.checks.connectionPool).toMatchObject({ hosts: [dead, primary], targetSessionAttrs: 'read-write' });
    expect(health.checks.database.failovers).toBe(0);
    expect(JSON.stringify(health)).not.toContain(password);
  });

  it('load_balance_hosts=random still only connects to hosts that match', async () => {
    const manager = track(
      testManager(stack, {
        DATABASE_URL: withHosts(`${primary},${primary}`, 'target_session_attrs=primary&load_balance_hosts=random'),
        USE_TRANSACTION_MODE: 'false',
      }),
    );
    const rows = await manager.readWithPooling((tx) => tx.$queryRaw<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`);
    expect(rows).toEqual([{ r: false }]);
  });

  it('no host matches (standby wanted, only a primary listed) and none ever did: NoMatchingHostError within the ordinary budget, no secrets in it', async () => {
    const manager = track(
      testManager(
        stack,
        { DATABASE_URL: withHosts(primary, 'target_session_attrs=standby'), USE_TRANSACTION_MODE: 'false' },
        { retry: { failoverTimeoutMs: 300 } },
      ),
    );
    const error = await manager.writeWithPooling(async () => 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoMatchingHostError);
    expect(classifyError(error)).toMatchObject({ kind: 'connection', retryable: true, failover: true });
    expect((error as Error).message).toBe(`no host in the host list matched target_session_attrs=standby (tried ${primary})`);
    expect((error as Error).message).not.toContain(password);
    // Never reached: a setup problem, not a primary on the move, so no failover window (3 attempts).
    const metrics = manager.getMetrics();
    expect(metrics.failoverCalls).toBe(0);
    expect(metrics.retries).toBe(2);
    expect(metrics.errorsByKind).toEqual({ connection: 1 });
  });
});

describe('prisma-pgbouncer-pooling check with a multi-host URL', () => {
  const root = path.resolve(import.meta.dirname, '../../..');
  const check = (env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const base = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !/^(DATABASE_URL|USE_TRANSACTION_MODE|PGBOUNCER_ADMIN_URL)/.test(k)),
      );
      execFile(
        path.join(root, 'node_modules/.bin/tsx'),
        ['src/cli/main.ts', 'check', '--json'],
        { cwd: root, env: { ...base, ...env }, timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('passes in session mode, reports the hosts, and warns when the URL is used through a pooler; no password printed', async () => {
    const dead = `127.0.0.1:${await findFreePort()}`;
    const url = withHosts(`${dead},${primary}`, 'target_session_attrs=read-write');
    const session = await check({ DATABASE_URL: url, USE_TRANSACTION_MODE: 'false' });
    expect(session.code, session.stderr).toBe(0);
    const report = JSON.parse(session.stdout);
    expect(report.ok).toBe(true);
    expect(report.health.checks.connectionPool).toMatchObject({ hosts: [dead, primary], targetSessionAttrs: 'read-write' });
    expect(report.config.databaseUrl).toContain(`${dead},${primary}`);
    expect(session.stdout + session.stderr).not.toContain(password);
    const pooled = await check({ DATABASE_URL: url, USE_TRANSACTION_MODE: 'true' });
    const budget = JSON.parse(pooled.stdout).checks.find((c: { name: string }) => c.name === 'effective URL and budget');
    expect(budget.detail).toMatch(/a multi-host URL \(2 hosts, target_session_attrs=read-write\) that points at a pooler/);
    expect(pooled.stdout + pooled.stderr).not.toContain(password);
  }, 120_000);
});
