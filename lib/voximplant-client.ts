import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { IDLE_SOCKET_TIMEOUT_MS, type Origin, originOf, takeEarlyConnection } from './early-connection.js';
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

/**
 * Watches a connection being opened until a request takes it: an error, a close by the server or the idle
 * timeout make it go away quietly (and settle `ready` with the reason).
 */
function watchConnection(socket: Preopened['socket'], where: Origin): Preopened {
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
  // A plain TCP connection that is already open (adopted from openEarlyConnection) is ready now.
  if (!where.secure && !socket.connecting && !socket.destroyed) onReady();
  return entry;
}

/** A request that failed on a reused connection before any byte of its answer: try once more, afresh. */
class DeadSocketError extends Error {
  constructor(readonly original: unknown) {
    super('the reused connection was dead');
  }
}

// The idle timeout of a kept-alive connection, and why (lib/early-connection.ts, which loads first).
export { IDLE_SOCKET_TIMEOUT_MS };

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
  private readonly idleSocketTimeoutMs: number;
  private preopened: Preopened | undefined;

  constructor(options: VoximplantClientOptions) {
    this.url = new URL(`${options.apiUrl.replace(/\/+$/, '')}/StartConference`);
    this.transport = this.url.protocol === 'http:' ? http : https;
    this.idleSocketTimeoutMs = options.idleSocketTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS;
    this.agent = new this.transport.Agent(agentOptions(this.idleSocketTimeoutMs));
    // The agent's own factory, and in its place one that hands out the pre-opened connection first.
    const agent = this.agent as unknown as { createConnection: CreateConnection };
    this.createConnection = agent.createConnection.bind(this.agent);
    agent.createConnection = (connectOptions, callback) =>
      this.takePreopened(connectOptions) ?? this.createConnection(connectOptions, callback);
  }

  /**
   * Opens a connection to Voximplant now (DNS, TCP, TLS), for the next request to use; sends nothing on
   * it. Resolves when it is ready (at once when one is already open; a TCP connection opened early by
   * `openEarlyConnection` is adopted), rejects when it cannot be opened; `signal` abandons it. An unused
   * connection closes after the idle timeout like any other.
   */
  preconnect(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
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
    const where = originOf(this.url);
    const connectOptions: Record<string, unknown> = {
      host: where.host,
      servername: isIP(where.host) ? '' : where.host,
      ...(this.agent as unknown as { options: Record<string, unknown> }).options,
      keepAlive: true,
      keepAliveInitialDelay: (this.agent as unknown as { keepAliveMsecs: number }).keepAliveMsecs,
      encoding: null,
    };
    connectOptions.port = where.port;
    connectOptions._agentKey = this.agent.getName(connectOptions as http.AgentOptions);
    const socket = this.createConnection(connectOptions) as Preopened['socket'];
    const entry = watchConnection(socket, where);
    entry.onGone = () => {
      if (this.preopened === entry) this.preopened = undefined;
    };
    return entry;
  }

  /**
   * The TCP connection openEarlyConnection made to this origin, if it is still there, as this client's
   * pre-opened connection: for HTTPS, TLS starts on it now (node:tls is loaded by now).
   */
  private adoptEarly(): Preopened | undefined {
    const where = originOf(this.url);
    const tcp = takeEarlyConnection(where);
    if (!tcp) return undefined;
    let socket: Socket = tcp;
    if (where.secure) {
      tcp.setTimeout(0);
      socket = tls.connect({
        socket: tcp,
        host: where.host,
        // The certificate is checked against the name (an address is checked as itself, without SNI).
        ...(isIP(where.host) ? {} : { servername: where.host }),
      });
      socket.setTimeout(this.idleSocketTimeoutMs);
    }
    const entry = watchConnection(socket, where);
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
    return this.interpret(await this.exchange(this.url, formOf(request), token, options.timeoutMs));
  }

  /**
   * One attempt of another Management API method (e.g. GetCallHistory), on the same connection pool and with
   * the same error classification as StartConference; answers the body's JSON object when it carries no error.
   */
  async callMethod(
    method: string,
    params: Readonly<Record<string, string | number | boolean | undefined>>,
    token: string,
    options: { timeoutMs: number },
  ): Promise<Record<string, unknown>> {
    const url = new URL(`${this.url.href.slice(0, -'/StartConference'.length)}/${encodeURIComponent(method)}`);
    return this.parseAnswer(await this.exchange(url, formOf(params), token, options.timeoutMs));
  }

  /** POSTs a form (once more on a fresh connection if a reused one was dead); throws UpstreamError. */
  private async exchange(url: URL, body: Buffer, token: string, timeoutMs: number): Promise<RawResponse> {
    const signal = AbortSignal.timeout(timeoutMs);
    const progress = { sent: false };
    try {
      try {
        return await this.post(url, body, token, signal, progress, false);
      } catch (error) {
        if (!(error instanceof DeadSocketError)) throw error;
        // The reused connection had died idle (closed by the server, or while the sandbox was frozen) and
        // nothing was answered: once more on a fresh connection, within the same attempt. Safe: the request
        // was not answered, and StartConference with the same name joins the conference anyway.
        this.dropIdleConnections();
        // progress.sent stays as it was: a request written before the reset may have reached Voximplant.
        return await this.post(url, body, token, signal, progress, true);
      }
    } catch (thrown) {
      const error = thrown instanceof DeadSocketError ? thrown.original : thrown;
      if (error instanceof UpstreamError) throw error;
      // Once the request is out, Voximplant may have started the conference whatever happened to the answer.
      const outcome = progress.sent ? 'unknown' : 'failed';
      if (signal.aborted) {
        throw new UpstreamError('voximplant_timeout', `Voximplant did not answer within ${timeoutMs} ms.`, {
          cause: error,
          outcome,
        });
      }
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      const what = progress.sent ? 'dropped the connection after the request was sent' : 'could not be reached';
      throw new UpstreamError('voximplant_unreachable', `Voximplant ${what} (${code}).`, { cause: error, outcome });
    }
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
    url: URL,
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
        url,
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

  private interpret(response: RawResponse): StartConferenceResponse {
    const { status } = response;
    const data = this.parseAnswer(response);
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

  /** The answer's JSON object; throws for a non-2xx status, a body that is not JSON, or an API error in it. */
  private parseAnswer({ status, headers, body }: RawResponse): Record<string, unknown> {
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
    return data;
  }
}

/** Parameters as the Management API takes them: a UTF-8 form, numbers as decimal text, undefined left out. */
function formOf(params: object): Buffer {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) form.append(key, String(value));
  }
  return Buffer.from(form.toString(), 'utf8');
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
