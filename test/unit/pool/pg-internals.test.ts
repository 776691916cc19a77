/**
 * Pins what src/pool/pg-internals.ts assumes of the installed node-postgres, and that a pg
 * without it fails as a classified error (never a TypeError from a timer or a callback).
 */
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { IncompatibleDependencyError } from '~/errors/errors.ts';
import { destroyClientSocket, disableClientTls } from '~/pool/pg-internals.ts';

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

  it('the socket is client.connection.stream, a net.Socket with destroy()', () => {
    const client = new pg.Client();
    const stream = (client as unknown as { connection: { stream: unknown } }).connection.stream;
    expect(stream).toBeInstanceOf(net.Socket);
    expect(destroyClientSocket(client)).toBe('destroyed');
    expect((stream as net.Socket).destroyed).toBe(true);
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
    expect(classifyError(caught)).toEqual({ kind: 'dependency', retryable: false, code: null, failover: false });
  });

  it('destroyClientSocket falls back to the public end() and never throws', () => {
    const client = new pg.Client();
    (client as unknown as { connection: { stream?: unknown } }).connection.stream = undefined;
    expect(() => destroyClientSocket(client)).not.toThrow();
    expect(destroyClientSocket(client)).toBe('ended');
  });
});
