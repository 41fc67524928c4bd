/**
 * Talks to a running Voximplant session through its `media_session_access_secure_url` (the media session
 * contract, docs and /work contract: `POST {"command", "args"}` as JSON; VoxEngine cannot choose the HTTP status of
 * an AppEvents.HttpRequest answer, so the outcome of a command is in the body). The URL is a capability: whoever
 * holds it controls the session. So it is never logged, never put in an error, and only sent over TLS (a plain
 * http URL is accepted only for a loopback host, and only where the client is told to: the local stage's emulator
 * without TLS; never on a deployed stage, where loopback is the Lambda runtime's own API).
 *
 * Every request gets its own connection (no keep-alive): a reused connection that the server had closed would
 * fail with ECONNRESET before any answer, which is what a gone session looks like; it must not count as one.
 * Redirects are never followed (node:http does not): a 3xx is an answer like any other.
 */
import http from 'node:http';
import https from 'node:https';
import facts from './facts.json' with { type: 'json' };

/** How one request to a session went. */
export type SessionOutcome =
  /** The session answered (any status but 404). `json` is the parsed body when it is JSON (`isJson`). */
  | {
      readonly kind: 'answered';
      readonly status: number;
      readonly text: string;
      readonly isJson: boolean;
      readonly json: unknown;
    }
  /** The answer was larger than `sessionAnswerMaxBytes`: reading stopped there. */
  | { readonly kind: 'too_large'; readonly status: number }
  /** 404: the session is gone (the URL no longer routes to a running scenario). */
  | { readonly kind: 'not_found'; readonly status: 404 }
  /** The connection was refused: nothing listens there any more. */
  | { readonly kind: 'refused'; readonly code: string }
  /** No (complete) answer within the timeout: the session may be alive and busy, the request may have run. */
  | { readonly kind: 'timeout' }
  /** Anything else: DNS, TLS, a reset (a blip as much as a gone session), a connection lost mid-answer, a URL
   * voxconf will not use. */
  | { readonly kind: 'error'; readonly code: string };

export interface SessionRequest {
  readonly command: string;
  readonly args?: unknown;
}

export interface SessionClientOptions {
  /** Upper bound of one request, answer included (SESSION_REQUEST_TIMEOUT_MS). */
  readonly timeoutMs: number;
  /** Answers longer than this are not read (default facts registry.sessionAnswerMaxBytes). */
  readonly maxAnswerBytes?: number;
  /** Plain http to a loopback host (the local stage's emulator without TLS); default false. */
  readonly allowLoopbackHttp?: boolean;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * The one code that means the session's server is not there (any more). A reset is not one: a proxy or a busy
 * server resets a live session's connection too, and a session recorded ended loses its URLs for good.
 */
const REFUSED_CODES = new Set(['ECONNREFUSED']);

/** Whether voxconf may send a request to this URL: https, or (when allowed) http to a loopback host. */
export function isAllowedSessionUrl(url: string, allowLoopbackHttp = false): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  return allowLoopbackHttp && parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname);
}

export class SessionClient {
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly allowLoopbackHttp: boolean;

  constructor(options: SessionClientOptions) {
    this.timeoutMs = options.timeoutMs;
    this.maxAnswerBytes = options.maxAnswerBytes ?? facts.registry.sessionAnswerMaxBytes;
    this.allowLoopbackHttp = options.allowLoopbackHttp ?? false;
  }

  /** Sends one command; never throws, never retries (the caller decides what a second try means). */
  send(url: string, request: SessionRequest): Promise<SessionOutcome> {
    if (!isAllowedSessionUrl(url, this.allowLoopbackHttp))
      return Promise.resolve({ kind: 'error', code: 'url_not_allowed' });
    const target = new URL(url);
    const transport = target.protocol === 'https:' ? https : http;
    const payload = Buffer.from(
      JSON.stringify(request.args === undefined ? { command: request.command } : request),
      'utf8',
    );
    const signal = AbortSignal.timeout(this.timeoutMs);
    return new Promise<SessionOutcome>((resolve) => {
      let answered = false;
      let settled = false;
      const settle = (outcome: SessionOutcome) => {
        if (settled) return;
        settled = true;
        resolve(outcome);
      };
      const req = transport.request(
        target,
        {
          method: 'POST',
          agent: false,
          signal,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            accept: 'application/json',
            'user-agent': 'voxconf',
          },
        },
        (res) => {
          answered = true;
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxAnswerBytes) {
              settle({ kind: 'too_large', status });
              res.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (error) => fail(error));
          res.on('end', () => {
            if (!res.complete) return fail(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' }));
            if (status === 404) return settle({ kind: 'not_found', status: 404 });
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            let isJson = false;
            try {
              json = JSON.parse(text);
              isJson = true;
            } catch {
              // Not JSON: the text is the answer.
            }
            settle({ kind: 'answered', status, text, isJson, json });
          });
          res.on('close', () => {
            if (!settled) fail(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' }));
          });
        },
      );
      const fail = (error: unknown) => {
        if (signal.aborted) return settle({ kind: 'timeout' });
        const code = (error as NodeJS.ErrnoException | null)?.code ?? 'unknown';
        // Refused: before any byte of an answer. A connection lost mid-answer is an error, not a gone session.
        settle(!answered && REFUSED_CODES.has(code) ? { kind: 'refused', code } : { kind: 'error', code });
      };
      req.on('error', fail);
      req.end(payload);
    });
  }
}
