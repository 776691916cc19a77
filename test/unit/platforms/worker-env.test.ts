import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors/errors.ts';
import { workerEnvironment } from '../../../src/platforms/cloudflare/worker-env.ts';

const HYPERDRIVE_URL = 'postgresql://app:secret@0f1e2d3c.hyperdrive.local:5432/app';

describe('workerEnvironment: a Worker’s bindings → the env map', () => {
  it('takes DATABASE_URL from the Hyperdrive binding and keeps string vars', () => {
    const env = workerEnvironment({ HYPERDRIVE: { connectionString: HYPERDRIVE_URL }, INSTANCE_COUNT: '20', KV: { get() {} }, COUNT: 3 });
    expect(env).toEqual({ DATABASE_URL: HYPERDRIVE_URL, INSTANCE_COUNT: '20' });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('the binding beats a DATABASE_URL var (connecting around Hyperdrive would be a mistake)', () => {
    const env = workerEnvironment({ HYPERDRIVE: { connectionString: HYPERDRIVE_URL }, DATABASE_URL: 'postgresql://u:p@db:5432/x' });
    expect(env.DATABASE_URL).toBe(HYPERDRIVE_URL);
  });

  it('reads a binding of another name when told', () => {
    expect(workerEnvironment({ DB: { connectionString: HYPERDRIVE_URL } }, 'DB').DATABASE_URL).toBe(HYPERDRIVE_URL);
  });

  it('without a binding, a DATABASE_URL var is used as is', () => {
    expect(workerEnvironment({ DATABASE_URL: 'postgresql://u:p@db:5432/x' }).DATABASE_URL).toBe('postgresql://u:p@db:5432/x');
  });

  it.each<[string, Record<string, unknown> | undefined, string | undefined, string, RegExp]>([
    ['no binding and no DATABASE_URL', {}, undefined, 'env.HYPERDRIVE', /no Hyperdrive binding by this name and no DATABASE_URL var/],
    ['no env at all', undefined, undefined, 'env.HYPERDRIVE', /no Hyperdrive binding/],
    ['a binding that is not Hyperdrive', { HYPERDRIVE: 'postgres://x' }, undefined, 'env.HYPERDRIVE', /is not a Hyperdrive binding/],
    ['the named binding missing', { HYPERDRIVE: { connectionString: HYPERDRIVE_URL } }, 'DB', 'env.DB', /no Hyperdrive binding/],
    ['an empty binding name', {}, '', 'hyperdriveBinding', /non-empty/],
  ])('%s → ConfigError naming %s', (_name, bindings, binding, variable, message) => {
    const call = () => workerEnvironment(bindings, binding);
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(message);
    try {
      call();
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as Error).message).not.toContain('secret');
    }
  });
});
