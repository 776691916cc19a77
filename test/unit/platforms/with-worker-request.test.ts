/**
 * withWorkerRequest's request lifecycle, on Node's own fetch classes (no database: the scoped value
 * here is a stand-in for the manager's pool). The real thing runs under workerd in
 * test/integration/cloudflare/worker.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/errors.ts';
import { requestScoped } from '../../../src/lifecycle/request-scope.ts';
import { withWorkerRequest } from '../../../src/platforms/cloudflare/with-worker-request.ts';

const ENV = { DATABASE_URL: 'postgresql://u:p@db:6543/app' };

/** A stand-in ExecutionContext that records what it was handed. */
function context() {
  const handed: Promise<unknown>[] = [];
  const ctx = {
    handed,
    passThroughOnException(this: unknown) {
      // workerd checks `this`: the wrapper must call the runtime's methods on the real context.
      if (this !== ctx) throw new TypeError('Illegal invocation');
    },
    waitUntil(promise: Promise<unknown>) {
      handed.push(promise);
    },
    settled: () => Promise.allSettled(handed),
  };
  return ctx;
}

/** A pool stand-in built in the request's scope; `closed` flips when the scope disposes of it. */
function poolOwner() {
  const owner = {};
  const pools: { closed: boolean; env: string | undefined }[] = [];
  const use = () =>
    requestScoped(
      owner,
      (env) => {
        const pool = { closed: false, env: env.DATABASE_URL };
        pools.push(pool);
        return pool;
      },
      async (pool) => {
        pool.closed = true;
      },
    );
  return { use, pools };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('withWorkerRequest: the request ends when the response does', () => {
  it('keeps the pool open while the body streams after the handler returned, closes it at the end of the body', async () => {
    const { use, pools } = poolOwner();
    const fetch = withWorkerRequest({}, async () => {
      let lines = 0;
      const body = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            // Read "from the database" when the client pulls: the scope must still be there.
            const pool = use();
            controller.enqueue(new TextEncoder().encode(`${lines} ${pool?.closed}\n`));
            if (++lines === 3) controller.close();
          },
        },
        { highWaterMark: 0 },
      );
      return new Response(body, { status: 201, headers: { 'x-app': 'yes' } });
    });
    const ctx = context();
    const response = await fetch(new Request('http://w/'), ENV, ctx);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-app')).toBe('yes');
    await tick();
    expect(pools).toEqual([]); // nothing read before the client asks
    expect(await response.text()).toBe('0 false\n1 false\n2 false\n');
    await ctx.settled();
    expect(pools).toHaveLength(1);
    expect(pools[0]?.closed).toBe(true);
  });

  it('closes when the client cancels the body midway', async () => {
    const { use, pools } = poolOwner();
    const fetch = withWorkerRequest({}, async () => {
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          use();
          controller.enqueue(new Uint8Array([1]));
        },
      });
      return new Response(body);
    });
    const ctx = context();
    const response = await fetch(new Request('http://w/'), ENV, ctx);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel('gone');
    await ctx.settled();
    expect(pools[0]?.closed).toBe(true);
  });

  it('waits for the app’s own ctx.waitUntil work, and forwards it to the runtime', async () => {
    const { use, pools } = poolOwner();
    let finish!: () => void;
    const fetch = withWorkerRequest({}, async (_request, _env, ctx: ReturnType<typeof context>) => {
      ctx.passThroughOnException(); // other members reach the real context
      ctx.waitUntil(
        new Promise<void>((resolve) => {
          finish = resolve;
        }).then(() => use()),
      );
      return new Response(null, { status: 204 });
    });
    const ctx = context();
    const response = await fetch(new Request('http://w/'), ENV, ctx);
    expect(response.status).toBe(204);
    expect(ctx.handed).toHaveLength(2); // the app's promise and the scope's close
    await tick();
    expect(pools).toEqual([]);
    finish();
    await ctx.settled();
    expect(pools).toHaveLength(1);
    expect(pools[0]?.closed).toBe(true);
  });

  it('a handler that throws still closes the scope, and its error is the one that surfaces', async () => {
    const { use, pools } = poolOwner();
    const fetch = withWorkerRequest({}, async () => {
      use();
      throw new RangeError('the app’s bug');
    });
    const ctx = context();
    await expect(fetch(new Request('http://w/'), ENV, ctx)).rejects.toThrow(RangeError);
    await ctx.settled();
    expect(pools[0]?.closed).toBe(true);
  });

  it.each([
    ['no ctx', undefined],
    ['null', null],
    ['a ctx without waitUntil', { passThroughOnException() {} }],
    ['waitUntil that is not a function', { waitUntil: true }],
  ])('%s → a ConfigError naming ctx before the handler runs (nothing opened, nothing leaked)', async (_name, ctx) => {
    let ran = false;
    const fetch = withWorkerRequest({}, async () => {
      ran = true;
      return new Response('x');
    });
    const call = fetch(new Request('http://w/'), ENV, ctx as never);
    await expect(call).rejects.toBeInstanceOf(ConfigError);
    await expect(call).rejects.toMatchObject({ variable: 'ctx' });
    expect(ran).toBe(false);
  });
});
