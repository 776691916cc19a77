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
