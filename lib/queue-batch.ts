import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ConferenceService, StartOptions, StartReport } from './conference.js';
import type { DeadLetterSink } from './dead-letter.js';
import { isRetryableBy, PayloadError, toVoxconfError, type VoxconfError } from './errors.js';
import {
  failedEvent,
  type OutcomeEvent,
  type OutcomePublisher,
  type StartOrigin,
  startedEvent,
} from './outcome-events.js';
import { type Redelivery, redeliveryDelaySeconds } from './redelivery.js';
import { recordStart, type StartRecorder } from './registry.js';
import { validateCorrelationId } from './validation.js';

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
  /** Final outcomes, one PutEvents per batch (up to 10 entries a call); none for a failure SQS will redeliver. */
  readonly publisher?: OutcomePublisher;
  /** Named in outcome events. */
  readonly stage?: string;
  /** The registry (lib/registry.ts); absent when it is off. A failed write never makes a started record retried. */
  readonly registry?: StartRecorder | undefined;
  readonly random?: () => number;
  /** A logger whose lines carry this correlation id (the producer's, else the SQS message id). */
  readonly loggerFor?: (correlationId: string) => StartOptions['logger'];
}

/** The message attribute a producer sets to follow its message through logs and events. */
export const CORRELATION_ATTRIBUTE = 'correlation_id';

interface RecordResult {
  readonly outcome: RecordOutcome;
  readonly event?: OutcomeEvent;
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new PayloadError('malformed_json', 'The message body is not valid JSON.', { cause });
  }
}

/** The producer's correlation id, or the ValidationError naming the attribute. */
function correlationOf(record: SQSRecord): { id?: string; error?: VoxconfError } {
  const attribute = record.messageAttributes?.[CORRELATION_ATTRIBUTE];
  if (attribute === undefined) return {};
  try {
    return { id: validateCorrelationId(attribute.stringValue ?? null, CORRELATION_ATTRIBUTE) };
  } catch (error) {
    return { error: toVoxconfError(error) };
  }
}

/**
 * The queue's failure policy, in one place: a started conference is acknowledged; a retryable failure is
 * reported so SQS redelivers it, later each time (backoff through the message's visibility); a permanent
 * one, or a retryable one on the queue's last receive, is sent to the DLQ with its reason and acknowledged
 * (the redrive policy stays the safety net for a crash or a timeout of the function). If that send fails,
 * the record is reported too. No record is dropped. A final outcome (started, or dead-lettered) carries
 * its event; a failure SQS redelivers carries none.
 */
async function processRecord(record: SQSRecord, deps: QueueBatchDeps, options: StartOptions): Promise<RecordResult> {
  const correlation = correlationOf(record);
  const logger = deps.loggerFor?.(correlation.id ?? record.messageId) ?? options.logger;
  const receives = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
  const origin: StartOrigin = { source: 'queue', sourceId: record.messageId, correlationId: correlation.id };
  let report: StartReport = { conferenceName: undefined, ruleId: undefined, attempts: 0, durationMs: 0 };
  const onSettled = (settled: StartReport) => {
    report = settled;
  };
  try {
    if (correlation.error) throw correlation.error;
    const starting = deps.service.start(parseBody(record.body), { ...options, logger, onSettled });
    deps.registry?.prepare();
    const result = await starting;
    await recordStart(deps.registry, { result, origin, ruleId: report.ruleId }, logger);
    return { outcome: 'started', event: startedEvent(deps.stage ?? '', origin, report, result) };
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    if (isRetryableBy(error, 'queue') && receives < deps.maxReceiveCount) {
      await delayRedelivery(record, receives, deps, logger);
      return { outcome: 'retry' };
    }
    try {
      await deps.deadLetter.send(record.body, error, {
        source: 'queue',
        sourceId: record.messageId,
        receiveCount: receives,
        messageAttributes: record.messageAttributes,
      });
      logger?.warn('message sent to the dead-letter queue', {
        error_code: error.code,
        outcome: 'dead_lettered',
        start_outcome: error.outcome,
        receive_count: receives,
      });
      return { outcome: 'dead_lettered', event: failedEvent(deps.stage ?? '', origin, report, error, true) };
    } catch (deadLetterError) {
      logger?.error('dead-letter send failed; the message will be redelivered', {
        error_code: toVoxconfError(deadLetterError).code,
        outcome: 'retry',
      });
      return { outcome: 'retry' };
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

/**
 * Processes every record of the batch concurrently, publishes the final outcomes in one go, and reports the
 * records SQS must redeliver. Publishing never changes an outcome: a started conference is not retried because
 * its event could not be published.
 */
export async function processQueueBatch(
  records: readonly SQSRecord[],
  deps: QueueBatchDeps,
  options: StartOptions = {},
): Promise<SQSBatchResponse> {
  const results = await Promise.all(
    records.map((record) => processRecord(record, deps, options).catch((): RecordResult => ({ outcome: 'retry' }))),
  );
  const events = results.flatMap((result) => (result.event ? [result.event] : []));
  if (events.length > 0) await deps.publisher?.publish(events).catch(() => undefined);
  return {
    batchItemFailures: records
      .filter((_, index) => results[index]?.outcome === 'retry')
      .map((record) => ({ itemIdentifier: record.messageId })),
  };
}
