/**
 * Invokes a function through serverless-offline's Lambda API (`POST /2015-03-31/functions/<name>/invocations`
 * on its lambdaPort), the way the AWS SDK's Invoke does: the event as the body, X-Amz-Invocation-Type.
 */
import { request } from 'node:http';

export interface InvokeResult {
  /** HTTP status of the Invoke call: 200 (RequestResponse), 202 (Event), 404 unknown function, ... */
  readonly statusCode: number;
  /** `Unhandled` when the handler threw (X-Amz-Function-Error), or the Invoke API's own error type. */
  readonly functionError: string | undefined;
  /** The handler's answer (RequestResponse), parsed as JSON when it is JSON. */
  readonly payload: unknown;
}

export interface InvokeOptions {
  readonly port: number;
  readonly host?: string;
  readonly invocationType?: 'RequestResponse' | 'Event';
  /** Client-side bound; serverless-offline enforces the function's own timeout. Default 120 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export function invokeFunction(functionName: string, event: unknown, options: InvokeOptions): Promise<InvokeResult> {
  const body = JSON.stringify(event);
  return new Promise<InvokeResult>((resolvePromise, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.1',
        port: options.port,
        method: 'POST',
        path: `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-amz-invocation-type': options.invocationType ?? 'RequestResponse',
        },
        timeout: options.timeoutMs ?? 120_000,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let payload: unknown = text;
          if (text !== '') {
            try {
              payload = JSON.parse(text);
            } catch {
              payload = text;
            }
          } else {
            payload = undefined;
          }
          const header = res.headers['x-amz-function-error'] ?? res.headers['x-amzn-errortype'];
          resolvePromise({
            statusCode: res.statusCode ?? 0,
            functionError: Array.isArray(header) ? header[0] : header,
            payload,
          });
        });
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`Invoke ${functionName} got no answer in ${options.timeoutMs ?? 120_000} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A short, secret-free description of a failed invocation (the handler's errorType: errorMessage). */
export function describeFunctionError(result: InvokeResult): string {
  const payload = result.payload as { errorType?: unknown; errorMessage?: unknown; Message?: unknown } | undefined;
  if (payload && typeof payload === 'object') {
    const message = payload.errorMessage ?? payload.Message;
    if (typeof message === 'string') {
      const type =
        typeof payload.errorType === 'string' && payload.errorType !== 'Error' ? `${payload.errorType}: ` : '';
      return `${type}${message}`;
    }
  }
  return `${result.functionError ?? 'error'} (HTTP ${result.statusCode})`;
}
