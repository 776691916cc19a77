import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/errors.ts';
import { autoWarmup, checkWarmupMode, runWarmup } from '../../../src/lifecycle/warmup.ts';
import { createConnectionPoolManager } from '../../../src/manager/connection-pool-manager.ts';

describe('the warmup option', () => {
  it.each([undefined, 'auto', true, false])('accepts %j', (value) => {
    expect(checkWarmupMode(value)).toBeNull();
  });
  it.each(['yes', 'true', 1, null, {}])('rejects %j, naming the option', (value) => {
    const create = () =>
      createConnectionPoolManager({
        createClient: () => ({ $transaction: async () => {}, $disconnect: async () => {} }),
        warmup: value as never,
      });
    expect(create).toThrow(ConfigError);
    expect(create).toThrow(/^warmup: must be "auto", true or false$/);
  });
  it('rejects a warmupQuery that is not a function', () => {
    expect(() =>
      createConnectionPoolManager({
        createClient: () => ({ $transaction: async () => {}, $disconnect: async () => {} }),
        warmupQuery: 'SELECT 1' as never,
      }),
    ).toThrow(/^warmupQuery: must be a function/);
  });
  it('turns on at first use: auto in serverless runtimes only, true everywhere, false and unset never', () => {
    expect([autoWarmup('auto', true), autoWarmup('auto', false)]).toEqual([true, false]);
    expect([autoWarmup(true, false), autoWarmup(false, true), autoWarmup(undefined, true)]).toEqual([true, false, false]);
  });
});

describe('runWarmup', () => {
  it('never rejects: an engine that throws (even synchronously) and a failing query are counted', async () => {
    const result = await runWarmup({
      startEngine: () => {
        throw new Error('engine');
      },
      targets: [],
      query: () => Promise.reject(new Error('query')),
    });
    expect(result).toMatchObject({ opened: 0, failures: 2 });
    expect((result.firstError as Error).message).toBe('engine');
  });
  it('runs the query only after the engine step', async () => {
    const order: string[] = [];
    await runWarmup({
      startEngine: async () => {
        await new Promise((r) => setTimeout(r, 5));
        order.push('engine');
      },
      targets: [],
      query: async () => order.push('query'),
    });
    expect(order).toEqual(['engine', 'query']);
  });
});
