/**
 * SQS messages as Lambda's event source mapping hands them to a function: the ReceiveMessage answer
 * (with MessageSystemAttributeNames and MessageAttributeNames All) reshaped into `SQSRecord`s, and the
 * function's partial batch response read the way Lambda reads it.
 */
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSMessageAttribute, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

export interface RecordContext {
  readonly queueArn: string;
  readonly region: string;
}

const base64 = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString('base64');

function toLambdaAttribute(value: MessageAttributeValue): SQSMessageAttribute {
  const attribute: Record<string, unknown> = {
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map((bytes) => base64(bytes) as string),
    dataType: value.DataType ?? 'String',
  };
  if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
  if (value.BinaryValue !== undefined) attribute.binaryValue = base64(value.BinaryValue);
  return attribute as unknown as SQSMessageAttribute;
}

/** One message as a Lambda SQS record (messageId, receiptHandle, body, attributes, messageAttributes, ...). */
export function toSqsRecord(message: Message, context: RecordContext): SQSRecord {
  if (!message.MessageId || !message.ReceiptHandle) {
    throw new Error('ReceiveMessage returned a message without MessageId or ReceiptHandle.');
  }
  const messageAttributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, toLambdaAttribute(value)]),
  );
  const record: Record<string, unknown> = {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    // System attributes as SQS returned them: ApproximateReceiveCount, SentTimestamp, SenderId,
    // ApproximateFirstReceiveTimestamp (+ MessageGroupId, SequenceNumber, ... on FIFO queues).
    attributes: { ...(message.Attributes ?? {}) } as unknown as SQSRecordAttributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: context.queueArn,
    awsRegion: context.region,
  };
  if (message.MD5OfMessageAttributes !== undefined) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record as unknown as SQSRecord;
}

export type BatchVerdict =
  /** Delete these (every record not reported), keep the others for redelivery. */
  | { readonly kind: 'partial'; readonly failed: ReadonlySet<string> }
  /** Delete nothing: the whole batch is redelivered after the visibility timeout. */
  | { readonly kind: 'batch_failure'; readonly reason: string };

/**
 * How Lambda reads the answer of a function with ReportBatchItemFailures: null, `{}` or an empty list means all
 * succeeded; `batchItemFailures` lists the message ids to keep; an answer it cannot read (not an object, a
 * list that is not a list, an itemIdentifier that is empty or not in the batch) fails the whole batch.
 */
export function readBatchResponse(payload: unknown, messageIds: readonly string[]): BatchVerdict {
  if (payload === undefined || payload === null || payload === '') return { kind: 'partial', failed: new Set() };
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    return { kind: 'batch_failure', reason: 'the function answered something other than {batchItemFailures: [...]}' };
  }
  const failures = (payload as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'partial', failed: new Set() };
  if (!Array.isArray(failures)) return { kind: 'batch_failure', reason: 'batchItemFailures is not a list' };
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) {
      return {
        kind: 'batch_failure',
        reason: `batchItemFailures names ${JSON.stringify(id)}, which is not a message of the batch`,
      };
    }
    failed.add(id);
  }
  return { kind: 'partial', failed };
}
