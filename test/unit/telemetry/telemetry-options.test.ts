import { expect, it } from 'vitest';
import { ConfigError } from '~/errors/errors.ts';
import { resolveTelemetryOptions } from '~/telemetry/telemetry-options.ts';

it('undefined and true: on (auto); false: off; an object is kept, frozen', () => {
  expect(resolveTelemetryOptions(undefined)).toEqual({});
  expect(resolveTelemetryOptions(true)).toEqual({});
  expect(resolveTelemetryOptions(false)).toEqual({ enabled: false });
  const resolved = resolveTelemetryOptions({ poolName: 'orders' });
  expect(resolved).toEqual({ enabled: undefined, poolName: 'orders' });
  expect(Object.isFrozen(resolved)).toBe(true);
});

it.each([
  ['telemetry', 'yes'],
  ['telemetry', null],
  ['telemetry.enabled', { enabled: 'no' }],
  ['telemetry.poolName', { poolName: '' }],
  ['telemetry.poolName', { poolName: 42 }],
])('bad input names the option: %s', (option, value) => {
  const error = (() => {
    try {
      resolveTelemetryOptions(value as never);
    } catch (caught) {
      return caught;
    }
  })();
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).variable).toBe(option);
});
