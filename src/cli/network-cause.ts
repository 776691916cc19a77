/**
 * The operating-system-level reason a database cannot be reached, in one line, for `check`.
 * Prisma's adapter reports a refused port and an unknown host alike (`DatabaseNotReachable`,
 * P1001), so the CLI asks the network itself: a DNS lookup, then a TCP connect with a deadline.
 * Null when the TCP connection opens: the failure is above TCP (TLS, authentication, …).
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';

export async function networkCause(host: string, port: number, timeoutMs = 5000): Promise<string | null> {
  let address = host;
  let socketPath: string | null = null;
  if (host.startsWith('/')) {
    socketPath = `${host.replace(/\/$/, '')}/.s.PGSQL.${port}`;
  } else {
    try {
      address = (await lookup(host)).address;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'lookup failed';
      return `${code}: the host name ${host} does not resolve (check the host in the URL)`;
    }
  }
  const where = socketPath ?? `${address}:${port}`;
  return new Promise((resolve) => {
    const socket = socketPath ? net.connect({ path: socketPath }) : net.connect({ host: address, port });
    const done = (cause: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(cause);
    };
    const timer = setTimeout(
      () => done(`timeout: no answer from ${where} within ${timeoutMs} ms (a firewall, or a host that is down)`),
      timeoutMs,
    );
    timer.unref();
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'error';
      done(
        code === 'ECONNREFUSED'
          ? `ECONNREFUSED: nothing listens on ${where} (is the database or pooler running, is the port right?)`
          : `${code}: ${where}`,
      );
    });
  });
}
