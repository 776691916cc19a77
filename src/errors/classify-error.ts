/**
 * One pure classifier: anything thrown by a wrapper call → a closed `kind` and whether a retry
 * is safe. Retry policy, metrics and logs read `kind`, never message text; message text is
 * matched only here, and only where the driver gives no code (pg-pool's acquire timeout,
 * pg's "not queryable" error, PgBouncer's own messages).
 *
 * Shapes come from real failing cases through Prisma 7.10 + adapter-pg + PgBouncer 1.18
 * (each proven by a real failure in test/integration/errors/classify-real-errors.test.ts):
 * - PrismaClientKnownRequestError P2010/P2034 with `meta.driverAdapterError.cause = { originalCode | code, kind }`
 * - an unwrapped DriverAdapterError (`name`, `cause: { kind, code }`) during COMMIT
 * - pg's DatabaseError (`code` = SQLSTATE), Node socket errors (`code` = ECONNRESET …)
 * Mapping of adapter kinds follows @prisma/adapter-pg's own `convertDriverError`.
 */
import {
  ConfigError,
  ConnectionSilentError,
  IncompatibleDependencyError,
  ManagerClosedError,
  PoolSaturatedError,
  PoolTimeoutError,
  TlsError,
  type TlsProblem,
  TransactionOutcomeUnknownError,
  TransactionRolledBackError,
  WriteCommittedResultLostError,
} from './errors.ts';
import { isMarkedNotSent } from './not-sent-mark.ts';

export type ErrorKind =
  /** 40001: safe to retry, the transaction was rolled back. */
  | 'serialization'
  /** 40P01: safe to retry, the transaction was rolled back. */
  | 'deadlock'
  /** Lost or refused connection (57P01–57P03, 08xxx, ECONNRESET, P1001, P1017 …). */
  | 'connection'
  /** Server or PgBouncer refused a new client (53300, P2037, "no more connections allowed"). */
  | 'too-many-connections'
  /** Waited in PgBouncer's queue past `query_wait_timeout`. */
  | 'pooler-timeout'
  /** Waited for a pool connection past the pool timeout (pg-pool, P2024, P2028 on start). */
  | 'pool-timeout'
  /** Refused by load shedding (`maxWaitingCallers`). */
  | 'pool-saturated'
  /** Named prepared statement lost or duplicated by a transaction-mode pooler (26000, 42P05). */
  | 'prepared-statement'
  /** The interactive transaction expired or was already closed (P2028 after start): rolled back. */
  | 'transaction-closed'
  /** Statement timeout / cancel (57014, P1008). */
  | 'timeout'
  /** Write inside a READ ONLY transaction (25006). */
  | 'read-only'
  /** Integrity constraint (23xxx, P2002, P2003 …). */
  | 'constraint'
  /** Bad data (22xxx). */
  | 'data'
  /** Syntax, undefined table/column, privileges (42xxx). */
  | 'query'
  /** Authentication or database access (28xxx, 3D000, P1000, Supavisor's "Tenant or user not found"). */
  | 'auth'
  /** TLS could not be set up: certificate not verified, host name mismatch, server requires or lacks TLS. Never retried. */
  | 'tls'
  /** Lost connection during COMMIT: `TransactionOutcomeUnknownError`. */
  | 'outcome-unknown'
  /** A plain write committed but its result was lost: `WriteCommittedResultLostError`. Never retried (it happened). */
  | 'result-lost'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** `ConfigError`, or use after `disconnect()`. */
  | 'config'
  /** `IncompatibleDependencyError`: an installed pg / adapter-pg lacks what this package relies on. Never retried. */
  | 'dependency'
  /** Any other database error. */
  | 'database'
  /** Anything else: an error thrown by the caller's own code. Never retried. */
  | 'application';

export interface ErrorClassification {
  readonly kind: ErrorKind;
  /** True when running the whole transaction again cannot apply anything twice. */
  readonly retryable: boolean;
  /** The most specific code found (SQLSTATE, Prisma P-code or socket code), if any. */
  readonly code: string | null;
  /**
   * True when the error is how a primary on the move shows itself (a switchover, a failover, a
   * fenced or demoted primary): the server refused, went away or turned read-only, and a fresh
   * connection a little later may find the new primary. Such errors are retried until
   * `failoverTimeoutMs` (src/transaction/retry.ts) rather than within the ordinary 3 attempts.
   * Always false when `retryable` is false. See FAILOVER_SQLSTATES and FAILOVER_MESSAGES.
   *
   * A flag, not a kind of its own: the kinds stay what they are for everything else that reads
   * them (a 57P01 is still a lost `connection` for replica routing and `errorsByKind`, a 25006
   * still proves a rollback at COMMIT as `read-only`), and "the primary is moving" cuts across
   * two of them (`connection` and `read-only`). A new kind would have to copy both meanings.
   */
  readonly failover: boolean;
  /**
   * False when the error proves that no database server saw the statement: the connection could
   * not be had or was refused before anything was written (pool and pooler queue timeouts, full
   * poolers, failed logins, refused connects, a pg client already dead when the statement was
   * submitted). Such a write cannot have applied, so running it again is safe. True when the
   * statement may have reached a server, which is every error that does not prove otherwise. See
   * NOT_SENT_MESSAGES, NOT_SENT_SQLSTATES and NOT_SENT_CODES.
   */
  readonly sent: boolean;
}

/** What the failed transaction asked for, when the caller knows (the wrappers do). */
export interface ClassifyContext {
  /**
   * False: the transaction did not ask for READ ONLY, so a 25006 means the server itself is
   * read-only (a hot standby, a demoted or fenced primary): a failover signal, retryable.
   * True or unknown (undefined): 25006 is the transaction's own READ ONLY, never retried.
   */
  readonly readOnly?: boolean;
}

/** Kinds that are safe to retry when the failure happened before COMMIT. */
export const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'serialization',
  'deadlock',
  'connection',
  'too-many-connections',
  'pooler-timeout',
  'prepared-statement',
]);

/**
 * SQLSTATEs that mean "the primary is going away or is not the primary (any more)" (PostgreSQL
 * docs, Appendix A): 57P01 admin_shutdown (a fast shutdown terminating sessions), 57P02
 * crash_shutdown, 57P03 cannot_connect_now ("the database system is starting up / shutting down /
 * not accepting connections"), 08001 and 08006 (could not establish / connection failure).
 * 25006 is added only when the transaction did not ask for READ ONLY (ClassifyContext).
 */
const FAILOVER_SQLSTATES = new Set(['57P01', '57P02', '57P03', '08001', '08006']);

/** Socket and Prisma codes of a refused or reset connection: the old primary is gone or restarting. */
const FAILOVER_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'P1001', 'P1017']);

/**
 * @prisma/adapter-pg's kind for ECONNRESET (its `mapSocketError`): the socket code is gone once the
 * adapter mapped it, and Prisma words it "Server has closed the connection." (P2010 for raw queries).
 * Without this, a PgBouncer whose server stopped in a switchover failed a write after the ordinary 3
 * attempts (test/integration/failover/switchover.test.ts, 1 run in 4).
 */
const FAILOVER_ADAPTER_KINDS = new Set(['ConnectionClosed']);

/**
 * Texts that carry no useful code, each a primary on the move seen through a driver or a pooler:
 * - pg: a socket that died under it. Not its connect timeout: a host that does not answer is
 *   retried within the ordinary budget (a multi-host URL moves on to the next host by itself);
 * - PgBouncer (src/server.c, src/client.c): its server went away (`server conn crashed?`), or it
 *   cannot log in to the (old) primary and refuses new clients for `server_login_retry`;
 * - PgBouncer's `KILL db` (`database removed`, 08P01): every connection of the database dropped on
 *   purpose, the step a switchover takes to move clients off the old server, and new clients held
 *   until `RESUME`. Within the ordinary 3 attempts a page's read under KILLs every 300 ms failed
 *   with 08P01 three times in a row (each attempt cut by the next KILL) after its action had saved
 *   (test/integration/next/server-action-kills.test.ts);
 * - Neon's proxy while a compute restarts (`Couldn't connect to compute node`);
 * - Supavisor when its database connection closes under a client (`DbHandler exited`,
 *   `(EDBHANDLEREXITED)`, supabase/supavisor#459).
 * - our own multi-host connect (src/pool/multi-host.ts) when no listed host is a match yet.
 * Not our silence bound (ConnectionSilentError): a query slower than the bound looks the same, and
 * running it again for a whole failover window would only load the server; the ordinary
 * `maxAttempts` retry it on a fresh connection, which a silent path is not.
 */
const FAILOVER_MESSAGES: readonly RegExp[] = [
  /Connection terminated unexpectedly/i,
  /Client has encountered a connection error and is not queryable/i,
  /server conn crashed\?/i,
  /database removed/i,
  /server login has been failing/i,
  /pgbouncer cannot connect to server/i,
  /Couldn't connect to compute node/i,
  /DbHandler exited|EDBHANDLEREXITED/i,
  /no host in the host list (matched|answered)/i,
];

/**
 * Texts that prove the statement reached no server. Each is a refusal made before a server
 * connection was linked to the client, or a pg client that refused to write:
 * - PgBouncer (src/client.c, src/janitor.c, src/objects.c): a new client over `max_client_conn`;
 *   a client that waited in the queue for a server past `query_wait_timeout`, or was dropped from
 *   it because server logins fail (`server_login_retry`, "pgbouncer cannot connect to server"), or
 *   whose login did not finish (`client_login_timeout`); an unknown database or user. In
 *   transaction mode a client waits for a server only between transactions, so whatever it had
 *   queued was never forwarded. Not `server conn crashed?` nor `database removed` (KILL): those
 *   cut a linked client, whose statement may have run.
 * - Supavisor (lib/supavisor/errors.ex, client_handler.ex): "Max client connections reached",
 *   "Max pools count reached", a checkout of a database connection that timed out ("Unable to
 *   check out process from the pool due to timeout"), a login it cannot route ("Tenant or user not
 *   found", "Invalid format for `user` or `db_name`"). Not "DbHandler exited" or "Error while
 *   sending query": those happen with a database connection in hand.
 * - node-postgres (lib/client.js `query`): "…is not queryable" is raised when a statement is
 *   submitted to a client that already failed or is closing, before anything is written; pg-pool's
 *   acquire timeout and pg's connect timeout fail before a connection exists.
 * - Prisma: "Unable to start a transaction in the given time" (P2028 while waiting for `maxWait`).
 */
const NOT_SENT_MESSAGES: readonly RegExp[] = [
  /no more connections allowed/i,
  /query_wait_timeout/i,
  /server login has been failing/i,
  /pgbouncer cannot connect to server/i,
  /client_login_timeout/i,
  /^no such (database|user)\b/i,
  /Max client connections reached/i,
  /Max pools count reached/i,
  /Unable to check out process from the pool due to timeout/i,
  /Tenant or user not found/i,
  /Invalid format for `user` or `db_name`/i,
  /Client has encountered a connection error and is not queryable/i,
  /Client was closed and is not queryable/i,
  /timeout exceeded when trying to connect/i,
  /^timeout expired$/,
  /Connection terminated due to connection timeout/i,
  /Cannot use a pool after calling end on the pool/i,
  /Unable to start a transaction in the given time/i,
];

/**
 * SQLSTATEs only a connection attempt gets (PostgreSQL docs, Appendix A, and where the server
 * raises them): 53300 too_many_connections and 57P03 cannot_connect_now at backend start; 28000 /
 * 28P01 and 3D000 at authentication; 08001 / 08004 "could not establish" / "server rejected
 * the connection".
 */
const NOT_SENT_SQLSTATES = new Set(['53300', '57P03', '28000', '28P01', '3D000', '08001', '08004']);

/**
 * Codes that exist only while connecting: a refused or unresolvable host (socket codes), Prisma's
 * "can't reach database server" (P1001, adapter-pg's mapping of ECONNREFUSED / ENOTFOUND), a pool
 * timeout (P2024), a too-many-connections (P2037), an authentication failure (P1000).
 * Not ECONNRESET, EPIPE or ETIMEDOUT: a connection in use fails with those too.
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'P1001', 'P2024', 'P2037', 'P1000']);

/**
 * Kinds that are refusals before any statement by their nature: a new connection refused by a full
 * server or pooler, a pooler queue or pool wait that timed out, load shedding, a failed login or
 * TLS setup, our own configuration errors.
 */
const NOT_SENT_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'too-many-connections',
  'pooler-timeout',
  'pool-timeout',
  'pool-saturated',
  'auth',
  'tls',
  'config',
]);

/** Kinds that prove the transaction was rolled back even when they arrive at COMMIT. */
export const DEFINITE_ROLLBACK_KINDS: ReadonlySet<ErrorKind> = new Set<ErrorKind>([
  'serialization',
  'deadlock',
  'transaction-closed',
  'read-only',
  'constraint',
  'data',
  'query',
  'auth',
  'tls',
]);

const SQLSTATE = /^[0-9A-Z]{5}$/;
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Node's certificate-check codes (OpenSSL's X509_V_ERR_* names), as @prisma/adapter-pg lists them. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const HOSTNAME_CODES = new Set(['HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_FORMAT']);

/**
 * TLS failures by message, for shapes that carry no code: node-postgres' own connect errors, the
 * text PgBouncer sends (08P01 "SSL required"), and Prisma's P1011 "Error opening a TLS connection:
 * <reason>", which keeps only the reason text. Checked before anything else: an 08P01 or a 28000
 * here is a TLS setting, not a dropped connection or a wrong password.
 */
const TLS_MESSAGE_RULES: readonly [RegExp, TlsProblem][] = [
  [/The server does not support SSL connections/i, 'server-without-tls'], // pg: server answered 'N' to SSLRequest
  [/^SSL required$/i, 'server-requires-tls'], // PgBouncer client_tls_sslmode=require, client sent no SSLRequest
  [/Hostname\/IP does not match certificate's altnames|ERR_TLS_CERT_ALTNAME_INVALID/i, 'hostname-mismatch'],
  [/certificate required/i, 'client-certificate-required'], // TLS alert 116 (TLS 1.3) from a server that wants a client certificate
  [
    /self[- ]signed certificate|unable to (verify|get) (the first|local issuer|issuer) certificate|certificate has expired|certificate is not yet valid|unable to verify the first certificate/i,
    'certificate-not-verified',
  ],
  [/There was an error establishing an SSL connection/i, 'handshake'], // pg: server answered neither 'S' nor 'N'
];

interface Signals {
  /** Some error of the chain carries the adapter's not-sent mark (./not-sent-mark.ts). */
  marked: boolean;
  tlsProblem: TlsProblem | null;
  /** Node's TLS error code (`SELF_SIGNED_CERT_IN_CHAIN`, `ERR_TLS_CERT_ALTNAME_INVALID` …). */
  tlsCode: string | null;
  sqlState: string | null;
  prismaCode: string | null;
  socketCode: string | null;
  adapterKind: string | null;
  messages: string[];
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** Walks the error, its Prisma meta and its `cause` chain, keeping the first of each signal. */
function collectSignals(error: unknown): Signals {
  const signals: Signals = {
    marked: false,
    tlsProblem: null,
    tlsCode: null,
    sqlState: null,
    prismaCode: null,
    socketCode: null,
    adapterKind: null,
    messages: [],
  };
  const queue: unknown[] = [error];
  for (let depth = 0; queue.length > 0 && depth < 8; depth++) {
    const current = asRecord(queue.shift());
    if (!current) continue;
    if (isMarkedNotSent(current)) signals.marked = true;
    const message = str(current.message) ?? str(current.reason) ?? str(current.cause);
    if (message) signals.messages.push(message);
    if (current instanceof TlsError) signals.tlsProblem ??= current.problem;
    const code = str(current.code);
    if (code && CERTIFICATE_CODES.has(code)) signals.tlsProblem ??= 'certificate-not-verified';
    if (code && HOSTNAME_CODES.has(code)) signals.tlsProblem ??= 'hostname-mismatch';
    if (code?.startsWith('ERR_SSL_'))
      signals.tlsProblem ??= /CERTIFICATE_REQUIRED/.test(code) ? 'client-certificate-required' : 'handshake';
    if (code && (CERTIFICATE_CODES.has(code) || HOSTNAME_CODES.has(code) || code.startsWith('ERR_SSL_'))) signals.tlsCode ??= code;
    if (code) {
      if (/^P\d{4}$/.test(code)) signals.prismaCode ??= code;
      else if (SOCKET_CODES.has(code)) signals.socketCode ??= code;
      else if (SQLSTATE.test(code)) signals.sqlState ??= code;
    }
    const originalCode = str(current.originalCode);
    if (originalCode && SQLSTATE.test(originalCode)) signals.sqlState ??= originalCode;
    else if (originalCode && SOCKET_CODES.has(originalCode)) signals.socketCode ??= originalCode;
    const kind = str(current.kind);
    if (kind) signals.adapterKind ??= kind;
    const meta = asRecord(current.meta);
    if (meta) {
      // The adapter's own error is skipped for its cause (where the codes are), but it carries the not-sent mark.
      if (isMarkedNotSent(meta.driverAdapterError)) signals.marked = true;
      queue.push(asRecord(meta.driverAdapterError)?.cause ?? meta.driverAdapterError);
    }
    if (current.cause !== undefined) queue.push(current.cause);
  }
  return signals;
}

function fromSqlState(state: string): ErrorKind {
  if (state === '40001') return 'serialization';
  if (state === '40P01') return 'deadlock';
  if (state === '53300') return 'too-many-connections';
  if (state === '57P01' || state === '57P02' || state === '57P03' || state.startsWith('08')) return 'connection';
  if (state === '26000' || state === '42P05') return 'prepared-statement';
  if (state === '25006') return 'read-only';
  if (state === '57014') return 'timeout';
  if (state.startsWith('23')) return 'constraint';
  if (state.startsWith('22')) return 'data';
  if (state.startsWith('28') || state === '3D000') return 'auth';
  if (state.startsWith('42')) return 'query';
  return 'database';
}

/** @prisma/adapter-pg's own kinds, for errors that carry no SQLSTATE. */
const ADAPTER_KINDS: Record<string, ErrorKind> = {
  TransactionWriteConflict: 'serialization',
  TooManyConnections: 'too-many-connections',
  DatabaseNotReachable: 'connection',
  ConnectionClosed: 'connection',
  SocketTimeout: 'connection',
  TransactionAlreadyClosed: 'transaction-closed',
  AuthenticationFailed: 'auth',
  DatabaseAccessDenied: 'auth',
  DatabaseDoesNotExist: 'auth',
  UniqueConstraintViolation: 'constraint',
  NullConstraintViolation: 'constraint',
  ForeignKeyConstraintViolation: 'constraint',
  RestrictViolation: 'constraint',
  LengthMismatch: 'data',
  ValueOutOfRange: 'data',
  InvalidInputValue: 'data',
  TableDoesNotExist: 'query',
  ColumnNotFound: 'query',
};

function fromPrismaCode(code: string, messages: string[]): ErrorKind | null {
  switch (code) {
    case 'P2034':
      return 'serialization';
    case 'P1001':
    case 'P1017':
      return 'connection';
    case 'P1008':
      return 'timeout';
    case 'P2024':
      return 'pool-timeout';
    case 'P2037':
      return 'too-many-connections';
    case 'P1000':
      return 'auth';
    case 'P2002':
    case 'P2003':
    case 'P2004':
    case 'P2011':
    case 'P2014':
      return 'constraint';
    case 'P2028':
      // Same code for "could not start in maxWait" (a pool wait) and "already closed/expired".
      return messages.some((m) => m.includes('Unable to start a transaction in the given time')) ? 'pool-timeout' : 'transaction-closed';
    default:
      return null;
  }
}

/**
 * PgBouncer reports its own refusals as a generic 08P01 (protocol violation); only the text tells
 * a full pooler or a queue timeout apart from a dropped connection.
 */
const PGBOUNCER_RULES: readonly [RegExp, ErrorKind][] = [
  [/no more connections allowed/i, 'too-many-connections'], // max_client_conn
  [/query_wait_timeout/i, 'pooler-timeout'], // waited in PgBouncer's queue too long
  // A wrong password: PgBouncer answers its own login failures as 08P01 (src/client.c), not 28P01.
  [/(SASL|password) authentication failed/i, 'auth'],
];

/**
 * Poolers and proxies that lost their server report it with a generic code (08P01, or XX000
 * "internal error"): only the text says the server is gone, which is a lost connection.
 */
const PROXY_RULES: readonly [RegExp, ErrorKind][] = [
  [/server login has been failing/i, 'connection'], // PgBouncer refusing clients while its server logins fail
  [/Couldn't connect to compute node/i, 'connection'], // Neon's proxy while the compute restarts
  [/DbHandler exited|EDBHANDLEREXITED/i, 'connection'], // Supavisor: its database connection closed (supabase/supavisor#459)
];

/**
 * Supavisor (Supabase's pooler) answers a user without the `.project-ref` suffix, or an unknown
 * project, with `Tenant or user not found` (SQLSTATE XX000, "internal error"): it is a login
 * problem, never healed by retrying. https://supabase.com/docs/guides/troubleshooting/supavisor-faq-YyP5tI
 */
const SUPAVISOR_TENANT = /Tenant or user not found/i;

/** Driver messages with no code: the one place text is matched. */
const MESSAGE_RULES: readonly [RegExp, ErrorKind][] = [
  ...PGBOUNCER_RULES,
  [/timeout exceeded when trying to connect/i, 'pool-timeout'], // pg-pool acquire timeout
  [/Query read timeout/i, 'timeout'], // pg's query_timeout (socket_timeout in the URL)
  [/Unable to start a transaction in the given time/i, 'pool-timeout'],
  [/COMMIT answered ROLLBACK/, 'transaction-closed'], // our TransactionRolledBackError, after Prisma wrapped it
  [/does not have the shape prisma-pgbouncer-pooling relies on/, 'dependency'], // our IncompatibleDependencyError, after Prisma wrapped it
  [/server conn crashed\?/i, 'connection'], // PgBouncer lost its server connection
  [/Client has encountered a connection error and is not queryable/i, 'connection'], // pg after a socket error
  [/Connection terminated/i, 'connection'], // pg: "Connection terminated unexpectedly" / "due to connection timeout"
  [/^timeout expired$/, 'connection'], // pg.Client's own connect timeout (connect_timeout): nothing was sent yet
  [/Client was closed and is not queryable/i, 'connection'],
  [/pgbouncer cannot connect to server/i, 'connection'],
  [/no host in the host list (matched|answered)/i, 'connection'], // src/pool/multi-host.ts
  [/went silent: no byte for/, 'connection'], // our ConnectionSilentError, after Prisma wrapped it
  [/Cannot use a pool after calling end on the pool/i, 'config'], // pg-pool after disconnect()/shutdown()
];

function tlsProblemOf(s: Signals): TlsProblem | null {
  if (s.tlsProblem) return s.tlsProblem;
  for (const [pattern, problem] of TLS_MESSAGE_RULES) if (s.messages.some((m) => pattern.test(m))) return problem;
  // @prisma/adapter-pg's own kind for a TLS error whose text we do not know.
  return s.adapterKind === 'TlsConnectionError' ? 'handshake' : null;
}

/** The TLS problem behind an error (see `TlsProblem`), or null when it is not a TLS failure. Pure; never throws. */
export function tlsProblem(error: unknown): TlsProblem | null {
  try {
    return tlsProblemOf(collectSignals(error));
  } catch {
    return null;
  }
}

function isAbort(error: unknown): boolean {
  const name = asRecord(error)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

function result(kind: ErrorKind, code: string | null): ErrorClassification {
  return { kind, retryable: RETRYABLE_KINDS.has(kind), code, failover: false, sent: true };
}

/** Whether the error proves no server saw the statement (see `ErrorClassification.sent`). */
function provesNotSent(c: ErrorClassification, s: Signals): boolean {
  if (c.kind === 'outcome-unknown' || c.kind === 'result-lost' || c.kind === 'application' || c.kind === 'aborted') return false;
  if (s.marked || NOT_SENT_KINDS.has(c.kind)) return true;
  if (s.sqlState !== null && NOT_SENT_SQLSTATES.has(s.sqlState)) return true;
  if ((s.socketCode !== null && NOT_SENT_CODES.has(s.socketCode)) || (s.prismaCode !== null && NOT_SENT_CODES.has(s.prismaCode)))
    return true;
  return s.messages.some((m) => NOT_SENT_MESSAGES.some((pattern) => pattern.test(m)));
}

/** Whether a connection-class (or 25006) error is a primary on the move; see `ErrorClassification.failover`. */
function isFailover(c: ErrorClassification, s: Signals, context: ClassifyContext): boolean {
  if (c.kind === 'read-only') return context.readOnly === false;
  if (c.kind !== 'connection') return false;
  if (s.sqlState !== null && FAILOVER_SQLSTATES.has(s.sqlState)) return true;
  if ((s.socketCode !== null && FAILOVER_CODES.has(s.socketCode)) || (s.prismaCode !== null && FAILOVER_CODES.has(s.prismaCode)))
    return true;
  if (s.adapterKind !== null && FAILOVER_ADAPTER_KINDS.has(s.adapterKind)) return true;
  return s.messages.some((m) => FAILOVER_MESSAGES.some((pattern) => pattern.test(m)));
}

/**
 * Classifies anything thrown by a wrapper call. Pure; never throws. `context` says what the
 * transaction asked for, when known (see ClassifyContext).
 */
export function classifyError(error: unknown, context: ClassifyContext = {}): ErrorClassification {
  try {
    const s = collectSignals(error);
    const classified = classify(error, s);
    const c = provesNotSent(classified, s) ? { ...classified, sent: false } : classified;
    if (!isFailover(c, s, context)) return c;
    // A 25006 on a transaction that did not ask for READ ONLY was rolled back by the server: safe to run again.
    return { ...c, retryable: true, failover: true };
  } catch {
    // A hostile object (a throwing getter, a revoked proxy) is not a database error.
    return result('application', null);
  }
}

function classify(error: unknown, s: Signals): ErrorClassification {
  if (error instanceof TransactionOutcomeUnknownError) return result('outcome-unknown', null);
  if (error instanceof WriteCommittedResultLostError) return result('result-lost', null);
  if (error instanceof PoolTimeoutError) return result('pool-timeout', null);
  if (error instanceof TransactionRolledBackError) return result('transaction-closed', null);
  if (error instanceof PoolSaturatedError) return result('pool-saturated', null);
  if (error instanceof ConfigError || error instanceof ManagerClosedError) return result('config', null);
  if (error instanceof IncompatibleDependencyError) return result('dependency', null);
  if (error instanceof ConnectionSilentError) return result('connection', null);
  if (isAbort(error)) return result('aborted', null);

  const tls = tlsProblemOf(s);
  if (tls) return result('tls', s.tlsCode ?? s.sqlState ?? s.prismaCode);
  if (s.messages.some((m) => SUPAVISOR_TENANT.test(m))) return result('auth', s.sqlState ?? s.prismaCode);
  if (s.sqlState === null || s.sqlState === '08P01') {
    for (const [pattern, kind] of PGBOUNCER_RULES) if (s.messages.some((m) => pattern.test(m))) return result(kind, s.sqlState);
  }
  if (s.sqlState === null || s.sqlState === '08P01' || s.sqlState === 'XX000') {
    for (const [pattern, kind] of PROXY_RULES) if (s.messages.some((m) => pattern.test(m))) return result(kind, s.sqlState ?? s.prismaCode);
  }
  // SQLSTATE first: it is the most specific (P2010 wraps every raw-query failure).
  if (s.sqlState) return result(fromSqlState(s.sqlState), s.sqlState);
  const byPrisma = s.prismaCode ? fromPrismaCode(s.prismaCode, s.messages) : null;
  if (byPrisma) return result(byPrisma, s.prismaCode);
  const byAdapter = s.adapterKind ? ADAPTER_KINDS[s.adapterKind] : undefined;
  if (byAdapter) return result(byAdapter, s.prismaCode);
  if (s.socketCode) return result('connection', s.socketCode);
  for (const [pattern, kind] of MESSAGE_RULES) {
    if (s.messages.some((m) => pattern.test(m))) return result(kind, s.prismaCode);
  }
  const name = str(asRecord(error)?.name) ?? '';
  if (s.prismaCode || name.startsWith('PrismaClient') || name === 'DriverAdapterError') return result('database', s.prismaCode);
  return result('application', null);
}
