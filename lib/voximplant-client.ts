import http from 'node:http';
import https from 'node:https';
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
 */
export class VoximplantClient {
  private readonly url: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;

  constructor(options: VoximplantClientOptions) {
    this.url = new URL(`${options.apiUrl.replace(/\/+$/, '')}/StartConference`);
    this.transport = this.url.protocol === 'http:' ? http : https;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 64, scheduling: 'lifo' });
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
      response = await this.post(body, token, signal, progress);
    } catch (error) {
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
    this.agent.destroy();
  }

  private post(body: Buffer, token: string, signal: AbortSignal, progress: { sent: boolean }): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
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
      req.on('error', reject);
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
