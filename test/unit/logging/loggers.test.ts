import { format } from 'node:util';
import createDebug from 'debug';
import { afterEach, describe, expect, it } from 'vitest';
import { lazyLogger } from '../../../src/logging/loggers.ts';

const previousLog = createDebug.log;
afterEach(() => {
  createDebug.log = previousLog;
  createDebug.disable();
});

describe('lazyLogger', () => {
  it('writes nothing while DEBUG is unset, then writes through debug once it is set', () => {
    const lines: string[] = [];
    createDebug.log = (...args: unknown[]) => {
      lines.push(format(...args));
    };
    const env: { DEBUG?: string } = {};
    const log = lazyLogger('LazyLoggerTest', env);
    log('before %d', 1);
    expect(lines).toEqual([]);
    env.DEBUG = 'LazyLoggerTest';
    createDebug.enable('LazyLoggerTest');
    log('after %d', 2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('LazyLoggerTest after 2');
  });

  it('writes nothing for a namespace DEBUG does not name', () => {
    const lines: string[] = [];
    createDebug.log = (...args: unknown[]) => {
      lines.push(format(...args));
    };
    createDebug.enable('SomethingElse');
    lazyLogger('LazyLoggerOther', { DEBUG: 'SomethingElse' })('hidden');
    expect(lines).toEqual([]);
  });

  // The dependency assumption the laziness rests on: turning debug on from code (as apps and
  // test/support/debug-logs.ts do) also sets process.env.DEBUG, which is what lazyLogger reads.
  it("debug's enable() writes process.env.DEBUG (debug/src/node.js save())", () => {
    const before = process.env.DEBUG;
    try {
      createDebug.enable('PinnedNamespace');
      expect(process.env.DEBUG).toBe('PinnedNamespace');
      createDebug.disable();
      expect(process.env.DEBUG ?? '').toBe('');
    } finally {
      if (before === undefined) delete process.env.DEBUG;
      else process.env.DEBUG = before;
    }
  });
});
