import { metrics, trace } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
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

it('without a registered provider the API is not even loaded (telemetry would be off); once one is, the installed API is found', () => {
  expect(loadOpenTelemetryApi()).toBeNull();
  const provider = new MeterProvider();
  metrics.setGlobalMeterProvider(provider);
  try {
    const api = loadOpenTelemetryApi();
    expect(typeof api?.metrics.getMeter).toBe('function');
    expect(typeof api?.trace.getTracer).toBe('function');
  } finally {
    metrics.disable();
    trace.disable();
  }
});
