/**
 * `check` as a user runs it in an app folder: the variables come from `.env.local` (where
 * `vercel env pull` and Next.js put them), failures name the variable and its file, show the URL
 * as written and as used (both redacted) and the OS-level cause, and `--pooled` checks the
 * transaction-mode path.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cleanEnv, runCli } from '../../support/cli.ts';

const stack = inject('stack');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function app(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'pgpool-check-'));
  dirs.push(root);
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(root, file), content);
  return root;
}

interface Report {
  ok: boolean;
  fatal: string | null;
  envFiles: string[];
  checks: { name: string; ok: boolean; detail: string }[];
  config: { mode: string; urlVariable: string };
}
const json = (stdout: string) => JSON.parse(stdout) as Report;

describe('check', () => {
  it('finds a DATABASE_URL that only .env.local holds, and says so; --pooled takes the transaction-mode path', async () => {
    const root = app({ '.env.local': `DATABASE_URL=${stack.poolerUrl}\n`, '.env': 'DATABASE_URL=postgres://wrong@nowhere.invalid/db\n' });
    const session = await runCli(['check', '--json'], { cwd: root, env: cleanEnv() });
    const report = json(session.stdout);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report).toMatchObject({ ok: true, envFiles: ['.env.local', '.env'], config: { mode: 'session', urlVariable: 'DATABASE_URL' } });
    expect(report.checks[0]?.detail).toMatch(/URL from DATABASE_URL \(from \.env\.local\)/);
    expect(report.checks[0]?.detail).toMatch(/; endpoints: open to every caller/);
    expect(session.code).toBe(0);

    const pooled = json((await runCli(['check', '--json', '--pooled'], { cwd: root, env: cleanEnv() })).stdout);
    expect(pooled).toMatchObject({ ok: true, config: { mode: 'transaction' } });
    expect(pooled.checks[0]?.detail).toMatch(/forced by USE_TRANSACTION_MODE=true.*transaction mode forced by --pooled/);
  });

  it('says what the health and metrics endpoints will do: a short PGPOOL_ENDPOINT_TOKEN fails the configuration check, unshown', async () => {
    const root = app({ '.env.local': `DATABASE_URL=${stack.poolerUrl}\nPGPOOL_ENDPOINT_TOKEN=tooshort\n` });
    const result = await runCli(['check', '--json'], { cwd: root, env: cleanEnv() });
    const report = json(result.stdout);
    expect(report.checks.find((c) => c.name === 'configuration')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/endpoints: PGPOOL_ENDPOINT_TOKEN: must be at least 16 characters/),
    });
    expect(result.stdout).not.toContain('tooshort');
    expect(result.code).toBe(1);
    const lambda = json(
      (
        await runCli(['check', '--json'], {
          cwd: app({ '.env.local': `DATABASE_URL=${stack.poolerUrl}\n` }),
          env: cleanEnv({ AWS_LAMBDA_FUNCTION_NAME: 'f' }),
        })
      ).stdout,
    );
    expect(lambda.checks[0]?.detail).toMatch(/endpoints: PGPOOL_ENDPOINT_TOKEN not set on lambda: .*metrics answer 401/);
  });

  it('reads .env.<NODE_ENV>.local first and leaves .env.local out for NODE_ENV=test (as Next.js does)', async () => {
    const root = app({
      '.env.test.local': `DATABASE_URL=${stack.poolerUrl}\n`,
      '.env.local': 'DATABASE_URL=postgres://wrong@nowhere.invalid/db\n',
      '.env': 'INSTANCE_COUNT=2\n',
    });
    const result = await runCli(['check'], { cwd: root, env: cleanEnv({ NODE_ENV: 'test' }) });
    expect(result.stdout).toMatch(/^\nenv files \(NODE_ENV=test, first wins\): \.env\.test\.local, \.env\n/);
    expect(result.stdout).toMatch(/URL from DATABASE_URL \(from \.env\.test\.local\)/);
    expect(result.code).toBe(0);
  });

  it.each<[string, (url: URL) => void, RegExp]>([
    [
      'a refused port',
      (url) => {
        url.port = '1';
      },
      /: ECONNREFUSED: nothing listens on 127\.0\.0\.1:1 /,
    ],
    [
      'a port the package rewrote (5432 → 6543), refused: says so and names the variable',
      (url) => {
        // Loopback, but not the stack's 127.0.0.1: nothing listens on its 6543.
        url.hostname = '127.0.0.9';
      },
      /: ECONNREFUSED: nothing listens on 127\.0\.0\.9:6543 .*; port 6543 is a port this package chose \(5432 → 6543\): DATABASE_URL names port 5432/,
    ],
    [
      'an unknown host',
      (url) => {
        url.hostname = 'no-such-host.invalid';
      },
      /: ENOTFOUND: the host name no-such-host\.invalid does not resolve/,
    ],
  ])('%s: one line naming the variable and its file, both URLs redacted, the OS-level cause', async (_name, change, cause) => {
    const url = new URL(stack.poolerUrl.replace(/:\d+\//, ':5432/'));
    change(url);
    const password = decodeURIComponent(url.password);
    const root = app({ '.env.local': `DATABASE_URL=${url}\n` });
    const result = await runCli(['check', '--pooled'], { cwd: root, env: cleanEnv() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    // As written (5432, or port 1) and as used (transaction mode: 6543 for a self-hosted PgBouncer on 5432).
    expect(lines[0]).toMatch(
      /^prisma-pgbouncer-pooling check: FAILED: cannot reach DATABASE_URL \(from \.env\.local\) postgres(ql)?:\/\/app:\*\*\*@/,
    );
    expect(lines[0]).toMatch(cause);
    if (url.port === '5432') expect(lines[0]).toMatch(/:5432\/app, used as postgres(ql)?:\/\/app:\*\*\*@[\w.-]+:6543\/app\?/);
    expect(lines[0]).not.toContain(password);
  });

  it('a configuration error is one line that starts with the variable, with no doubled prefix', async () => {
    const root = app({ '.env': 'DATABASE_URL=mysql://u:topsecret@h/db\n' });
    const result = await runCli(['check'], { cwd: root, env: cleanEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^prisma-pgbouncer-pooling check: FAILED: DATABASE_URL: .* \(from \.env\)\n$/);
    expect(result.stderr).not.toMatch(/config(uration)?: config/);
    expect(result.stderr).not.toContain('topsecret');
  });
});
