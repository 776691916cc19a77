/**
 * Who may see what of `/api/health` and `/api/metrics`, after Spring Boot Actuator's "details when
 * authorized" (docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health):
 *
 * | setting                                   | health, no/wrong token | health, right token | metrics, no/wrong token | metrics, right token |
 * |-------------------------------------------|------------------------|---------------------|-------------------------|----------------------|
 * | `PGPOOL_ENDPOINT_TOKEN` set               | status alone           | full report         | 401                     | 200                  |
 * | not set, serverless platform detected     | status alone           | (no token exists)   | 401                     | (no token exists)    |
 * | not set, anywhere else (local, a VM)      | full report            | full report         | 200                     | 200                  |
 *
 * The full report names the pool's mode, port and provider and the metrics name every model and
 * its traffic: on a public function URL, anyone could read them. A status-only answer is served
 * from a probe at most `statusCacheMs` old (one probe per interval, whatever the request rate), so
 * an anonymous caller cannot make each request open a database connection.
 *
 * The token is compared in constant time (SHA-256 of both sides, then every byte), through
 * WebCrypto, which Node ≥ 20, Bun, Deno and workerd all have as `globalThis.crypto`.
 */
import { ConfigError } from '../errors/errors.ts';
import { type ConfigWarning, emitConfigWarnings } from '../logging/config-warnings.ts';
import { detectRuntime } from '../runtime/detect-runtime.ts';

export const ENDPOINT_TOKEN_VARIABLE = 'PGPOOL_ENDPOINT_TOKEN';

/** Shortest token accepted: 16 characters (a guessable token protects nothing). */
const MIN_TOKEN_LENGTH = 16;

/** Default `statusCacheMs`. */
export const DEFAULT_STATUS_CACHE_MS = 5000;

type Env = Readonly<Record<string, string | undefined>>;

/** Options of `healthLoader`, `metricsLoader`, `createHealthHandler` and `createMetricsHandler`. */
export interface EndpointOptions {
  /**
   * The bearer token callers must send (`Authorization: Bearer <token>`) to see the health details
   * and the metrics; at least 16 characters. Defaults to `PGPOOL_ENDPOINT_TOKEN` from `env`.
   * `null`: no token, even if the variable is set.
   */
  token?: string | null;
  /**
   * Environment to read `PGPOOL_ENDPOINT_TOKEN` from, and to detect the platform from while the
   * manager has not resolved its configuration yet (afterwards its `config.serverless` decides).
   * Defaults to `process.env`, read at the first request.
   */
  env?: Env;
  /** How long a status-only health answer may reuse the last probe's status, ms. Defaults to 5000; 0 probes each time. */
  statusCacheMs?: number;
  /** Receives the warning that the endpoints are closed for want of a token. Defaults to `process.emitWarning`, once per process. */
  onWarning?: (warning: ConfigWarning) => void;
}

/** What a source may tell about the platform: a manager's `initialized` and `config`. */
export interface PlatformSource {
  readonly initialized?: boolean;
  readonly config?: { readonly serverless: boolean; readonly runtime: string };
}

/** The decision for one request. */
export interface EndpointAccess {
  /** The caller may see the health report's details and the metrics. */
  readonly authorized: boolean;
  /** Whether a token is configured (a 401 then says how to send it). */
  readonly tokenConfigured: boolean;
}

/** The message of the warning; its code is `PGPOOL_ENDPOINT_TOKEN_UNSET` (src/logging/config-warnings.ts). */
export function endpointTokenUnsetMessage(runtime: string): string {
  return (
    `${ENDPOINT_TOKEN_VARIABLE} is not set on ${runtime} (a serverless platform): /api/health answers its status alone and ` +
    `/api/metrics answers 401. Set ${ENDPOINT_TOKEN_VARIABLE} to a random secret of at least ${MIN_TOKEN_LENGTH} characters ` +
    '(e.g. `openssl rand -hex 32`) and send `Authorization: Bearer <token>` from the monitoring that reads them'
  );
}

/** The `Bearer` credentials of an Authorization header (scheme case-insensitive, RFC 7235 §2.1), or null. */
export function bearerToken(header: string | null): string | null {
  if (header === null) return null;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match ? (match[1] as string) : null;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** `a === b` in time independent of where they differ and of their lengths (both are hashed first). */
export async function tokensEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= (x[i] as number) ^ (y[i] as number);
  return difference === 0;
}

/**
 * What the endpoints will do with this environment, in one clause (for `check`): `ok` is false only
 * for a token the handlers would refuse.
 */
export function describeEndpointAccess(env: Env, platform: { serverless: boolean; runtime: string }): { ok: boolean; text: string } {
  const token = env[ENDPOINT_TOKEN_VARIABLE];
  if (token !== undefined && token !== '') {
    try {
      checkToken(token, ENDPOINT_TOKEN_VARIABLE);
    } catch (error) {
      return { ok: false, text: `endpoints: ${(error as Error).message}` };
    }
    return { ok: true, text: `endpoints: ${ENDPOINT_TOKEN_VARIABLE} set: health details and metrics need Authorization: Bearer <token>` };
  }
  if (platform.serverless) {
    return {
      ok: true,
      text: `endpoints: ${ENDPOINT_TOKEN_VARIABLE} not set on ${platform.runtime}: health answers its status alone and metrics answer 401 (PGPOOL_ENDPOINT_TOKEN_UNSET)`,
    };
  }
  return {
    ok: true,
    text: `endpoints: open to every caller (no serverless platform detected); set ${ENDPOINT_TOKEN_VARIABLE} before exposing them`,
  };
}

function checkToken(token: string, variable: string): string {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token))
    throw new ConfigError(variable, `must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. \`openssl rand -hex 32\`)`);
  return token;
}

/**
 * The policy of one handler: resolved at its first request (so `process.env` is read when the
 * platform has set it), then fixed, except the platform, which follows the source's resolved config.
 */
export function createEndpointAccess(source: PlatformSource, options: EndpointOptions = {}) {
  let resolved: { token: string | null; env: Env } | null = null;
  let warned = false;
  const resolve = () => {
    if (resolved) return resolved;
    const env = options.env ?? (globalThis as { process?: { env?: Env } }).process?.env ?? {};
    let token: string | null;
    if (options.token !== undefined) token = options.token === null ? null : checkToken(options.token, 'token');
    else {
      const fromEnv = env[ENDPOINT_TOKEN_VARIABLE];
      token = fromEnv === undefined || fromEnv === '' ? null : checkToken(fromEnv, ENDPOINT_TOKEN_VARIABLE);
    }
    resolved = { token, env };
    return resolved;
  };
  /** The manager's resolved view when it has one (never initializes it), else the environment's. */
  const platform = (env: Env): { serverless: boolean; runtime: string } => {
    try {
      if (source.initialized === true && source.config) return source.config;
    } catch {
      // A closed manager throws on `config`: the environment still tells the platform.
    }
    return detectRuntime(env);
  };
  return {
    async check(request: Request): Promise<EndpointAccess> {
      const { token, env } = resolve();
      if (token !== null) {
        const sent = bearerToken(request.headers.get('authorization'));
        return { authorized: sent !== null && (await tokensEqual(sent, token)), tokenConfigured: true };
      }
      const { serverless, runtime } = platform(env);
      if (!serverless) return { authorized: true, tokenConfigured: false };
      if (!warned) {
        warned = true;
        emitConfigWarnings([endpointTokenUnsetMessage(runtime)], options.onWarning);
      }
      return { authorized: false, tokenConfigured: false };
    },
  };
}
