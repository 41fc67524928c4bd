/**
 * The stack's own control endpoint on 127.0.0.1 (JSON):
 *
 *   GET    /                         what listens where
 *   GET    /schedules                every schedule the local scheduler runs, with next fire times: infra/schedules.yml's
 *                                    (group voxconf-local) and the schedules API's (voxconf-local-api)
 *   POST   /schedules/<group>/<name>/fire   fire one now, with now as its scheduled time; answers with the function's
 *                                    outcome (a one-time schedule whose time has come is then deleted, as after a run)
 *   POST   /schedules/<name>/fire    the same for infra/schedules.yml's (group voxconf-local)
 *   GET    /dead-letters             the dead-letter queue's messages with their attributes, left in the queue
 *   DELETE /dead-letters             deletes every message of the dead-letter queue (at once, unlike PurgeQueue)
 *   GET    /events                   the outcome events the functions published (PutEvents entries as the EventBridge
 *                                    stand-in received them, Detail parsed), oldest first; `?detail_type=` filters
 *                                    (URL-encoded: `?detail_type=Conference%20Started`)
 *   POST   /scheduler/faults         make the Scheduler stand-in fail, as the schedules function sees it: a JSON body
 *                                    {"kind": "throttle" | "quota" | "server_error" | "access_denied" | "validation" |
 *                                    "conflict" | "not_found" | "drop" | "latency", "operation"?: "CreateSchedule" | ...,
 *                                    "times"?: n, "latencyMs"?: ms} (local/scheduler-api.ts SchedulerFault)
 *   DELETE /scheduler/faults         back to normal
 *   POST   /registry/faults          make the registry's DynamoDB (dynalite) fail, as the functions' SDK sees it: a JSON
 *                                    body {"kind": "server_error" | "throttle" | "drop" | "latency", "operation"?:
 *                                    "PutItem" | "UpdateItem" | "GetItem" | "Query" | ..., "times"?: n, "latencyMs"?: ms,
 *                                    "forMs"?: ms} (local/dynamodb.ts DynamoDbFault): 500 InternalServerError,
 *                                    400 ThrottlingException, a dropped connection, a delay
 *   DELETE /registry/faults          back to normal; answers how many faults were cleared and how many requests they
 *                                    failed or delayed ({"cleared": n, "hits": n}), so a test can tell that the
 *                                    registry was tried
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { DynamoDbFault, DynamoDbFaultKind } from './dynamodb.js';
import type { RecordedEvent } from './eventbridge.js';
import { createLocalServer } from './loopback-guard.mjs';
import type { Scheduler } from './scheduler.js';
import type { SchedulerFault, SchedulerFaultKind, SchedulerOperation } from './scheduler-api.js';

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
  /** The Scheduler stand-in's faults. */
  readonly schedulerFaults: { add(fault: SchedulerFault): void; clear(): void };
  /** The registry's DynamoDB faults; clear() says how many there were and how many requests they hit. */
  readonly registryFaults: { add(fault: DynamoDbFault): void; clear(): { cleared: number; hits: number } };
  readonly overview: () => unknown;
}

const FAULT_KINDS: readonly SchedulerFaultKind[] = [
  'throttle',
  'quota',
  'server_error',
  'access_denied',
  'validation',
  'conflict',
  'not_found',
  'drop',
  'latency',
];
const OPERATIONS: readonly SchedulerOperation[] = [
  'CreateSchedule',
  'GetSchedule',
  'UpdateSchedule',
  'DeleteSchedule',
  'ListSchedules',
  'CreateScheduleGroup',
  'GetScheduleGroup',
  'DeleteScheduleGroup',
  'ListScheduleGroups',
];
const REGISTRY_FAULT_KINDS: readonly DynamoDbFaultKind[] = ['server_error', 'throttle', 'drop', 'latency'];
/** DynamoDB's item and table operations (X-Amz-Target names): the start path writes, the lifecycle reads. */
const REGISTRY_OPERATIONS: readonly string[] = [
  'PutItem',
  'UpdateItem',
  'GetItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'DescribeTable',
];
const MAX_BODY_BYTES = 4096;

/** The request's JSON body (small), or undefined when it is not one. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A fault as POST /scheduler/faults takes it, or the reason it is not one. */
function faultOf(body: unknown): SchedulerFault | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
  const { kind, operation, times, latencyMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown fields: ${unknown.join(', ')}`;
  if (!FAULT_KINDS.includes(kind as SchedulerFaultKind)) return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  if (operation !== undefined && !OPERATIONS.includes(operation as SchedulerOperation)) {
    return `operation must be one of ${OPERATIONS.join(', ')}`;
  }
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1)) return 'times must be 1 or more';
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && (latencyMs as number) >= 0)) {
    return 'latencyMs must be a whole number of milliseconds';
  }
  return {
    kind: kind as SchedulerFaultKind,
    ...(operation !== undefined ? { operation: operation as SchedulerOperation } : {}),
    ...(times !== undefined ? { times: times as number } : {}),
    ...(latencyMs !== undefined ? { latencyMs: latencyMs as number } : {}),
  };
}

/** A fault as POST /registry/faults takes it, or the reason it is not one. */
function registryFaultOf(body: unknown): DynamoDbFault | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object';
  const { kind, operation, times, latencyMs, forMs, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return `unknown fields: ${unknown.join(', ')}`;
  if (!REGISTRY_FAULT_KINDS.includes(kind as DynamoDbFaultKind)) {
    return `kind must be one of ${REGISTRY_FAULT_KINDS.join(', ')}`;
  }
  if (operation !== undefined && !REGISTRY_OPERATIONS.includes(operation as string)) {
    return `operation must be one of ${REGISTRY_OPERATIONS.join(', ')}`;
  }
  if (times !== undefined && !(Number.isInteger(times) && (times as number) >= 1)) return 'times must be 1 or more';
  if (latencyMs !== undefined && !(Number.isInteger(latencyMs) && (latencyMs as number) >= 0)) {
    return 'latencyMs must be a whole number of milliseconds';
  }
  if (forMs !== undefined && !(Number.isInteger(forMs) && (forMs as number) >= 1)) {
    return 'forMs must be a whole number of milliseconds, 1 or more';
  }
  return {
    kind: kind as DynamoDbFaultKind,
    ...(operation !== undefined ? { operation: operation as string } : {}),
    ...(times !== undefined ? { times: times as number } : {}),
    ...(latencyMs !== undefined ? { latencyMs: latencyMs as number } : {}),
    ...(forMs !== undefined ? { forMs: forMs as number } : {}),
  };
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

  if (segments.length === 2 && segments[0] === 'scheduler' && segments[1] === 'faults') {
    if (method === 'POST') {
      const fault = faultOf(await readJson(req));
      if (typeof fault === 'string') return send(res, 400, { error: fault });
      options.schedulerFaults.add(fault);
      return send(res, 201, fault);
    }
    req.resume();
    if (method === 'DELETE') {
      options.schedulerFaults.clear();
      return send(res, 200, { cleared: true });
    }
    return send(res, 405, { error: `use POST or DELETE ${url.pathname}` });
  }
  if (segments.length === 2 && segments[0] === 'registry' && segments[1] === 'faults') {
    if (method === 'POST') {
      const fault = registryFaultOf(await readJson(req));
      if (typeof fault === 'string') return send(res, 400, { error: fault });
      options.registryFaults.add(fault);
      return send(res, 201, fault);
    }
    req.resume();
    if (method === 'DELETE') return send(res, 200, options.registryFaults.clear());
    return send(res, 405, { error: `use POST or DELETE ${url.pathname}` });
  }
  // Drain any body: no other route takes one.
  req.resume();

  if (segments.length === 0 && method === 'GET') return send(res, 200, options.overview());
  if (segments[0] === 'schedules') {
    if (segments.length === 1 && method === 'GET') return send(res, 200, options.scheduler.list());
    // /schedules/<name>/fire (infra/schedules.yml's group) or /schedules/<group>/<name>/fire
    if ((segments.length === 3 || segments.length === 4) && segments.at(-1) === 'fire') {
      if (method !== 'POST') return send(res, 405, { error: `use POST ${url.pathname}` });
      const groups = options.scheduler.groups();
      const [group, name] = segments.length === 4 ? [segments[1], segments[2]] : [groups[0], segments[1]];
      if (!groups.includes(group)) {
        return send(res, 404, { error: `no schedule group named ${JSON.stringify(group)}`, groups });
      }
      if (!options.scheduler.has(name, group)) {
        return send(res, 404, {
          error: `no schedule named ${JSON.stringify(name)} in group ${group}`,
          schedules: options.scheduler
            .list()
            .filter((s) => s.group === group)
            .map((s) => s.name),
        });
      }
      const result = await options.scheduler.fire(name, group);
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
      'POST /schedules/<group>/<name>/fire',
      'POST /schedules/<name>/fire',
      'GET /dead-letters',
      'DELETE /dead-letters',
      'GET /events?detail_type=<type>',
      'POST /scheduler/faults',
      'DELETE /scheduler/faults',
      'POST /registry/faults',
      'DELETE /registry/faults',
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
