import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolvePoolConfig } from '../../../src/config/resolve-pool-config.ts';
import { attachKeepAlive, CLOSE_GRACE_MS, type KeepAliveOptions, type KeepAliveSettle } from '../../../src/lifecycle/keep-alive.ts';
import { readGlobalRequestContext, VERCEL_REQUEST_CONTEXT, type WaitUntilSource } from '../../../src/lifecycle/request-context.ts';
import { isVercelFunctionInstance } from '../../../src/runtime/function-instance.ts';

const VERCEL = { VERCEL_URL: 'app-abc.vercel.app', VERCEL_REGION: 'iad1' };

/** The pg.Pool events this module listens to, on a plain emitter with settable counts. */
class FakePool extends EventEmitter {
  totalCount = 0;
  idleCount = 0;
}

describe('isVercelFunctionInstance', () => {
  it.each([
    [VERCEL, true],
    [{ VERCEL_URL: 'x.vercel.app' }, false], // a build: no region
    [{ VERCEL_REGION: 'iad1' }, false],
    [{ VERCEL: '1', VERCEL_ENV: 'production' }, false],
    [{ VERCEL_URL: '', VERCEL_REGION: 'iad1' }, false],
    [{}, false],
  ])('%j → %s', (env, expected) => {
    expect(isVercelFunctionInstance(env)).toBe(expected);
  });
});

describe('attachKeepAlive', () => {
  let registered: Promise<unknown>[];
  const source: WaitUntilSource = { name: 'stand-in', read: () => ({ waitUntil: (p: Promise<unknown>) => registered.push(p) }) };
  const attach = (pool: FakePool, options: Omit<KeepAliveOptions, 'sources'>, sources = [source]) =>
    attachKeepAlive(pool, { ...options, sources });
  beforeEach(() => {
    registered = [];
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const settledWith = async (p: Promise<unknown> | undefined): Promise<KeepAliveSettle | 'pending'> =>
    Promise.race([p as Promise<KeepAliveSettle>, Promise.resolve('pending' as const)]);

  it('hands waitUntil a promise per release that settles idle timeout + 100 ms after the last release', async () => {
    const pool = new FakePool();
    const detach = attach(pool, { idleTimeoutMs: 1000, uptimeMs: () => 0 });
    pool.emit('release');
    expect(registered).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(600);
    pool.emit('release'); // restarts the wait, settles the superseded promise
    expect(registered).toHaveLength(2);
    expect(await settledWith(registered[0])).toBe('superseded');
    await vi.advanceTimersByTimeAsync(1099);
    expect(await settledWith(registered[1])).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await settledWith(registered[1])).toBe('timer');
    detach();
  });

  it('settles at once when no pooled socket is open any more, not 100 ms later', async () => {
    const pool = new FakePool();
    attach(pool, { idleTimeoutMs: 1000, uptimeMs: () => 0 });
    pool.emit('connect');
    pool.emit('connect');
    pool.emit('release');
    pool.emit('remove'); // one of two closed: keep waiting
    expect(await settledWith(registered[0])).toBe('pending');
    pool.emit('remove');
    expect(await settledWith(registered[0])).toBe('pool-empty');
  });

  it('when the timer fires with an idle connection still open, waits for it (at most CLOSE_GRACE_MS)', async () => {
    const pool = new FakePool();
    attach(pool, { idleTimeoutMs: 1000, uptimeMs: () => 0 });
    pool.emit('connect');
    pool.totalCount = 1;
    pool.emit('release');
    pool.idleCount = 1; // pg's idle timer is late (busy CPU)
    await vi.advanceTimersByTimeAsync(1100);
    expect(await settledWith(registered[0])).toBe('pending');
    pool.idleCount = 0;
    pool.totalCount = 0; // pg removed it; its socket is still closing
    await vi.advanceTimersByTimeAsync(500);
    expect(await settledWith(registered[0])).toBe('pending');
    pool.emit('remove');
    expect(await settledWith(registered[0])).toBe('pool-empty');

    // And never longer than the grace: a connection that does not close in time.
    pool.emit('connect');
    pool.totalCount = 1;
    pool.emit('release');
    pool.idleCount = 1;
    await vi.advanceTimersByTimeAsync(1100 + CLOSE_GRACE_MS - 1);
    expect(await settledWith(registered[1])).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(await settledWith(registered[1])).toBe('timer');
  });

  it('never waits past 15 minutes − 1 s of instance age (Vercel caps it the same way)', async () => {
    const pool = new FakePool();
    attach(pool, { idleTimeoutMs: 5000, uptimeMs: () => 15 * 60 * 1000 - 1000 - 300 });
    pool.emit('release');
    await vi.advanceTimersByTimeAsync(300);
    expect(await settledWith(registered[0])).toBe('timer');
  });

  it('detach settles the pending promise and removes the listeners', async () => {
    const pool = new FakePool();
    const detach = attach(pool, { idleTimeoutMs: 1000 });
    pool.emit('release');
    detach();
    expect(await settledWith(registered[0])).toBe('detached');
    expect(pool.listenerCount('connect') + pool.listenerCount('release') + pool.listenerCount('remove')).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a waitUntil that throws (request already over) is logged, never thrown into pg-pool's release", () => {
    const pool = new FakePool();
    const log = vi.fn();
    const throwing: WaitUntilSource = {
      name: 'finished request',
      read: () => ({
        waitUntil: () => {
          throw new Error('waitUntil called after the response');
        },
      }),
    };
    const detach = attach(pool, { idleTimeoutMs: 1000, log }, [throwing]);
    expect(() => pool.emit('release')).not.toThrow();
    expect(log).toHaveBeenCalledWith(expect.stringContaining('threw'), 'keep-alive', 'finished request');
    detach();
  });

  it('outside a request context registers nothing and logs it', () => {
    const pool = new FakePool();
    const log = vi.fn();
    attach(pool, { idleTimeoutMs: 1000, log }, [{ name: 'none', read: () => undefined }]);
    pool.emit('release');
    expect(log).toHaveBeenCalledWith(expect.stringContaining('outside a request context'), 'keep-alive');
  });
});

describe('readGlobalRequestContext', () => {
  afterEach(() => {
    delete (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT];
  });
  it('reads the context Vercel registers on globalThis, and undefined without one', () => {
    expect(readGlobalRequestContext('@vercel/request-context')).toBeUndefined();
    const context = { waitUntil: () => {} };
    (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT] = { get: () => context };
    expect(readGlobalRequestContext('@vercel/request-context')).toBe(context);
  });

  it.each([
    ['a holder without get()', {}],
    ['get() outside a request', { get: () => undefined }],
    ['a context without waitUntil', { get: () => ({}) }],
    [
      'a get() that throws',
      {
        get: () => {
          throw new Error('renamed internals');
        },
      },
    ],
  ])('%s → undefined, never a throw', (_name, holder) => {
    (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT] = holder;
    expect(readGlobalRequestContext('@vercel/request-context')).toBeUndefined();
  });
});

describe('idle timeout default', () => {
  const url = 'postgres://app:pw@db.example.com:6543/app';
  it('is 2 s in a Vercel function, 5 s elsewhere in serverless, 30 s in session mode; the option wins', () => {
    expect(resolvePoolConfig({ DATABASE_URL: url, ...VERCEL }).idleTimeoutMs).toBe(2000);
    expect(resolvePoolConfig({ DATABASE_URL: url, VERCEL_URL: 'x.vercel.app' }).idleTimeoutMs).toBe(5000);
    expect(resolvePoolConfig({ DATABASE_URL: url, AWS_LAMBDA_FUNCTION_NAME: 'f' }).idleTimeoutMs).toBe(5000);
    expect(resolvePoolConfig({ DATABASE_URL: url }).idleTimeoutMs).toBe(30_000);
    expect(resolvePoolConfig({ DATABASE_URL: url, ...VERCEL }, { idleTimeoutMs: 700 }).idleTimeoutMs).toBe(700);
  });
});
