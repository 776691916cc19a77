/**
 * The platform keep-alive against the real stack, with stand-ins for each platform's request
 * context: Vercel's on globalThis (the same symbol @vercel/functions reads), Next.js's (what
 * Netlify's Next.js runtime publishes), and the `waitUntil` option. While connections are open a
 * waitUntil promise is registered; it settles once the idle timeout has closed every connection
 * (pg-pool and PgBouncer both see none); where no platform or option gives one, nothing is registered.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { KeepAliveSettle } from '~/lifecycle/keep-alive.ts';
import { NEXT_REQUEST_CONTEXT, VERCEL_REQUEST_CONTEXT } from '~/lifecycle/request-context.ts';
import { runWithRequestContext } from '~/lifecycle/request-context-scope.ts';
import { showClients } from '../../../tools/stack/faults/index.ts';
import { type TestManager, testManager } from '../../support/managers.ts';

const stack = inject('stack');
const VERCEL = { VERCEL_URL: 'app-abc.vercel.app', VERCEL_REGION: 'iad1', USE_TRANSACTION_MODE: undefined };
const IDLE_MS = 400;

interface Registered {
  promise: Promise<unknown>;
  /** pg-pool's connections when waitUntil was called. */
  openAtRegistration: number;
  at: number;
}
let registered: Registered[];
let current: TestManager | null = null;
const managers: TestManager[] = [];

beforeEach(() => {
  registered = [];
  (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT] = {
    get: () => ({
      waitUntil: (promise: Promise<unknown>) =>
        registered.push({ promise, openAtRegistration: current?.getMetrics().pool.total ?? -1, at: performance.now() }),
    }),
  };
});
afterEach(async () => {
  delete (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT];
  delete (globalThis as Record<symbol, unknown>)[NEXT_REQUEST_CONTEXT];
  current = null;
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

function manager(
  env: Record<string, string | undefined>,
  applicationName: string,
  waitUntil?: (promise: Promise<unknown>) => void,
): TestManager {
  const m = testManager(
    stack,
    { DATABASE_URL: `${stack.poolerUrl}?connection_limit=2`, ...env },
    { applicationName, pool: { idleTimeoutMs: IDLE_MS }, waitUntil },
  );
  managers.push(m);
  current = m;
  return m;
}

const pgbouncerClients = async (applicationName: string) =>
  (await showClients(stack.adminUrl)).filter((c) => c.application_name === applicationName).length;

describe('platform keep-alive (stand-in request contexts)', () => {
  it('registers waitUntil while connections are open; it settles after the idle timeout with none open', async () => {
    const applicationName = `fluid-${randomUUID().slice(0, 8)}`;
    const m = manager(VERCEL, applicationName);
    expect(m.config.runtime).toBe('vercel');
    await Promise.all([1, 2].map(() => m.readWithPooling((tx) => tx.$queryRaw`SELECT 1 AS one FROM pg_sleep(0.05)`)));
    const releasedAt = performance.now();
    expect(registered.length).toBeGreaterThanOrEqual(2);
    expect(registered.every((r) => r.openAtRegistration >= 1)).toBe(true);
    expect(await pgbouncerClients(applicationName)).toBe(2);

    const last = registered.at(-1) as Registered;
    const how = (await last.promise) as KeepAliveSettle;
    const settledAt = performance.now();
    // Settled because the pool emptied (not by the backstop timer), after pg's idle timeout ran.
    expect(how).toBe('pool-empty');
    expect(settledAt - releasedAt).toBeGreaterThanOrEqual(IDLE_MS - 5);
    expect(m.getMetrics().pool.total).toBe(0);
    expect(await pgbouncerClients(applicationName)).toBe(0);
    // Earlier promises were superseded by later releases: every one has settled.
    const all = await Promise.all(registered.map((r) => Promise.race([r.promise, Promise.resolve('pending')])));
    expect(all).not.toContain('pending');
  });

  it('a later request restarts the wait; the manager keeps working after the pool emptied', async () => {
    const m = manager(VERCEL, `fluid-${randomUUID().slice(0, 8)}`);
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    expect(await registered.at(-1)?.promise).toBe('pool-empty');
    const before = registered.length;
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    expect(registered.length).toBeGreaterThan(before);
    expect(await registered.at(-1)?.promise).toBe('pool-empty');
  });

  it("Netlify with Next.js's request context: the promise settles once the pool is empty", async () => {
    // What @netlify/plugin-nextjs publishes (run/handlers/wait-until.cts); Vercel's stand-in is moved there.
    const vercel = (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT];
    delete (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT];
    (globalThis as Record<symbol, unknown>)[NEXT_REQUEST_CONTEXT] = vercel;
    const applicationName = `netlify-${randomUUID().slice(0, 8)}`;
    const m = manager({ NETLIFY: 'true', USE_TRANSACTION_MODE: 'true' }, applicationName);
    expect(m.config.runtime).toBe('netlify');
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    expect(registered.length).toBeGreaterThanOrEqual(1);
    expect(await registered.at(-1)?.promise).toBe('pool-empty');
    expect(await pgbouncerClients(applicationName)).toBe(0);
  });

  it("a plain Netlify function's context, passed with runWithRequestContext, gets the release of a real call", async () => {
    const handed: Promise<unknown>[] = [];
    // Like Netlify's Context: waitUntil is a method.
    const context = {
      handed,
      waitUntil(promise: Promise<unknown>) {
        this.handed.push(promise);
      },
    };
    const m = manager({ NETLIFY: 'true', USE_TRANSACTION_MODE: 'true' }, `netlify-fn-${randomUUID().slice(0, 8)}`);
    await runWithRequestContext(context, () => m.writeWithPooling((tx) => tx.$executeRaw`SELECT 1`));
    expect(handed.length).toBeGreaterThanOrEqual(1);
    expect(registered).toHaveLength(0); // Vercel's stand-in is not read on Netlify
    expect(await handed.at(-1)).toBe('pool-empty');
  });

  it('the waitUntil option is used first, and works where the platform has no request context (Lambda)', async () => {
    const handed: Promise<unknown>[] = [];
    const m = manager({ AWS_LAMBDA_FUNCTION_NAME: 'fn', USE_TRANSACTION_MODE: 'true' }, `option-${randomUUID().slice(0, 8)}`, (p) =>
      handed.push(p),
    );
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    expect(handed.length).toBeGreaterThanOrEqual(1);
    expect(registered).toHaveLength(0); // the global stand-in is not read on Lambda
    expect(await handed.at(-1)).toBe('pool-empty');
  });

  it.each([
    ['a build (VERCEL_URL without VERCEL_REGION)', { VERCEL_URL: 'app-abc.vercel.app', USE_TRANSACTION_MODE: 'true' }],
    ['another serverless runtime', { AWS_LAMBDA_FUNCTION_NAME: 'fn', USE_TRANSACTION_MODE: 'true' }],
    ['local', { USE_TRANSACTION_MODE: 'true' }],
  ])('registers nothing without a platform request context or the option: %s', async (_, env) => {
    const m = manager(env, `fluid-${randomUUID().slice(0, 8)}`);
    await m.readWithPooling((tx) => tx.$queryRaw`SELECT 1`);
    await m.warmup();
    expect(m.getMetrics().pool.total).toBeGreaterThan(0);
    expect(registered).toHaveLength(0);
  });
});
