/**
 * A loopback HTTP server speaking the AWS JSON protocol (awsJson1_0 / awsJson1_1), the one the AWS SDK v3 uses
 * for Secrets Manager, SQS, EventBridge, ...: every call is `POST /` with `x-amz-target: <Prefix>.<Action>`
 * and a JSON body; errors are `{"__type": "<Code>", "message": "..."}` with a 4xx/5xx status.
 *
 * It only does the transport: each request is handed to `handle`, which answers with a result, an AWS error,
 * or asks for the connection to be dropped. It tracks its sockets and pending delays so that `close()` leaves
 * no open handles behind (jest workers exit cleanly).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createLocalServer } from './loopback-guard.mjs';

export interface AwsJsonRequest {
  /** The operation, e.g. `GetSecretValue` (the part of `x-amz-target` after the dot). */
  readonly action: string;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingHttpHeaders;
  /** True when the request carries a SigV4 `Authorization` header (the SDK always signs). */
  readonly signed: boolean;
  readonly requestId: string;
}

/** What `handle` answers. `delayMs` holds the answer back first (latency injection). */
export type AwsJsonResult =
  | { readonly kind: 'ok'; readonly body: unknown; readonly delayMs?: number }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly type: string;
      readonly message: string;
      readonly delayMs?: number;
    }
  /** Destroys the socket without an answer: the SDK sees `socket hang up` (ECONNRESET). */
  | { readonly kind: 'drop'; readonly delayMs?: number };

/** Throw from `handle` to answer with an AWS error. */
export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export interface AwsJsonServerOptions {
  /** Loopback address to listen on; anything else is refused. Default 127.0.0.1. */
  readonly host?: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** `x-amz-target` prefix, e.g. `secretsmanager` or `AmazonSQS`. */
  readonly targetPrefix: string;
  /** `1.1` for Secrets Manager, `1.0` for SQS/DynamoDB. */
  readonly jsonVersion: '1.0' | '1.1';
  /** Requests without a SigV4 Authorization header get MissingAuthenticationTokenException. Default true. */
  readonly requireSignature?: boolean;
  /** Called once per request that has an action; errors thrown become AWS errors (InternalFailure if unknown). */
  readonly handle: (request: AwsJsonRequest) => AwsJsonResult | Promise<AwsJsonResult>;
  /** Called for requests rejected before `handle` (bad target, bad JSON, unsigned). */
  readonly onRejected?: (info: { action: string | undefined; status: number; type: string }) => void;
}

export interface AwsJsonServer {
  /** e.g. `http://127.0.0.1:43125` */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening, destroys every connection and pending delayed answer. Idempotent. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/** Listens, failing with the server's error (e.g. EADDRINUSE) instead of hanging; returns the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

export async function startAwsJsonServer(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new Error(`Local AWS stand-ins listen on loopback only; "${host}" is not a loopback address.`);
  }
  const contentType = `application/x-amz-json-${options.jsonVersion}`;
  const requireSignature = options.requireSignature ?? true;
  const sockets = new Set<Socket>();
  const pending = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  let closing = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closing) return resolve();
      const entry = {
        timer: setTimeout(() => {
          pending.delete(entry);
          resolve();
        }, ms),
        wake: () => {
          clearTimeout(entry.timer);
          pending.delete(entry);
          resolve();
        },
      };
      pending.add(entry);
    });

  const send = (res: ServerResponse, requestId: string, status: number, payload: unknown) => {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': requestId,
    });
    res.end(text);
  };
  const sendError = (res: ServerResponse, requestId: string, status: number, type: string, message: string) => {
    if (!res.headersSent) res.setHeader('x-amzn-errortype', type);
    send(res, requestId, status, { __type: type, message });
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = randomUUID();
    const target = req.headers['x-amz-target'];
    const action =
      typeof target === 'string' && target.startsWith(`${options.targetPrefix}.`)
        ? target.slice(options.targetPrefix.length + 1)
        : undefined;
    const reject = (status: number, type: string, message: string) => {
      options.onRejected?.({ action, status, type });
      sendError(res, requestId, status, type, message);
    };
    let raw: string | undefined;
    try {
      raw = await readRequestBody(req, MAX_BODY_BYTES);
    } catch {
      return;
    }
    if (raw === undefined) return reject(413, 'RequestEntityTooLargeException', 'Request body is too large.');
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/') {
      return reject(404, 'UnknownOperationException', `Only POST / is served here, not ${req.method} ${req.url}.`);
    }
    if (action === undefined || action === '') {
      return reject(
        400,
        'UnknownOperationException',
        `Missing or foreign x-amz-target (expected "${options.targetPrefix}.<Action>").`,
      );
    }
    const authorization = req.headers.authorization;
    const signed = typeof authorization === 'string' && authorization.startsWith('AWS4-HMAC-SHA256 ');
    if (requireSignature && !signed) {
      return reject(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        return reject(400, 'SerializationException', 'The request body is not a JSON object.');
      }
    }

    let result: AwsJsonResult;
    try {
      result = await options.handle({ action, body, headers: req.headers, signed, requestId });
    } catch (error) {
      result =
        error instanceof AwsServiceError
          ? { kind: 'error', status: error.status, type: error.type, message: error.message }
          : { kind: 'error', status: 500, type: 'InternalFailure', message: 'The local stand-in failed.' };
    }
    await sleep(result.delayMs ?? 0);
    if (closing) {
      res.destroy();
      return;
    }
    if (result.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (result.kind === 'error') return sendError(res, requestId, result.status, result.type, result.message);
    send(res, requestId, 200, result.body ?? {});
  };

  const server = createLocalServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Keep-alive sockets from the SDK's agent must not keep the server (or a test worker) alive after close().
  server.keepAliveTimeout = 5000;

  const port = await listen(server, host, options.port ?? 0);
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    host,
    port,
    close() {
      if (closed) return closed;
      closing = true;
      for (const entry of [...pending]) entry.wake();
      closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}

/** A request's body as text; undefined when it is larger than `maxBytes` (the connection is then closed). */
export function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
