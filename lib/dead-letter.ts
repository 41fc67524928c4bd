import { SendMessageCommand, SQSClient, type MessageAttributeValue } from '@aws-sdk/client-sqs';
import { getConfig } from './config.js';
import { ConfigurationError, DeadLetterError, type VoxconfError } from './errors.js';

/** Where permanent failures go, with their reason, so they can be read and redriven as they were. */
export interface DeadLetterSink {
  send(body: string, error: VoxconfError, context: { source: 'queue' | 'schedule'; sourceId?: string }): Promise<void>;
}

/** SQS attribute values are limited; a reason longer than this is cut. */
const MAX_REASON_LENGTH = 1024;

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

export class SqsDeadLetterSink implements DeadLetterSink {
  private readonly queueUrl: string;
  private readonly client: Pick<SQSClient, 'send'>;

  constructor(options: { queueUrl: string | undefined; client?: Pick<SQSClient, 'send'> }) {
    if (!options.queueUrl) {
      throw new ConfigurationError('DEAD_LETTER_QUEUE_URL', 'is required for the queue and schedule functions.');
    }
    this.queueUrl = options.queueUrl;
    this.client =
      options.client ??
      new SQSClient({
        maxAttempts: 3,
        requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
      });
  }

  async send(
    body: string,
    error: VoxconfError,
    context: { source: 'queue' | 'schedule'; sourceId?: string },
  ): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      error_code: text(error.code),
      error_message: text(error.message.slice(0, MAX_REASON_LENGTH)),
      source: text(context.source),
    };
    if (error.field !== undefined) attributes.error_field = text(error.field);
    if (error.voximplantCode !== undefined) {
      attributes.voximplant_code = { DataType: 'Number', StringValue: String(error.voximplantCode) };
    }
    if (context.sourceId !== undefined) attributes.source_id = text(context.sourceId);
    try {
      // The body goes as it came, so a redrive replays exactly what was sent.
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, MessageAttributes: attributes }),
      );
    } catch (cause) {
      throw new DeadLetterError('The message could not be sent to the dead-letter queue.', { cause });
    }
  }
}

let shared: SqsDeadLetterSink | undefined;

/** The process's dead-letter sink, on DEAD_LETTER_QUEUE_URL. */
export function getDeadLetterSink(): SqsDeadLetterSink {
  shared ??= new SqsDeadLetterSink({ queueUrl: getConfig().deadLetterQueueUrl });
  return shared;
}
