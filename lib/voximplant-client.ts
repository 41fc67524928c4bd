import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { UpstreamError, VoximplantApiError } from './errors.js';
import { retryAfterSeconds } from './retry.js';
import type { ConferenceRequest } from './validation.js';
import { classifyHttpStatus, classifyVoximplantCode } from './voximplant-codes.js';

/** What StartConference returns on success (`result: 1`). */
export interface StartConferenceResponse {
  readonly media_session_access_url: string;
  readonly media_session_access_secure_url: string;
  readonly call_session_history_id: number;
}

export interface VoximplantClientOptions {
  /** Base URL, e.g. https://api.voximplant.com/platform_api (no trailing slash). */
  readonly apiUrl: string;
  /** How long an idle keep-alive socket is kept (default IDLE_SOCKET_TIMEOUT_MS). */
  readonly idleSocketTimeoutMs?: number;
}

/**
 * An idle keep-alive connection to Voximplant is closed after this long. Voximplant does not document how
 * long its servers keep one: we assume at least 60 s (the common front-end defaults: nginx 75 s, AWS load
 * balancers 60 s) and close ours at half that, so that the server is not the one closing it. A server that
 * announces a shorter `Keep-Alive: timeout=N` is believed (Node's agent closes at N - 1 s). A server that
 * closes sooner without saying so, or a connection that died while the Lambda sandbox was frozen, costs one
 * retry on a fresh connection (see `startConference`), not a failure.
 */
export const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/**
 * Socket errors that mean a reused connection was already dead when the request was written: the server
 * (or a NAT on the way) had dropped it. With no byte of the answer received, the request was not answered.
 */
const DEAD_SOCKET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_STREAM_DESTROYED',
]);

/** Set on a pre-opened socket that had finished connecting before a request took it: it may have died idle. */
const kIdleBeforeUse = Symbol('voxconf.idleBeforeUse');

/** A connection opened ahead of the first request, waiting for the agent to ask for one. */
interface Preopened {
  readonly socket: Socket & { [kIdleBeforeUse]?: boolean };
  /** Where it goes, as the agent names it (the URL's host, not the address it resolved to). */
  readonly host: string;
  readonly port: number;
  /** Settles when it is ready or gone (never unhandled). */
  readonly ready: Promise<void>;
  connected: boolean;
  /** Destroys it when `signal` aborts, while nobody has taken it yet. */
  abandonOn(signal: AbortSignal | undefined): void;
  /** Stops watching it: the agent has it now. */
  release(): void;
  /** Called when it is gone before anyone took it. */
  onGone?: () => void;
}

type CreateConnection = (options: Record<string, unknown>, callback?: unknown) => Socket | undefined;

/** The agent options every client uses; a connection opened for a client uses them too. */
function agentOptions(idleSocketTimeoutMs: number): http.AgentOptions {
  return { keepAlive: true, maxSockets: 64, scheduling: 'lifo', timeout: idleSocketTimeoutMs };
}

/** Host and port of a URL as the agent sees them (IPv6 without brackets, the default port filled in). */
function target(url: URL): { host: string; port: number; secure: boolean } {
  const secure = url.protocol === 'https:';
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (secure ? 443 : 80), secure };
}

/**
 * Opens a connection with `createConnection` and watches it until a request takes it: an error, a close
 * by the server or the idle timeout make it go away quietly (and settle `ready` with the reason).
 */
function openConnection(
  createConnection: CreateConnection,
  where: { host: string; port: number; secure: boolean },
  options: Record<string, unknown>,
): Preopened {
  const socket = createConnection({ ...options, port: where.port }) as Preopened['socket'];
  socket.unref(); // like an idle pooled socket: it keeps no process alive
  const readyEvent = where.secure ? 'secureConnect' : 'connect';
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  ready.catch(() => undefined); // a caller that does not wait for it must not crash the process
  const abortListeners: (() => void)[] = [];
  const entry: Preopened = {
    socket,
    host: where.host,
    port: where.port,
    ready,
    connected: false,
    abandonOn(signal) {
      if (!signal) return;
      const onAbort = () => gone(signal.reason ?? new Error('aborted'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      abortListeners.push(() => signal.removeEventListener('abort', onAbort));
    },
    release() {
      socket.off(readyEvent, onReady);
      socket.off('error', gone);
      socket.off('close', onClosed);
      socket.off('end', onClosed);
      socket.off('timeout', onClosed);
      for (const remove of abortListeners.splice(0)) remove();
    },
  };
  const onReady = () => {
    entry.connected = true;
    settle?.resolve();
  };
  const gone = (reason: unknown) => {
    entry.release();
    socket.destroy();
    settle?.reject(reason);
    entry.onGone?.();
  };
  const onClosed = () => gone(Object.assign(new Error('the pre-opened connection closed'), { code: 'ECONNRESET' }));
  socket.once(readyEvent, onReady);
  socket.on('error', gone);
  socket.once('close', onClosed);
  socket.once('end', onClosed);
  socket.once('timeout', onClosed);
  return entry;
}

/** Connections opened before any client existed (openEarlyConnection), by origin, for the first client there. */
const early = new Map<string, Preopened>();

const originOf = (where: { host: string; port: number; secure: boolean }) =>
  `${where.secure ? 'https' : 'http'}://${where.host}:${where.port}`;

/**
 * Opens a connection to `apiUrl` before any VoximplantClient exists: the first client for that origin
 * adopts it (`preconnect()` or its first request). A function calls it first thing at load, so that the
 * TCP handshake runs while the rest of its code is evaluated. Resolves once the connection is under way:
 * only the DNS lookup is waited for (at most `lookupBoundMs`; without an answer by then, the connection
 * starts when the lookup ends), since the handshake cannot start without an address. Never rejects: a
 * failure leaves nothing behind, and the client connects as usual.
 */
export async function openEarlyConnection(
  apiUrl: string,
  options: { lookupBoundMs?: number; idleSocketTimeoutMs?: number } = {},
): Promise<void> {
  let where: ReturnType<typeof target>;
  try {
    where = target(new URL(apiUrl));
  } catch {
    return;
  }
  const origin = originOf(where);
  if (early.has(origin)) return;
  const open = (address: string, family: number | undefined) => {
    const connectOptions = {
      ...agentOptions(options.idleSocketTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS),
      host: address,
      family,
      // The certificate is checked against the name, not the address it resolved to.
      servername: isIP(where.host) ? '' : where.host,
      noDelay: true,
      keepAlive: true,
      encoding: null,
    };
    const create: CreateConnection = (o) =>
      where.secure ? tls.connect(o as tls.ConnectionOptions) : net.connect(o as unknown as net.NetConnectOpts);
    const entry = openConnection(create, where, connectOptions);
    entry.onGone = () => {
      if (early.get(origin) === entry) early.delete(origin);
    };
    if (!entry.socket.destroyed) early.set(origin, entry);
  };
  if (isIP(where.host)) {
    open(where.host, isIP(where.host));
    // Node issues the connect on the next tick, and a module being evaluated runs no tick until it yields
    // to the event loop: yield once, or the handshake would wait for the whole bundle to load.
    await new Promise((resolve) => setImmediate(resolve));
    return;
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, options.lookupBoundMs ?? 100);
    dns.lookup(where.host, (error, address, family) => {
      clearTimeout(timer);
      if (!error) open(address, family);
      resolve();
    });
  });
}

/** A request that failed on a reused connection before any byte of its answer: try once more, afresh. */
class DeadSocketError extends Error {
  constructor(readonly original: unknown) {
    super('the reused connection was dead');
  }
}

/** Bodies larger than this are not a StartConference answer; stop reading. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * The StartConference call over node:http(s) with a keep-alive agent. node:https rather than
 * fetch: the AWS SDK already loads it, and undici would add its own cold-start cost.
 *
 * `preconnect()` opens the connection (DNS, TCP, TLS) ahead of the first request, which then finds it
 * ready; the agent takes it as its first new connection.
 */
export class VoximplantClient {
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly createConnection: CreateConnection;
  private preopened: Preopened | undefined;

  constructor(options: VoximplantClientOptions) {
    this.url = new URL(`${options.apiUrl.replace(/\/+$/, '')}/StartConference`);
    this.transport = this.url.protocol === 'http:' ? http : https;
    this.agent = new this.transport.Agent(agentOptions(options.idleSocketTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS));
    // The agent's own factory, and in its place one that hands out the pre-opened connection first.
    const agent = this.agent as unknown as { createConnection: CreateConnection };
    this.createConnection = agent.createConnection.bind(this.agent);
    agent.createConnection = (connectOptions, callback) =>
      this.takePreopened(connectOptions) ?? this.createConnection(connectOptions, callback);
  }

  /**
   * Opens a connection to Voximplant now (DNS, TCP, TLS), for the next request to use; sends nothing on
   * it. Resolves when it is ready (at once when one is already open; a connection opened early by
   * `openEarlyConnection` is adopted), rejects when it cannot be opened; `signal` abandons it. An unused
   * connection closes after the idle timeout like any other.
   */
  preconnect(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (!this.preopened) {
      const free = Object.values((this.agent as unknown as { freeSockets: Record<string, Socket[]> }).freeSockets);
      if (free.some((sockets) => sockets.some((socket) => !socket.destroyed))) return Promise.resolve();
      this.preopened = this.adoptEarly() ?? this.open();
    }
    this.preopened.abandonOn(signal);
    return this.preopened.ready;
  }

  /** A connection through the agent's own factory (so TLS sessions are shared), as Agent.createSocket would. */
  private open(): Preopened {
    const where = target(this.url);
    const connectOptions: Record<string, unknown> = {
      host: where.host,
      servername: isIP(where.host) ? '' : where.host,
      ...(this.agent as unknown as { options: Record<string, unknown> }).options,
      keepAlive: true,
      keepAliveInitialDelay: (this.agent as unknown as { keepAliveMsecs: number }).keepAliveMsecs,
      encoding: null,
    };
    connectOptions._agentKey = this.agent.getName({ ...connectOptions, port: where.port } as http.AgentOptions);
    const entry = openConnection(this.createConnection, where, connectOptions);
    entry.onGone = () => {
      if (this.preopened === entry) this.preopened = undefined;
    };
    return entry;
  }

  /** The connection openEarlyConnection made for this origin, if it is still there. */
  private adoptEarly(): Preopened | undefined {
    const origin = originOf(target(this.url));
    const entry = early.get(origin);
    if (!entry) return undefined;
    early.delete(origin);
    entry.onGone = () => {
      if (this.preopened === entry) this.preopened = undefined;
    };
    return entry;
  }

  /** The pre-opened connection, if it goes where the agent is about to connect and is still usable. */
  private takePreopened(options: Record<string, unknown>): Socket | undefined {
    this.preopened ??= this.adoptEarly();
    const entry = this.preopened;
    if (!entry) return undefined;
    const { socket } = entry;
    const same = options.host === entry.host && Number(options.port) === entry.port;
    if (!same || socket.destroyed || !socket.writable || socket.readableEnded) return undefined;
    entry.release();
    this.preopened = undefined;
    // Connected and idle before this request: it may have died meanwhile, as a reused one may.
    socket[kIdleBeforeUse] = entry.connected;
    socket.ref();
    return socket;
  }

  /** One attempt; throws VoximplantApiError or UpstreamError, each classified retryable or not. */
  async startConference(
    request: ConferenceRequest,
    token: string,
    options: { timeoutMs: number },
  ): Promise<StartConferenceResponse> {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(request)) {
      if (value !== undefined) form.append(key, String(value));
    }
    const body = Buffer.from(form.toString(), 'utf8');
    const signal = AbortSignal.timeout(options.timeoutMs);

    const progress = { sent: false };
    let response: RawResponse;
    try {
      try {
        response = await this.post(body, token, signal, progress, false);
      } catch (error) {
        if (!(error instanceof DeadSocketError)) throw error;
        // The reused connection had died idle (closed by the server, or while the sandbox was frozen) and
        // nothing was answered: once more on a fresh connection, within the same attempt. Safe: the request
        // was not answered, and StartConference with the same name joins the conference anyway.
        this.dropIdleConnections();
        progress.sent = false;
        response = await this.post(body, token, signal, progress, true);
      }
    } catch (thrown) {
      const error = thrown instanceof DeadSocketError ? thrown.original : thrown;
      if (error instanceof UpstreamError) throw error;
      // Once the request is out, Voximplant may have started the conference whatever happened to the answer.
      const outcome = progress.sent ? 'unknown' : 'failed';
      if (signal.aborted) {
        throw new UpstreamError('voximplant_timeout', `Voximplant did not answer within ${options.timeoutMs} ms.`, {
          cause: error,
          outcome,
        });
      }
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      const what = progress.sent ? 'dropped the connection after the request was sent' : 'could not be reached';
      throw new UpstreamError('voximplant_unreachable', `Voximplant ${what} (${code}).`, { cause: error, outcome });
    }
    return this.interpret(response);
  }

  /** Closes idle keep-alive sockets (tests, shutdown). */
  close(): void {
    this.preopened?.socket.destroy();
    this.agent.destroy();
  }

  /** Closes the idle connections: one of them was found dead, the others have idled as long or longer. */
  private dropIdleConnections(): void {
    this.preopened?.socket.destroy();
    const free = (this.agent as unknown as { freeSockets: Record<string, Socket[]> }).freeSockets;
    for (const sockets of Object.values(free)) for (const socket of [...sockets]) socket.destroy();
  }

  /**
   * One POST. With `retried` false, a failure on a connection that was open and idle before this request
   * (a reused keep-alive socket, or the pre-opened one), before any byte of the answer arrived, rejects with
   * DeadSocketError so that the caller can try once more on a fresh connection.
   */
  private post(
    body: Buffer,
    token: string,
    signal: AbortSignal,
    progress: { sent: boolean },
    retried: boolean,
  ): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      let idleBefore = false;
      let answerBytes = 0;
      let socketSeen: Socket | undefined;
      const countAnswer = (chunk: Buffer) => {
        answerBytes += chunk.length;
      };
      const fail = (error: unknown) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        const dead =
          !retried && idleBefore && answerBytes === 0 && !signal.aborted && DEAD_SOCKET_CODES.has(code ?? '');
        reject(dead ? new DeadSocketError(error) : error);
      };
      const req = this.transport.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          signal,
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'content-length': body.length,
            accept: 'application/json',
            authorization: `Bearer ${token}`,
            'user-agent': 'voxconf',
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              reject(
                new UpstreamError(
                  'voximplant_invalid_response',
                  `Voximplant's answer exceeded ${MAX_RESPONSE_BYTES} bytes.`,
                ),
              );
              res.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('response aborted')));
          res.on('end', () => {
            if (!res.complete) {
              reject(Object.assign(new Error('connection closed mid-response'), { code: 'ECONNRESET' }));
              return;
            }
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
        },
      );
      req.on('socket', (socket: Socket & { [kIdleBeforeUse]?: boolean }) => {
        idleBefore = req.reusedSocket || socket[kIdleBeforeUse] === true;
        socket[kIdleBeforeUse] = false;
        // Any byte of the answer (decrypted, for TLS) means the server took the request: no retry then.
        socketSeen = socket;
        socket.on('data', countAnswer);
      });
      req.on('close', () => socketSeen?.off('data', countAnswer));
      req.on('error', fail);
      req.on('finish', () => {
        progress.sent = true;
      });
      req.end(body);
    });
  }

  private interpret({ status, headers, body }: RawResponse): StartConferenceResponse {
    if (status < 200 || status > 299) {
      throw new UpstreamError(classifyHttpStatus(status), `Voximplant answered HTTP ${status}.`, {
        httpStatus: status,
        retryAfterSeconds: retryAfterSeconds(headers['retry-after']),
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (cause) {
      throw new UpstreamError(
        'voximplant_invalid_response',
        `Voximplant answered HTTP ${status} with a body that is not JSON.`,
        {
          cause,
          httpStatus: status,
        },
      );
    }
    const data = (parsed ?? {}) as Record<string, unknown>;
    const apiError = firstApiError(data);
    if (apiError) {
      throw new VoximplantApiError(classifyVoximplantCode(apiError.code), apiError.code, apiError.msg);
    }
    const { result, media_session_access_url, media_session_access_secure_url, call_session_history_id } = data;
    if (
      result !== 1 ||
      typeof media_session_access_url !== 'string' ||
      typeof media_session_access_secure_url !== 'string' ||
      typeof call_session_history_id !== 'number'
    ) {
      throw new UpstreamError(
        'voximplant_invalid_response',
        'Voximplant answered without result 1 and the session fields.',
        {
          httpStatus: status,
        },
      );
    }
    return { media_session_access_url, media_session_access_secure_url, call_session_history_id };
  }
}

/** `{"error":{msg,code}}`, or the first of `{"errors":[...]}`. */
function firstApiError(data: Record<string, unknown>): { code: number; msg: string } | undefined {
  const candidates = [data.error, ...(Array.isArray(data.errors) ? data.errors : [])];
  for (const candidate of candidates) {
    if (candidate && typeof candidate === 'object') {
      const { code, msg } = candidate as { code?: unknown; msg?: unknown };
      const numeric = typeof code === 'number' ? code : typeof code === 'string' ? Number(code) : NaN;
      if (Number.isFinite(numeric)) return { code: numeric, msg: typeof msg === 'string' ? msg : 'unknown error' };
    }
  }
  if (Array.isArray(data.errors) || data.error !== undefined) return { code: 0, msg: 'unrecognised error body' };
  return undefined;
}
