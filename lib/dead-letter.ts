import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSMessageAttribute } from 'aws-lambda';
import { getConfig } from './config.js';
import { ConfigurationError, DeadLetterError, type VoxconfError } from './errors.js';
import { sqsClient } from './sqs.js';

/** Where permanent failures go, with their reason, so they can be read and redriven as they were. */
export interface DeadLetterSink {
  send(body: string, error: VoxconfError, context: DeadLetterContext): Promise<void>;
}

export interface DeadLetterContext {
  readonly source: 'queue' | 'schedule';
  /** SQS message id or Scheduler execution id. */
  readonly sourceId?: string;
  /** How many times SQS delivered the message (queue only). */
  readonly receiveCount?: number;
  /** The message's own attributes (queue only), kept next to the reason so a redrive replays them. */
  readonly messageAttributes?: Readonly<Record<string, SQSMessageAttribute>>;
  /** Upper bound of the send, retries included. */
  readonly timeoutMs?: number;
}

const DEFAULT_SEND_TIMEOUT_MS = 1_500;

/** SQS attribute values are limited; a reason longer than this is cut. */
const MAX_REASON_LENGTH = 1024;

/**
 * SQS refuses empty attribute values and characters outside XML's: a reason quoting a caller's odd
 * field name must not make the message impossible to dead-letter.
 */
function text(value: string): MessageAttributeValue | undefined {
  // Cut first: a cut through a surrogate pair leaves a lone surrogate, which the replace then makes safe.
  const clean = value
    .slice(0, MAX_REASON_LENGTH)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '?');
  return clean === '' ? undefined : { DataType: 'String', StringValue: clean };
}

/** SQS takes at most this many message attributes. */
const MAX_ATTRIBUTES = 10;
/** The reason's attributes that are always sent; the others give way to the message's own. */
const ESSENTIAL = ['error_code', 'error_message', 'outcome', 'source'];

/** A Lambda SQS record's attribute as SendMessage takes it (list values are unused by SQS). */
function fromRecord(attribute: SQSMessageAttribute): MessageAttributeValue | undefined {
  if (attribute.stringValue !== undefined) return { DataType: attribute.dataType, StringValue: attribute.stringValue };
  if (attribute.binaryValue !== undefined) {
    return { DataType: attribute.dataType, BinaryValue: Buffer.from(attribute.binaryValue, 'base64') };
  }
  return undefined;
}

/**
 * The reason next to the message's own attributes, within SQS's 10: the essential reason first, then the
 * message's attributes (up to 6; a name the reason uses stays the reason's), then the rest of the reason.
 */
function mergeAttributes(
  reason: Record<string, MessageAttributeValue | undefined>,
  own: Readonly<Record<string, SQSMessageAttribute>>,
): Record<string, MessageAttributeValue> {
  const merged: Record<string, MessageAttributeValue> = {};
  const add = (name: string, value: MessageAttributeValue | undefined) => {
    if (value !== undefined && !Object.hasOwn(merged, name) && Object.keys(merged).length < MAX_ATTRIBUTES) {
      merged[name] = value;
    }
  };
  for (const name of ESSENTIAL) add(name, reason[name]);
  for (const [name, attribute] of Object.entries(own)) {
    if (!Object.hasOwn(reason, name)) add(name, fromRecord(attribute));
  }
  for (const [name, value] of Object.entries(reason)) add(name, value);
  return merged;
}

export class SqsDeadLetterSink implements DeadLetterSink {
  private readonly queueUrl: string;
  private readonly client: Pick<SQSClient, 'send'>;

  constructor(options: { queueUrl: string | undefined; client?: Pick<SQSClient, 'send'> }) {
    if (!options.queueUrl) {
      throw new ConfigurationError('DEAD_LETTER_QUEUE_URL', 'is required for the queue and schedule functions.');
    }
    this.queueUrl = options.queueUrl;
    this.client = options.client ?? sqsClient();
  }

  async send(body: string, error: VoxconfError, context: DeadLetterContext): Promise<void> {
    const candidates: Record<string, MessageAttributeValue | undefined> = {
      error_code: text(error.code),
      error_message: text(error.message),
      source: text(context.source),
      // unknown: the conference may be running although this start failed (a timeout, a dropped connection).
      outcome: text(error.outcome),
      receive_count:
        context.receiveCount === undefined
          ? undefined
          : { DataType: 'Number', StringValue: String(context.receiveCount) },
      error_field: error.field === undefined ? undefined : text(error.field),
      voximplant_code:
        error.voximplantCode === undefined
          ? undefined
          : { DataType: 'Number', StringValue: String(error.voximplantCode) },
      source_id: context.sourceId === undefined ? undefined : text(context.sourceId),
    };
    const attributes = mergeAttributes(candidates, context.messageAttributes ?? {});
    // Bounded: the send happens in the invocation's reserve, after the core's own deadline.
    const abortSignal = AbortSignal.timeout(context.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS);
    try {
      // The body goes as it came, so a redrive replays exactly what was sent.
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body, MessageAttributes: attributes }),
        { abortSignal },
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
