import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ConferenceService, StartOptions } from './conference.js';
import type { DeadLetterSink } from './dead-letter.js';
import { isRetryableBy, PayloadError, toVoxconfError } from './errors.js';

export type RecordOutcome = 'started' | 'retry' | 'dead_lettered';

export interface QueueBatchDeps {
  readonly service: Pick<ConferenceService, 'start'>;
  readonly deadLetter: DeadLetterSink;
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
 * The queue's failure policy, in one place: a started conference is acknowledged; a retryable
 * failure is reported so SQS redelivers it (and its redrive policy ends it in the DLQ after
 * maxReceiveCount); a permanent one is sent to the DLQ at once with its reason and acknowledged.
 * If that send fails, the record is reported too. No record is dropped.
 */
async function processRecord(
  record: SQSRecord,
  deps: QueueBatchDeps,
  options: StartOptions = {},
): Promise<RecordOutcome> {
  const logger = deps.loggerFor?.(record) ?? options.logger;
  try {
    await deps.service.start(parseBody(record.body), { ...options, logger });
    return 'started';
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    if (isRetryableBy(error, 'queue')) return 'retry';
    try {
      await deps.deadLetter.send(record.body, error, { source: 'queue', sourceId: record.messageId });
      logger?.warn('message sent to the dead-letter queue', { error_code: error.code, outcome: 'dead_lettered' });
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
