/**
 * Reading the dead-letter queue without consuming it: receive everything (hidden for a moment), then make it
 * visible again at once. Each message once, with its attributes (error_code, error_message, ...).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetter } from './control-server.js';

const MAX_MESSAGES = 200;

function toDeadLetter(message: Message): DeadLetter {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
    else if (value.BinaryValue !== undefined) attributes[name] = Buffer.from(value.BinaryValue).toString('base64');
  }
  const sent = Number(message.Attributes?.SentTimestamp);
  return {
    message_id: message.MessageId ?? '',
    origin: originOf(message.Body ?? '', attributes, message.Attributes ?? {}),
    body: message.Body ?? '',
    attributes,
    sent_at: Number.isFinite(sent) ? new Date(sent).toISOString() : null,
  };
}

/** Who put it there (docs/deploy.md, section 8, lists the three kinds). */
function originOf(
  body: string,
  attributes: Record<string, string>,
  system: Record<string, string>,
): DeadLetter['origin'] {
  if (system.DeadLetterQueueSourceArn !== undefined)
    return 'redrive policy (received maxReceiveCount times without success)';
  if (attributes.source === 'queue') return 'queue function (permanent failure, or retryable on its last receive)';
  if (attributes.source === 'schedule') return 'schedule function (permanent failure)';
  try {
    const parsed = JSON.parse(body) as { requestContext?: { condition?: unknown } } | null;
    if (typeof parsed?.requestContext?.condition === 'string')
      return 'lambda on-failure destination (schedule retries exhausted)';
  } catch {
    // not JSON: a queue message moved by the redrive policy
  }
  return 'redrive policy (received maxReceiveCount times without success)';
}

export function deadLetterQueue(sqs: Pick<SQSClient, 'send'>, queueUrl: string) {
  return {
    async peek(): Promise<DeadLetter[]> {
      const seen = new Map<string, Message>();
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 30,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            AttributeNames: ['All'],
          }),
        );
        const fresh = Messages.filter((m) => m.MessageId !== undefined && !seen.has(m.MessageId));
        for (const message of fresh) seen.set(message.MessageId as string, message);
        if (fresh.length === 0 || seen.size >= MAX_MESSAGES) break;
      }
      const all = [...seen.values()];
      for (let i = 0; i < all.length; i += 10) {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: all.slice(i, i + 10).map((m, index) => ({
              Id: String(index),
              ReceiptHandle: m.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        );
      }
      return all.map(toDeadLetter).sort((a, b) => (a.sent_at ?? '').localeCompare(b.sent_at ?? ''));
    },
    /** Deletes every message now (PurgeQueue takes 60 s on AWS, and so in local-aws-sqs); returns how many. */
    async drain(): Promise<number> {
      let deleted = 0;
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 30,
          }),
        );
        const unique = [...new Map(Messages.map((m) => [m.MessageId, m])).values()];
        if (unique.length === 0) return deleted;
        const answer = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: unique.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        deleted += answer.Successful?.length ?? 0;
      }
    },
    async send(body: string): Promise<void> {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
  };
}
