/**
 * The `debug` output of both namespaces, captured: it tells the mode decision, pool creation, each
 * retry with its kind and delay, and health changes — and never the password or a parameter value.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { debugCapture } from '../../support/debug-logs.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const capture = debugCapture('ConnectionPoolManager,DatabasePooling');
const { lines } = capture;
const managers: TestManager[] = [];

beforeAll(capture.start);
afterAll(async () => {
  await Promise.all(managers.map((m) => m.disconnect()));
  capture.stop();
});

describe('debug logs', () => {
  it('show the decisions and events, never a credential or a query parameter value', async () => {
    const password = decodeURIComponent(new URL(stack.poolerUrl).password);
    const adminPassword = decodeURIComponent(new URL(stack.adminUrl).password);
    expect(password.length).toBeGreaterThan(8);
    const manager = testManager(stack, { PGBOUNCER_ADMIN_URL: stack.adminUrl }, { retry: { baseDelayMs: 5 } });
    managers.push(manager);

    const secretValue = `needle-${Math.random().toString(36).slice(2)}-value`;
    await manager.withPooling((tx) => tx.$queryRaw`SELECT ${secretValue}::text AS v`);
    // A failing query that carries the value too (a unique violation on it).
    await manager.writeWithPooling((tx) => tx.user.create({ data: { email: secretValue } }));
    await manager.writeWithPooling((tx) => tx.user.create({ data: { email: secretValue } })).catch(() => {});
    // One retry: the first attempt fails with a serialization failure (SQLSTATE 40001).
    await manager.withPooling(async (tx, { attempt }) => {
      if (attempt === 1) throw Object.assign(new Error(`could not serialize ${secretValue}`), { code: '40001' });
      return tx.$queryRaw`SELECT 1`;
    });
    await manager.getHealth();
    // A second health check with the same status logs nothing new.
    const before = lines.filter((l) => l.includes('health')).length;
    await manager.getHealth();
    expect(lines.filter((l) => l.includes('health')).length).toBe(before);

    const log = lines.join('\n');
    expect(log).toMatch(
      /ConnectionPoolManager mode transaction \(forced by USE_TRANSACTION_MODE=true; self-hosted PgBouncer: (ports? [\d, ]+ kept|port \d+, kept|port 6432 is PgBouncer's default listen_port, kept)/,
    );
    expect(log).toMatch(/ConnectionPoolManager primary pool \S+ created: max 3/);
    expect(log).toMatch(/DatabasePooling default attempt 1 failed \(serialization 40001\); retrying in \d+ ms/);
    expect(log).toMatch(/DatabasePooling write failed: constraint/);
    expect(log).toMatch(/ConnectionPoolManager health unknown -> healthy/);
    expect(log).toContain('***');
    expect(log).not.toContain(password);
    expect(log).not.toContain(adminPassword);
    expect(log).not.toContain(secretValue);
  });

  it('log a health change with its reason, still without credentials', async () => {
    const bad = new URL(stack.adminUrl);
    bad.password = 'wrong-admin-password';
    const manager = testManager(stack, { PGBOUNCER_ADMIN_URL: bad.toString() });
    managers.push(manager);
    lines.length = 0;
    await manager.getHealth();
    const log = lines.join('\n');
    expect(log).toMatch(/health unknown -> degraded \(pgbouncer admin console unreachable \(auth\)\)/);
    expect(log).not.toContain('wrong-admin-password');
  });
});
