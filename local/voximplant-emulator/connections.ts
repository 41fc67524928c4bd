/**
 * The emulator's connections: a record of each (so a test can see a connection opened before any request,
 * and which requests reused it), and what happens to a keep-alive connection left idle.
 *
 * By default Node's own server behaviour applies: an idle connection is closed after 5 s, announced to the
 * client in `Keep-Alive: timeout=5`. With `idleConnections` set, nothing is announced and after `afterMs`
 * of idleness the emulator either closes the connection (`close`: a FIN, and nothing read after it, as
 * nginx does at its keepalive_timeout) or forgets it without telling the client (`reset`: the next request on it is answered
 * with a TCP reset and never processed, as a NAT gateway does after its idle timeout, or as a client finds a
 * connection that the server closed while the client's sandbox was frozen). `expireIdle` does either at
 * once to every idle connection, for tests that must not depend on timers.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ConnectionRecord, IdleConnectionsSpec } from './types.js';

interface Tracked {
  readonly record: {
    id: number;
    openedAt: string;
    requests: number;
    state: ConnectionRecord['state'];
    closedAt: string | null;
    closedBy: ConnectionRecord['closedBy'];
  };
  /** The socket requests arrive on (the TLS socket under TLS). */
  readonly socket: Socket;
  /** The TCP socket beneath it (a reset is a TCP matter). */
  readonly tcp: Socket;
  timer: NodeJS.Timeout | undefined;
  /** Forgotten by the server: the next request gets a reset. */
  forgotten: boolean;
  busy: number;
}

const kTracked = Symbol('voxconf.emulator.connection');

export class ConnectionBook {
  private readonly records: Tracked['record'][] = [];
  private nextId = 1;
  private idle: IdleConnectionsSpec | undefined;
  private readonly open = new Set<Tracked>();
  /** Every TCP connection, TLS handshake done or not (close() ends them all). */
  private readonly raw = new Set<Socket>();

  constructor(
    private readonly server: Server,
    secure: boolean,
    private readonly now: () => number,
    private readonly maxRecords: number,
  ) {
    // Under TLS a connection counts once its handshake is done: the request sees the TLS socket.
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => this.opened(socket));
    server.on('connection', (socket: Socket) => {
      this.raw.add(socket);
      socket.once('close', () => this.raw.delete(socket));
    });
  }

  /** Destroys every connection, including one still before (or without) its TLS handshake. */
  destroyAll(): void {
    for (const socket of this.raw) socket.destroy();
  }

  /** undefined: Node's default (close after 5 s, announced). */
  setIdle(spec: IdleConnectionsSpec | undefined): void {
    if (spec !== undefined) {
      if (!Number.isFinite(spec.afterMs) || spec.afterMs < 0) throw new RangeError('afterMs must be >= 0');
      if (spec.mode !== 'close' && spec.mode !== 'reset') throw new RangeError('mode must be "close" or "reset"');
    }
    this.idle = spec;
    // 0 turns off Node's own idle close and its Keep-Alive header: the emulator decides alone.
    this.server.keepAliveTimeout = spec ? 0 : 5_000;
    for (const tracked of this.open) this.arm(tracked);
  }

  /** Does now, to every idle connection, what `mode` does after the idle timeout. Returns how many. */
  expireIdle(mode: IdleConnectionsSpec['mode']): number {
    let count = 0;
    for (const tracked of [...this.open]) {
      if (tracked.busy > 0 || tracked.forgotten) continue;
      this.expire(tracked, mode);
      count += 1;
    }
    return count;
  }

  list(): ConnectionRecord[] {
    return this.records.map((record) => ({ ...record }));
  }

  clear(): void {
    this.records.length = 0;
  }

  /**
   * A request arrived on its connection. Returns false when the connection had been forgotten: it has been
   * reset, and the request must not be processed.
   */
  requestArrived(req: IncomingMessage, res: ServerResponse): boolean {
    const tracked = (req.socket as Socket & { [kTracked]?: Tracked })[kTracked];
    if (!tracked) return true;
    if (tracked.forgotten) {
      this.closed(tracked, 'reset');
      tracked.tcp.resetAndDestroy();
      return false;
    }
    tracked.record.requests += 1;
    tracked.record.state = 'active';
    tracked.busy += 1;
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    const done = () => {
      tracked.busy -= 1;
      if (tracked.busy === 0 && !tracked.record.closedAt) tracked.record.state = 'idle';
      this.arm(tracked);
    };
    res.once('close', done); // the answer is out (or the connection broke): idle from here
    return true;
  }

  private opened(socket: Socket): void {
    const tcp = ((socket as TLSSocket & { _parent?: Socket })._parent ?? socket) as Socket;
    const record = {
      id: this.nextId++,
      openedAt: new Date(this.now()).toISOString(),
      requests: 0,
      state: 'idle' as ConnectionRecord['state'],
      closedAt: null,
      closedBy: null,
    };
    this.records.push(record);
    if (this.records.length > this.maxRecords) this.records.shift();
    const tracked: Tracked = { record, socket, tcp, timer: undefined, forgotten: false, busy: 0 };
    (socket as Socket & { [kTracked]?: Tracked })[kTracked] = tracked;
    this.open.add(tracked);
    socket.once('close', () => this.closed(tracked, 'client'));
    this.arm(tracked);
  }

  private arm(tracked: Tracked): void {
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    const spec = this.idle;
    if (!spec || tracked.busy > 0 || tracked.forgotten || tracked.record.closedAt) return;
    tracked.timer = setTimeout(() => {
      tracked.timer = undefined;
      this.expire(tracked, spec.mode);
    }, spec.afterMs);
    tracked.timer.unref();
  }

  private expire(tracked: Tracked, mode: IdleConnectionsSpec['mode']): void {
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    if (mode === 'reset') {
      tracked.forgotten = true;
      tracked.record.state = 'forgotten';
    } else {
      this.closed(tracked, 'idle');
      // Closed for good, as nginx closes at its keepalive_timeout: a request already on its way finds
      // no one to read it (the kernel answers it with a reset), it is not processed.
      tracked.socket.destroySoon();
    }
  }

  private closed(tracked: Tracked, by: NonNullable<ConnectionRecord['closedBy']>): void {
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    this.open.delete(tracked);
    if (tracked.record.closedAt) return;
    tracked.record.state = 'closed';
    tracked.record.closedAt = new Date(this.now()).toISOString();
    tracked.record.closedBy = by;
  }
}
