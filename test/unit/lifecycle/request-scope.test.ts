import { describe, expect, it, vi } from 'vitest';
import { PoolingError } from '../../../src/errors/errors.ts';
import {
  createRequestScope,
  currentRequestScope,
  peekRequestScoped,
  requestScoped,
  runInRequestScope,
} from '../../../src/lifecycle/request-scope.ts';

const owner = {};
const build = (env: Readonly<Record<string, string | undefined>>) => ({ url: env.DATABASE_URL, closed: false });
const dispose = async (value: { closed: boolean }) => {
  value.closed = true;
};

describe('request scope', () => {
  it('outside a scope nothing is scoped (Node apps keep their process-wide state), and node:async_hooks is not even loaded', () => {
    // This test runs first in a fresh module: no scope has run yet, so lookups must not create the storage.
    const load = vi.spyOn(process, 'getBuiltinModule');
    try {
      expect(currentRequestScope()).toBeUndefined();
      expect(requestScoped(owner, build, dispose)).toBeUndefined();
      expect(peekRequestScoped(owner)).toBeUndefined();
      expect(load).not.toHaveBeenCalled();
      runInRequestScope(createRequestScope({}), () => undefined);
      expect(load).toHaveBeenCalledWith('node:async_hooks');
    } finally {
      load.mockRestore();
    }
  });

  it('builds one value per owner per request, from that request’s env, and disposes of it on close', async () => {
    const a = createRequestScope({ DATABASE_URL: 'a' });
    const b = createRequestScope({ DATABASE_URL: 'b' });
    const [va, vb] = await Promise.all([
      runInRequestScope(a, async () => {
        const first = requestScoped(owner, build, dispose);
        await new Promise((resolve) => setImmediate(resolve));
        expect(requestScoped(owner, build, dispose)).toBe(first); // same request: same value, across awaits
        expect(peekRequestScoped(owner)).toBe(first);
        return first;
      }),
      runInRequestScope(b, async () => requestScoped(owner, build, dispose)),
    ]);
    expect(va).toMatchObject({ url: 'a', closed: false });
    expect(vb).toMatchObject({ url: 'b', closed: false });
    expect(va).not.toBe(vb);
    await a.close();
    expect(va?.closed).toBe(true);
    expect(vb?.closed).toBe(false);
    await b.close();
    expect(vb?.closed).toBe(true);
  });

  it('reads a lazy env at first use only, so its ConfigError surfaces from the first database call', () => {
    let reads = 0;
    const scope = createRequestScope(() => {
      reads++;
      return { DATABASE_URL: 'lazy' };
    });
    runInRequestScope(scope, () => {
      expect(reads).toBe(0);
      expect(requestScoped(owner, build, dispose)?.url).toBe('lazy');
      requestScoped({}, build, dispose);
    });
    expect(reads).toBe(1);
  });

  it('a failed dispose does not stop the others; close is idempotent', async () => {
    const scope = createRequestScope({});
    const disposed: string[] = [];
    runInRequestScope(scope, () => {
      requestScoped(
        {},
        () => 'x',
        async () => {
          throw new Error('boom');
        },
      );
      requestScoped(
        {},
        () => 'y',
        async (v) => {
          disposed.push(v);
        },
      );
    });
    await expect(scope.close()).resolves.toBeUndefined();
    await scope.close();
    expect(disposed).toEqual(['y']);
  });

  it('after close, a new value would leak: refused with a PoolingError', async () => {
    const scope = createRequestScope({});
    await scope.close();
    expect(() => runInRequestScope(scope, () => requestScoped({}, build, dispose))).toThrow(PoolingError);
  });
});

describe('request scope: work that outlives the handler', () => {
  it('close() disposes only after every promise handed to waitFor has settled, including ones handed in meanwhile', async () => {
    const scope = createRequestScope({});
    const value = runInRequestScope(scope, () => requestScoped(owner, build, dispose));
    let finishFirst!: () => void;
    let failSecond!: (error: Error) => void;
    scope.waitFor(new Promise<void>((resolve) => (finishFirst = resolve)));
    const closed = scope.close();
    await new Promise((resolve) => setImmediate(resolve));
    // Work arriving while close() waits (a waitUntil from a streaming body) is waited for too.
    scope.waitFor(new Promise<void>((_resolve, reject) => (failSecond = reject)));
    // Still usable while it waits: a value asked for now is built and disposed of with the rest.
    const late = runInRequestScope(scope, () => requestScoped({}, build, dispose));
    finishFirst();
    await new Promise((resolve) => setImmediate(resolve));
    expect(value?.closed).toBe(false);
    failSecond(new Error('the app’s own failure'));
    await expect(closed).resolves.toBeUndefined();
    expect(value?.closed).toBe(true);
    expect(late?.closed).toBe(true);
    expect(() => runInRequestScope(scope, () => requestScoped({}, build, dispose))).toThrow(PoolingError);
  });
});
