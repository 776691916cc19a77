/**
 * The one place a connection string becomes node-postgres client settings, for the pool
 * (src/pool/create-pool.ts) and for the health probe's own client (src/pool/health-probes.ts), so
 * both connect the same way.
 *
 * - Prisma-only parameters (`connection_limit`, `pgbouncer` …) are removed: pg does not read them;
 *   so are libpq's TCP parameters (`keepalives…`, `tcp_user_timeout`: src/config/tcp-settings.ts),
 *   which become pg's `keepAlive` options and the silence bound instead.
 * - TLS: the URL's TLS parameters are translated with their Prisma 6 / libpq meaning
 *   (src/config/tls-options.ts) into pg's `ssl` option, and then removed from the URL. They must
 *   go: pg's ConnectionParameters does `Object.assign({}, config, parse(connectionString))`, so
 *   whatever pg-connection-string derives from `sslmode`/`sslcert`/`sslrootcert` would overwrite our
 *   `ssl` — and print its SECURITY WARNING (`prefer`/`require`/`verify-ca` as `verify-full`) into the
 *   app's process.
 * - Certificates, keys and a PKCS#12 identity are read here and loaded into one
 *   `tls.SecureContext`: the `sslpassword` then lives only inside OpenSSL, not in an options object
 *   that `util.inspect(client)` would print. A file that cannot be read, or a wrong `sslpassword`,
 *   is a `ConfigError` naming the URL parameter, at pool creation rather than at the first query.
 */
import type tls from 'node:tls';
import type pg from 'pg';
import { PRISMA_ONLY_PARAMS, parseDatabaseUrl, stripParams } from '../config/database-url.ts';
import { tlsDefaultsFor } from '../config/default-tls.ts';
import { TCP_URL_PARAMS } from '../config/tcp-settings.ts';
import { describeTlsFailure, parseTlsOptions, TLS_URL_PARAMS, type TlsOptions } from '../config/tls-options.ts';
import { tlsProblem } from '../errors/classify-error.ts';
import { ConfigError, TlsError } from '../errors/errors.ts';
import { nodeBuiltin } from '../runtime/node-builtins.ts';
import { acceptPlainAnswer, disableClientTls } from './pg-internals.ts';

export interface PgClientSettings {
  /** The URL node-postgres gets: without Prisma-only and TLS parameters. Password included. */
  readonly connectionString: string;
  /** pg's `ssl`: false is plain TCP. Always set, so node-postgres never applies its own default. */
  readonly ssl: false | tls.ConnectionOptions;
  /** `direct` (PostgreSQL 17): TLS from the first byte, no SSLRequest. */
  readonly sslnegotiation: 'postgres' | 'direct';
  /** The TLS intent the settings were built from. */
  readonly tls: TlsOptions;
  /** The environment variable the URL came from, for messages. */
  readonly variable: string;
}

export interface ClientSettingsOptions {
  /** The URL's TLS intent, when already parsed (resolvePoolConfig's `config.tls`). Defaults to parsing the URL. */
  tls?: TlsOptions;
  /** Named in error messages. Defaults to `DATABASE_URL`. */
  variable?: string;
  /** Where `PGSSLMODE` is read for a URL without `sslmode` (when `tls` is not given). Defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

const STRIPPED: readonly string[] = [...PRISMA_ONLY_PARAMS, ...TLS_URL_PARAMS, ...TCP_URL_PARAMS];

function readTlsFile(file: string, param: string, variable: string): Buffer {
  const fs = nodeBuiltin('node:fs'); // outside the try: a runtime without node:fs is not a file that cannot be read
  try {
    return fs.readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`${variable} (${param})`, `cannot read the file it names (${code}): ${file}`);
  }
}

function secureContext(options: TlsOptions, variable: string): tls.SecureContext {
  const context: tls.SecureContextOptions = {};
  // A CA file replaces the system CAs (libpq's sslrootcert): only that CA is trusted.
  if (options.caFile !== null) context.ca = readTlsFile(options.caFile, options.caParam ?? 'sslrootcert', variable);
  if (options.identityFile !== null) context.pfx = readTlsFile(options.identityFile, 'sslidentity', variable);
  if (options.clientCertFile !== null) context.cert = readTlsFile(options.clientCertFile, 'sslcert', variable);
  if (options.clientKeyFile !== null) context.key = readTlsFile(options.clientKeyFile, 'sslkey', variable);
  if (options.password !== null) context.passphrase = options.password;
  try {
    return nodeBuiltin('node:tls').createSecureContext(context);
  } catch (error) {
    // OpenSSL's reason ("mac verify failure", "bad decrypt" …) never contains the passphrase.
    const reason = String((error as Error).message).slice(0, 120);
    const param =
      options.identityFile !== null ? 'sslidentity' : options.clientKeyFile !== null ? 'sslkey' : (options.caParam ?? 'sslrootcert');
    const hint =
      options.identityFile !== null || options.clientKeyFile !== null
        ? 'wrong sslpassword, or not a valid file'
        : 'not a PEM certificate file';
    throw new ConfigError(`${variable} (${param})`, `could not be loaded (${reason}): ${hint}`);
  }
}

/** pg's `ssl` option for a TLS intent; reads the files it names. */
function sslOption(options: TlsOptions, variable: string): PgClientSettings['ssl'] {
  if (options.state === 'off') return false;
  const ssl: tls.ConnectionOptions = { rejectUnauthorized: options.verify !== 'none' };
  const ownMaterial =
    options.caFile !== null || options.identityFile !== null || options.clientCertFile !== null || options.clientKeyFile !== null;
  if (ownMaterial || options.password !== null) {
    // Files are read now, so that a bad one is a ConfigError at pool creation, not at the first query.
    ssl.secureContext = secureContext(options, variable);
  } else {
    // Only the system CAs: the context (which loads Node's root store, ~1 ms) is built at the first TLS
    // handshake, once. With sslmode=prefer against a server that answers "no TLS" it is never needed.
    // pg copies the option into tls.connect's options with Object.assign (pg/lib/connection.js
    // upgradeToSSL), which reads the getter; test/unit/pool/client-settings.test.ts pins that.
    let context: tls.SecureContext | undefined;
    Object.defineProperty(ssl, 'secureContext', {
      enumerable: true,
      get: () => {
        context ??= secureContext(options, variable);
        return context;
      },
    });
  }
  // verify-ca: the chain is checked by OpenSSL; only the host name check is turned off.
  if (options.verify === 'ca') ssl.checkServerIdentity = () => undefined;
  return ssl;
}

/** Builds the settings for one URL. Throws `ConfigError` (naming the URL parameter) for unusable TLS settings. */
export function buildClientSettings(connectionString: string, options: ClientSettingsOptions = {}): PgClientSettings {
  const variable = options.variable ?? 'DATABASE_URL';
  const parseTls = () => {
    const parsed = parseDatabaseUrl(connectionString, variable);
    return parseTlsOptions(parsed, variable, tlsDefaultsFor(parsed, options.env ?? process.env));
  };
  const tlsOptions = options.tls ?? parseTls();
  return Object.freeze({
    connectionString: stripParams(connectionString, STRIPPED, variable),
    ssl: sslOption(tlsOptions, variable),
    sslnegotiation: tlsOptions.negotiation,
    tls: tlsOptions,
    variable,
  });
}

/** The `pg.Client` / `pg.Pool` options for the settings. */
export function pgClientConfig(settings: PgClientSettings): pg.ClientConfig {
  const config: pg.ClientConfig & { sslnegotiation?: 'direct' } = { connectionString: settings.connectionString, ssl: settings.ssl };
  // @types/pg does not know pg 8.20's sslnegotiation yet; pg reads it from the config.
  if (settings.sslnegotiation === 'direct') config.sslnegotiation = 'direct';
  return config;
}

/** A TLS failure becomes a `TlsError` that names the URL parameter to change; anything else is returned as is. */
export function toTlsError(error: unknown, settings: PgClientSettings): unknown {
  if (error instanceof TlsError) return error;
  const problem = tlsProblem(error);
  if (problem === null) return error;
  return new TlsError(problem, describeTlsFailure(problem, settings.tls, settings.variable), { cause: error });
}

type ClientConstructor = new (config: pg.ClientConfig) => pg.Client;

/**
 * A `pg.Client` subclass whose `connect()` rejects with a `TlsError` on TLS failures, and that
 * implements `sslmode=prefer` (acceptPlainAnswer in ./pg-internals.ts). pg-pool creates its clients
 * from the pool's `Client` option and connects them with a callback.
 */
export function tlsAwareClient(settings: PgClientSettings, Base: ClientConstructor): ClientConstructor {
  const prefer = settings.tls.mode === 'prefer' && settings.tls.negotiation === 'postgres';
  return class extends Base {
    // biome-ignore lint/suspicious/noExplicitAny: pg's connect() is overloaded (callback or promise)
    override connect(callback?: (...args: any[]) => void): any {
      if (prefer) {
        try {
          // libpq never uses TLS on a Unix-domain socket: `prefer` (the default) is plain there, no question asked.
          if (this.host.startsWith('/')) disableClientTls(this);
          else acceptPlainAnswer(this);
        } catch (error) {
          // A pg without the fields these need: the callback gets it (never an unhandled rejection, never a caller left waiting).
          if (!callback) return Promise.reject(error);
          queueMicrotask(() => callback(error));
          return undefined;
        }
      }
      return this.#connect(callback);
    }

    // biome-ignore lint/suspicious/noExplicitAny: see connect()
    #connect(callback?: (...args: any[]) => void): any {
      const wrap = (error: unknown) => toTlsError(error, settings);
      if (callback) {
        // biome-ignore lint/suspicious/noExplicitAny: pg's callback overload
        return (super.connect as any)((error: Error | null | undefined, ...rest: unknown[]) =>
          callback(error ? wrap(error) : error, ...rest),
        );
      }
      return super.connect().catch((error: unknown) => {
        throw wrap(error);
      });
    }
  };
}
