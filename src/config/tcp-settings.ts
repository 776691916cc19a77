/**
 * libpq's TCP parameters (PostgreSQL docs §34.1.2 "Parameter Key Words"), read from a parsed URL as
 * libpq reads them, and the bound on silence this package derives from them. Pure.
 *
 * - `keepalives` (default 1): any integer; non-zero turns TCP keepalives on, 0 off.
 * - `keepalives_idle` (s), `keepalives_interval` (s), `keepalives_count`: integers; 0 (and, as in
 *   libpq's `setKeepalivesIdle` & co., a negative value) means "the operating system's default".
 * - `tcp_user_timeout` (ms): how long transmitted data may stay unacknowledged before the connection
 *   is closed; 0 (or negative) means the system default.
 * libpq's `parse_int_param` accepts surrounding white space and rejects anything else ("invalid
 * integer value"), which here is a ConfigError naming the parameter.
 *
 * What Node can apply: `socket.setKeepAlive(true, idleMs)` sets the idle time only (pg's
 * `keepAlive` / `keepAliveInitialDelayMillis`); Node exposes neither TCP_KEEPINTVL/TCP_KEEPCNT nor
 * TCP_USER_TIMEOUT. So `keepalives_interval` and `keepalives_count` are validated and reported but
 * cannot change the socket, and `tcp_user_timeout` — libpq's own way to bound a dead link — becomes
 * the package's silence bound (`silenceTimeoutMs`): the time a connection with a query outstanding
 * may go without a byte from the server before it is destroyed (src/pool/silence-watch.ts).
 *
 * node-postgres would read none of these from the URL (pg-connection-string copies unknown
 * parameters into its config, where pg's Client ignores them); they are stripped before pg sees it
 * so that the URL's one meaning is the one here.
 */
import { ConfigError } from '../errors/errors.ts';
import { getParam, type ParsedDatabaseUrl } from './database-url.ts';
import { MAX_TIMER_MS } from './milliseconds.ts';

/** libpq's TCP parameters: read here, never passed to node-postgres. */
export const TCP_URL_PARAMS = Object.freeze([
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
] as const);

export interface TcpSettings {
  /** `keepalives`: TCP keepalives on the socket (pg's `keepAlive`). Defaults to true, as in libpq. */
  readonly keepAlive: boolean;
  /** `keepalives_idle` in ms (pg's `keepAliveInitialDelayMillis`); null = the OS default (Linux: 2 h). */
  readonly keepAliveIdleMs: number | null;
  /** `keepalives_interval` in ms; null = the OS default. Node cannot set it: reported only. */
  readonly keepAliveIntervalMs: number | null;
  /** `keepalives_count`; null = the OS default. Node cannot set it: reported only. */
  readonly keepAliveCount: number | null;
  /** `tcp_user_timeout` in ms; null = unset or the system default. Becomes the silence bound when no option sets one. */
  readonly tcpUserTimeoutMs: number | null;
}

/** libpq's parse_int_param: an integer with optional sign and surrounding white space. */
function libpqInteger(parsed: ParsedDatabaseUrl, key: string, variable: string): number | undefined {
  const raw = getParam(parsed, key);
  if (raw === undefined) return undefined;
  const text = raw.trim();
  const value = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > 2_147_483_647 || value < -2_147_483_648) {
    throw new ConfigError(
      `${variable} (${key})`,
      `must be an integer, as libpq reads it (got ${/^[\w.+-]{0,16}$/.test(text) ? JSON.stringify(text) : 'another value'})`,
    );
  }
  return value;
}

/** Zero and negative values mean "the system default" (libpq clamps negatives to 0). */
const positiveOrNull = (value: number | undefined): number | null => (value === undefined || value <= 0 ? null : value);

function milliseconds(key: string, variable: string, ms: number | null): number | null {
  if (ms !== null && ms > MAX_TIMER_MS)
    throw new ConfigError(`${variable} (${key})`, `must be at most ${MAX_TIMER_MS} ms (Node's timer limit)`);
  return ms;
}

/** The URL's TCP parameters. Throws ConfigError naming the parameter for a value libpq would refuse. */
export function parseTcpSettings(parsed: ParsedDatabaseUrl, variable = 'DATABASE_URL'): TcpSettings {
  const keepalives = libpqInteger(parsed, 'keepalives', variable);
  const seconds = (key: string) => {
    const value = positiveOrNull(libpqInteger(parsed, key, variable));
    return milliseconds(key, variable, value === null ? null : value * 1000);
  };
  return Object.freeze({
    keepAlive: keepalives === undefined || keepalives !== 0,
    keepAliveIdleMs: seconds('keepalives_idle'),
    keepAliveIntervalMs: seconds('keepalives_interval'),
    keepAliveCount: positiveOrNull(libpqInteger(parsed, 'keepalives_count', variable)),
    tcpUserTimeoutMs: milliseconds('tcp_user_timeout', variable, positiveOrNull(libpqInteger(parsed, 'tcp_user_timeout', variable))),
  });
}

/**
 * The serverless default of the silence bound, and its cap: 15 s.
 *
 * Why this number: a serverless function is billed while it waits and most platforms end it
 * within 10–60 s (Vercel's and Netlify's 10 s defaults on their base plans, API Gateway's 29 s), so
 * a call must give up on a dead link well inside that; and no request-serving query of a serverless
 * app is expected to run 15 s without a byte (long reports belong in a job with its own URL). The
 * bound is also kept at or below the pool timeout (default 10 s): a caller queued behind a silent
 * connection then gets the fresh one made after the silent one is destroyed before its own wait for a
 * pool connection runs out.
 */
export const SERVERLESS_SILENCE_TIMEOUT_MS = 15_000;

/**
 * How long a connection with a query outstanding may go without a byte before it is declared
 * silent, for a bound of `boundMs`: half of it. The bound is on the whole call — no call spends
 * longer than `silenceTimeoutMs` because a host stopped answering — so the cut leaves the other
 * half for what the call then does on a fresh connection: a read's retry, a write's settle
 * (docs/failover.md, "Silent hosts").
 */
export function silenceCutAfterMs(boundMs: number): number {
  return Math.max(1, Math.floor(boundMs / 2));
}

export interface SilenceInputs {
  /** The `silenceTimeoutMs` option: a number, or null to turn the bound off. */
  readonly option: number | null | undefined;
  readonly tcp: TcpSettings;
  /** Serverless runtime or transaction mode: the bound is on by default. */
  readonly serverless: boolean;
  readonly poolTimeoutMs: number;
}

/**
 * The silence bound in ms (null: none) and where it came from: the option, the URL's
 * `tcp_user_timeout`, or the default (serverless and transaction mode: min(15 s, pool timeout);
 * elsewhere none, since a long-running process may run long quiet queries on purpose).
 */
export function resolveSilenceTimeout(inputs: SilenceInputs): {
  readonly ms: number | null;
  readonly source: 'option' | 'url' | 'default';
} {
  if (inputs.option !== undefined) return { ms: inputs.option, source: 'option' };
  if (inputs.tcp.tcpUserTimeoutMs !== null) return { ms: inputs.tcp.tcpUserTimeoutMs, source: 'url' };
  return { ms: inputs.serverless ? Math.min(SERVERLESS_SILENCE_TIMEOUT_MS, inputs.poolTimeoutMs) : null, source: 'default' };
}
