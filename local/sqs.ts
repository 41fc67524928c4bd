/**
 * A loopback SQS (the installed `local-aws-sqs`, JSON and Query protocols) with a main queue whose redrive
 * policy sends a message to a dead-letter queue after `maxReceiveCount` receives without a delete.
 * The real `@aws-sdk/client-sqs` reaches it through `AWS_ENDPOINT_URL_SQS` (or the client's `endpoint`).
 *
 *   const sqs = await startSqs({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1 });
 *   process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
 *   ... SendMessage to sqs.queueUrl ...
 *   await sqs.close();
 *
 * local-aws-sqs moves a message to the dead-letter queue when its visibility timeout runs out after the
 * maxReceiveCount-th receive (AWS moves it at the next receive attempt; seen from a consumer, the same).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { isLoopbackHost, listen } from './aws-json-server.js';
import { localAwsSqs } from './local-aws-sqs.js';
import { createLocalServer } from './loopback-guard.mjs';

export interface StartSqsOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 000000000000. */
  readonly accountId?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Default `voxconf-requests`. A `.fifo` name makes both queues FIFO. */
  readonly queueName?: string;
  /** Default `<queueName>-dlq` (FIFO: `<base>-dlq.fifo`). */
  readonly deadLetterQueueName?: string;
  /** Receives without a delete before the message moves to the dead-letter queue. Default 5 (1..1000). */
  readonly maxReceiveCount?: number;
  /** Main queue visibility timeout. Default 30. */
  readonly visibilityTimeoutSeconds?: number;
  /** Main queue delivery delay. Default 0. */
  readonly delaySeconds?: number;
  /** Dead-letter queue retention. Default 1209600 (14 days, the maximum). */
  readonly deadLetterRetentionSeconds?: number;
}

export interface LocalSqs {
  /** e.g. `http://127.0.0.1:43125`: the value for AWS_ENDPOINT_URL_SQS. */
  readonly endpoint: string;
  readonly port: number;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  /** Stops the server, closes every connection and drops all queued messages (and their timers). Idempotent. */
  close(): Promise<void>;
}

export async function startSqs(options: StartSqsOptions = {}): Promise<LocalSqs> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host))
    throw new Error(`Local SQS listens on loopback only; "${host}" is not a loopback address.`);
  const accountId = options.accountId ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  const queueName = options.queueName ?? 'voxconf-requests';
  const fifo = queueName.endsWith('.fifo');
  const deadLetterQueueName =
    options.deadLetterQueueName ?? (fifo ? `${queueName.slice(0, -'.fifo'.length)}-dlq.fifo` : `${queueName}-dlq`);
  if (deadLetterQueueName.endsWith('.fifo') !== fifo) {
    throw new Error('The main queue and its dead-letter queue must both be FIFO or both standard.');
  }
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw new RangeError('maxReceiveCount must be an integer from 1 to 1000.');
  }
  const arn = (name: string) => `arn:aws:sqs:${region}:${accountId}:${name}`;
  const fifoAttributes = fifo ? { FifoQueue: 'true' as const } : {};

  const { service, requestHandler } = localAwsSqs().createRequestHandler({
    port: options.port ?? 0,
    hostname: host,
    accountId,
    region,
    // close() + a new server in the next test must be able to reuse the names at once.
    emulateQueueCreationLifecycle: false,
    queues: [
      {
        QueueName: deadLetterQueueName,
        Attributes: { ...fifoAttributes, MessageRetentionPeriod: options.deadLetterRetentionSeconds ?? 1_209_600 },
      },
      {
        QueueName: queueName,
        Attributes: {
          ...fifoAttributes,
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? 30,
          DelaySeconds: options.delaySeconds ?? 0,
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(deadLetterQueueName), maxReceiveCount }),
        },
      },
    ],
  });

  const sockets = new Set<Socket>();
  const server: Server = createLocalServer((req, res) => {
    requestHandler(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server, host, options.port ?? 0);
  // Queue URLs are built from the service's port: set it to the one actually bound.
  service.PORT = port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const urlOf = (name: string) => {
    const queue = service.Queues.find((q) => q.QueueName === name);
    if (!queue) throw new Error(`local-aws-sqs did not create the queue ${name}.`);
    return queue.QueueUrl;
  };

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port,
    queueUrl: urlOf(queueName),
    queueArn: arn(queueName),
    deadLetterQueueUrl: urlOf(deadLetterQueueName),
    deadLetterQueueArn: arn(deadLetterQueueName),
    queueName,
    deadLetterQueueName,
    close() {
      if (closed) return closed;
      closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        // Clears in-flight visibility timers and pending long polls' records.
        service.resetAll();
      });
      return closed;
    },
  };
}
