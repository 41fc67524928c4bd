/**
 * A TCP connection to Voximplant opened before anything else of a function has loaded, for its client to
 * adopt (and, for HTTPS, to start TLS on) once the client exists. Only node:net is loaded here: loading
 * node:tls and node:http(s) takes ~10-15 ms of a cold start, and the TCP handshake can run meanwhile. The
 * DNS lookup, when the URL names a host, is the one thing waited for (bounded): no handshake without an
 * address.
 */
import net, { isIP, type Socket } from 'node:net';

/**
 * An idle keep-alive connection to Voximplant is closed after this long. Voximplant does not document how
 * long its servers keep one: we assume at least 60 s (the common front-end defaults: nginx 75 s, AWS load
 * balancers 60 s) and close ours at half that, so that the server is not the one closing it. A server that
 * announces a shorter `Keep-Alive: timeout=N` is believed (Node's agent closes at N - 1 s). A server that
 * closes sooner without saying so, or a connection that died while the Lambda sandbox was frozen, costs one
 * retry on a fresh connection (see `startConference`), not a failure.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** Where a connection goes, as an HTTP agent names it: the URL's host (not its address) and port. */
export interface Origin {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
}

export function originOf(url: URL): Origin {
  const secure = url.protocol === 'https:';
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (secure ? 443 : 80), secure };
}

const keyOf = (origin: Origin) => `${origin.secure ? 'https' : 'http'}://${origin.host}:${origin.port}`;

interface Early {
  readonly origin: Origin;
  readonly socket: Socket;
  /** Stops watching it (it was taken). */
  release(): void;
}

/** At most one per origin, until a client takes it or it goes away. */
const early = new Map<string, Early>();

/**
 * Opens a TCP connection to the API URL's origin for the first client there to take. Resolves once the
 * connect is under way: after the DNS lookup (at most `lookupBoundMs`; a later answer still connects)
 * and one turn of the event loop (Node issues the connect on the next tick, and a module being evaluated
 * runs no tick until it yields). Never rejects; a failure leaves nothing behind. Unused, it closes after
 * `idleTimeoutMs`, like an idle pooled connection.
 */
export async function openEarlyConnection(
  apiUrl: string,
  options: { readonly lookupBoundMs: number; readonly idleTimeoutMs?: number },
): Promise<void> {
  let origin: Origin;
  try {
    origin = originOf(new URL(apiUrl));
  } catch {
    return;
  }
  const key = keyOf(origin);
  if (early.has(key)) return;
  const connect = (address: string, family: number) => {
    const socket = net.connect({
      host: address,
      port: origin.port,
      family,
      noDelay: true,
      keepAlive: true,
      timeout: options.idleTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS,
    });
    socket.unref(); // keeps no process alive, like an idle pooled socket
    const gone = () => {
      entry.release();
      socket.destroy();
      if (early.get(key) === entry) early.delete(key);
    };
    const entry: Early = {
      origin,
      socket,
      release() {
        socket.off('error', gone);
        socket.off('close', gone);
        socket.off('end', gone);
        socket.off('timeout', gone);
      },
    };
    socket.on('error', gone);
    socket.once('close', gone);
    socket.once('end', gone);
    socket.once('timeout', gone);
    early.set(key, entry);
  };
  const family = isIP(origin.host);
  if (family) {
    connect(origin.host, family);
  } else {
    // node:dns only when there is a name to resolve.
    const dns = process.getBuiltinModule('node:dns');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.lookupBoundMs);
      dns.lookup(origin.host, (error, address, resolved) => {
        clearTimeout(timer);
        if (!error) connect(address, resolved);
        resolve();
      });
    });
  }
  await new Promise((resolve) => setImmediate(resolve));
}

/** The early connection to this origin, if there is one still open; it is the caller's from now on. */
export function takeEarlyConnection(origin: Origin): Socket | undefined {
  const key = keyOf(origin);
  const entry = early.get(key);
  if (!entry) return undefined;
  early.delete(key);
  entry.release();
  const { socket } = entry;
  if (socket.destroyed || !socket.writable || socket.readableEnded) {
    socket.destroy();
    return undefined;
  }
  return socket;
}
