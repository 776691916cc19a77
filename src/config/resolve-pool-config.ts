/**
 * Environment → the frozen pool configuration every other layer reads. Pure: no I/O, no globals.
 *
 * Decision order:
 * 1. `USE_TRANSACTION_MODE=true|false` forces the mode.
 * 2. Otherwise a serverless runtime (see `detect-runtime.ts`) means PgBouncer transaction mode.
 * 3. Otherwise session mode (local development, long-running containers).
 * Then the URL's provider (src/config/providers.ts) decides what transaction mode means for it
 * (Neon's `-pooler` host, Supabase's 6543, RDS Proxy as is), and its TLS parameters are read with
 * their Prisma 6 / libpq meaning (src/config/tls-options.ts).
 *
 * Passwords: the enumerable fields hold redacted URLs only. The real URLs live in non-enumerable
 * properties (`connectionString`, `read.connectionString`, `pgbouncerAdminConnectionString`), so
 * `JSON.stringify`, `util.inspect` and spread copies never show a password, while the pool can still connect.
 */
import { ConfigError } from '../errors/errors.ts';
import { detectRuntime, type Runtime, type RuntimeHost } from '../runtime/detect-runtime.ts';
import { isVercelFunctionInstance } from '../runtime/function-instance.ts';
import {
  type DatabaseUrlHost,
  effectivePort,
  getParam,
  type ParsedDatabaseUrl,
  parseDatabaseUrl,
  redactDatabaseUrl,
  rewriteDatabaseUrl,
} from './database-url.ts';
import { tlsDefaultsFor } from './default-tls.ts';
import { firstSetVariable, urlVariableNames, variableChoice } from './env-urls.ts';
import { hostListWarnings, isPoolerHost } from './host-list.ts';
import { checkMilliseconds } from './milliseconds.ts';
import { namedStatementsRefusal, type PortRewrite, type ProviderId, planEndpoint } from './providers.ts';
import { parseTcpSettings, resolveSilenceTimeout, type TcpSettings } from './tcp-settings.ts';
import { parseTlsOptions, type TlsOptions } from './tls-options.ts';

export type PoolMode = 'transaction' | 'session';
/** Where `connectionLimit` came from: the `connectionLimit` option, the URL's `connection_limit`, or the budget rule. */
export type ConnectionLimitSource = 'option' | 'url' | 'budget';

export interface ResolveOptions {
  /** How long a caller waits for a free pooled connection. Defaults to the URL's `pool_timeout` (seconds), else 10 000 ms. */
  poolTimeoutMs?: number;
  /** How long opening a connection may take. Defaults to the URL's `connect_timeout` (seconds), else 5 000 ms. */
  connectTimeoutMs?: number;
  /** How long an idle connection is kept. Defaults to 2 000 ms in a Vercel function, 5 000 ms in other serverless runtimes or transaction mode, else 30 000 ms. */
  idleTimeoutMs?: number;
  /** Connections per instance; beats the URL's `connection_limit` and the budget rule. */
  connectionLimit?: number;
  /** The pooler tracks prepared statements (PgBouncer ≥ 1.21 with `max_prepared_statements`). Defaults to false. */
  poolerTracksPreparedStatements?: boolean;
  /** What the JavaScript runtime shows of itself (Workers, Bun, Deno). Defaults to this runtime's globals (`currentHost()`). */
  host?: RuntimeHost;
  /**
   * The longest a call may take because a host stopped answering (an IP that moved, a deleted pod,
   * a dropped NAT mapping): a connection with a query outstanding that gets no byte from the server
   * for half of it is destroyed, and the call finishes on a fresh connection within the other half;
   * null turns the bound off. Defaults to the URL's `tcp_user_timeout` (ms), else, in a serverless
   * runtime or transaction mode, min(15 000, pool timeout) (see SERVERLESS_SILENCE_TIMEOUT_MS), else
   * none. A query that legitimately runs longer than half of it without sending a row is cut too:
   * keep the server's `statement_timeout` below that (docs/failover.md, "Silent hosts").
   */
  silenceTimeoutMs?: number | null;
}

export interface ReadReplicaConfig {
  /** Redacted. */
  readonly databaseUrl: string;
  readonly port: number;
  readonly connectionLimit: number;
  readonly connectionLimitSource: ConnectionLimitSource;
  /** The managed pooler the URL points at (see src/config/providers.ts). */
  readonly provider: ProviderId;
  /** Set when the package chose the port (see `PoolConfig.portRewrite`). */
  readonly portRewrite: PortRewrite | null;
  /** What TLS does for this URL; `sslpassword` is not enumerable. */
  readonly tls: TlsOptions;
  /** The real URL, password included. Non-enumerable. */
  readonly connectionString: string;
}

export interface PoolConfig {
  readonly runtime: Runtime;
  /** The environment variable that proved the runtime; null for `local`. */
  readonly runtimeEvidence: string | null;
  /** Instances come and go with traffic (see `detectRuntime`). */
  readonly serverless: boolean;
  readonly mode: PoolMode;
  /** Why this mode, which variable the URL came from when it is not the first choice, and what it does on the URL's provider, in words. */
  readonly reason: string;
  /**
   * The environment variable the effective URL came from: `DATABASE_URL` (or `POSTGRES_PRISMA_URL`),
   * or in session mode the first set of `DATABASE_URL_SESSION`, `DIRECT_URL`, `DATABASE_URL_UNPOOLED`,
   * `POSTGRES_URL_NON_POOLING`.
   */
  readonly urlVariable: string;
  /** The provider `DATABASE_URL` points at, from its host (`neon`, `supavisor`, `azure`, … or `pgbouncer` for a host nothing is known about; docs/providers.md). */
  readonly provider: ProviderId;
  /**
   * Set when the package moved the URL to a port the URL did not name (5432 → 6543 for an unknown
   * host, a provider's pooler port): a refused connection there is reported with `hint`.
   */
  readonly portRewrite: PortRewrite | null;
  /** What TLS does for the effective URL (Prisma 6 / libpq meanings); `sslpassword` is not enumerable. */
  readonly tls: TlsOptions;
  /** The effective URL, redacted. */
  readonly databaseUrl: string;
  readonly port: number;
  readonly hosts: readonly DatabaseUrlHost[];
  readonly database: string | null;
  readonly connectionLimit: number;
  readonly connectionLimitSource: ConnectionLimitSource;
  readonly poolTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Client-side limit on one query (Prisma 6's `socket_timeout`, seconds in the URL); null = none. */
  readonly socketTimeoutMs: number | null;
  /** The bound on a silent connection (see ResolveOptions.silenceTimeoutMs); null = none. */
  readonly silenceTimeoutMs: number | null;
  /** Where `silenceTimeoutMs` came from: the option, the URL's `tcp_user_timeout`, or the default. */
  readonly silenceTimeoutSource: 'option' | 'url' | 'default';
  /** The URL's libpq TCP parameters (`keepalives`, `keepalives_idle`, …), as libpq reads them. */
  readonly tcp: TcpSettings;
  readonly idleTimeoutMs: number;
  /**
   * Use named (cached) prepared statements. Defaults to false: only `statement_cache_size` > 0 in
   * the URL (session mode) or a pooler that tracks them turns them on — interleaved measurements
   * showed no gain from them (docs/round-trips.md).
   */
  readonly statementCache: boolean;
  /** The URL's `schema` parameter. */
  readonly schema: string | null;
  readonly instanceCount: number;
  readonly maxPoolSize: number;
  /** The first of `readReplicas` (kept for single-replica callers); null without DATABASE_URL_READ. */
  readonly read: ReadReplicaConfig | null;
  /** Every URL in DATABASE_URL_READ (a comma-separated list), in order. */
  readonly readReplicas: readonly ReadReplicaConfig[];
  /** Redacted. */
  readonly pgbouncerAdminUrl: string | null;
  readonly warnings: readonly string[];
  /** The real effective URL, password included. Non-enumerable. */
  readonly connectionString: string;
  /** The real admin console URL. Non-enumerable; null when unset. */
  readonly pgbouncerAdminConnectionString: string | null;
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_INSTANCE_COUNT = 10;
const DEFAULT_MAX_POOL_SIZE = 100;
/** The seed's table: a serverless instance needs 1–3 connections; a session-mode process up to 50. */
const LIMIT_CAP: Readonly<Record<PoolMode, number>> = { transaction: 3, session: 50 };
const DEFAULT_POOL_TIMEOUT_MS = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Short in serverless: a frozen instance must not hold server connections it may never use again. */
const SERVERLESS_IDLE_TIMEOUT_MS = 5_000;
const SESSION_IDLE_TIMEOUT_MS = 30_000;
/**
 * Vercel keeps the instance up (and bills its memory) for this + 100 ms after each release, so
 * that pg can close idle connections before a suspension (src/lifecycle/keep-alive.ts). Keeping
 * a connection idle longer saves one pooler login (~4 round trips with SCRAM) only for a request
 * that arrives within the window; Fluid sends a busy instance its next request well inside 2 s,
 * and a quiet one is released after 2.1 s instead of 5.1 s.
 */
const VERCEL_IDLE_TIMEOUT_MS = 2_000;

/** Empty counts as unset, like an empty line in a `.env` file. */
const read = (env: Env, name: string): string | undefined => {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
};

/** Quote a bad value only when it cannot be a secret (short, no URL or credential punctuation). */
const show = (value: string): string => (/^[\w .,+-]{0,32}$/.test(value) ? `got ${JSON.stringify(value)}` : 'got another value');

const positiveInteger = (env: Env, name: string, fallback: number): number => {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const text = raw.trim();
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value > 0)) throw new ConfigError(name, `must be a positive integer, ${show(raw)}`);
  return value;
};

const transactionFlag = (env: Env): boolean | undefined => {
  const raw = env.USE_TRANSACTION_MODE;
  const text = raw?.trim().toLowerCase() ?? '';
  if (text === '') return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  throw new ConfigError('USE_TRANSACTION_MODE', `must be "true" or "false", or unset for automatic detection, ${show(raw ?? '')}`);
};

const checkOptions = (options: ResolveOptions): void => {
  // Above 0: node-postgres reads 0 as "no limit".
  for (const name of ['poolTimeoutMs', 'connectTimeoutMs', 'idleTimeoutMs'] as const) checkMilliseconds(name, options[name]);
  const limit = options.connectionLimit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))
    throw new ConfigError('connectionLimit', 'must be a positive integer');
  if (options.silenceTimeoutMs !== null) checkMilliseconds('silenceTimeoutMs', options.silenceTimeoutMs);
  const tracks = options.poolerTracksPreparedStatements;
  if (tracks !== undefined && typeof tracks !== 'boolean') throw new ConfigError('poolerTracksPreparedStatements', 'must be a boolean');
};

/** The Prisma v6 URL parameters we still honour, validated. */
interface UrlSettings {
  readonly connectionLimit: number | undefined;
  readonly poolTimeoutMs: number | undefined;
  readonly connectTimeoutMs: number | undefined;
  readonly socketTimeoutMs: number | undefined;
  /** `statement_cache_size`: 0 turns named statements off, > 0 asks for them; undefined when absent. */
  readonly statementCacheSize: number | undefined;
}

const urlSettings = (parsed: ParsedDatabaseUrl, variable: string): UrlSettings => {
  const limit = getParam(parsed, 'connection_limit');
  if (limit !== undefined && !(/^\d+$/.test(limit) && Number.isSafeInteger(Number(limit)) && Number(limit) > 0)) {
    throw new ConfigError(`${variable} (connection_limit)`, 'must be a positive integer');
  }
  const seconds = (key: string): number | undefined => {
    const value = getParam(parsed, key);
    if (value === undefined) return undefined;
    const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    // Above 0: node-postgres treats 0 as "wait forever".
    if (!(n > 0))
      throw new ConfigError(
        `${variable} (${key})`,
        'must be a positive number of seconds; 0 is rejected because node-postgres treats 0 as "wait forever"',
      );
    return checkMilliseconds(`${variable} (${key})`, Math.max(1, Math.round(n * 1000)), { unit: 's' }) as number;
  };
  const cacheSize = getParam(parsed, 'statement_cache_size');
  if (cacheSize !== undefined && !/^\d+$/.test(cacheSize)) {
    throw new ConfigError(`${variable} (statement_cache_size)`, 'must be a non-negative integer (0 turns named prepared statements off)');
  }
  return {
    connectionLimit: limit === undefined ? undefined : Number(limit),
    poolTimeoutMs: seconds('pool_timeout'),
    connectTimeoutMs: seconds('connect_timeout'),
    socketTimeoutMs: seconds('socket_timeout'),
    statementCacheSize: cacheSize === undefined ? undefined : Number(cacheSize),
  };
};

/** A set URL variable, parsed and validated; undefined when unset. */
const urlVariable = (env: Env, variable: string) => {
  const url = read(env, variable);
  if (url === undefined) return undefined;
  const parsed = parseDatabaseUrl(url, variable);
  return { url, variable, parsed, settings: urlSettings(parsed, variable) };
};
type UrlVariable = NonNullable<ReturnType<typeof urlVariable>>;

/**
 * A comma followed by `scheme://`, by another comma or by the end separates list entries (so an empty
 * entry is an error, not part of a database name); other commas separate the hosts of one multi-host URL.
 */
const URL_LIST_SEPARATOR = /,(?=\s*(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/|,|$))/;

/**
 * A variable that may hold several URLs, comma-separated (`DATABASE_URL_READ`). A single URL keeps
 * the variable's own name in errors; entries of a list are named `VARIABLE[i]` (0-based).
 */
const urlListVariable = (env: Env, variable: string): UrlVariable[] => {
  const raw = read(env, variable);
  if (raw === undefined) return [];
  const parts = raw.split(URL_LIST_SEPARATOR);
  return parts.map((part, index) => {
    const name = parts.length === 1 ? variable : `${variable}[${index}]`;
    const url = part.trim();
    if (url === '') throw new ConfigError(name, 'is empty: expected a comma-separated list of postgres:// URLs');
    const parsed = parseDatabaseUrl(url, name);
    return { url, variable: name, parsed, settings: urlSettings(parsed, name) };
  });
};

interface Budget {
  readonly mode: PoolMode;
  readonly instanceCount: number;
  readonly maxPoolSize: number;
  readonly optionLimit: number | undefined;
  /** For the TLS default of a URL without `sslmode` (`PGSSLMODE`). */
  readonly env: Env;
  /** Variables whose value is a pooler's URL by definition (src/config/env-urls.ts). */
  readonly poolerOnly: readonly string[];
}

interface Endpoint {
  readonly connectionString: string;
  readonly parsed: ParsedDatabaseUrl;
  readonly provider: ProviderId;
  /** The provider's decision, in words. */
  readonly decision: string;
  readonly tls: TlsOptions;
  readonly connectionLimit: number;
  readonly connectionLimitSource: ConnectionLimitSource;
  readonly portRewrite: PortRewrite | null;
}

/**
 * One URL under the mode's rules. Used for the primary and, unchanged, for each read replica.
 *
 * What transaction mode does to the URL is the provider's documented rule (src/config/providers.ts:
 * Neon's `-pooler` host, Azure's 6432, Prisma Postgres's `pooled.` host, …). Only a host nothing is
 * known about gets this package's convention, 5432 (or no port) → 6543, and the rewrite is recorded
 * (`portRewrite`) so a refused connection says so. Any other explicit port is the pooler the user
 * named, kept without a warning; a Unix socket is never rewritten.
 */
const resolveEndpoint = (source: UrlVariable, budget: Budget, warnings: string[]): Endpoint => {
  const { url, variable, parsed, settings } = source;
  const { mode, instanceCount, maxPoolSize, optionLimit } = budget;
  const fromBudget = Math.min(LIMIT_CAP[mode], Math.max(1, Math.floor(maxPoolSize / instanceCount)));
  const [connectionLimit, connectionLimitSource]: [number, ConnectionLimitSource] =
    optionLimit !== undefined
      ? [optionLimit, 'option']
      : settings.connectionLimit !== undefined
        ? [settings.connectionLimit, 'url']
        : [fromBudget, 'budget'];
  if (instanceCount * connectionLimit > maxPoolSize) {
    warnings.push(
      `${variable}: INSTANCE_COUNT (${instanceCount}) × connection_limit (${connectionLimit}) = ${instanceCount * connectionLimit} exceeds MAX_POOL_SIZE (${maxPoolSize}); at full scale instances will queue for server connections`,
    );
  }

  const plan = planEndpoint(parsed, mode, variable, { pooledVariable: budget.poolerOnly.includes(variable) });
  warnings.push(...plan.warnings);
  warnings.push(...hostListWarnings(parsed, mode === 'transaction' || isPoolerHost(plan.provider.id, parsed), variable));
  const connectionString = rewriteDatabaseUrl(url, { ...plan.rewrite, pgbouncer: mode === 'transaction', connectionLimit }, variable);
  const rewritten = parseDatabaseUrl(connectionString, variable);
  return {
    connectionString,
    parsed: rewritten,
    connectionLimit,
    connectionLimitSource,
    provider: plan.provider.id,
    decision: plan.decision,
    portRewrite: plan.portRewrite === null ? null : Object.freeze({ ...plan.portRewrite }),
    tls: parseTlsOptions(rewritten, variable, tlsDefaultsFor(rewritten, budget.env)),
  };
};

/** Adds a property that `JSON.stringify`, `util.inspect`, `Object.keys` and spreads do not see. */
const hidden = <T extends object, K extends string, V>(target: T, key: K, value: V): T & { readonly [P in K]: V } =>
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false }) as T & { readonly [P in K]: V };

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
};

/**
 * Resolves the pool configuration from an environment map (usually `process.env`).
 * Throws only `ConfigError`, naming the variable or option at fault; messages never contain a password.
 */
export function resolvePoolConfig(env: Env, options: ResolveOptions = {}): PoolConfig {
  checkOptions(options);
  // Provider integrations inject their own names (src/config/env-urls.ts); the first set one wins.
  const names = urlVariableNames(env);
  if (firstSetVariable(env, names.pooled) === undefined) {
    throw new ConfigError(
      'DATABASE_URL',
      `is not set (nor ${[...names.pooled].filter((n) => n !== 'DATABASE_URL').join(', ')}): expected postgres://user:password@host:5432/database`,
    );
  }
  const sessionVariable = firstSetVariable(env, names.direct);
  const session = sessionVariable === undefined ? undefined : urlVariable(env, sessionVariable);
  const replicas = urlListVariable(env, 'DATABASE_URL_READ');
  const admin = urlVariable(env, 'PGBOUNCER_ADMIN_URL');
  // Its TLS parameters are checked here, at the boundary, not at the first health check.
  if (admin) parseTlsOptions(admin.parsed, admin.variable, tlsDefaultsFor(admin.parsed, env));
  const forced = transactionFlag(env);
  const instanceCount = positiveInteger(env, 'INSTANCE_COUNT', DEFAULT_INSTANCE_COUNT);
  const maxPoolSize = positiveInteger(env, 'MAX_POOL_SIZE', DEFAULT_MAX_POOL_SIZE);

  const { runtime, serverless, transactionModeByDefault, evidence, note } = detectRuntime(env, options.host);
  let mode: PoolMode;
  let reason: string;
  const detected = `${runtime} detected from ${evidence}${note ? ` (${note})` : ''}`;
  if (forced !== undefined) {
    mode = forced ? 'transaction' : 'session';
    reason = `forced by USE_TRANSACTION_MODE=${forced}`;
  } else if (transactionModeByDefault) {
    mode = 'transaction';
    reason = serverless
      ? `${detected}: serverless instances need PgBouncer transaction mode`
      : `${detected}: replicas scale out behind one pooler, so PgBouncer transaction mode`;
  } else {
    mode = 'session';
    reason =
      runtime === 'local'
        ? 'no serverless runtime detected: local development uses session mode'
        : `${detected}: long-running instances use session mode (USE_TRANSACTION_MODE=true forces transaction mode)`;
  }

  // Transaction mode reads the pooler-only names first (where they exist DATABASE_URL is the database
  // itself); session mode the direct names, then the general ones (src/config/env-urls.ts).
  const primaryNames = mode === 'transaction' ? names.pooled : names.sessionFallback;
  const primary = urlVariable(env, firstSetVariable(env, primaryNames) as string) as UrlVariable;
  const warnings: string[] = [];
  const budget: Budget = { mode, instanceCount, maxPoolSize, optionLimit: options.connectionLimit, env, poolerOnly: names.poolerOnly };
  // Session mode exists for local development, where DATABASE_URL may be the pooler: prefer the direct URL.
  const source = mode === 'session' ? (session ?? primary) : primary;
  const main = resolveEndpoint(source, budget, warnings);
  if (mode === 'transaction' && options.poolerTracksPreparedStatements === true) {
    const refusal = namedStatementsRefusal(main.parsed);
    if (refusal !== null) {
      throw new ConfigError(
        'poolerTracksPreparedStatements',
        `must not be true with ${source.variable}: ${refusal}; remove the option (unnamed statements work through any pooler)`,
      );
    }
  }
  const chosen = variableChoice(source.variable, source === primary ? primaryNames : names.direct);
  const urlReason =
    source === primary
      ? chosen === null
        ? ''
        : `; URL from ${chosen}`
      : `; session mode uses the direct URL from ${chosen ?? source.variable}`;
  const readReplicas = replicas.map((replica) => {
    const endpoint = resolveEndpoint(replica, budget, warnings);
    return hidden(
      {
        databaseUrl: redactDatabaseUrl(endpoint.connectionString),
        port: effectivePort(endpoint.parsed),
        connectionLimit: endpoint.connectionLimit,
        connectionLimitSource: endpoint.connectionLimitSource,
        provider: endpoint.provider,
        portRewrite: endpoint.portRewrite,
        tls: endpoint.tls,
      },
      'connectionString',
      endpoint.connectionString,
    );
  });

  const poolTimeoutMs = options.poolTimeoutMs ?? source.settings.poolTimeoutMs ?? DEFAULT_POOL_TIMEOUT_MS;
  const tcp = parseTcpSettings(source.parsed, source.variable);
  // Replicas' URLs are checked too (a bad value is a ConfigError at the boundary); the pools share the primary's settings.
  for (const replica of replicas) parseTcpSettings(replica.parsed, replica.variable);
  const silence = resolveSilenceTimeout({
    option: options.silenceTimeoutMs,
    tcp,
    serverless: serverless || mode === 'transaction',
    poolTimeoutMs,
  });

  const config: Omit<PoolConfig, 'connectionString' | 'pgbouncerAdminConnectionString'> = {
    runtime,
    runtimeEvidence: evidence,
    serverless,
    mode,
    reason: `${reason}${urlReason}; ${main.decision}`,
    urlVariable: source.variable,
    provider: main.provider,
    portRewrite: main.portRewrite,
    tls: main.tls,
    databaseUrl: redactDatabaseUrl(main.connectionString),
    port: effectivePort(main.parsed),
    hosts: main.parsed.hosts.map((h) => ({ ...h })),
    database: main.parsed.database,
    connectionLimit: main.connectionLimit,
    connectionLimitSource: main.connectionLimitSource,
    poolTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? source.settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    socketTimeoutMs: source.settings.socketTimeoutMs ?? null,
    silenceTimeoutMs: silence.ms,
    silenceTimeoutSource: silence.source,
    tcp,
    idleTimeoutMs:
      options.idleTimeoutMs ??
      (isVercelFunctionInstance(env)
        ? VERCEL_IDLE_TIMEOUT_MS
        : serverless || mode === 'transaction'
          ? SERVERLESS_IDLE_TIMEOUT_MS
          : SESSION_IDLE_TIMEOUT_MS),
    // Named statements outlive a transaction on their server connection; a transaction-mode pooler
    // hands that connection to someone else, so only a pooler that tracks them can allow them.
    // In session mode they are opt-in (statement_cache_size > 0): interleaved A/B runs measured no
    // gain over unnamed statements (docs/round-trips.md), and unnamed ones work behind any pooler.
    statementCache:
      source.settings.statementCacheSize !== 0 &&
      (options.poolerTracksPreparedStatements === true || (mode === 'session' && (source.settings.statementCacheSize ?? 0) > 0)),
    schema: getParam(main.parsed, 'schema') ?? null,
    instanceCount,
    maxPoolSize,
    read: readReplicas[0] ?? null,
    readReplicas,
    pgbouncerAdminUrl: admin === undefined ? null : redactDatabaseUrl(admin.url),
    warnings,
  };
  const withSecrets = hidden(
    hidden(config, 'connectionString', main.connectionString),
    'pgbouncerAdminConnectionString',
    admin === undefined ? null : admin.url.trim(),
  );
  return deepFreeze(withSecrets);
}
