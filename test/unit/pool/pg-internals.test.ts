/**
 * Pins what src/pool/pg-internals.ts assumes of the installed node-postgres, and that a pg
 * without it fails as a classified error (never a TypeError from a timer or a callback).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';
import {
  acceptPlainAnswer,
  clientStream,
  destroyClientSocket,
  disableClientTls,
  pgSupportsPipeline,
  trackTransactionStatus,
  transactionStatus,
} from '~/pool/pg-internals.ts';

describe('the installed pg has what we rely on', () => {
  it('ssl lives on the Client and on its Connection, and is what the connection reads', () => {
    const ssl = { rejectUnauthorized: false };
    const client = new pg.Client({ ssl }) as pg.Client & { ssl: unknown; connection: { ssl: unknown } };
    expect(client.ssl).toBe(ssl);
    expect(client.connection.ssl).toBe(ssl);
    disableClientTls(client);
    expect(client.ssl).toBe(false);
    expect(client.connection.ssl).toBe(false);
  });

  it('clientStream: the socket pg reads from is client.connection.stream, with on/off/destroy, replaced there after a TLS upgrade', () => {
    const client = new pg.Client();
    const connection = (client as unknown as { connection: { stream: unknown } }).connection;
    expect(clientStream(client)).toBe(connection.stream);
    expect(connection.stream).toBeInstanceOf(net.Socket);
    // pg 8.x upgradeToSSL assigns the TLS socket to `this.stream` (lib/connection.js): read at each call, never cached.
    expect(Object.getOwnPropertyDescriptor(connection, 'stream')?.writable).toBe(true);
    const replacement = new net.Socket();
    connection.stream = replacement;
    expect(clientStream(client)).toBe(replacement);
    expect(() => clientStream({ connection: {} } as unknown as pg.Client)).toThrow(IncompatibleDependencyError);
  });

  it('the socket is client.connection.stream, a net.Socket with destroy()', () => {
    const client = new pg.Client();
    const stream = (client as unknown as { connection: { stream: unknown } }).connection.stream;
    expect(stream).toBeInstanceOf(net.Socket);
    expect(destroyClientSocket(client)).toBe('destroyed');
    expect((stream as net.Socket).destroyed).toBe(true);
  });
});

/** Enough of a net.Socket for pg's Connection, recording what the client writes. */
class FakeSocket extends EventEmitter {
  readonly written: Buffer[] = [];
  setNoDelay() {}
  setKeepAlive() {}
  connect() {}
  write(chunk: Buffer) {
    this.written.push(Buffer.from(chunk));
    return true;
  }
  end() {}
  destroy() {}
}

/** The SSLRequest (length 8, code 80877103) and a startup message (protocol 3.0 = 196608 after the length). */
const isSslRequest = (b: Buffer | undefined) => b?.length === 8 && b.readInt32BE(4) === 80_877_103;
const isStartup = (b: Buffer | undefined) => b !== undefined && b.length > 8 && b.readInt32BE(4) === 196_608;

describe('sslmode=prefer in band (acceptPlainAnswer) on the installed pg', () => {
  const connectOver = (socket: FakeSocket) => {
    const client = new pg.Client({
      ssl: { rejectUnauthorized: false },
      stream: () => socket as unknown as net.Socket,
      user: 'u',
      database: 'd',
    });
    acceptPlainAnswer(client);
    const outcome: unknown[] = [];
    client.connect((error: Error | undefined) => outcome.push(error ?? 'connected'));
    socket.emit('connect');
    return { client: client as pg.Client & { ssl: unknown; connection: { ssl: unknown } }, outcome };
  };

  it("'N': the startup message follows on the same socket, in plain text, and TLS is off on the client", async () => {
    const socket = new FakeSocket();
    const { client, outcome } = connectOver(socket);
    expect(isSslRequest(socket.written[0])).toBe(true);
    expect(Object.hasOwn(socket, 'once')).toBe(false); // the wrapper is gone once pg's connect returned
    socket.emit('data', Buffer.from('N'));
    expect(isStartup(socket.written[1])).toBe(true);
    expect([client.ssl, client.connection.ssl]).toEqual([false, false]);
    expect(outcome).toEqual([]);
  });

  it("'S': pg's own handler runs (it starts the TLS handshake), nothing is sent in plain text", () => {
    const socket = new FakeSocket();
    const { client } = connectOver(socket);
    const upgrades: unknown[] = [];
    (client.connection as unknown as { upgradeToSSL: (...a: unknown[]) => void }).upgradeToSSL = (...a) => upgrades.push(a);
    socket.emit('data', Buffer.from('S'));
    expect(upgrades).toHaveLength(1);
    expect(socket.written).toHaveLength(1);
  });

  it('a pg whose connect no longer waits for the answer with stream.once: the connection fails as IncompatibleDependencyError', async () => {
    const socket = new FakeSocket();
    const client = new pg.Client({ ssl: { rejectUnauthorized: false }, stream: () => socket as unknown as net.Socket });
    const connection = (client as unknown as { connection: { connect: () => void } }).connection;
    connection.connect = () => {}; // waits some other way
    acceptPlainAnswer(client);
    const outcome = await new Promise((resolve) => client.connect(resolve));
    expect(outcome).toBeInstanceOf(IncompatibleDependencyError);
  });
});

describe('a pg without it', () => {
  it('disableClientTls: IncompatibleDependencyError, classified `dependency`, not retried', () => {
    const client = new pg.Client();
    delete (client as unknown as { connection?: unknown }).connection;
    let caught: unknown;
    try {
      disableClientTls(client);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IncompatibleDependencyError);
    expect(classifyError(caught)).toEqual({ kind: 'dependency', retryable: false, code: null, failover: false, sent: true });
  });

  it('destroyClientSocket falls back to the public end() and never throws', () => {
    const client = new pg.Client();
    (client as unknown as { connection: { stream?: unknown } }).connection.stream = undefined;
    expect(() => destroyClientSocket(client)).not.toThrow();
    expect(destroyClientSocket(client)).toBe('ended');
  });
});

describe('server version and pool clients (the transaction-id statement, the lost-COMMIT resolver)', () => {
  it('pg emits each ParameterStatus as a "parameterStatus" event of client.connection, which watchServerVersion keeps', async () => {
    const { watchServerVersion, serverMajorVersion } = await import('~/pool/pg-internals.ts');
    const client = new pg.Client();
    watchServerVersion(client);
    expect(serverMajorVersion(client)).toBeUndefined();
    // As pg-protocol's parser hands it to Connection#attachListeners (pg 8.x lib/connection.js).
    const { ParameterStatusMessage } = await import('pg-protocol/dist/messages.js');
    const connection = (client as unknown as { connection: EventEmitter }).connection;
    connection.emit('parameterStatus', new ParameterStatusMessage(0, 'TimeZone', 'UTC'));
    expect(serverMajorVersion(client)).toBeUndefined();
    connection.emit('parameterStatus', new ParameterStatusMessage(0, 'server_version', '12.20 (Debian 12.20-1)'));
    expect(serverMajorVersion(client)).toBe(12);
    connection.emit('parameterStatus', new ParameterStatusMessage(0, 'server_version', '15.10'));
    expect(serverMajorVersion(client)).toBe(15);
  });

  it('without a connection to listen on, the version stays unknown and nothing throws', async () => {
    const { watchServerVersion, serverMajorVersion } = await import('~/pool/pg-internals.ts');
    const bare = {};
    watchServerVersion(bare);
    expect(serverMajorVersion(bare)).toBeUndefined();
  });

  it('pg-pool keeps Client and options, and builds its clients as new Client(options): newPoolClient does the same', async () => {
    const { newPoolClient } = await import('~/pool/pg-internals.ts');
    class Marked extends pg.Client {}
    const pool = new pg.Pool({ Client: Marked as unknown as typeof pg.Client, host: 'h.example', port: 6543, max: 2 } as pg.PoolConfig);
    const client = newPoolClient(pool);
    expect(client).toBeInstanceOf(Marked);
    expect([client.host, client.port]).toEqual(['h.example', 6543]);
    await pool.end();
  });

  it('a pool without them is IncompatibleDependencyError (kind dependency)', async () => {
    const { newPoolClient } = await import('~/pool/pg-internals.ts');
    let caught: unknown;
    try {
      newPoolClient({} as pg.Pool);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(IncompatibleDependencyError);
    expect(classifyError(caught).kind).toBe('dependency');
  });
});

describe('the pipeline option', () => {
  it('the installed pg keeps it (pg ≥ 8.23.0)', () => {
    expect(pgSupportsPipeline(pg.Client)).toBe(true);
  });

  it('a pg that ignores it is told apart', () => {
    class OldClient extends pg.Client {
      constructor(config: pg.ClientConfig) {
        super(config);
        delete (this as { pipeline?: unknown }).pipeline;
      }
    }
    expect(pgSupportsPipeline(OldClient)).toBe(false);
  });
});

describe('transactionStatus', () => {
  it("is pg's own getTransactionStatus() where pg has it (pg ≥ 8.21.0)", () => {
    const client = { getTransactionStatus: () => 'T' } as unknown as pg.ClientBase;
    trackTransactionStatus(client);
    expect(transactionStatus(client)).toBe('T');
  });

  it("on an older pg, follows the connection's readyForQuery messages once tracked (null before any)", () => {
    const connection = new EventEmitter();
    const client = { connection } as unknown as pg.ClientBase;
    expect(transactionStatus(client)).toBeNull();
    trackTransactionStatus(client);
    trackTransactionStatus(client); // once per client: a second call adds no listener
    expect(connection.listenerCount('readyForQuery')).toBe(1);
    expect(transactionStatus(client)).toBeNull();
    connection.emit('readyForQuery', { name: 'readyForQuery', status: 'T' });
    expect(transactionStatus(client)).toBe('T');
    connection.emit('readyForQuery', { name: 'readyForQuery', status: 'I' });
    expect(transactionStatus(client)).toBe('I');
  });

  it('an older pg without a connection to listen on is an IncompatibleDependencyError', () => {
    expect(() => trackTransactionStatus({} as unknown as pg.ClientBase)).toThrow(IncompatibleDependencyError);
  });
});
