/**
 * The one rule for every timeout, delay and interval the package accepts, from an option or a URL
 * parameter. Pure.
 *
 * Node's timers hold a signed 32-bit delay: a larger one fires after 1 ms, with only a
 * TimeoutOverflowWarning (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args), so
 * `replicaPollIntervalMs: 3e9` would poll every millisecond and `pool_timeout=2147484` would time
 * every wait out at once. Such values are refused here, naming the option.
 */
import { ConfigError } from '../errors/errors.ts';

/** The largest delay Node's timers honour, ms (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

export interface MillisecondsRule {
  /** 0 allowed (e.g. "no backoff", "do not wait"). Defaults to false: at least 1 ms. */
  readonly zero?: boolean;
  /** What the value means when shown in the error ("seconds" for URL parameters). Defaults to ms. */
  readonly unit?: 'ms' | 's';
}

/**
 * `value` when it is a finite number of ms in range, `undefined` when it is undefined; otherwise a
 * ConfigError naming `name` (an option, or `DATABASE_URL (pool_timeout)`).
 */
export function checkMilliseconds(name: string, value: unknown, rule: MillisecondsRule = {}): number | undefined {
  if (value === undefined) return undefined;
  const min = rule.zero ? 0 : Number.MIN_VALUE;
  if (typeof value === 'number' && Number.isFinite(value) && value >= min && value <= MAX_TIMER_MS) return value;
  const range =
    rule.unit === 's'
      ? `a number of seconds${rule.zero ? '' : ' above 0'}, at most ${Math.floor(MAX_TIMER_MS / 1000)} (Node's timer limit)`
      : `a number of milliseconds from ${rule.zero ? 0 : 'above 0'} to ${MAX_TIMER_MS} (Node's timer limit)`;
  const shown = typeof value === 'number' ? String(rule.unit === 's' ? value / 1000 : value) : typeof value;
  throw new ConfigError(name, `must be ${range}, got ${shown}`);
}
