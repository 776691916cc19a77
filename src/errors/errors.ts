/**
 * The library's own error classes. Every message is written to be safe to log: a
 * connection string is always passed through `redactDatabaseUrl` before it gets here.
 */

/** Base class so callers can `instanceof PoolingError` for anything this library throws. */
export class PoolingError extends Error {
  override name = 'PoolingError';
}

/** Bad configuration: names the environment variable or option at fault. */
export class ConfigError extends PoolingError {
  override name = 'ConfigError';
  /** The environment variable or option that is wrong, e.g. `DATABASE_URL`. */
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.variable = variable;
  }
}

/**
 * A dependency no longer has the shape this package relies on (a private field of node-postgres,
 * @prisma/adapter-pg's query path): the versions installed are not the ones this package was
 * tested with (see the peer dependency ranges). Never retried; nothing was sent.
 */
export class IncompatibleDependencyError extends PoolingError {
  override name = 'IncompatibleDependencyError';
  /** The package, e.g. `pg`. */
  readonly dependency: string;
  /** `remedy` replaces the default advice (install a version in the peer range), e.g. for the runtime itself. */
  constructor(dependency: string, assumption: string, remedy?: string) {
    super(
      `${dependency} does not have the shape prisma-pgbouncer-pooling relies on (${assumption}): ${remedy ?? `install the ${dependency} version in this package's peer dependency range`}`,
    );
    this.dependency = dependency;
  }
}

/**
 * An installed dependency whose version this package refuses (src/runtime/supported-versions.ts),
 * e.g. @prisma/client below 7.10. The message names the installed version and the supported range.
 */
export class UnsupportedDependencyVersionError extends IncompatibleDependencyError {
  override name = 'UnsupportedDependencyVersionError';
  readonly installed: string;
  readonly supported: string;
  constructor(dependency: string, installed: string, supported: string, why: string) {
    super(dependency, `version ${installed}`);
    this.message = `${dependency} ${installed} is not supported (supported: ${supported}): ${why}`;
    this.installed = installed;
    this.supported = supported;
  }
}

/** No pool connection became free within the pool timeout (`pool_timeout`, default 10 s). */
export class PoolTimeoutError extends PoolingError {
  override name = 'PoolTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super(
      `no database connection became free within ${timeoutMs} ms (pool exhausted: raise connection_limit / pool_timeout or lower concurrency)`,
      options,
    );
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Too many callers were already waiting for a connection (`maxWaitingCallers`): the call failed
 * fast instead of joining an ever-growing queue.
 */
export class PoolSaturatedError extends PoolingError {
  override name = 'PoolSaturatedError';
  readonly waiting: number;
  constructor(waiting: number) {
    super(`${waiting} callers already waiting for a database connection; shedding load (maxWaitingCallers)`);
    this.waiting = waiting;
  }
}

/** Where the connection was lost, which decides what the call may have done. */
export type OutcomeUnknownDuring =
  /** A transaction's COMMIT was in flight (a wrapper, an interactive `$transaction`). */
  | 'commit'
  /** A plain write (`prisma.post.create()`): Postgres commits a lone statement as it finishes. */
  | 'write'
  /** `$transaction([...])`: Prisma's own BEGIN … COMMIT was running. */
  | 'transaction';

const OUTCOME_UNKNOWN_MESSAGES: Readonly<Record<OutcomeUnknownDuring, string>> = Object.freeze({
  commit: 'the connection was lost during COMMIT: the transaction may or may not have been committed (check before retrying)',
  write: 'the connection was lost while the write ran: it may or may not have been applied (check before retrying)',
  transaction:
    'the connection was lost while the $transaction ran: it may or may not have been committed as a whole (check before retrying)',
});

/**
 * The connection was lost while a write could have been committed (see `during`): it may or may
 * not have been applied. Not retried unless the caller said `idempotent: true`.
 */
export class TransactionOutcomeUnknownError extends PoolingError {
  override name = 'TransactionOutcomeUnknownError';
  /** What was running when the connection was lost. Defaults to `commit`. */
  readonly during: OutcomeUnknownDuring;
  constructor(options: { cause: unknown; during?: OutcomeUnknownDuring }) {
    const during = options.during ?? 'commit';
    super(OUTCOME_UNKNOWN_MESSAGES[during], { cause: options.cause });
    this.during = during;
  }
}

/**
 * A plain write (a lone `prisma.post.create()` through `manager.prisma`) that COMMITTED, but whose
 * result never reached this process: the connection died after COMMIT left and before the
 * statement's answer arrived, and the database (asked with `pg_xact_status` on a fresh connection)
 * says the transaction committed. The write happened exactly once; only the row it returned is
 * missing. Treat it as a success toward the user (read the row again if you need it); never run
 * the write again. docs/reliability.md shows how a Server Action or a route action handles it.
 */
export class WriteCommittedResultLostError extends PoolingError {
  override name = 'WriteCommittedResultLostError';
  /** Always true: what this error reports is a write that was applied. */
  readonly committed = true;
  constructor(options: { cause: unknown }) {
    super(
      'the write was committed, but its result was lost with the connection: do not run it again (read the row if you need it)',
      options,
    );
  }
}

/**
 * COMMIT answered ROLLBACK: a statement of the transaction had failed and `fn` caught its error and
 * returned, so Postgres rolled everything back. Nothing was committed; retrying would run `fn`
 * into the same failure. (Prisma alone reports such a transaction as a success.)
 */
export class TransactionRolledBackError extends PoolingError {
  override name = 'TransactionRolledBackError';
  constructor() {
    super(
      'COMMIT answered ROLLBACK: a statement failed inside the transaction (its error was caught in the callback), so nothing was committed',
    );
  }
}

/** The manager was disconnected; create a new one (or use the singleton, which re-creates itself). */
export class ManagerClosedError extends PoolingError {
  override name = 'ManagerClosedError';
  constructor() {
    super('connection pool manager was disconnected; it cannot run queries any more');
  }
}

/** One operation's settled outcome in a parallel batch. */
export type BatchOutcome<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown };

/** A parallel batch in which at least one operation failed; `outcomes[i]` tells what happened to op i. */
export class BatchError<T = unknown> extends PoolingError {
  override name = 'BatchError';
  readonly outcomes: readonly BatchOutcome<T>[];
  constructor(outcomes: readonly BatchOutcome<T>[]) {
    const failed = outcomes.filter((o) => o.status === 'rejected').length;
    const first = outcomes.find((o) => o.status === 'rejected');
    super(`${failed} of ${outcomes.length} batch operations failed; the others committed (see .outcomes)`, { cause: first?.reason });
    this.outcomes = outcomes;
  }
}

/**
 * Why a TLS connection failed, as far as the driver tells:
 * - `certificate-not-verified`: the server's certificate does not chain to a trusted CA (or expired …)
 * - `hostname-mismatch`: the certificate is valid but not for the host in the URL
 * - `server-requires-tls`: the client sent no TLS request and the server (PgBouncer's
 *   `client_tls_sslmode=require`) refused it
 * - `server-without-tls`: the client asked for TLS and the server has none
 * - `client-certificate-required`: the server wants a client certificate and got none it accepts
 * - `handshake`: any other TLS negotiation failure
 */
export type TlsProblem =
  | 'certificate-not-verified'
  | 'hostname-mismatch'
  | 'server-requires-tls'
  | 'server-without-tls'
  | 'client-certificate-required'
  | 'handshake';

/**
 * The connection could not be set up because of TLS. Never retried: retrying cannot change a
 * certificate or the server's TLS setting. The message names the URL parameter to change and
 * never contains the password or `sslpassword`; the driver's own error is the `cause`.
 */
export class TlsError extends PoolingError {
  override name = 'TlsError';
  readonly problem: TlsProblem;
  constructor(problem: TlsProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.problem = problem;
  }
}

/**
 * A multi-host URL (`h1:5432,h2:5432/db?target_session_attrs=read-write`) found no host that
 * answered and matched `target_session_attrs` (src/pool/multi-host.ts). Classified `connection`
 * and a failover signal: during a switchover no host is the primary for a moment, so the call
 * is retried until `failoverTimeoutMs`. Names hosts and ports only, never the user or password.
 */
export class NoMatchingHostError extends PoolingError {
  override name = 'NoMatchingHostError';
  readonly targetSessionAttrs: string;
  readonly hosts: readonly string[];
  constructor(targetSessionAttrs: string, hosts: readonly string[], what: 'matched' | 'answered', options?: { cause?: unknown }) {
    super(`no host in the host list ${what} target_session_attrs=${targetSessionAttrs} (tried ${hosts.join(', ')})`, options);
    this.targetSessionAttrs = targetSessionAttrs;
    this.hosts = hosts;
  }
}

/**
 * Nothing listens on a port this package chose itself (`config.portRewrite`: 5432 → 6543 for a host it
 * knows nothing about, or a provider's pooler port): the message says the port was rewritten and
 * which variable names the pooler instead. Keeps the socket's `code` (`ECONNREFUSED`), so it is
 * classified like any refused connection; the driver's error is the `cause`. No user or password.
 */
export class RewrittenPortRefusedError extends PoolingError {
  override name = 'RewrittenPortRefusedError';
  readonly code = 'ECONNREFUSED';
  /** The variable whose URL was rewritten. */
  readonly variable: string;
  /** The port the URL named (or 5432 for none) and the one the package used. */
  readonly fromPort: number;
  readonly port: number;
  constructor(rewrite: { variable: string; from: number; to: number; hint: string }, where: string, options?: { cause?: unknown }) {
    super(
      `${rewrite.variable}: connection refused on ${where}, a port this package chose (${rewrite.from} → ${rewrite.to}): ${rewrite.hint}`,
      options,
    );
    this.variable = rewrite.variable;
    this.fromPort = rewrite.from;
    this.port = rewrite.to;
  }
}

/**
 * Named prepared statements were on (`poolerTracksPreparedStatements: true`, or `statement_cache_size`
 * > 0) and the server connection behind the pooler did not have the statement the client prepared
 * (26000) or already had one of that name (42P05): the pooler moves transactions between server
 * connections without tracking statements (PgBouncer < 1.21, or `max_prepared_statements = 0`).
 * A `ConfigError` naming the option: retrying cannot help. The statement did not run (Parse or Bind
 * failed), and a transaction it was part of rolled back. The driver's error is the `cause`.
 */
export class PreparedStatementsNotTrackedError extends ConfigError {
  override name = 'PreparedStatementsNotTrackedError';
  /** The SQLSTATE the server answered: 42P05 (duplicate_prepared_statement) or 26000 (invalid_sql_statement_name). */
  readonly sqlState: string;
  constructor(sqlState: string, options?: { cause?: unknown }) {
    super(
      'poolerTracksPreparedStatements',
      `named prepared statements are on, and the pooler does not track them (${sqlState} ${sqlState === '42P05' ? 'prepared statement already exists' : 'prepared statement does not exist'} on another server connection): set PgBouncer's max_prepared_statements above 0 (PgBouncer ≥ 1.21), or remove poolerTracksPreparedStatements (and statement_cache_size) to use unnamed statements, which work through any pooler`,
    );
    this.sqlState = sqlState;
    if (options?.cause !== undefined)
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false, writable: true, configurable: true });
  }
}

/**
 * A connection with a query outstanding received no byte from the server for half of
 * `silenceTimeoutMs` (a host that stopped answering without closing: an IP that moved, a deleted
 * pod, a dropped NAT mapping); the other half of the bound is the call's to finish on a fresh
 * connection. The connection was destroyed, never returned to the pool. Classified `connection`: a
 * read is retried on a fresh connection; a write follows the outcome rules (a lost COMMIT is
 * settled by the database where it can tell).
 */
export class ConnectionSilentError extends PoolingError {
  override name = 'ConnectionSilentError';
  /** How long the connection went without a byte: half the bound (see `boundMs`). */
  readonly silenceMs: number;
  /** `silenceTimeoutMs`: the bound on the whole call, of which the cut took half. */
  readonly boundMs: number;
  /** `host:port` the silent connection was open to (no user, no password). */
  readonly host: string;
  constructor(silenceMs: number, host: string, boundMs: number = silenceMs) {
    super(
      `the connection to ${host} went silent: no byte for ${silenceMs} ms while a query was outstanding (half of silenceTimeoutMs ${boundMs} ms); it was destroyed`,
    );
    this.silenceMs = silenceMs;
    this.boundMs = boundMs;
    this.host = host;
  }
}
