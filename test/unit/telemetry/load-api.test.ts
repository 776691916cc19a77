import { expect, it } from 'vitest';
import { loadOpenTelemetryApi } from '~/telemetry/load-api.ts';

it('an absent module (MODULE_NOT_FOUND) is null, not an error', () => {
  const missing = () => {
    throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
  };
  expect(loadOpenTelemetryApi(missing)).toBeNull();
});

it('something that is not the API is treated as absent', () => {
  expect(loadOpenTelemetryApi(() => ({}))).toBeNull();
  expect(loadOpenTelemetryApi(() => null)).toBeNull();
});

it('the installed API is found', () => {
  const api = loadOpenTelemetryApi();
  expect(typeof api?.metrics.getMeter).toBe('function');
  expect(typeof api?.trace.getTracer).toBe('function');
});
