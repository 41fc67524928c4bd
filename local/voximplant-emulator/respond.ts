/** Writing answers, including the deliberately broken ones. */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import { errorMessage } from './error-codes.js';
import type { FaultAction } from './faults.js';

/** Voximplant's answers are `application/json` (voximplant-api.md section 1). */
const JSON_TYPE = 'application/json';

export function canWrite(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded && !res.headersSent;
}

export function sendBody(
  res: ServerResponse,
  status: number,
  body: string,
  contentType: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (!canWrite(res)) return;
  res.writeHead(status, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  sendBody(res, status, JSON.stringify(value), JSON_TYPE, headers);
}

/** Application errors travel as HTTP 200 with `{"error":{"msg","code"}}` (voximplant-api.md section 4.3). */
export function apiErrorBody(code: number, msg: string = errorMessage(code)): { error: { msg: string; code: number } } {
  return { error: { msg, code } };
}

export function sendApiError(res: ServerResponse, code: number, msg?: string): void {
  sendJson(res, 200, apiErrorBody(code, msg));
}

/** Destroys the connection without a byte of answer: the client sees ECONNRESET / socket hang up. */
export function dropConnection(res: ServerResponse): void {
  res.socket?.destroy();
  res.destroy();
}

/**
 * Sends the headers (with the full Content-Length) and the first half of the body, then destroys the
 * connection once that half has left, so the client gets a truncated answer rather than none.
 */
export function sendTruncated(res: ServerResponse, status: number, body: string): Promise<void> {
  return new Promise((resolve) => {
    if (!canWrite(res)) return resolve();
    const bytes = Buffer.from(body);
    res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': bytes.length });
    res.write(bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2))), () => {
      dropConnection(res);
      resolve();
    });
  });
}

export interface FaultAnswer {
  readonly status: number;
  readonly errorCode: number | null;
}

/** Answers with a fault action that replaces the whole response (not latency, not the drops). */
export function sendFaultAnswer(
  res: ServerResponse,
  action: Exclude<FaultAction, { type: 'latency' | 'drop' | 'drop-mid-response' }>,
): FaultAnswer {
  switch (action.type) {
    case 'error':
      sendApiError(res, action.code, action.msg);
      return { status: 200, errorCode: action.code };
    case 'errors':
      sendJson(res, 200, { errors: action.errors.map(({ code, msg }) => ({ msg: msg ?? errorMessage(code), code })) });
      return { status: 200, errorCode: action.errors[0].code };
    case 'raw':
      sendBody(res, action.status ?? 200, action.body ?? '', action.contentType ?? 'text/html');
      return { status: action.status ?? 200, errorCode: null };
    case 'http': {
      const headers: Record<string, string> = { ...action.headers };
      if (action.retryAfter !== undefined) headers['retry-after'] = String(action.retryAfter);
      const body = action.body ?? defaultStatusBody(action.status);
      sendBody(res, action.status, body, action.contentType ?? 'text/plain; charset=utf-8', headers);
      return { status: action.status, errorCode: null };
    }
  }
}

function defaultStatusBody(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Error'}`;
}
