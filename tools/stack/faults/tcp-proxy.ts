/**
 * A TCP proxy between a client and an upstream (the pooler, or Postgres) that injects network
 * faults without root or a firewall, after node-postgres pg-pool's tests (a server that accepts
 * and never answers).
 *
 * Modes, switchable at any time; a switch applies to live connections too:
 * - `'pass'`: bytes flow both ways.
 * - `'blackhole'`: a frozen peer. Connections are accepted but nothing is forwarded either way:
 *   sockets stop being read, so TCP backpressure builds as with a stopped host. A connection
 *   accepted in this mode does not even reach the upstream yet. Switching back to `'pass'`
 *   thaws: held bytes are delivered in order and pending connections go upstream.
 * - `'reset'`: every live connection is closed with RST (client sees `ECONNRESET`), and so is
 *   every new one.
 * - `{ delayMs }`: each chunk is forwarded `delayMs` after it arrived, in order, both ways, so a
 *   query round trip takes at least twice `delayMs`.
 *
 * `blackholeOpen()` is the gray failure of a host that stopped answering on the connections already
 * open while new ones work (an IP that moved in a failover, a deleted pod behind a stale path, a
 * dropped NAT mapping): every connection open at that moment swallows all traffic from then on —
 * read and dropped both ways, so the client's writes are acknowledged at the TCP level as a
 * userspace proxy or NAT would — and never ends (no RST, no FIN, even when the upstream closes),
 * until the client closes it. Connections accepted afterwards pass as the mode says.
 *
 * It also counts request flights: a flight starts when the client sends after the server has
 * answered (or first), so pipelined statements written together count once — the number of
 * round trips a client waited for, read without any clock.
 *
 * Listens on 127.0.0.1 only. Every timer is unref'd; `close()` destroys everything.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'blackhole' | 'reset' | { delayMs: number };

export interface ProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  /** Mode at start. Defaults to `'pass'`. */
  mode?: ProxyMode;
}

export interface TcpProxy {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The same connection string with host and port pointing at the proxy. */
  url(connectionString: string): string;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Closes every live connection with RST (mode unchanged). Resolves with how many. */
  resetAll(): number;
  /** Swallows all traffic on every connection open now, without closing them (see above). Returns how many. */
  blackholeOpen(): number;
  /** Live connections swallowed by `blackholeOpen()`. */
  blackholed(): number;
  /** Live client connections. */
  connections(): number;
  /** Connections accepted since start. */
  accepted(): number;
  /** Client → server flights since start, over all connections (see above). */
  flights(): number;
  /** Destroys every socket and the server; resolves once the server is closed. Safe to call twice. */
  close(): Promise<void>;
}

function validateMode(mode: ProxyMode): ProxyMode {
  if (mode === 'pass' || mode === 'blackhole' || mode === 'reset') return mode;
  if (typeof mode === 'object' && mode !== null && Number.isFinite(mode.delayMs) && mode.delayMs >= 0) return { delayMs: mode.delayMs };
  throw new TypeError(`tcp-proxy: mode must be 'pass', 'blackhole', 'reset' or { delayMs >= 0 }, got ${JSON.stringify(mode)}`);
}

/** One direction of one connection: chunks queue here until the mode lets them through. */
class Pipe {
  private readonly queue: { chunk: Buffer; at: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private waitingForDrain = false;

  /** Set by `blackholeOpen()`: everything read from now on is dropped. */
  swallowing = false;

  constructor(
    private readonly source: net.Socket,
    private readonly getTarget: () => net.Socket | null,
    private readonly getMode: () => ProxyMode,
  ) {
    source.on('data', (chunk: Buffer) => {
      if (this.swallowing) return;
      this.queue.push({ chunk, at: Date.now() });
      this.pump();
    });
  }

  /** Drops what is queued and everything read from now on; keeps reading so the peer's writes are acknowledged. */
  swallow(): void {
    this.swallowing = true;
    this.queue.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.source.resume();
  }

  /** Forwards what the mode allows; call again whenever the mode or the target changes. */
  pump(): void {
    if (this.swallowing) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const mode = this.getMode();
    const target = this.getTarget();
    if (mode === 'blackhole' || mode === 'reset' || !target || target.destroyed) {
      this.source.pause();
      return;
    }
    const delayMs = typeof mode === 'object' ? mode.delayMs : 0;
    while (this.queue.length > 0 && !this.waitingForDrain) {
      const head = this.queue[0] as { chunk: Buffer; at: number };
      const wait = head.at + delayMs - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        this.timer.unref();
        break;
      }
      this.queue.shift();
      if (!target.write(head.chunk)) {
        this.waitingForDrain = true;
        target.once('drain', () => {
          this.waitingForDrain = false;
          this.pump();
        });
      }
    }
    // Read more only while the queue is short, so a delayed or blocked target backs up TCP.
    if (this.waitingForDrain || this.queue.length > 64) this.source.pause();
    else this.source.resume();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

class ProxiedConnection {
  upstream: net.Socket | null = null;
  private readonly toUpstream: Pipe;
  private toClient: Pipe | null = null;
  private closed = false;
  /** Swallowed by `blackholeOpen()`: nothing forwarded, nothing closed but by the client. */
  silenced = false;
  /** Who sent last on this connection, for the flight count. */
  private turn: 'client' | 'server' = 'server';

  constructor(
    readonly client: net.Socket,
    private readonly options: ProxyOptions,
    private readonly getMode: () => ProxyMode,
    private readonly onClosed: (connection: ProxiedConnection) => void,
    private readonly onFlight: () => void = () => {},
  ) {
    client.setNoDelay(true);
    client.on('data', () => {
      if (this.turn === 'client') return;
      this.turn = 'client';
      this.onFlight();
    });
    client.on('error', () => this.destroy('reset', true));
    client.on('close', () => this.destroy('plain', true));
    client.on('end', () => {
      if (!this.silenced) this.upstream?.end();
    });
    this.toUpstream = new Pipe(client, () => this.upstream, getMode);
    this.toUpstream.pump();
  }

  /** Connects upstream unless already done; called when the mode lets traffic through. */
  refresh(): void {
    if (this.closed) return;
    const mode = this.getMode();
    if (mode === 'reset') {
      this.destroy('reset');
      return;
    }
    if (this.silenced) return;
    if (mode !== 'blackhole' && !this.upstream) {
      const upstream = net.connect({ host: this.options.upstreamHost, port: this.options.upstreamPort });
      this.upstream = upstream;
      upstream.setNoDelay(true);
      upstream.on('data', () => {
        this.turn = 'server';
      });
      upstream.on('connect', () => this.toUpstream.pump());
      // An upstream RST (or refusal) becomes an RST to the client; a clean close stays clean.
      upstream.on('error', () => this.destroy('reset'));
      upstream.on('close', () => this.destroy('plain'));
      upstream.on('end', () => {
        if (!this.silenced) this.client.end();
      });
      this.toClient = new Pipe(upstream, () => this.client, this.getMode);
    }
    if (this.upstream?.connecting) return;
    this.toUpstream.pump();
    this.toClient?.pump();
  }

  /** Swallows everything from now on, both ways (see `blackholeOpen`). */
  silence(): void {
    if (this.closed || this.silenced) return;
    this.silenced = true;
    this.toUpstream.swallow();
    if (this.toClient) this.toClient.swallow();
    // An upstream still connecting is dropped quietly; the client never hears of it.
    else this.upstream?.destroy();
  }

  /** `fromClient`: the client itself closed or failed. A silenced connection ends only that way (or at proxy close). */
  destroy(how: 'reset' | 'plain', fromClient = false, force = false): void {
    if (this.closed) return;
    if (this.silenced && !fromClient && !force) {
      // The upstream went away behind a silent path: the client hears nothing.
      if (this.upstream && !this.upstream.destroyed) this.upstream.destroy();
      return;
    }
    this.closed = true;
    this.toUpstream.dispose();
    this.toClient?.dispose();
    for (const socket of [this.client, this.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (how === 'reset') socket.resetAndDestroy();
      else socket.destroy();
    }
    this.onClosed(this);
  }
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of `upstreamHost:upstreamPort`. */
export async function startProxy(options: ProxyOptions): Promise<TcpProxy> {
  if (!options.upstreamHost) throw new TypeError('tcp-proxy: upstreamHost is required');
  if (!Number.isInteger(options.upstreamPort) || options.upstreamPort < 1 || options.upstreamPort > 65_535) {
    throw new TypeError(`tcp-proxy: upstreamPort must be a TCP port, got ${options.upstreamPort}`);
  }
  let mode = validateMode(options.mode ?? 'pass');
  const live = new Set<ProxiedConnection>();
  let accepted = 0;
  let flights = 0;
  const onFlight = () => {
    flights++;
  };
  let closing: Promise<void> | null = null;
  const getMode = () => mode;

  const server = net.createServer((socket) => {
    accepted++;
    if (closing) {
      socket.destroy();
      return;
    }
    const connection = new ProxiedConnection(socket, options, getMode, (c) => live.delete(c), onFlight);
    live.add(connection);
    connection.refresh();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('tcp-proxy: no listening address');
  const port = address.port;

  return {
    host: '127.0.0.1',
    port,
    url(connectionString: string): string {
      const url = new URL(connectionString);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    mode: () => mode,
    setMode(next: ProxyMode): void {
      mode = validateMode(next);
      for (const connection of [...live]) connection.refresh();
    },
    resetAll(): number {
      const all = [...live];
      for (const connection of all) connection.destroy('reset', false, true);
      return all.length;
    },
    blackholeOpen(): number {
      const open = [...live].filter((connection) => !connection.silenced);
      for (const connection of open) connection.silence();
      return open.length;
    },
    blackholed: () => [...live].filter((connection) => connection.silenced).length,
    connections: () => live.size,
    accepted: () => accepted,
    flights: () => flights,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of [...live]) connection.destroy('plain', false, true);
      });
      return closing;
    },
  };
}
