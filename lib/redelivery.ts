import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { getConfig } from './config.js';
import { ConfigurationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import { sqsClient } from './sqs.js';

/** Asks SQS to redeliver a message later than its queue's visibility timeout would. */
export interface Redelivery {
  /** The message becomes visible again in `seconds`. */
  after(receiptHandle: string, seconds: number): Promise<void>;
}

/** Upper bound of one visibility change, retries included: it runs in the invocation's reserve. */
const CHANGE_TIMEOUT_MS = 1_500;

/**
 * The wait before the next receive of a message that failed on receive `receives`: exponential, with equal
 * jitter so that a batch that failed together (an outage, a key rotation) does not come back together.
 */
export function redeliveryDelaySeconds(
  receives: number,
  options: { baseSeconds: number; maxSeconds?: number },
  random: () => number = Math.random,
): number {
  const max = options.maxSeconds ?? facts.queueRedelivery.maxSeconds;
  const ceiling = Math.min(max, options.baseSeconds * 2 ** Math.max(0, receives - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class SqsRedelivery implements Redelivery {
  private readonly queueUrl: string;
  private readonly client: Pick<SQSClient, 'send'>;

  constructor(options: { queueUrl: string | undefined; client?: Pick<SQSClient, 'send'> }) {
    if (!options.queueUrl) throw new ConfigurationError('REQUEST_QUEUE_URL', 'is required for the queue function.');
    this.queueUrl = options.queueUrl;
    this.client = options.client ?? sqsClient();
  }

  async after(receiptHandle: string, seconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: seconds,
      }),
      { abortSignal: AbortSignal.timeout(CHANGE_TIMEOUT_MS) },
    );
  }
}

let shared: SqsRedelivery | undefined;

/** The process's redelivery, on REQUEST_QUEUE_URL. */
export function getRedelivery(): SqsRedelivery {
  shared ??= new SqsRedelivery({ queueUrl: getConfig().requestQueueUrl });
  return shared;
}
