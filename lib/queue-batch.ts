import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ConferenceService, StartOptions } from './conference.js';
import type { DeadLetterSink } from './dead-letter.js';
import { isRetryableBy, PayloadError, toVoxconfError } from './errors.js';
import { type Redelivery, redeliveryDelaySeconds } from './redelivery.js';

export type RecordOutcome = 'started' | 'retry' | 'dead_lettered';

export interface QueueBatchDeps {
  readonly service: Pick<ConferenceService, 'start'>;
  readonly deadLetter: DeadLetterSink;
  /** Delays the next receive of a message to retry (backoff beyond the queue's visibility timeout). */
  readonly redelivery: Redelivery;
  /** The queue's maxReceiveCount: on the last receive a retryable failure is dead-lettered here, with its reason. */
  readonly maxReceiveCount: number;
  /** First redelivery delay; doubled per receive (lib/redelivery.ts). */
  readonly redeliveryBaseSeconds: number;
  readonly random?: () => number;
  /** Per-record logger with the SQS message id as correlation id. */
  readonly loggerFor?: (record: SQSRecord) => StartOptions['logger'];
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new PayloadError('malformed_json', 'The message body is not valid JSON.', { cause });
  }
}

/**
 * The queue's failure policy, in one place: a started conference is acknowledged; a retryable failure is
 * reported so SQS redelivers it, later each time (backoff through the message's visibility); a permanent
 * one, or a retryable one on the queue's last receive, is sent to the DLQ with its reason and acknowledged
 * (the redrive policy stays the safety net for a crash or a timeout of the function). If that send fails,
 * the record is reported too. No record is dropped.
 */
async function processRecord(record: SQSRecord, deps: QueueBatchDeps, options: StartOptions): Promise<RecordOutcome> {
  const logger = deps.loggerFor?.(record) ?? options.logger;
  const receives = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
  try {
    await deps.service.start(parseBody(record.body), { ...options, logger });
    return 'started';
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    if (isRetryableBy(error, 'queue') && receives < deps.maxReceiveCount) {
      await delayRedelivery(record, receives, deps, logger);
      return 'retry';
    }
    try {
      await deps.deadLetter.send(record.body, error, {
        source: 'queue',
        sourceId: record.messageId,
        receiveCount: receives,
      });
      logger?.warn('message sent to the dead-letter queue', {
        error_code: error.code,
        outcome: 'dead_lettered',
        start_outcome: error.outcome,
        receive_count: receives,
      });
      return 'dead_lettered';
    } catch (deadLetterError) {
      logger?.error('dead-letter send failed; the message will be redelivered', {
        error_code: toVoxconfError(deadLetterError).code,
        outcome: 'retry',
      });
      return 'retry';
    }
  }
}

/** Backoff for a message to retry; if SQS refuses, the queue's own visibility timeout still brings it back. */
async function delayRedelivery(
  record: SQSRecord,
  receives: number,
  deps: QueueBatchDeps,
  logger: StartOptions['logger'],
): Promise<void> {
  const seconds = redeliveryDelaySeconds(receives, { baseSeconds: deps.redeliveryBaseSeconds }, deps.random);
  try {
    await deps.redelivery.after(record.receiptHandle, seconds);
    logger?.info('message will be redelivered', { outcome: 'retry', receive_count: receives, redeliver_in_s: seconds });
  } catch (error) {
    logger?.warn('could not delay the redelivery; the visibility timeout applies', {
      outcome: 'retry',
      receive_count: receives,
      error_message: error instanceof Error ? error.message : String(error),
    });
  }
}

/** Processes every record of the batch concurrently and reports the ones SQS must redeliver. */
export async function processQueueBatch(
  records: readonly SQSRecord[],
  deps: QueueBatchDeps,
  options: StartOptions = {},
): Promise<SQSBatchResponse> {
  const outcomes = await Promise.all(
    records.map((record) => processRecord(record, deps, options).catch((): RecordOutcome => 'retry')),
  );
  return {
    batchItemFailures: records
      .filter((_, index) => outcomes[index] === 'retry')
      .map((record) => ({ itemIdentifier: record.messageId })),
  };
}
