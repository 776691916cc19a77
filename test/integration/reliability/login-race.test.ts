/**
 * Found by the 3-minute ledger soak, which crashed with `Unhandled 'error' event ... database
 * removed` on one of our pool's clients: when a FATAL arrives in the same TCP read as the login's
 * ReadyForQuery (PgBouncer KILL or a restart right as a connection is made; a proxy that coalesces
 * packets), pg-pool has already removed its idle 'error' listener and handed the client out, and
 * adapter-pg has not attached its own yet (that happens a microtask later). Without a listener of
 * our own on every client, Node's EventEmitter throws and the process dies.
 *
 * A fake server that speaks just enough of the Postgres protocol reproduces it exactly. It does not
 * answer an SSLRequest, so the URL says sslmode=disable (the default would ask it for TLS first).
 */
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { classifyError } from '~/errors/classify-error.ts';
import { PrismaClient } from '~/generated/prisma/client.ts';
import { createConnectionPoolManager } from '~/manager/connection-pool-manager.ts';

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const authOk = message('R', Buffer.from([0, 0, 0, 0]));
const readyForQuery = message('Z', Buffer.from('I', 'latin1'));
const fatal = message('E', Buffer.from('SFATAL\0VFATAL\0C08P01\0Mdatabase removed\0\0', 'latin1'));

let server: net.Server;
let port = 0;
let logins = 0;
const sockets = new Set<net.Socket>();
beforeAll(async () => {
  server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => {
      logins++;
      // Login accepted and the connection killed, in one write: one read on the client side.
      socket.end(Buffer.concat([authOk, readyForQuery, fatal]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('a FATAL in the same packet as the login ReadyForQuery fails the call (classified), never crashes the process', async () => {
  const manager = createConnectionPoolManager({
    createClient: (adapter) => new PrismaClient({ adapter }),
    env: { DATABASE_URL: `postgresql://app:secret@127.0.0.1:${port}/app?connection_limit=1&sslmode=disable`, USE_TRANSACTION_MODE: 'true' },
    retry: { maxAttempts: 2, baseDelayMs: 0 },
  });
  try {
    const error = await manager.withPooling(async (tx) => tx.$queryRaw`SELECT 1`).catch((e: unknown) => e);
    expect(logins).toBeGreaterThanOrEqual(1);
    expect(classifyError(error).kind).toBe('connection');
  } finally {
    await manager.disconnect();
  }
});
