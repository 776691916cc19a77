import { describe, expect, it } from 'vitest';
import { clientProperty, isReadOperation, RAW_QUERY_OPERATIONS, replay } from '~/call/prisma-operations.ts';
import { lazyClient, proxyClient } from '~/extension/client-extension.ts';

describe('reads and writes', () => {
  it.each([
    'findUnique',
    'findUniqueOrThrow',
    'findFirst',
    'findFirstOrThrow',
    'findMany',
    'count',
    'aggregate',
    'groupBy',
    '$queryRaw',
    '$queryRawUnsafe',
    '$queryRawTyped',
  ])('%s is a read', (operation) => expect(isReadOperation(operation)).toBe(true));
  it.each([
    'create',
    'createMany',
    'createManyAndReturn',
    'update',
    'updateMany',
    'upsert',
    'delete',
    'deleteMany',
    '$executeRaw',
    '$executeRawUnsafe',
  ])('%s is a write', (operation) => expect(isReadOperation(operation)).toBe(false));
  it('only the raw query forms may hide a write', () => {
    expect([...RAW_QUERY_OPERATIONS].sort()).toEqual(['$queryRaw', '$queryRawTyped', '$queryRawUnsafe']);
  });
});

describe('replay on another client', () => {
  const calls: unknown[][] = [];
  const record =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
      return Promise.resolve(name);
    };
  const client = {
    activityLog: { findMany: record('activityLog.findMany') },
    $queryRaw: record('$queryRaw'),
    $queryRawUnsafe: record('$queryRawUnsafe'),
  };

  it('model operations go to the model property with one args object', async () => {
    calls.length = 0;
    expect(clientProperty('ActivityLog')).toBe('activityLog');
    await replay(client, 'ActivityLog', 'findMany', { take: 1 });
    expect(calls).toEqual([['activityLog.findMany', { take: 1 }]]);
  });

  it('raw queries get their whole argument list spread: a tagged template, an Unsafe call, a Sql object', async () => {
    calls.length = 0;
    const sqlObject = { strings: ['SELECT 1'], values: [] };
    const strings = Object.assign(['SELECT ', ''], { raw: ['SELECT ', ''] });
    await replay(client, undefined, '$queryRawUnsafe', ['SELECT $1', 2]);
    await replay(client, undefined, '$queryRaw', [sqlObject]);
    await replay(client, undefined, '$queryRaw', [strings, 3]);
    expect(calls).toEqual([
      ['$queryRawUnsafe', 'SELECT $1', 2],
      ['$queryRaw', sqlObject],
      ['$queryRaw', strings, 3],
    ]);
  });

  it('an operation the client lacks is a TypeError naming it', () => {
    expect(() => replay(client, 'Post', 'findMany', {})).toThrow(/no post\.findMany/);
  });
});

describe('lazyClient', () => {
  it('builds the client at first use only, once, and binds its methods', () => {
    let built = 0;
    const lazy = lazyClient(() => {
      built++;
      return {
        name: 'real',
        hello(this: { name: string }) {
          return this.name;
        },
      };
    });
    expect(built).toBe(0);
    const hello = lazy.hello as unknown as () => string; // detached: still bound to the real client
    expect(hello()).toBe('real');
    expect(lazy.name).toBe('real');
    expect('hello' in lazy).toBe(true);
    expect(built).toBe(1);
  });
});

describe('proxyClient', () => {
  it('asks for the real client at every use (a request scope may hand out another one)', () => {
    let current = { name: 'first' };
    const proxy = proxyClient(() => current);
    expect(proxy.name).toBe('first');
    current = { name: 'second' };
    expect(proxy.name).toBe('second');
  });
});
