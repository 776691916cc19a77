/**
 * `sent: false` — the classifier's proof that no server saw the statement — one row per message
 * and code, as each pooler, driver and Prisma produce it (texts from PgBouncer 1.18–1.24's
 * src/client.c and src/janitor.c, Supavisor's lib/supavisor/errors.ex and client_handler.ex,
 * node-postgres 8.23's lib/client.js, pg-pool, Prisma 7.10). And the rows that must stay `sent`:
 * refusals that cut a client whose statement may already have run.
 */
import { describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { PoolSaturatedError, PoolTimeoutError, TransactionOutcomeUnknownError } from '~/errors/errors.ts';
import { markNotSent } from '~/errors/not-sent-mark.ts';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' });
/** How Prisma 7.10 + adapter-pg wrap a driver error of a raw or model query. */
const viaPrisma = (cause: Record<string, unknown>, code = 'P2010') =>
  Object.assign(new Error('Invalid invocation'), {
    name: 'PrismaClientKnownRequestError',
    code,
    clientVersion: '7.10.1',
    meta: { driverAdapterError: Object.assign(new Error('DriverAdapterError'), { name: 'DriverAdapterError', cause }) },
  });
const plain = (message: string) => Object.assign(new Error(message), { clientVersion: '7.10.1' });
const socket = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:6543`), { code, syscall: 'connect' });

describe('not sent: the statement reached no server', () => {
  it.each([
    // PgBouncer: refusals before a server is linked to the client.
    ['PgBouncer max_client_conn', pgError('08P01', 'no more connections allowed (max_client_conn)')],
    [
      'PgBouncer max_client_conn through Prisma',
      viaPrisma({ kind: 'postgres', code: '08P01', message: 'no more connections allowed (max_client_conn)' }),
    ],
    ['PgBouncer query_wait_timeout', pgError('08P01', 'query_wait_timeout')],
    ['PgBouncer server_login_retry', pgError('08P01', 'server login has been failing, try again later (server_login_retry)')],
    ['PgBouncer cannot connect to server', pgError('08P01', 'pgbouncer cannot connect to server')],
    ['PgBouncer client_login_timeout', pgError('08P01', 'client_login_timeout')],
    ['PgBouncer client_login_timeout (server down)', pgError('08P01', 'client_login_timeout (server down)')],
    ['PgBouncer unknown database', pgError('08P01', 'no such database: app')],
    ['PgBouncer unknown user', pgError('08P01', 'no such user: app')],
    ['PgBouncer wrong password', pgError('08P01', 'password authentication failed for user "app"')],
    // Supavisor.
    ['Supavisor max clients', pgError('XX000', 'Max client connections reached')],
    ['Supavisor max pools', pgError('XX000', 'Max pools count reached')],
    ['Supavisor checkout timeout', pgError('XX000', 'Unable to check out process from the pool due to timeout')],
    ['Supavisor tenant', pgError('XX000', 'Tenant or user not found')],
    ['Supavisor user format', pgError('XX000', 'Invalid format for `user` or `db_name`')],
    // PostgreSQL at backend start and login.
    ['Postgres too many clients', pgError('53300', 'sorry, too many clients already')],
    ['Postgres starting up', pgError('57P03', 'the database system is starting up')],
    ['Postgres auth', pgError('28P01', 'password authentication failed for user "app"')],
    ['Postgres no database', pgError('3D000', 'database "app" does not exist')],
    // node-postgres and pg-pool.
    ['pg client already dead when the statement was submitted', plain('Client has encountered a connection error and is not queryable')],
    ['pg client closing', plain('Client was closed and is not queryable')],
    ['pg-pool acquire timeout', plain('timeout exceeded when trying to connect')],
    ['pg connect timeout', plain('timeout expired')],
    ['pg connect timeout (terminated)', plain('Connection terminated due to connection timeout')],
    ['pool after end', plain('Cannot use a pool after calling end on the pool')],
    ['ECONNREFUSED', socket('ECONNREFUSED')],
    ['ENOTFOUND', socket('ENOTFOUND')],
    // Prisma.
    ['P1001 cannot reach', viaPrisma({ kind: 'DatabaseNotReachable' }, 'P1001')],
    ['P2024 pool timeout', Object.assign(new Error('Timed out fetching a new connection'), { code: 'P2024' })],
    ['P2028 maxWait', Object.assign(new Error('Unable to start a transaction in the given time.'), { code: 'P2028' })],
    ['P2037 too many connections', Object.assign(new Error('Too many database connections opened'), { code: 'P2037' })],
    // Ours.
    ['PoolTimeoutError', new PoolTimeoutError(100)],
    ['PoolSaturatedError', new PoolSaturatedError(3)],
  ])('%s → sent false', (_name, error) => {
    expect(classifyError(error).sent).toBe(false);
  });
});

describe('sent: the statement may have run', () => {
  it.each([
    ['PgBouncer KILL (database removed)', pgError('08P01', 'database removed')],
    ['PgBouncer server conn crashed?', pgError('08P01', 'server conn crashed?')],
    ['Supavisor DbHandler exited', pgError('XX000', '`DbHandler exited')],
    ['Supavisor error while sending', pgError('XX000', 'Error while sending query')],
    ['terminated backend', pgError('57P01', 'terminating connection due to administrator command')],
    ['connection lost mid-statement', plain('Connection terminated unexpectedly')],
    ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
    ['EPIPE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })],
    ['ETIMEDOUT', Object.assign(new Error('read ETIMEDOUT'), { code: 'ETIMEDOUT' })],
    ['P1017 server closed', Object.assign(new Error('Server has closed the connection.'), { code: 'P1017' })],
    ['serialization failure', pgError('40001', 'could not serialize access')],
    ['an application error', new Error('out of stock')],
    ['an application error quoting a refusal', Object.assign(new Error('x'), { name: 'AbortError', cause: plain('timeout expired') })],
    ['outcome unknown, even around a not-sent cause', new TransactionOutcomeUnknownError({ cause: plain('timeout expired') })],
  ])('%s → sent true', (_name, error) => {
    expect(classifyError(error).sent).toBe(true);
  });
});

describe('the adapter mark', () => {
  it('a marked error is not sent whatever its text, found through cause and meta.driverAdapterError', () => {
    const lost = plain('Connection terminated unexpectedly');
    expect(classifyError(lost).sent).toBe(true);
    markNotSent(lost);
    expect(classifyError(lost)).toMatchObject({ kind: 'connection', sent: false, retryable: true });
    const adapterError = Object.assign(new Error('DriverAdapterError'), {
      name: 'DriverAdapterError',
      cause: { kind: 'ConnectionClosed' },
    });
    markNotSent(adapterError);
    const prisma = Object.assign(new Error('Invalid invocation'), { code: 'P1017', meta: { driverAdapterError: adapterError } });
    expect(classifyError(prisma).sent).toBe(false);
    expect(classifyError(new Error('outer', { cause: adapterError })).sent).toBe(false);
  });

  it('marking a primitive is a no-op', () => {
    markNotSent('boom');
    markNotSent(null);
    expect(classifyError('boom').sent).toBe(true);
  });
});
