/** Lost-COMMIT scenarios through the fault proxy (tools/stack/faults/tcp-proxy.ts). */
import type { TcpProxy } from '../../tools/stack/faults/index.ts';

/**
 * Drops the next request flight through `proxy` (its `'drop'` mode) and then resets every
 * connection: that flight never reaches the server and the client sees its connection reset
 * (ECONNRESET), as when a network path dies under a COMMIT. Call it as `fn` returns and the held flight is the COMMIT:
 * the server never commits, the client cannot tell. New connections pass again afterwards.
 */
export function dropNextFlight(proxy: TcpProxy): void {
  const before = proxy.flights();
  proxy.setMode('drop');
  const poll = () => {
    if (proxy.flights() === before) {
      setTimeout(poll, 2).unref();
      return;
    }
    proxy.resetAll();
    proxy.setMode('pass');
  };
  setTimeout(poll, 2).unref();
}
