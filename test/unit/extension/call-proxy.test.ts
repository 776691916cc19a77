/**
 * What src/extension/call-proxy.ts assumes of a Prisma 7 client, on a stand-in with the same
 * shapes (lazy promises with `requestTransaction` and `Symbol.toStringTag`, delegates with `$name`,
 * `$extends`); the real client is checked in test/integration/extension/*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { PlainOperation } from '../../../src/call/plain-call.ts';
import { interceptCalls } from '../../../src/extension/call-proxy.ts';

/**
 * A PrismaPromise as Prisma 7 makes one: runs at `then`, once; a fluent operation's is a Proxy
 * that takes every assignment (so an assigned `then` would never be the caller's).
 */
function lazy(run: () => unknown, calls: string[], name: string) {
  return new Proxy(plainLazy(run, calls, name), { set: () => true });
}

function plainLazy(run: () => unknown, calls: string[], name: string) {
  let started: Promise<unknown> | undefined;
  const start = () => {
    if (!started) {
      calls.push(name);
      started = Promise.resolve().then(run);
    }
    return started;
  };
  return {
    // biome-ignore lint/suspicious/noThenProperty: a stand-in for Prisma's own thenable
    then: (a?: (v: unknown) => unknown, b?: (e: unknown) => unknown) => start().then(a, b),
    catch: (b: (e: unknown) => unknown) => start().catch(b),
    finally: (f: () => void) => start().finally(f),
    requestTransaction: (t: unknown) => ({ inBatch: t, name }),
    posts: (): unknown => lazy(() => `posts of ${name}`, calls, `${name}.posts`),
    [Symbol.toStringTag]: 'PrismaPromise',
  };
}

function fakeClient(calls: string[], tag = 'base') {
  const client = {
    tag,
    user: {
      $name: 'User',
      findFirst: (args: unknown) => lazy(() => ({ found: args }), calls, `${tag}:user.findFirst`),
      create: (args: unknown) => lazy(() => ({ created: args }), calls, `${tag}:user.create`),
      fields: { id: 'id' },
    },
    $queryRaw: (strings: TemplateStringsArray, ...values: unknown[]) =>
      lazy(() => ({ sql: strings.join('?'), values }), calls, `${tag}:$queryRaw`),
    $connect(this: unknown) {
      return this === client ? 'bound' : 'unbound';
    },
    $extends: (_extension: unknown) => fakeClient(calls, `${tag}+ext`),
  };
  return client;
}

function recorder() {
  const seen: PlainOperation[] = [];
  const run = (operation: PlainOperation) => {
    seen.push(operation);
    return operation.query(operation.args);
  };
  return { seen, run };
}

describe('interceptCalls', () => {
  it('runs nothing until awaited, then hands the operation to the runner once', async () => {
    const calls: string[] = [];
    const { seen, run } = recorder();
    const prisma = interceptCalls(fakeClient(calls), run);
    const pending = prisma.user.findFirst({ where: { id: '1' } });
    await Promise.resolve();
    expect(calls).toEqual([]);
    expect(seen).toEqual([]);
    expect(await pending).toEqual({ found: { where: { id: '1' } } });
    expect(await pending).toEqual({ found: { where: { id: '1' } } });
    expect(seen.map((o) => [o.model, o.operation])).toEqual([['User', 'findFirst']]);
    expect(calls).toEqual(['base:user.findFirst']);
  });

  it('a retry calls the method again (a PrismaPromise keeps its first result)', async () => {
    const calls: string[] = [];
    const prisma = interceptCalls(fakeClient(calls), async (operation) => {
      await operation.query(operation.args);
      return operation.query(operation.args);
    });
    await prisma.user.create({ data: { id: 'a' } });
    expect(calls).toEqual(['base:user.create', 'base:user.create']);
  });

  it("keeps what $transaction([...]) and the fluent API need from Prisma's promise", () => {
    const calls: string[] = [];
    const { seen, run } = recorder();
    const prisma = interceptCalls(fakeClient(calls), run);
    const call = prisma.user.create({ data: {} }) as unknown as ReturnType<typeof lazy>;
    expect(Object.prototype.toString.call(call)).toBe('[object PrismaPromise]');
    expect(call[Symbol.toStringTag]).toBe('PrismaPromise');
    expect(call.requestTransaction('batch-1')).toEqual({ inBatch: 'batch-1', name: 'base:user.create' });
    expect(seen).toEqual([]);
  });

  it('a fluent step is a call of its own through the runner, and a retry makes the whole chain again', async () => {
    const calls: string[] = [];
    const seen: PlainOperation[] = [];
    const prisma = interceptCalls(fakeClient(calls), async (operation) => {
      seen.push(operation);
      await operation.query(operation.args);
      return operation.query(operation.args);
    });
    const call = prisma.user.findFirst({ where: {} }) as unknown as { posts(): PromiseLike<unknown> };
    expect(await call.posts()).toBe('posts of base:user.findFirst');
    expect(seen.map((o) => [o.model, o.operation])).toEqual([['User', 'findFirst']]);
    expect(calls).toEqual(['base:user.findFirst.posts', 'base:user.findFirst.posts']);
  });

  it('hands a raw query its whole argument list, and runs it again from that list', async () => {
    const calls: string[] = [];
    const { seen, run } = recorder();
    const prisma = interceptCalls(fakeClient(calls), run);
    expect(await prisma.$queryRaw`SELECT ${1} + ${2}`).toEqual({ sql: 'SELECT ? + ?', values: [1, 2] });
    const [operation] = seen;
    expect(operation?.model).toBeUndefined();
    expect(operation?.operation).toBe('$queryRaw');
    expect(await operation?.query(operation.args)).toEqual({ sql: 'SELECT ? + ?', values: [1, 2] });
    expect(calls).toEqual(['base:$queryRaw', 'base:$queryRaw']);
  });

  it('passes other members through, methods bound to the client (Prisma builds tx from it)', () => {
    const prisma = interceptCalls(fakeClient([]), recorder().run);
    expect(prisma.tag).toBe('base');
    expect(prisma.user.fields).toEqual({ id: 'id' });
    expect(prisma.$connect()).toBe('bound');
    expect(prisma.user).toBe(prisma.user);
  });

  it('runs operations on the client it is given for them, everything else on the wrapped one', async () => {
    const calls: string[] = [];
    const { seen, run } = recorder();
    const prisma = interceptCalls(fakeClient(calls, 'pins'), run, fakeClient(calls, 'plain'));
    await prisma.user.findFirst({});
    await prisma.$queryRaw`SELECT 1`;
    expect(prisma.tag).toBe('pins');
    expect(seen.map((o) => o.operation)).toEqual(['findFirst', '$queryRaw']);
    expect(calls).toEqual(['plain:user.findFirst', 'plain:$queryRaw']);
  });

  it('keeps intercepting a client the app extends further', async () => {
    const calls: string[] = [];
    const { seen, run } = recorder();
    const extended = interceptCalls(fakeClient(calls), run).$extends({});
    expect(extended.tag).toBe('base+ext');
    await extended.user.findFirst({});
    expect(seen.map((o) => o.operation)).toEqual(['findFirst']);
    expect(calls).toEqual(['base+ext:user.findFirst']);
  });
});
