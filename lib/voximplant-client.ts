import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
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
  readonly host: string;
  readonly port: number;
  readonly ready: Promise<void>;
  connected: boolean;
  /** Stops watching it as ours: the agent has it now, or it is gone. */
  release(): void;
}

type CreateConnection = (options: Record<string, unknown>, callback?: unknown) => Socket | undefined;

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
    this.agent = new this.transport.Agent({
      keepAlive: true,
      maxSockets: 64,
      scheduling: 'lifo',
      timeout: options.idleSocketTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS,
    });
    // The agent's own factory, and in its place one that hands out the pre-opened connection first.
    const agent = this.agent as unknown as { createConnection: CreateConnection };
    this.createConnection = agent.createConnection.bind(this.agent);
    agent.createConnection = (connectOptions, callback) =>
      this.takePreopened(connectOptions) ?? this.createConnection(connectOptions, callback);
  }

  /**
   * Opens a connection to Voximplant now (DNS, TCP, TLS), for the next request to use; sends nothing on
   * it. Resolves when it is ready (at once when one is already open or opening), rejects when it cannot
   * be opened; `signal` abandons it. An unused connection closes after the idle timeout like any other.
   */
  preconnect(signal?: AbortSignal): Promise<void> {
    if (this.preopened) return this.preopened.ready;
    const free = Object.values((this.agent as unknown as { freeSockets: Record<string, Socket[]> }).freeSockets);
    if (free.some((sockets) => sockets.some((socket) => !socket.destroyed))) return Promise.resolve();
    signal?.throwIfAborted();
    // What the agent would pass to its factory for our URL (Agent.createSocket), so TLS sessions are shared.
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port) || (this.transport === https ? 443 : 80);
    const connectOptions: Record<string, unknown> = {
      host,
      port,
      servername: isIP(host) ? '' : host,
      ...(this.agent as unknown as { options: Record<string, unknown> }).options,
      keepAlive: true,
      keepAliveInitialDelay: (this.agent as unknown as { keepAliveMsecs: number }).keepAliveMsecs,
      encoding: null,
    };
    connectOptions._agentKey = this.agent.getName(connectOptions as http.AgentOptions);
    const socket = this.createConnection(connectOptions) as Preopened['socket'];
    socket.unref(); // like an idle pooled socket: it keeps no process alive
    const readyEvent = this.transport === https ? 'secureConnect' : 'connect';
    let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    ready.catch(() => undefined); // a caller that does not wait for it must not crash the process
    const entry: Preopened = {
      socket,
      host,
      port,
      ready,
      connected: false,
      release: () => {
        socket.off(readyEvent, onReady);
        socket.off('error', onError);
        socket.off('close', onGone);
        socket.off('end', onGone);
        socket.off('timeout', onGone);
        signal?.removeEventListener('abort', onAbort);
        if (this.preopened === entry) this.preopened = undefined;
      },
    };
    const onReady = () => {
      entry.connected = true;
      settle?.resolve();
    };
    // Gone before anyone used it: forget it (and say so to whoever waits for it).
    const onGone = () => {
      entry.release();
      socket.destroy();
      settle?.reject(Object.assign(new Error('the pre-opened connection closed'), { code: 'ECONNRESET' }));
    };
    const onError = (error: unknown) => {
      entry.release();
      socket.destroy();
      settle?.reject(error);
    };
    const onAbort = () => onError(signal?.reason ?? new Error('aborted'));
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    socket.once('close', onGone);
    socket.once('end', onGone);
    socket.once('timeout', onGone);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.preopened = entry;
    return ready;
  }

  /** The pre-opened connection, if it goes where the agent is about to connect and is still usable. */
  private takePreopened(options: Record<string, unknown>): Socket | undefined {
    const entry = this.preopened;
    if (!entry) return undefined;
    const { socket } = entry;
    const same = options.host === entry.host && Number(options.port) === entry.port;
    if (!same || socket.destroyed || !socket.writable || socket.readableEnded) return undefined;
    entry.release();
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
