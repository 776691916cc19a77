/**
 * The classifier's table on the shapes recorded from real failures (see
 * test/integration/errors/classify-real-errors.test.ts, which produces each one for real).
 */
import { describe, expect, it } from 'vitest';
import { classifyError, DEFINITE_ROLLBACK_KINDS, RETRYABLE_KINDS, tlsProblem } from '~/errors/classify-error.ts';
import {
  ConfigError,
  ConnectionSilentError,
  ManagerClosedError,
  PoolSaturatedError,
  PoolTimeoutError,
  TlsError,
  TransactionOutcomeUnknownError,
  TransactionRolledBackError,
} from '~/errors/errors.ts';

/** A PrismaClientKnownRequestError as Prisma 7.10 + adapter-pg throws it. */
function prismaError(code: string, cause: Record<string, unknown> | undefined, message = 'Invalid invocation'): Error {
  return Object.assign(new Error(message), {
    name: 'PrismaClientKnownRequestError',
    code,
    clientVersion: '7.10.1',
    meta: cause ? { driverAdapterError: Object.assign(new Error(String(cause.kind)), { name: 'DriverAdapterError', cause }) } : {},
  });
}
const adapterError = (cause: Record<string, unknown>) =>
  Object.assign(new Error(String(cause.kind)), { name: 'DriverAdapterError', cause });
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'ERROR' });
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: 'connect' });
const plain = (message: string) => Object.assign(new Error(message), { clientVersion: '7.10.1' });

/** Rows of the table below that are a primary on the move (ErrorClassification.failover). */
const FAILOVER_ROWS = new Set([
  'P2010 57P01 terminate',
  'P2010 57P02 crash shutdown',
  'P2010 57P03 cannot connect now',
  'DriverAdapterError at COMMIT',
  'not queryable',
  'Connection terminated',
  'PgBouncer server conn crashed',
  'P2010 08P01 PgBouncer KILL',
  'P1001',
  'P1017',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
]);

/** Rows of the table below that prove no server saw the statement (ErrorClassification.sent false). */
const NOT_SENT_ROWS = new Set([
  'P2010 57P03 cannot connect now',
  'not queryable',
  'pg connect timeout',
  'pg 53300',
  'adapter TooManyConnections',
  'P2037',
  'PgBouncer max_client_conn',
  'PgBouncer query_wait_timeout',
  'pg-pool acquire timeout',
  'P2024',
  'P2028 maxWait',
  'P1001',
  'ECONNREFUSED',
  '28P01',
  '3D000',
]);

describe('classifyError', () => {
  it.each([
    ['P2010 raw 40001', 'serialization', true, '40001', prismaError('P2010', { originalCode: '40001', kind: 'TransactionWriteConflict' })],
    [
      'P2034 model 40001',
      'serialization',
      true,
      '40001',
      prismaError('P2034', { originalCode: '40001', kind: 'TransactionWriteConflict' }),
    ],
    ['P2034 without meta', 'serialization', true, 'P2034', prismaError('P2034', undefined)],
    ['P2010 40P01', 'deadlock', true, '40P01', prismaError('P2010', { originalCode: '40P01', kind: 'TransactionWriteConflict' })],
    ['P2010 57P01 terminate', 'connection', true, '57P01', prismaError('P2010', { kind: 'postgres', code: '57P01' })],
    ['P2010 57P02 crash shutdown', 'connection', true, '57P02', prismaError('P2010', { kind: 'postgres', code: '57P02' })],
    ['P2010 57P03 cannot connect now', 'connection', true, '57P03', prismaError('P2010', { kind: 'postgres', code: '57P03' })],
    [
      'P2010 08P01 PgBouncer KILL',
      'connection',
      true,
      '08P01',
      prismaError('P2010', { kind: 'postgres', code: '08P01', message: 'database removed' }),
    ],
    ['DriverAdapterError at COMMIT', 'connection', true, '57P01', adapterError({ kind: 'postgres', code: '57P01' })],
    ['not queryable', 'connection', true, null, plain('Client has encountered a connection error and is not queryable')],
    ['Connection terminated', 'connection', true, null, plain('Connection terminated unexpectedly')],
    ['pg connect timeout', 'connection', true, null, plain('timeout expired')],
    ['pg 53300', 'too-many-connections', true, '53300', pgError('53300', 'sorry, too many clients already')],
    [
      'adapter TooManyConnections',
      'too-many-connections',
      true,
      '53300',
      prismaError('P2010', { originalCode: '53300', kind: 'TooManyConnections' }),
    ],
    ['P2037', 'too-many-connections', true, 'P2037', prismaError('P2037', undefined)],
    ['PgBouncer max_client_conn', 'too-many-connections', true, '08P01', pgError('08P01', 'no more connections allowed (max_client_conn)')],
    ['PgBouncer query_wait_timeout', 'pooler-timeout', true, '08P01', pgError('08P01', 'query_wait_timeout')],
    ['PgBouncer server conn crashed', 'connection', true, '08P01', pgError('08P01', 'server conn crashed?')],
    ['pg-pool acquire timeout', 'pool-timeout', false, null, plain('timeout exceeded when trying to connect')],
    ['P2024', 'pool-timeout', false, 'P2024', prismaError('P2024', undefined)],
    ['P2028 maxWait', 'pool-timeout', false, 'P2028', prismaError('P2028', undefined, 'Unable to start a transaction in the given time.')],
    [
      'P2028 expired',
      'transaction-closed',
      false,
      'P2028',
      prismaError('P2028', undefined, 'Transaction already closed: A commit cannot be executed on an expired transaction.'),
    ],
    ['P1001', 'connection', true, 'P1001', prismaError('P1001', undefined)],
    ['P1017', 'connection', true, 'P1017', prismaError('P1017', undefined)],
    ['P1008', 'timeout', false, 'P1008', prismaError('P1008', undefined)],
    ['ECONNRESET', 'connection', true, 'ECONNRESET', socketError('ECONNRESET')],
    ['ECONNREFUSED', 'connection', true, 'ECONNREFUSED', socketError('ECONNREFUSED')],
    ['ETIMEDOUT', 'connection', true, 'ETIMEDOUT', socketError('ETIMEDOUT')],
    ['EPIPE', 'connection', true, 'EPIPE', socketError('EPIPE')],
    ['26000', 'prepared-statement', true, '26000', pgError('26000', 'prepared statement "s0" does not exist')],
    ['42P05', 'prepared-statement', true, '42P05', pgError('42P05', 'prepared statement "s0" already exists')],
    ['25006', 'read-only', false, '25006', prismaError('P2010', { kind: 'postgres', code: '25006' })],
    ['57014', 'timeout', false, '57014', prismaError('P2010', { kind: 'postgres', code: '57014' })],
    ['P2002 unique', 'constraint', false, '23505', prismaError('P2002', { originalCode: '23505', kind: 'UniqueConstraintViolation' })],
    ['22P02', 'data', false, '22P02', pgError('22P02', 'invalid input syntax')],
    ['42601 syntax', 'query', false, '42601', pgError('42601', 'syntax error')],
    ['28P01', 'auth', false, '28P01', prismaError('P2010', { originalCode: '28P01', kind: 'AuthenticationFailed' })],
    ['3D000', 'auth', false, '3D000', pgError('3D000', 'database "x" does not exist')],
    ['unknown SQLSTATE', 'database', false, 'XX000', pgError('XX000', 'internal error')],
    ['unknown Prisma error', 'database', false, 'P2025', prismaError('P2025', undefined)],
    ['application error', 'application', false, null, new Error('out of stock')],
    ['thrown string', 'application', false, null, 'boom'],
    ['null', 'application', false, null, null],
  ])('%s → %s', (name, kind, retryable, code, error) => {
    expect(classifyError(error)).toEqual({ kind, retryable, code, failover: FAILOVER_ROWS.has(name), sent: !NOT_SENT_ROWS.has(name) });
  });

  it.each([
    [new TransactionOutcomeUnknownError({ cause: new Error('x') }), 'outcome-unknown'],
    [new PoolTimeoutError(10), 'pool-timeout'],
    [new TransactionRolledBackError(), 'transaction-closed'],
    [Object.assign(new Error('wrapped'), { cause: new TransactionRolledBackError() }), 'transaction-closed'],
    [new PoolSaturatedError(5), 'pool-saturated'],
    [new ConfigError('DATABASE_URL', 'missing'), 'config'],
    [new ManagerClosedError(), 'config'],
    [Object.assign(new Error('aborted'), { name: 'AbortError' }), 'aborted'],
  ])('our own error → %s, never retried', (error, kind) => {
    expect(classifyError(error)).toMatchObject({ kind, retryable: false });
  });

  it('retryable and definite-rollback sets agree on conflicts and never include application errors', () => {
    for (const kind of ['serialization', 'deadlock'] as const) {
      expect(RETRYABLE_KINDS.has(kind)).toBe(true);
      expect(DEFINITE_ROLLBACK_KINDS.has(kind)).toBe(true);
    }
    expect(RETRYABLE_KINDS.has('application')).toBe(false);
    expect(DEFINITE_ROLLBACK_KINDS.has('connection')).toBe(false);
  });

  it('survives cyclic causes and hostile objects without throwing', () => {
    const a: Record<string, unknown> = { message: 'a' };
    a.cause = a;
    expect(classifyError(a).kind).toBe('application');
    const getterBomb = Object.defineProperty({}, 'code', {
      get() {
        throw new Error('no');
      },
    });
    expect(() => classifyError(getterBomb)).not.toThrow();
  });
});

/** A Node TLS error as node-postgres hands it on (OpenSSL's verify code as `code`). */
const nodeTlsError = (code: string, message: string) => Object.assign(new Error(message), { code });
const pgFatal = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
const SELF_SIGNED = 'self-signed certificate in certificate chain';
const ALTNAME = "Hostname/IP does not match certificate's altnames: Host: localhost. is not cert's CN: 127.0.0.1";
const CERT_REQUIRED =
  '800C2BE82C7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n';
const NO_TLS = 'The server does not support SSL connections';

/**
 * TLS failures on the TLS local stack (PgBouncer with client_tls_sslmode=require / verify-ca and a
 * private CA), as plain pg, Prisma + adapter-pg, and our own pool throw them; each one is produced
 * for real by test/integration/tls/classify-tls-errors.test.ts. Never retried.
 */
describe('classifyError: TLS', () => {
  it.each([
    ['pg: CA not trusted', 'certificate-not-verified', 'SELF_SIGNED_CERT_IN_CHAIN', nodeTlsError('SELF_SIGNED_CERT_IN_CHAIN', SELF_SIGNED)],
    ['pg: host name mismatch', 'hostname-mismatch', 'ERR_TLS_CERT_ALTNAME_INVALID', nodeTlsError('ERR_TLS_CERT_ALTNAME_INVALID', ALTNAME)],
    ['pg: PgBouncer requires TLS (08P01 SSL required)', 'server-requires-tls', '08P01', pgFatal('08P01', 'SSL required')],
    ['pg: server without TLS', 'server-without-tls', null, new Error(NO_TLS)],
    [
      'pg: client certificate required (TLS 1.3 alert 116)',
      'client-certificate-required',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      nodeTlsError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', CERT_REQUIRED),
    ],
    [
      'Prisma P2010 TlsConnectionError: CA not trusted',
      'certificate-not-verified',
      'P2010',
      prismaError('P2010', { kind: 'TlsConnectionError', reason: SELF_SIGNED }),
    ],
    [
      'Prisma P2010 TlsConnectionError: host name mismatch',
      'hostname-mismatch',
      'P2010',
      prismaError('P2010', { kind: 'TlsConnectionError', reason: ALTNAME }),
    ],
    [
      'Prisma P2010 TlsConnectionError: server without TLS',
      'server-without-tls',
      'P2010',
      prismaError('P2010', { kind: 'TlsConnectionError', reason: NO_TLS }),
    ],
    [
      'Prisma P2010 08P01 SSL required',
      'server-requires-tls',
      '08P01',
      prismaError('P2010', {
        originalCode: '08P01',
        originalMessage: 'SSL required',
        kind: 'postgres',
        code: '08P01',
        message: 'SSL required',
      }),
    ],
    [
      'Prisma error carrying the OpenSSL code: client certificate required',
      'client-certificate-required',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      Object.assign(prismaError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', undefined, CERT_REQUIRED)),
    ],
    [
      'our TlsError (cause: the pg error)',
      'certificate-not-verified',
      'SELF_SIGNED_CERT_IN_CHAIN',
      new TlsError('certificate-not-verified', 'DATABASE_URL: TLS: …', {
        cause: nodeTlsError('SELF_SIGNED_CERT_IN_CHAIN', SELF_SIGNED),
      }),
    ],
  ])('%s → tls (%s), not retried', (_, problem, code, error) => {
    expect(classifyError(error)).toEqual({ kind: 'tls', retryable: false, code, failover: false, sent: false });
    expect(tlsProblem(error)).toBe(problem);
  });

  it('is not a kind that is retried or that proves a rollback at COMMIT', () => {
    expect(RETRYABLE_KINDS.has('tls')).toBe(false);
    expect(DEFINITE_ROLLBACK_KINDS.has('tls')).toBe(true);
  });

  it.each([
    ['a refused connection', socketError('ECONNREFUSED')],
    ['a dropped connection', plain('Connection terminated unexpectedly')],
    ['PgBouncer KILL (08P01, another text)', prismaError('P2010', { kind: 'postgres', code: '08P01', message: 'database removed' })],
  ])('%s is not a TLS problem', (_, error) => {
    expect(tlsProblem(error)).toBeNull();
    expect(classifyError(error).kind).not.toBe('tls');
  });

  it('Supavisor "Tenant or user not found" (XX000) → auth, not retried', () => {
    const error = prismaError('P2010', {
      originalCode: 'XX000',
      originalMessage: 'Tenant or user not found',
      kind: 'postgres',
      code: 'XX000',
      message: 'Tenant or user not found',
    });
    expect(classifyError(error)).toEqual({ kind: 'auth', retryable: false, code: 'XX000', failover: false, sent: false });
    expect(classifyError(pgFatal('XX000', 'Tenant or user not found'))).toMatchObject({ kind: 'auth', retryable: false, code: 'XX000' });
  });
});

/**
 * "The primary is moving" (docs/failover.md): retried on a fresh connection until failoverTimeoutMs.
 * The shapes of the local stack's switchover and fence are produced for real by
 * test/integration/failover/*.test.ts; the providers' texts are from their docs and issues.
 */
describe('classifyError: failover', () => {
  const read25006 = prismaError('P2010', { kind: 'postgres', code: '25006' });
  it.each([
    [
      'PgBouncer: server login has been failing (08P01)',
      'connection',
      pgFatal('08P01', 'server login has been failing, try again later (server_login_retry)'),
    ],
    ['PgBouncer: cannot connect to server', 'connection', plain('pgbouncer cannot connect to server')],
    ["Neon: Couldn't connect to compute node (XX000)", 'connection', pgFatal('XX000', "Couldn't connect to compute node")],
    ['Supavisor: DbHandler exited (XX000)', 'connection', pgFatal('XX000', 'DbHandler exited')],
    [
      'Supavisor: (EDBHANDLEREXITED)',
      'connection',
      pgFatal('XX000', '(EDBHANDLEREXITED) connection to database closed. Check logs for more information'),
    ],
    [
      'our multi-host connect: no host matched',
      'connection',
      plain('no host in the host list matched target_session_attrs=read-write (2 tried)'),
    ],
    ['25006 on a transaction that did not ask for READ ONLY', 'read-only', read25006],
    // adapter-pg maps ECONNRESET to ConnectionClosed; Prisma words it so (a PgBouncer whose server stopped).
    ['adapter-pg ConnectionClosed (ECONNRESET), with its kind', 'connection', prismaError('P2010', { kind: 'ConnectionClosed' })],
    // PgBouncer KILL: through Prisma (a model or raw query), unwrapped at COMMIT, and from pg itself.
    [
      'PgBouncer KILL: database removed (P2010 08P01)',
      'connection',
      prismaError('P2010', { kind: 'postgres', code: '08P01', message: 'database removed' }),
    ],
    [
      'PgBouncer KILL at COMMIT (DriverAdapterError 08P01)',
      'connection',
      adapterError({ kind: 'postgres', code: '08P01', message: 'database removed' }),
    ],
    ['PgBouncer KILL: database removed (pg FATAL 08P01)', 'connection', pgFatal('08P01', 'database removed')],
  ])('%s → %s, failover', (_, kind, error) => {
    expect(classifyError(error, { readOnly: false })).toMatchObject({ kind, retryable: true, failover: true });
  });

  it('25006 is a failover only when the transaction is known not to be READ ONLY', () => {
    expect(classifyError(read25006)).toEqual({ kind: 'read-only', retryable: false, code: '25006', failover: false, sent: true });
    expect(classifyError(read25006, { readOnly: true })).toEqual({
      kind: 'read-only',
      retryable: false,
      code: '25006',
      failover: false,
      sent: true,
    });
    expect(classifyError(read25006, { readOnly: false })).toEqual({
      kind: 'read-only',
      retryable: true,
      code: '25006',
      failover: true,
      sent: true,
    });
  });

  it.each([
    ['a DNS name that does not exist', socketError('ENOTFOUND')],
    ['a connect that timed out at the socket', socketError('ETIMEDOUT')],
    ["pg's own connect timeout", plain('timeout expired')],
    ["pg's connect timeout, other wording", plain('Connection terminated due to connection timeout')],
    // Only a lost connection is read for the words: the app's own error that says them is its own.
    ["the app's own error with the words 'database removed'", new Error('database removed')],
    ['too many connections', pgError('53300', 'sorry, too many clients already')],
    ['a serialization failure', pgError('40001', 'could not serialize access')],
    ['a wrong password', pgFatal('28P01', 'password authentication failed for user "app"')],
    ['an unknown internal error', pgFatal('XX000', 'internal error')],
  ])('%s is not a failover', (_, error) => {
    expect(classifyError(error, { readOnly: false }).failover).toBe(false);
  });

  it('a failover is always retryable', () => {
    for (const error of [socketError('ECONNREFUSED'), read25006, pgFatal('57P01', 'terminating connection due to administrator command')]) {
      const c = classifyError(error, { readOnly: false });
      expect(c.failover && !c.retryable).toBe(false);
    }
  });
});

describe('ConnectionSilentError (the silence bound)', () => {
  it('is a lost connection, retried within the ordinary attempts (not the failover window: a slow query looks the same)', () => {
    const error = new ConnectionSilentError(10_000, 'pgb1:6432');
    expect(classifyError(error)).toEqual({ kind: 'connection', retryable: true, code: null, failover: false, sent: true });
    // As Prisma hands it on: a plain error carrying the message only.
    const wrapped = Object.assign(new Error(`Invalid \`prisma.user.count()\` invocation:\n\n${error.message}`), {
      name: 'PrismaClientUnknownRequestError',
    });
    expect(classifyError(wrapped)).toMatchObject({ kind: 'connection', retryable: true, failover: false });
    expect(error.message).not.toMatch(/password|@/);
  });
});
