/**
 * The stack's own control endpoint on 127.0.0.1 (JSON):
 *
 *   GET    /                         what listens where
 *   GET    /schedules                infra/schedules.yml as the local scheduler runs it, with next fire times
 *   POST   /schedules/<name>/fire    fire one now; answers with the function's outcome
 *   GET    /dead-letters             the dead-letter queue's messages with their attributes, left in the queue
 *   DELETE /dead-letters             deletes every message of the dead-letter queue (at once, unlike PurgeQueue)
 *   GET    /events                   the outcome events the functions published (PutEvents entries as the EventBridge
 *                                    stand-in received them, Detail parsed), oldest first; `?detail_type=` filters
 *                                    (URL-encoded: `?detail_type=Conference%20Started`)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { RecordedEvent } from './eventbridge.js';
import { createLocalServer } from './loopback-guard.mjs';
import type { Scheduler } from './scheduler.js';

export interface DeadLetter {
  readonly message_id: string;
  readonly origin:
    | 'queue function (permanent failure, or retryable on its last receive)'
    | 'schedule function (permanent failure)'
    | 'lambda on-failure destination (schedule retries exhausted)'
    | 'redrive policy (received maxReceiveCount times without success)';
  readonly body: string;
  /** Message attributes as strings: error_code, error_message, error_field, voximplant_code, source, source_id. */
  readonly attributes: Record<string, string>;
  readonly sent_at: string | null;
}

export interface ControlServerOptions {
  readonly host: string;
  readonly port: number;
  readonly scheduler: Scheduler;
  readonly peekDeadLetters: () => Promise<DeadLetter[]>;
  readonly drainDeadLetters: () => Promise<number>;
  /** Entries published on the stack's bus, oldest first; only those of one DetailType when given. */
  readonly events: (detailType: string | undefined) => readonly RecordedEvent[];
  readonly overview: () => unknown;
}

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function route(req: IncomingMessage, res: ServerResponse, options: ControlServerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  // Drain any body: none of the routes takes one.
  req.resume();

  if (segments.length === 0 && method === 'GET') return send(res, 200, options.overview());
  if (segments[0] === 'schedules') {
    if (segments.length === 1 && method === 'GET') return send(res, 200, options.scheduler.list());
    if (segments.length === 3 && segments[2] === 'fire') {
      if (method !== 'POST') return send(res, 405, { error: `use POST ${url.pathname}` });
      const name = segments[1];
      if (!options.scheduler.has(name)) {
        return send(res, 404, {
          error: `no schedule named ${JSON.stringify(name)}`,
          schedules: options.scheduler.list().map((s) => s.name),
        });
      }
      const result = await options.scheduler.fire(name);
      return send(res, result.outcome === 'failed' ? 502 : 200, result);
    }
  }
  if (segments.length === 1 && segments[0] === 'dead-letters') {
    if (method === 'GET') return send(res, 200, await options.peekDeadLetters());
    if (method === 'DELETE') return send(res, 200, { deleted: await options.drainDeadLetters() });
  }
  if (segments.length === 1 && segments[0] === 'events' && method === 'GET') {
    const detailType = url.searchParams.get('detail_type');
    return send(res, 200, options.events(detailType === null || detailType === '' ? undefined : detailType));
  }
  return send(res, 404, {
    error: `no route ${method} ${url.pathname}`,
    routes: [
      'GET /',
      'GET /schedules',
      'POST /schedules/<name>/fire',
      'GET /dead-letters',
      'DELETE /dead-letters',
      'GET /events?detail_type=<type>',
    ],
  });
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const sockets = new Set<Socket>();
  const server = createLocalServer((req, res) => {
    route(req, res, options).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${options.host}:${port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
