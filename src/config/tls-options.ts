/**
 * What a connection string asks of TLS, in Prisma 6 / libpq terms. Pure: no files are read here
 * (src/pool/client-settings.ts turns this into node-postgres' `ssl` option and reads them).
 *
 * Why our own translation: node-postgres (pg-connection-string ≥ 2.10, pg ≥ 8.17) treats
 * `sslmode=prefer|require|verify-ca` as `verify-full` and prints a SECURITY WARNING into the app's
 * process; Prisma 6 and libpq did not verify the certificate with `require`. So the URL a Prisma 6
 * app used — `sslmode=require`, as Supabase and Neon hand it out — fails on Prisma 7 with
 * "unable to verify the first certificate" against any private CA (prisma/prisma#28795,
 * prisma/web#7410). The promise here: a Prisma 6 URL keeps meaning what it meant.
 *
 * | URL                                               | meaning                                                   |
 * |---------------------------------------------------|-----------------------------------------------------------|
 * | no TLS parameter                                  | Prisma 6's default, `prefer` not verified (or `PGSSLMODE`; `require` for a provider that only speaks TLS) |
 * | `sslmode=disable` (`allow`)                       | plain TCP                                                 |
 * | `sslmode=prefer`                                  | encrypted, not verified; plain TCP if the server has no TLS (libpq) |
 * | `sslmode=require`                                 | encrypted, certificate not verified (Prisma 6, libpq)     |
 * | `… &sslaccept=strict`                             | verified: chain + host name, system CAs or the given CA   |
 * | `sslaccept=accept_invalid_certs`                  | Prisma 6's default, said out loud: not verified           |
 * | `sslcert=<file>` without `sslkey` (Prisma 6)      | the server's CA file                                      |
 * | `sslcert` + `sslkey` (libpq)                      | client certificate and key (`sslpassword` decrypts the key) |
 * | `sslidentity=<file>` + `sslpassword` (Prisma 6)   | PKCS#12 client identity                                   |
 * | `sslrootcert=<file>` (libpq)                      | the server's CA; with `require`: verify-ca (libpq)        |
 * | `sslrootcert=system` (libpq 16)                   | the system CAs, verify-full                               |
 * | `sslmode=verify-ca`                               | chain verified against the CA file, host name not checked |
 * | `sslmode=verify-full`                             | chain and host name verified (CA file or system CAs)      |
 * | `sslmode=no-verify` (node-postgres)               | encrypted, not verified                                   |
 * | `ssl=true` / `ssl=0` (node-postgres)              | verify-full / plain TCP                                   |
 * | `uselibpqcompat`                                  | accepted and dropped: these are libpq meanings already    |
 *
 * libpq: https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-SSLMODE
 * Prisma 6: https://www.prisma.io/docs/orm/overview/databases/postgresql#configuring-an-ssl-connection
 *
 * No TLS parameter: Prisma 6 (quaint's Postgres URL parser) defaulted to `sslmode=prefer` with
 * `sslaccept=accept_invalid_certs`, so a Supabase URL without `sslmode` was encrypted whenever the
 * server offered TLS. node-postgres' own default is plain TCP: keeping it would send the password and
 * every row in clear text after a move from Prisma 6, and fail on a TLS-only pooler. So the default is
 * Prisma 6's, `PGSSLMODE` (libpq's variable) wins when set, and a provider whose endpoints accept TLS
 * connections only (src/config/default-tls.ts) gets `require`, so no plain-TCP fallback is attempted.
 * https://github.com/prisma/prisma-engines/blob/main/quaint/src/connector/postgres/url.rs
 *
 * `prefer`'s fallback to plain TCP is done by the pool's client (src/pool/client-settings.ts), which
 * asks the server whether it offers TLS before connecting, since node-postgres cannot retry a
 * connection without TLS.
 */
import { ConfigError, type TlsProblem } from '../errors/errors.ts';
import { getParam, type ParsedDatabaseUrl } from './database-url.ts';

/** Every URL parameter about TLS: removed from the URL node-postgres sees once we set `ssl` ourselves. */
export const TLS_URL_PARAMS = Object.freeze([
  'ssl',
  'sslmode',
  'sslaccept',
  'sslcert',
  'sslkey',
  'sslrootcert',
  'sslidentity',
  'sslpassword',
  'sslnegotiation',
  'uselibpqcompat',
] as const);

export type TlsMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify';
const MODES: readonly TlsMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * - `none`: encrypted, any certificate accepted.
 * - `ca`: the chain must lead to the CA (the file, or the system CAs); the host name is not checked.
 * - `full`: chain and host name.
 */
export type TlsVerification = 'none' | 'ca' | 'full';

/**
 * Where the effective `sslmode` came from: the URL (`sslmode`, `ssl`, or Prisma 6's other TLS
 * parameters), the `PGSSLMODE` environment variable, the provider (TLS-only endpoints), or
 * Prisma 6's default (`prefer`, not verified).
 */
export type TlsModeSource = 'url' | 'PGSSLMODE' | 'provider' | 'default';

/** What decides the `sslmode` of a URL that sets none. */
export interface TlsDefaults {
  /** The `PGSSLMODE` environment variable (libpq's); wins over the defaults below when set. */
  readonly pgsslmode?: string | undefined;
  /** The provider's name when its endpoints accept TLS connections only: the default becomes `require`. */
  readonly tlsOnlyProvider?: string | null | undefined;
}

export interface TlsOptions {
  /** `off`: plain TCP. `on`: TLS (with `prefer`: when the server offers it). */
  readonly state: 'off' | 'on';
  /** The effective `sslmode` (libpq's name). */
  readonly mode: TlsMode;
  /** Where `mode` came from. */
  readonly modeSource: TlsModeSource;
  readonly verify: TlsVerification;
  /** The server's CA file; null = the system CAs. */
  readonly caFile: string | null;
  /** The URL parameter that named `caFile` (`sslrootcert`, or Prisma 6's `sslcert`). */
  readonly caParam: 'sslrootcert' | 'sslcert' | null;
  /** libpq client certificate + key (PEM). */
  readonly clientCertFile: string | null;
  readonly clientKeyFile: string | null;
  /** Prisma 6 PKCS#12 client identity. */
  readonly identityFile: string | null;
  /** `sslpassword` is set. The password itself is `password`, which is not enumerable. */
  readonly hasPassword: boolean;
  /** `sslnegotiation=direct` (PostgreSQL 17): TLS from the first byte. */
  readonly negotiation: 'postgres' | 'direct';
  /** One line for logs: what TLS does for this URL. No file contents, no password. */
  readonly summary: string;
  /** For an encrypted but unverified connection: how to verify (logged once at debug level). Null otherwise. */
  readonly verifyHint: string | null;
  /** `sslpassword` (PKCS#12 or key passphrase). Non-enumerable: never in JSON.stringify or util.inspect. */
  readonly password: string | null;
}

const fail = (variable: string, key: string, message: string) => new ConfigError(`${variable} (${key})`, message);

const PLAIN: Omit<TlsOptions, 'state' | 'mode' | 'modeSource' | 'summary' | 'password'> = {
  verify: 'none',
  caFile: null,
  caParam: null,
  clientCertFile: null,
  clientKeyFile: null,
  identityFile: null,
  hasPassword: false,
  negotiation: 'postgres',
  verifyHint: null,
};

const freeze = (options: Omit<TlsOptions, 'password'>, password: string | null): TlsOptions =>
  Object.freeze(Object.defineProperty({ ...options }, 'password', { value: password, enumerable: false }) as TlsOptions);

const MODE_HELP = `must be one of ${MODES.join(', ')} (libpq's names; Prisma 6 URLs use prefer or require)`;

/** `mode` from `sslmode`, else from node-postgres' own `ssl` parameter, else null. */
const readMode = (parsed: ParsedDatabaseUrl, variable: string): TlsMode | null => {
  const sslmode = getParam(parsed, 'sslmode');
  if (sslmode !== undefined) {
    if (!MODES.includes(sslmode as TlsMode)) throw fail(variable, 'sslmode', MODE_HELP);
    return sslmode as TlsMode;
  }
  const ssl = getParam(parsed, 'ssl');
  if (ssl === undefined) return null;
  // node-postgres' own parameter, with its meanings (pg-connection-string).
  if (ssl === 'true' || ssl === '1') return 'verify-full';
  if (ssl === 'false' || ssl === '0') return 'disable';
  if (ssl === 'no-verify') return 'no-verify';
  throw fail(variable, 'ssl', 'must be true, 1, false, 0 or no-verify (or use sslmode)');
};

/** The mode of a URL with no TLS parameter: `PGSSLMODE`, else `require` on a TLS-only provider, else Prisma 6's `prefer`. */
const defaultMode = (defaults: TlsDefaults): { mode: TlsMode; source: TlsModeSource } => {
  const pgsslmode = defaults.pgsslmode?.trim() ?? '';
  if (pgsslmode !== '') {
    if (!MODES.includes(pgsslmode as TlsMode)) throw new ConfigError('PGSSLMODE', MODE_HELP);
    return { mode: pgsslmode as TlsMode, source: 'PGSSLMODE' };
  }
  if (defaults.tlsOnlyProvider) return { mode: 'require', source: 'provider' };
  return { mode: 'prefer', source: 'default' };
};

/**
 * The TLS intent of one URL. Throws `ConfigError` naming the URL parameter for a value that has no
 * meaning or two parameters that contradict each other; messages never contain a parameter's value
 * other than a mode name. `defaults` decides for a URL without TLS parameters (see the table above).
 */
export function parseTlsOptions(parsed: ParsedDatabaseUrl, variable = 'DATABASE_URL', defaults: TlsDefaults = {}): TlsOptions {
  const explicitMode = readMode(parsed, variable);
  const sslaccept = getParam(parsed, 'sslaccept');
  if (sslaccept !== undefined && sslaccept !== 'strict' && sslaccept !== 'accept_invalid_certs') {
    throw fail(variable, 'sslaccept', 'must be strict (verify the certificate) or accept_invalid_certs (Prisma 6 default: do not)');
  }
  const nonEmpty = (key: string): string | null => {
    const value = getParam(parsed, key);
    if (value === undefined) return null;
    if (value === '') throw fail(variable, key, 'is empty: it names a file');
    return value;
  };
  const sslcert = nonEmpty('sslcert');
  const sslkey = nonEmpty('sslkey');
  const sslrootcert = nonEmpty('sslrootcert');
  const sslidentity = nonEmpty('sslidentity');
  const password = getParam(parsed, 'sslpassword') ?? null;
  const negotiationParam = getParam(parsed, 'sslnegotiation');
  if (negotiationParam !== undefined && negotiationParam !== 'postgres' && negotiationParam !== 'direct') {
    throw fail(variable, 'sslnegotiation', 'must be postgres or direct');
  }
  const negotiation = negotiationParam === 'direct' ? 'direct' : 'postgres';

  const anyTlsParam = sslaccept !== undefined || sslcert !== null || sslrootcert !== null || sslidentity !== null;
  if (explicitMode === null && !anyTlsParam && negotiation === 'direct') {
    throw fail(variable, 'sslnegotiation', 'direct needs TLS: add sslmode=require (or verify-full)');
  }
  // Prisma 6 defaulted to sslmode=prefer, so its other TLS parameters alone meant TLS.
  const { mode, source: modeSource } =
    explicitMode !== null
      ? { mode: explicitMode, source: 'url' as const }
      : anyTlsParam
        ? { mode: 'prefer' as const, source: 'url' as const }
        : defaultMode(defaults);
  const origin =
    modeSource === 'PGSSLMODE'
      ? 'no sslmode in the URL, PGSSLMODE='
      : modeSource === 'provider'
        ? `no sslmode in the URL, ${defaults.tlsOnlyProvider} accepts TLS only: sslmode=`
        : modeSource === 'default'
          ? "no sslmode in the URL, Prisma 6's default: sslmode="
          : 'sslmode=';
  if (mode === 'disable' || mode === 'allow') {
    if (negotiation === 'direct') throw fail(variable, 'sslnegotiation', `direct needs TLS, but sslmode=${mode}`);
    const summary =
      mode === 'allow'
        ? `${origin}allow: plain TCP (libpq tries plain first; a TLS-only server then fails as a tls error)`
        : `${origin}disable: plain TCP`;
    return freeze({ ...PLAIN, state: 'off', mode, modeSource, summary }, null);
  }

  // libpq: sslcert + sslkey is a client certificate. Prisma 6: sslcert alone is the server's CA.
  const prismaCa = sslcert !== null && sslkey === null;
  if (sslkey !== null && sslcert === null) throw fail(variable, 'sslkey', 'needs sslcert (the client certificate it belongs to)');
  if (prismaCa && sslrootcert !== null) {
    throw fail(
      variable,
      'sslcert',
      "names the server's CA (Prisma 6 meaning, since there is no sslkey) and so does sslrootcert: keep one of them",
    );
  }
  if (sslidentity !== null && sslkey !== null)
    throw fail(variable, 'sslidentity', 'a PKCS#12 identity and sslcert/sslkey both set: keep one');
  const systemRoots = sslrootcert === 'system';
  const caFile = systemRoots ? null : (sslrootcert ?? (prismaCa ? sslcert : null));
  const caParam = caFile === null ? null : sslrootcert !== null ? 'sslrootcert' : 'sslcert';

  let verify: TlsVerification;
  switch (mode) {
    case 'verify-full':
      verify = 'full';
      break;
    case 'verify-ca':
      if (caFile === null && !systemRoots) {
        // libpq refuses too: any certificate a public CA issued to anyone would pass.
        throw fail(
          variable,
          'sslmode',
          'verify-ca needs the server CA file: add sslrootcert=<file> (or use verify-full with the system CAs)',
        );
      }
      verify = 'ca';
      break;
    case 'no-verify':
      verify = 'none';
      break;
    default:
      // prefer / require: Prisma 6 verified only with sslaccept=strict; libpq verifies the chain
      // (not the host) when a root certificate file is given.
      verify = sslaccept === 'strict' || systemRoots ? 'full' : sslrootcert !== null ? 'ca' : 'none';
  }
  if (sslaccept === 'accept_invalid_certs' && verify !== 'none') {
    throw fail(
      variable,
      'sslaccept',
      `accept_invalid_certs contradicts sslmode=${mode}${sslrootcert === null ? '' : ' with sslrootcert'}: keep one`,
    );
  }
  if (sslaccept === 'strict' && mode === 'no-verify') throw fail(variable, 'sslaccept', 'strict contradicts sslmode=no-verify: keep one');

  const ca = caFile === null ? 'the system CAs' : `the CA in ${caParam}`;
  const what =
    verify === 'full'
      ? `certificate and host name verified against ${ca}`
      : verify === 'ca'
        ? `certificate verified against ${ca}, host name not checked`
        : 'certificate not verified';
  const identity =
    sslidentity !== null
      ? '; client identity from sslidentity (PKCS#12)'
      : sslcert !== null && !prismaCa
        ? '; client certificate from sslcert/sslkey'
        : '';
  const encrypted = mode === 'prefer' ? 'encrypted when the server offers TLS (plain TCP otherwise)' : 'encrypted';
  const summary = `${origin}${mode}${sslaccept === undefined ? '' : `&sslaccept=${sslaccept}`}: ${encrypted}, ${what}${identity}`;
  const verifyHint =
    verify === 'none'
      ? `${variable}: ${origin}${mode} encrypts but does not verify the server certificate (Prisma 6 / libpq meaning); to verify it, add sslaccept=strict (system CAs) and, for a private CA, sslrootcert=<CA file>, or use sslmode=verify-full${modeSource === 'default' ? '; sslmode=disable for plain TCP' : ''}`
      : null;
  return freeze(
    {
      state: 'on',
      mode,
      modeSource,
      verify,
      caFile,
      caParam,
      clientCertFile: prismaCa ? null : sslcert,
      clientKeyFile: sslkey,
      identityFile: sslidentity,
      hasPassword: password !== null,
      negotiation,
      summary,
      verifyHint,
    },
    password,
  );
}

/**
 * The message of a `TlsError`: what failed and which URL parameter to change. Built from the TLS
 * intent only (never from the URL), so it cannot contain the password or `sslpassword`.
 */
export function describeTlsFailure(problem: TlsProblem, tls: TlsOptions, variable = 'DATABASE_URL'): string {
  const now =
    tls.modeSource === 'url'
      ? `the URL has sslmode=${tls.mode}`
      : tls.modeSource === 'PGSSLMODE'
        ? `PGSSLMODE=${tls.mode} (the URL sets no sslmode)`
        : `the URL sets no sslmode (so sslmode=${tls.mode})`;
  switch (problem) {
    case 'certificate-not-verified':
      return tls.caParam !== null
        ? `${variable}: TLS: the server's certificate is not signed by the CA in ${tls.caParam}: point ${tls.caParam} at the CA file your provider publishes`
        : `${variable}: TLS: the server's certificate is not signed by a CA this process trusts: add sslrootcert=<CA file> (Prisma 6: sslcert=<CA file>) naming your provider's CA, or use sslmode=require without sslaccept=strict to encrypt without verifying`;
    case 'hostname-mismatch':
      return `${variable}: TLS: the server's certificate is not valid for the host in the URL: use the host name the certificate names, or sslmode=verify-ca to check the CA but not the host name`;
    case 'server-requires-tls':
      return `${variable}: TLS: the server accepts TLS connections only and ${now}: set sslmode=require (add sslaccept=strict and sslrootcert=<CA file> to verify the certificate)`;
    case 'server-without-tls':
      return `${variable}: TLS: the server does not offer TLS and ${now}: use sslmode=disable for a server without TLS (a local database), or check the host and port`;
    case 'client-certificate-required':
      return `${variable}: TLS: the server requires a client certificate it trusts: set sslidentity=<PKCS#12 file> and sslpassword (Prisma 6), or sslcert=<certificate>&sslkey=<key> (libpq)`;
    default:
      return `${variable}: TLS negotiation failed (${now}): check sslmode and sslnegotiation`;
  }
}
