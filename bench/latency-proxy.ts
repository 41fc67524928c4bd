/**
 * A TCP proxy that puts a network distance between a client and a loopback server: every chunk is held for
 * half the round trip in each direction, so TCP and TLS handshakes pay the round trip as on a real network
 * (the emulator's own per-request latency does not: it delays the answer, not the connection).
 *
 * The kernel completes the client's TCP handshake with the proxy at once, so the round trip that handshake
 * would cost is charged to the first bytes the client sends: they reach the server no earlier than one
 * round trip after the connection was accepted, plus the one-way delay. From the server's side and from the
 * client's (when its first answer arrives) that is the same as a real SYN / SYN-ACK; only the client's own
 * `connect` event comes early. So a fresh HTTPS request costs 3 round trips (TCP, TLS 1.3, the request), a
 * request on a connection already open costs one.
 *
 * Bytes are forwarded in order, each direction on its own queue; half-closes and resets follow the bytes
 * before them. The delays are wall-clock timers by default; tests pass a virtual clock.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface ProxyClock {
  now(): number;
  /** Calls `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

export const realClock: ProxyClock = {
  now: () => performance.now(),
  schedule(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

export interface LatencyProxyOptions {
  /** The server behind the proxy. */
  readonly target: { readonly host: string; readonly port: number };
  /** Round trip added between client and server, in ms (half in each direction). Default 0. */
  readonly rttMs?: number;
  /** Shown in errors. */
  readonly name?: string;
  readonly clock?: ProxyClock;
}

export interface ProxyConnectionEvent {
  /** When the proxy accepted the connection (clock ms). */
  readonly acceptedAt: number;
}

export interface LatencyProxy {
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly authority: string;
  readonly rttMs: number;
  /** Applies to connections accepted from now on. */
  setRtt(ms: number): void;
  /** Connections accepted so far. */
  connections(): number;
  /** Called for every accepted connection (tests). */
  onConnection(listener: (event: ProxyConnectionEvent) => void): void;
  close(): Promise<void>;
}

/** One direction of one connection: chunks, then maybe an end or a reset, each released at its time. */
class DelayLine {
  private readonly queue: { at: number; run: () => void }[] = [];
  private cancel: (() => void) | undefined;
  private last = 0;

  constructor(private readonly clock: ProxyClock) {}

  /** Runs `run` at `at` (clock ms), never before anything queued earlier. */
  push(at: number, run: () => void): void {
    const when = Math.max(at, this.last);
    this.last = when;
    if (this.queue.length === 0 && when <= this.clock.now()) {
      run();
      return;
    }
    this.queue.push({ at: when, run });
    if (!this.cancel) this.arm();
  }

  clear(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.queue.length = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.cancel = this.clock.schedule(
      () => {
        this.cancel = undefined;
        // Timers fire late, never early: release everything that is due by now.
        const now = this.clock.now();
        while (this.queue.length && this.queue[0]!.at <= now + 0.05) this.queue.shift()!.run();
        this.arm();
      },
      Math.max(0, head.at - this.clock.now()),
    );
  }
}

export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const clock = options.clock ?? realClock;
  let rtt = nonNegative(options.rttMs ?? 0);
  let accepted = 0;
  const listeners: ((event: ProxyConnectionEvent) => void)[] = [];
  const open = new Set<net.Socket>();

  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    accepted += 1;
    const acceptedAt = clock.now();
    const oneWay = rtt / 2;
    // The client's SYN would have taken a round trip before it could send: its first bytes wait for it.
    const firstByteAt = acceptedAt + rtt;
    const upstream = net.connect({
      host: options.target.host,
      port: options.target.port,
      noDelay: true,
      allowHalfOpen: true,
    });
    open.add(client);
    open.add(upstream);
    const lines = [new DelayLine(clock), new DelayLine(clock)];
    const forward = (from: net.Socket, to: net.Socket, line: DelayLine, earliest: number) => {
      const at = () => Math.max(clock.now(), earliest) + oneWay;
      from.on('data', (chunk: Buffer) => line.push(at(), () => to.destroyed || to.write(chunk)));
      from.on('end', () => line.push(at(), () => to.destroyed || to.end()));
      // A reset travels like the bytes before it; any other failure just closes the other side.
      from.on('error', (error: NodeJS.ErrnoException) =>
        line.push(at(), () => {
          if (to.destroyed) return;
          if (error.code === 'ECONNRESET') to.resetAndDestroy();
          else to.destroy();
        }),
      );
      from.on('close', () => {
        open.delete(from);
        if (client.destroyed && upstream.destroyed) for (const l of lines) l.clear();
      });
    };
    forward(client, upstream, lines[0]!, firstByteAt);
    forward(upstream, client, lines[1]!, 0);
    for (const listener of listeners) listener({ acceptedAt });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    authority: `127.0.0.1:${port}`,
    get rttMs() {
      return rtt;
    },
    setRtt(ms) {
      rtt = nonNegative(ms);
    },
    connections: () => accepted,
    onConnection(listener) {
      listeners.push(listener);
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      });
    },
  };
}

function nonNegative(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a round trip must be a non-negative number, got ${ms}`);
  return ms;
}

/**
 * A TLS front for a plain-HTTP loopback server (the AWS stand-ins speak HTTP; AWS speaks only HTTPS): it
 * terminates TLS with the bench's certificate and passes the bytes on. Put a latency proxy in front of it
 * so that the TLS handshake pays the round trip.
 */
export async function startTlsFront(options: {
  readonly target: { readonly host: string; readonly port: number };
  readonly key: string;
  readonly cert: string;
}): Promise<{ readonly port: number; close(): Promise<void> }> {
  const open = new Set<net.Socket>();
  // No Nagle on either side: a small answer written in pieces must not wait for a delayed ACK (40 ms).
  const server = tls.createServer({ key: options.key, cert: options.cert, noDelay: true }, (secure) => {
    secure.setNoDelay(true);
    const upstream = net.connect({ host: options.target.host, port: options.target.port, noDelay: true });
    open.add(secure);
    open.add(upstream);
    secure.pipe(upstream).pipe(secure);
    const close = () => {
      secure.destroy();
      upstream.destroy();
    };
    secure.on('error', close);
    upstream.on('error', close);
    secure.on('close', () => open.delete(secure));
    upstream.on('close', () => open.delete(upstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close() {
      return new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      });
    },
  };
}
