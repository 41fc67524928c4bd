import type { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { getConfig } from './config.js';
import { logger, MetricUnit, metrics } from './observability.js';
import {
  batchEntries,
  EVENT_SOURCE,
  NO_PUBLISHER,
  type OutcomeEvent,
  type OutcomePublisher,
} from './outcome-events.js';

type PublishLogger = Pick<Logger, 'error'>;

/** Upper bound of one PutEvents call, the SDK's retries included. */
const PUBLISH_TIMEOUT_MS = 1_500;

let shared: OutcomePublisher | undefined;

/**
 * The process's publisher of outcome events, on EVENT_BUS_NAME (none without it). Imported only by the functions
 * that publish, so no other bundle carries the EventBridge client. A failed put is retried by the SDK (3
 * attempts, bounded), then logged and counted in EventPublishFailures, which an alarm watches.
 */
export function getOutcomePublisher(): OutcomePublisher {
  if (shared) return shared;
  const { eventBusName } = getConfig();
  shared =
    eventBusName === undefined
      ? NO_PUBLISHER
      : new EventBridgePublisher({
          busName: eventBusName,
          client: new EventBridgeClient({
            maxAttempts: 3,
            requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
          }),
          logger,
          onFailed: (count) => metrics.addMetric('EventPublishFailures', MetricUnit.Count, count),
        });
  return shared;
}

export class EventBridgePublisher implements OutcomePublisher {
  private readonly busName: string;
  private readonly client: Pick<EventBridgeClient, 'send'>;
  private readonly logger: PublishLogger | undefined;
  private readonly onFailed: (count: number) => void;

  constructor(options: {
    busName: string;
    client: Pick<EventBridgeClient, 'send'>;
    logger?: PublishLogger;
    /** Events that could not be published (a metric, with an alarm on it). */
    onFailed?: (count: number) => void;
  }) {
    this.busName = options.busName;
    this.client = options.client;
    this.logger = options.logger;
    this.onFailed = options.onFailed ?? (() => undefined);
  }

  async publish(events: readonly OutcomeEvent[]): Promise<void> {
    const entries = events.map(
      (event): PutEventsRequestEntry => ({
        EventBusName: this.busName,
        Source: EVENT_SOURCE,
        DetailType: event.detailType,
        Detail: JSON.stringify(event.detail),
      }),
    );
    await Promise.all(batchEntries(entries).map((batch) => this.put(batch)));
  }

  private async put(batch: PutEventsRequestEntry[]): Promise<void> {
    try {
      // Bounded, retries included: the put runs in the invocation's reserve, after the starts' own deadline.
      const output = await this.client.send(new PutEventsCommand({ Entries: batch }), {
        abortSignal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
      });
      // A partial failure answers normally: each refused entry says why in its own result.
      const failed = (output.Entries ?? []).flatMap((result, index) =>
        result.ErrorCode === undefined ? [] : [{ index, code: result.ErrorCode, message: result.ErrorMessage }],
      );
      const count = Math.max(output.FailedEntryCount ?? 0, failed.length);
      if (count > 0) this.failed(batch, count, failed.map((f) => `${f.code}: ${f.message ?? ''}`).join('; '));
    } catch (error) {
      this.failed(batch, batch.length, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }

  private failed(batch: PutEventsRequestEntry[], count: number, reason: string): void {
    this.onFailed(count);
    this.logger?.error('outcome events not published', {
      failed_events: count,
      events: batch.length,
      reason,
      // Which starts they were about, without their detail (the log already has each start).
      detail_types: batch.map((entry) => entry.DetailType),
    });
  }
}
