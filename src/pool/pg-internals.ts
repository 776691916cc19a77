/**
 * Every place this package touches a private part of node-postgres, in one file. Each function
 * checks the shape it relies on first: a pg that changed turns into an IncompatibleDependencyError
 * (kind `dependency`) or a documented fallback, never a TypeError thrown from a timer or a
 * callback. test/unit/pool/pg-internals.test.ts pins each assumption against the installed pg.
 */
import type pg from 'pg';
import { IncompatibleDependencyError } from '../errors/errors.ts';

interface TlsFields {
  ssl: unknown;
  connection: { ssl: unknown };
}

function hasTlsFields(client: object): client is TlsFields {
  const { connection } = client as Partial<TlsFields>;
  return 'ssl' in client && typeof connection === 'object' && connection !== null && 'ssl' in connection;
}

/**
 * Turns TLS off on a client that was built with it, before `connect()` (libpq's `sslmode=prefer`
 * after the server answered 'N'). pg copies `ssl` into the Client and into its Connection at
 * construction (pg 8.x lib/client.js, lib/connection.js) and reads both at connect; there is no
 * public way to change it afterwards. Throws IncompatibleDependencyError when either field is gone.
 */
export function disableClientTls(client: pg.Client): void {
  if (!hasTlsFields(client)) throw new IncompatibleDependencyError('pg', 'Client#ssl and Client#connection.ssl');
  client.ssl = false;
  client.connection.ssl = false;
}

interface PreferFields {
  ssl: unknown;
  connection: {
    ssl: unknown;
    stream: { once(event: string, listener: (...args: never[]) => void): unknown };
    connect(...args: unknown[]): unknown;
    attachListeners(stream: unknown): void;
    emit(event: string, ...args: unknown[]): boolean;
  };
}

function hasPreferFields(client: object): client is PreferFields {
  if (!hasTlsFields(client)) return false;
  const connection = client.connection as Partial<PreferFields['connection']>;
  return (
    typeof connection.connect === 'function' &&
    typeof connection.attachListeners === 'function' &&
    typeof connection.emit === 'function' &&
    typeof connection.stream?.once === 'function'
  );
}

/** The server's one-byte answer to an SSLRequest meaning "no TLS here". */
const NO_TLS = 0x4e; // 'N'

/**
 * libpq's `sslmode=prefer` on the connection itself: the SSLRequest goes out on the real socket and,
 * when the server answers 'N', the same socket carries on in plain text, as libpq does
 * (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SSL). pg alone would fail
 * with "The server does not support SSL connections", and a separate question first costs a TCP
 * connect and a round trip more on every cold start.
 *
 * pg 8.x `Connection#connect` registers its handler for the one-byte answer with
 * `stream.once('data', …)` while it runs (lib/connection.js); that one registration is wrapped: 'N'
 * turns TLS off on the client and its connection and does what `upgradeToSSL` does after a handshake
 * (`attachListeners`, then 'sslconnect', on which the Client sends its startup message); 'S' and
 * anything else go to pg's handler unchanged. Throws IncompatibleDependencyError when the fields are
 * gone; when pg no longer registers that handler, the connection fails with one instead.
 */
export function acceptPlainAnswer(client: pg.Client): void {
  if (!hasPreferFields(client)) {
    throw new IncompatibleDependencyError('pg', 'Client#connection with connect(), attachListeners(), emit() and stream.once()');
  }
  const connection = client.connection;
  const connect = connection.connect;
  connection.connect = function preferConnect(this: PreferFields['connection'], ...args: unknown[]) {
    const stream = this.stream;
    const once = stream.once;
    const ownOnce = Object.hasOwn(stream, 'once');
    let wrapped = false;
    stream.once = function onceWrapped(this: unknown, event: string, listener: (...a: never[]) => void) {
      if (event !== 'data' || wrapped) return once.call(this, event, listener);
      wrapped = true;
      return once.call(this, 'data', ((buffer: Buffer) => {
        if (buffer.length === 1 && buffer[0] === NO_TLS) {
          client.ssl = false;
          connection.ssl = false;
          connection.attachListeners(stream);
          connection.emit('sslconnect');
          return;
        }
        (listener as (b: Buffer) => void)(buffer);
      }) as never);
    };
    try {
      return connect.apply(this, args);
    } finally {
      if (ownOnce) stream.once = once;
      else delete (stream as { once?: unknown }).once;
      if (!wrapped && this.ssl) {
        // A pg that waits for the answer some other way: fail this connection as a classified error
        // (after pg has attached its handlers, as it reports socket errors) rather than a TLS error prefer should not have.
        const error = new IncompatibleDependencyError(
          'pg',
          "Connection#connect waiting for the SSLRequest's answer with stream.once('data')",
        );
        queueMicrotask(() => connection.emit('error', error));
      }
    }
  };
}

/**
 * Closes a checked-out client's socket at once, so every query sent on it fails as a lost
 * connection. pg 8.x keeps the socket at `client.connection.stream`; when that is gone the
 * public `end()` is the fallback (it waits for the server to close, which a hung server may
 * never do, so the deadline it serves is then only as good as the server). Never throws.
 * Returns which way was taken.
 */
export function destroyClientSocket(client: pg.ClientBase): 'destroyed' | 'ended' {
  const stream = (client as { connection?: { stream?: { destroy?: unknown } } }).connection?.stream;
  if (stream && typeof stream.destroy === 'function') {
    (stream.destroy as () => void).call(stream);
    return 'destroyed';
  }
  void (client as pg.Client).end().catch(() => {});
  return 'ended';
}

interface HostFields {
  host: string;
  port: number;
  connectionParameters: { host: string; port: number };
}

function hasHostFields(client: object): client is HostFields {
  const { connectionParameters } = client as Partial<HostFields>;
  return 'host' in client && 'port' in client && typeof connectionParameters === 'object' && connectionParameters !== null;
}

/**
 * Points a client that has not connected yet at another host (src/pool/multi-host.ts). pg copies
 * host and port from its ConnectionParameters into the Client at construction and opens the socket
 * to `this.host` / `this.port` in `_connect` (pg 8.x lib/client.js); both are set so a pg that
 * reads either finds the same. Throws IncompatibleDependencyError when the fields are gone.
 */
export function aimClientAt(client: pg.Client, host: { readonly host: string; readonly port: number }): void {
  if (!hasHostFields(client)) throw new IncompatibleDependencyError('pg', 'Client#host, Client#port and Client#connectionParameters');
  client.host = host.host;
  client.port = host.port;
  client.connectionParameters.host = host.host;
  client.connectionParameters.port = host.port;
}

const SERVER_MAJOR = Symbol('serverMajorVersion');

interface ParameterStatusSource {
  connection: { on(event: 'parameterStatus', listener: (message: { parameterName?: unknown; parameterValue?: unknown }) => void): unknown };
}

function hasParameterStatus(client: object): client is ParameterStatusSource {
  const { connection } = client as Partial<ParameterStatusSource>;
  return typeof connection === 'object' && connection !== null && typeof connection.on === 'function';
}

/**
 * Keeps the major version of the server `client` logs in to, from the `server_version` it
 * reports in a ParameterStatus message at login (PostgreSQL and PgBouncer both send it;
 * https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-ASYNC). pg's Connection
 * emits each backend message by name (lib/connection.js: `this.emit(eventName, msg)`) but the
 * Client keeps none of them. Without that shape the version stays unknown (`serverMajorVersion`
 * returns undefined), which callers read as "recent": nothing throws.
 */
export function watchServerVersion(client: object): void {
  if (!hasParameterStatus(client)) return;
  client.connection.on('parameterStatus', (message) => {
    if (message.parameterName !== 'server_version' || typeof message.parameterValue !== 'string') return;
    const major = Number.parseInt(message.parameterValue, 10);
    if (Number.isInteger(major)) (client as { [SERVER_MAJOR]?: number })[SERVER_MAJOR] = major;
  });
}

/** The server's major version seen by `watchServerVersion`, or undefined. */
export function serverMajorVersion(client: object): number | undefined {
  return (client as { [SERVER_MAJOR]?: number })[SERVER_MAJOR];
}

interface PoolFactoryFields {
  Client: new (options: unknown) => pg.Client;
  options: pg.PoolConfig;
}

/**
 * A new client built exactly as `pool` builds its own (pg-pool's `newClient`:
 * `new this.Client(this.options)`, pg-pool 3.x index.js), not connected and not part of the pool:
 * a fresh connection for a question that must not ride on a connection opened before a fault
 * (src/transaction/settle-outcome.ts). Same URL, TLS, timeouts and host choice as the pool's.
 * Throws IncompatibleDependencyError when pg-pool no longer keeps `Client` and `options`.
 */
export function newPoolClient(pool: pg.Pool): pg.Client {
  const fields = pool as unknown as Partial<PoolFactoryFields>;
  if (typeof fields.Client !== 'function' || typeof fields.options !== 'object' || fields.options === null)
    throw new IncompatibleDependencyError('pg-pool', 'Pool#Client and Pool#options');
  return new fields.Client(fields.options);
}
/**
 * Whether this pg has the `pipeline` client option (pg ≥ 8.23.0 keeps it as `Client#pipeline`); an
 * older pg ignores the option silently and runs a transaction's BEGIN as a round trip of its own.
 * Constructing a Client opens nothing (no socket is connected before `connect()`).
 */
export function pgSupportsPipeline(Client: new (config: pg.ClientConfig) => pg.Client): boolean {
  const probe = new Client({ pipeline: true } as pg.ClientConfig) as unknown as { pipeline?: unknown };
  return probe.pipeline === true;
}

/** The warning for a pg without `pipeline` (code PGPOOL_PG_NO_PIPELINE). */
export const PG_NO_PIPELINE_WARNING =
  "pg lacks the pipeline client option (pg ≥ 8.23.0): each transaction's BEGIN costs a round trip of its own instead of travelling with the first statement; install pg ≥ 8.23.0";

/** What the silence watch needs of a client's socket: its 'data' events and destroy(error). */
export interface WatchableStream {
  on(event: 'data', listener: () => void): unknown;
  off(event: 'data', listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

/**
 * The socket a connected client reads from (src/pool/silence-watch.ts): pg 8.x keeps it at
 * `client.connection.stream` and replaces it there with the TLS socket after the handshake
 * (lib/connection.js `upgradeToSSL`), so it is looked up when a query starts, not at construction.
 * Throws IncompatibleDependencyError when it is gone or lacks on/off/destroy.
 */
export function clientStream(client: pg.ClientBase): WatchableStream {
  const stream = (client as { connection?: { stream?: Partial<WatchableStream> } }).connection?.stream;
  if (stream && typeof stream.on === 'function' && typeof stream.off === 'function' && typeof stream.destroy === 'function') {
    return stream as WatchableStream;
  }
  throw new IncompatibleDependencyError('pg', 'Client#connection.stream with on(), off() and destroy()');
}

const trackedStatus = new WeakMap<object, string | null>();

/**
 * Makes `transactionStatus(client)` answer on a pg without `Client#getTransactionStatus()` (added in
 * pg 8.21.0; pg 8.16.3 is the oldest supported): the status is then read from the connection's
 * ReadyForQuery messages, which pg's connection emits as `readyForQuery` with the status byte. Call it
 * before the client's first statement of a transaction; once per client is enough.
 */
export function trackTransactionStatus(client: pg.ClientBase): void {
  if (typeof (client as { getTransactionStatus?: unknown }).getTransactionStatus === 'function' || trackedStatus.has(client)) return;
  const connection = (client as { connection?: { on?: unknown } }).connection;
  if (!connection || typeof connection.on !== 'function')
    throw new IncompatibleDependencyError('pg', 'Client#getTransactionStatus() or Client#connection with on()');
  trackedStatus.set(client, null);
  (connection as { on(event: 'readyForQuery', listener: (message: { status?: unknown }) => void): unknown }).on(
    'readyForQuery',
    (message) => trackedStatus.set(client, typeof message?.status === 'string' ? message.status : null),
  );
}

/** The status of the client's last ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' in a failed one; null when unknown. */
export function transactionStatus(client: pg.ClientBase): string | null {
  const own = (client as { getTransactionStatus?: () => unknown }).getTransactionStatus;
  if (typeof own === 'function') {
    const status = own.call(client);
    return typeof status === 'string' ? status : null;
  }
  return trackedStatus.get(client) ?? null;
}
