/**
 * The local stack's DynamoDB: dynalite (architect/dynalite, an npm package built on LevelDB; no Java, no Docker),
 * in memory, on loopback, behind the same guard as every other local server (dynalite itself answers any Origin).
 * The real `@aws-sdk/client-dynamodb` reaches it through `AWS_ENDPOINT_URL_DYNAMODB`.
 *
 * What dynalite lacks is said where it matters: TTL is never applied (DescribeTimeToLive says DISABLED, so expired
 * items stay until read code filters them, as AWS also lets them linger), and UpdateTimeToLive,
 * UpdateContinuousBackups and transactions answer UnknownOperationException. A failed conditional write carries no
 * `Item` even when ReturnValuesOnConditionCheckFailure asks for it.
 *
 * Faults, for tests of "the registry is down": `fault({ kind: 'server_error' | 'throttle' | 'drop' | 'latency' })`,
 * answered before dynalite sees the request, as DynamoDB would (500 InternalServerError, 400
 * ThrottlingException, a dropped connection).
 *
 *   const ddb = await startDynamoDb();
 *   process.env.AWS_ENDPOINT_URL_DYNAMODB = ddb.endpoint;
 *   await createRegistryTable(ddb.endpoint, 'voxconf-local-conferences');   // local/registry-table.ts
 *   ...
 *   await ddb.close();
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import dynalite from 'dynalite';
import { type FaultHandle, type FaultSpec, faultList } from './fault-list.js';
import { guardListener } from './loopback-guard.mjs';

export type DynamoDbFaultKind = 'server_error' | 'throttle' | 'drop' | 'latency';

export interface DynamoDbFault extends FaultSpec {
  readonly kind: DynamoDbFaultKind;
  /** Only this operation (the X-Amz-Target's name, e.g. `UpdateItem`); default: every one. */
  readonly operation?: string;
}

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  fault(spec: DynamoDbFault): FaultHandle;
  clearFaults(): void;
  /** Operations received so far (X-Amz-Target names), oldest first. */
  operations(): readonly string[];
  close(): Promise<void>;
}

export interface DynamoDbOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
}

const MAX_OPERATIONS_KEPT = 1000;

export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  // createTableMs 0: a table is ACTIVE at once (AWS takes seconds; nothing here waits on it).
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const faults = faultList<DynamoDbFault>();
  const seen: string[] = [];
  const [dynaliteListener] = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  if (dynaliteListener === undefined) throw new Error('dynalite: no request listener');
  server.removeAllListeners('request');
  server.on(
    'request',
    guardListener((req: IncomingMessage, res: ServerResponse) => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      seen.push(operation);
      if (seen.length > MAX_OPERATIONS_KEPT) seen.splice(0, seen.length - MAX_OPERATIONS_KEPT);
      const { delayMs, failure } = faults.pick((spec) => spec.operation === undefined || spec.operation === operation);
      const answer = () => {
        if (failure === undefined) return dynaliteListener(req, res);
        req.resume();
        if (failure.kind === 'drop') return req.socket.destroy();
        const [status, type, message] =
          failure.kind === 'throttle'
            ? [400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.']
            : [500, 'InternalServerError', 'Internal server error'];
        const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type });
        res.end(body);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    operations: () => [...seen],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections?.();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
