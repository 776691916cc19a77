/** The manager's `telemetry` option, validated at the boundary. Pure. */
import { ConfigError } from '../errors/errors.ts';

export interface TelemetryOptions {
  /** `false` keeps OpenTelemetry off even when the app registered providers. Defaults to true. */
  enabled?: boolean;
  /**
   * `db.client.connection.pool.name` of the primary pool; the replica's gets `:read` appended.
   * Defaults to the spec's `server.address:server.port/db.namespace`.
   */
  poolName?: string;
}

/** Validates the manager's `telemetry` option (`true`/`false` or an object). */
export function resolveTelemetryOptions(value: boolean | TelemetryOptions | undefined): Readonly<TelemetryOptions> {
  if (value === undefined || value === true) return Object.freeze({});
  if (value === false) return Object.freeze({ enabled: false });
  if (typeof value !== 'object' || value === null)
    throw new ConfigError('telemetry', `must be a boolean or an object, got ${typeof value}`);
  if (value.enabled !== undefined && typeof value.enabled !== 'boolean')
    throw new ConfigError('telemetry.enabled', `must be a boolean, got ${typeof value.enabled}`);
  if (value.poolName !== undefined && !(typeof value.poolName === 'string' && value.poolName.trim() !== ''))
    throw new ConfigError('telemetry.poolName', 'must be a non-empty string');
  return Object.freeze({ enabled: value.enabled, poolName: value.poolName });
}
