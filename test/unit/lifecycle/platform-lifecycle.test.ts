/**
 * Which keep-alive a platform gets and where its waitUntil comes from, with stand-ins of each
 * platform's request context: Vercel's and Next.js's globals, a Netlify handler's `context`
 * through runWithRequestContext, and @vercel/functions' `waitUntil` through the option.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../src/errors/errors.ts';
import { attachPlatformLifecycle, checkWaitUntilOption, waitUntilSources } from '../../../src/lifecycle/platform-lifecycle.ts';
import { NEXT_REQUEST_CONTEXT, VERCEL_REQUEST_CONTEXT } from '../../../src/lifecycle/request-context.ts';
import { runWithRequestContext } from '../../../src/lifecycle/request-context-scope.ts';
import { createConnectionPoolManager } from '../../../src/manager/connection-pool-manager.ts';
import { detectRuntime } from '../../../src/runtime/detect-runtime.ts';
import { isFunctionInstance } from '../../../src/runtime/function-instance.ts';

const VERCEL = { VERCEL_URL: 'app-abc.vercel.app', VERCEL_REGION: 'iad1' };
const NETLIFY = { NETLIFY: 'true', SITE_ID: 'id', SITE_NAME: 'pets', AWS_LAMBDA_FUNCTION_NAME: 'fn' };
const LAMBDA = { AWS_LAMBDA_FUNCTION_NAME: 'fn' };

class FakePool extends EventEmitter {
  totalCount = 0;
  idleCount = 0;
}

/** A platform's request context on globalThis, as Vercel and Netlify's Next.js runtime publish it. */
function publish(key: symbol): Promise<unknown>[] {
  const registered: Promise<unknown>[] = [];
  (globalThis as Record<symbol, unknown>)[key] = { get: () => ({ waitUntil: (p: Promise<unknown>) => registered.push(p) }) };
  return registered;
}

afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[VERCEL_REQUEST_CONTEXT];
  delete (globalThis as Record<symbol, unknown>)[NEXT_REQUEST_CONTEXT];
});

const names = (env: Record<string, string>, waitUntil?: (p: Promise<unknown>) => void) =>
  waitUntilSources(env, waitUntil).map((source) => source.name);

describe('the platform entry decides', () => {
  it.each([
    ['a Vercel function', VERCEL, ['runWithRequestContext', '@vercel/request-context', '@next/request-context']],
    ['a build on Vercel (no VERCEL_REGION)', { VERCEL_URL: 'x.vercel.app' }, []],
    ['a Netlify function', NETLIFY, ['runWithRequestContext', '@next/request-context']],
    ['Lambda', LAMBDA, []],
    ['local', {}, []],
  ])('%s → %j', (_name, env, expected) => {
    expect(names(env)).toEqual(expected);
    expect(isFunctionInstance(detectRuntime(env), env)).toBe(expected.length > 0);
  });

  it('the waitUntil option comes first, and turns the keep-alive on where the platform has none', () => {
    const waitUntil = () => {};
    expect(names(VERCEL, waitUntil)).toEqual([
      'the waitUntil option',
      'runWithRequestContext',
      '@vercel/request-context',
      '@next/request-context',
    ]);
    expect(names(LAMBDA, waitUntil)).toEqual(['the waitUntil option', 'runWithRequestContext']);
  });

  it('the lifecycle is data on the runtime entry, frozen', () => {
    const { lifecycle } = detectRuntime(VERCEL);
    expect(lifecycle).toEqual({
      requestContexts: ['@vercel/request-context', '@next/request-context'],
      instanceVariables: ['VERCEL_URL', 'VERCEL_REGION'],
    });
    expect(Object.isFrozen(lifecycle?.requestContexts)).toBe(true);
    expect(detectRuntime(LAMBDA).lifecycle).toBeNull();
  });
});

describe('attachPlatformLifecycle with stand-ins', () => {
  const log = vi.fn();

  it("Vercel: the release's promise goes to Vercel's request context", () => {
    const vercel = publish(VERCEL_REQUEST_CONTEXT);
    const next = publish(NEXT_REQUEST_CONTEXT);
    const pool = new FakePool();
    const [detach, ...rest] = attachPlatformLifecycle([pool], { env: VERCEL, idleTimeoutMs: 1000, log });
    expect(rest).toHaveLength(0);
    pool.emit('release');
    expect(vercel).toHaveLength(1);
    expect(next).toHaveLength(0);
    detach?.();
  });

  it("Next.js's request context (@next/request-context) serves when Vercel's is absent, and on Netlify", () => {
    for (const env of [VERCEL, NETLIFY]) {
      const next = publish(NEXT_REQUEST_CONTEXT);
      const pool = new FakePool();
      const [detach] = attachPlatformLifecycle([pool], { env, idleTimeoutMs: 1000, log });
      pool.emit('release');
      expect(next).toHaveLength(1);
      detach?.();
    }
  });

  it("Netlify: a handler's context passed with runWithRequestContext, called as a method, across awaits", async () => {
    const published = publish(NEXT_REQUEST_CONTEXT);
    /** Like Netlify's Context (and a Worker's ExecutionContext): waitUntil needs its `this`. */
    class StandInContext {
      readonly #promises: Promise<unknown>[] = [];
      waitUntil(promise: Promise<unknown>): void {
        this.#promises.push(promise);
      }
      get count(): number {
        return this.#promises.length;
      }
    }
    const context = new StandInContext();
    const pool = new FakePool();
    const [detach] = attachPlatformLifecycle([pool], { env: NETLIFY, idleTimeoutMs: 1000, log });
    await runWithRequestContext(context, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      pool.emit('release');
    });
    expect(context.count).toBe(1);
    expect(published).toHaveLength(0); // the handler's own context wins over the global one
    pool.emit('release'); // outside the scope: back to the global
    expect(published).toHaveLength(1);
    detach?.();
  });

  it("the waitUntil option (@vercel/functions' own) wins over the private globals", () => {
    const vercel = publish(VERCEL_REQUEST_CONTEXT);
    const handed: Promise<unknown>[] = [];
    const pool = new FakePool();
    const [detach] = attachPlatformLifecycle([pool], { env: VERCEL, idleTimeoutMs: 1000, log, waitUntil: (p) => handed.push(p) });
    pool.emit('release');
    expect(handed).toHaveLength(1);
    expect(vercel).toHaveLength(0);
    detach?.();
  });

  it('attaches nothing (no listener, no timer) where neither the platform nor the app gives a waitUntil', () => {
    const pool = new FakePool();
    expect(attachPlatformLifecycle([pool], { env: LAMBDA, idleTimeoutMs: 1000, log })).toEqual([]);
    expect(pool.listenerCount('release')).toBe(0);
  });

  it('a Vercel function without the option says so once per process', async () => {
    vi.resetModules();
    const fresh = await import('../../../src/lifecycle/platform-lifecycle.ts');
    const lines: string[] = [];
    const capture = (format: string) => lines.push(format);
    for (let i = 0; i < 3; i++)
      for (const detach of fresh.attachPlatformLifecycle([new FakePool()], { env: VERCEL, idleTimeoutMs: 1000, log: capture })) detach();
    for (const detach of fresh.attachPlatformLifecycle([new FakePool()], {
      env: VERCEL,
      idleTimeoutMs: 1000,
      log: capture,
      waitUntil: () => {},
    }))
      detach();
    expect(lines.filter((line) => line.includes('no waitUntil option'))).toHaveLength(1);
  });
});

describe('checkWaitUntilOption', () => {
  it('accepts a function or nothing; anything else is a ConfigError naming waitUntil', () => {
    const fn = () => {};
    expect(checkWaitUntilOption(fn)).toBe(fn);
    expect(checkWaitUntilOption(undefined)).toBeUndefined();
    expect(() => checkWaitUntilOption({ waitUntil: fn })).toThrow(ConfigError);
    expect(() => checkWaitUntilOption('yes')).toThrow(/waitUntil/);
  });

  it('the manager checks it where it is created', () => {
    const create = () =>
      createConnectionPoolManager({
        createClient: () => ({ $transaction: async () => {}, $disconnect: async () => {} }),
        globalKey: null,
        waitUntil: 'later' as never,
      });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(/^waitUntil: must be a function/);
  });
});
