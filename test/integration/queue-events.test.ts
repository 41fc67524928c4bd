/**
 * functions/queue.ts publishing its final outcomes through the real EventBridge client to the local stand-in
 * (local/eventbridge.ts), with the emulator, the Secrets Manager stand-in and local SQS as DLQ: one PutEvents per
 * batch, none for a record SQS redelivers, and a failed publish (a partial one included) logged and counted without
 * changing the batch's answer.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { type EventBridgeStandIn, startEventBridge } from '../../local/eventbridge.js';
import { type Captured, captureOutput } from '../helpers/capture.js';
import { attribute, drainQueue } from '../helpers/dlq.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/events.js';
import type { TriggerFixture } from '../helpers/fixture.js';

// Powertools reads its level and switches when the logger and metrics are built: before lib/ loads.
Object.assign(process.env, {
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_DISABLED: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'voxconf-test',
  POWERTOOLS_SERVICE_NAME: 'voxconf',
});
const { startTriggerFixture } = await import('../helpers/fixture.js');

const BUS = 'voxconf-test';
let fx: TriggerFixture;
let eb: EventBridgeStandIn;
let handler: (event: unknown, context: unknown) => Promise<SQSBatchResponse>;
let output: Captured;

beforeAll(async () => {
  eb = await startEventBridge({ buses: [BUS] });
  fx = await startTriggerFixture({
    VOXIMPLANT_MAX_ATTEMPTS: '2',
    QUEUE_MAX_RECEIVE_COUNT: '3',
    EVENT_BUS_NAME: BUS,
    VOXCONF_STAGE: 'test',
    AWS_ENDPOINT_URL_EVENTBRIDGE: eb.endpoint,
  });
  process.env.REQUEST_QUEUE_URL = fx.sqs.queueUrl;
  ({ handler } = (await import('../../functions/queue.js')) as never);
});
afterAll(async () => {
  output?.restore();
  await fx.close();
  await eb.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});
beforeEach(async () => {
  output?.restore();
  output = captureOutput();
  eb.reset();
  fx.emulator.clearFaults();
  await drainQueue(fx.sqs.deadLetterQueueUrl, fx.sqs.endpoint);
});

const body = (name: string) => JSON.stringify({ conference_name: name, rule_id: fx.account.ruleId });

/** A batch of four: two start (one with the producer's correlation id), one is refused for good, one is retried. */
function batch(prefix: string): SQSRecord[] {
  fx.emulator.fault({ type: 'http', status: 503, conferenceName: `${prefix}-retry` } as never);
  fx.emulator.fault({ type: 'error', code: 147, conferenceName: `${prefix}-refused` } as never);
  const correlated = sqsRecord(body(`${prefix}-ok-1`), { messageId: `${prefix}-ok-1` });
  correlated.messageAttributes.correlation_id = {
    dataType: 'String',
    stringValue: `booking-${prefix}`,
    stringListValues: [],
    binaryListValues: [],
  };
  return [
    correlated,
    sqsRecord(body(`${prefix}-ok-2`), { messageId: `${prefix}-ok-2` }),
    sqsRecord(body(`${prefix}-refused`), { messageId: `${prefix}-refused` }),
    sqsRecord(body(`${prefix}-retry`), { messageId: `${prefix}-retry` }),
  ];
}

const asOutcomeEvents = () => eb.events().map((e) => ({ detailType: e.DetailType, detail: e.Detail }));

describe('queue function with outcome events', () => {
  it('publishes the final outcomes of a batch in one PutEvents, none for the record SQS redelivers', async () => {
    const response = await handler(sqsEvent(batch('qe')), lambdaContext(30_000, 'voxconf-test-queue'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'qe-retry' }]);

    expect(eb.calls()).toHaveLength(1);
    expect(eb.calls()[0]).toMatchObject({ status: 200, entries: 3, failedEntryCount: 0 });
    const events = eb.events();
    expect(events.every((e) => e.EventBusName === BUS && e.Source === 'voxconf')).toBe(true);
    expectEventsMatchSchemas(asOutcomeEvents());
    const bySourceId = Object.fromEntries(events.map((e) => [e.Detail.source_id, e]));
    expect(Object.keys(bySourceId).sort()).toEqual(['qe-ok-1', 'qe-ok-2', 'qe-refused']);
    const started = fx.emulator.conferences().find((c) => c.name === 'qe-ok-1');
    expect(bySourceId['qe-ok-1']).toMatchObject({
      DetailType: 'Conference Started',
      Detail: {
        stage: 'test',
        source: 'queue',
        conference_name: 'qe-ok-1',
        correlation_id: 'booking-qe',
        call_session_history_id: started?.callSessionHistoryId,
      },
    });
    expect(bySourceId['qe-ok-2']?.Detail.correlation_id).toBeUndefined();
    expect(bySourceId['qe-refused']).toMatchObject({
      DetailType: 'Conference Start Failed',
      Detail: { error_code: 'voximplant_rejected_request', voximplant_code: 147, retryable: false, final: true },
    });
    expect(output.metric('EventPublishFailures')).toBe(0);
  });

  it('a partial PutEvents failure is logged and counted; the batch answers the same, nothing is retried or lost', async () => {
    eb.fault({ kind: 'fail_entries', entries: 1, times: 1 });
    const response = await handler(sqsEvent(batch('qp')), lambdaContext(30_000, 'voxconf-test-queue'));

    // The outcome of every record is what it would have been: started ones are not retried.
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'qp-retry' }]);
    const dead = await drainQueue(fx.sqs.deadLetterQueueUrl, fx.sqs.endpoint);
    expect(dead.map((m) => attribute(m, 'source_id'))).toEqual(['qp-refused']);
    expect(fx.emulator.conferences().map((c) => c.name)).toEqual(expect.arrayContaining(['qp-ok-1', 'qp-ok-2']));

    // One call (the SDK does not retry a 200), 1 of its 3 entries refused, the other two published.
    expect(eb.calls()).toHaveLength(1);
    expect(eb.calls()[0]).toMatchObject({ status: 200, entries: 3, failedEntryCount: 1 });
    expect(eb.events()).toHaveLength(2);

    const logged = output.json().filter((line) => line.message === 'outcome events not published');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 'ERROR',
      failed_events: 1,
      events: 3,
      reason: expect.stringContaining('InternalFailure'),
    });
    expect(output.metric('EventPublishFailures')).toBe(1);
  });

  it('a publish that fails as a whole (throttled past the SDK retries and the put bound) is logged and counted the same way', async () => {
    eb.fault({ kind: 'throttle' });
    const response = await handler(sqsEvent(batch('qt')), lambdaContext(30_000, 'voxconf-test-queue'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'qt-retry' }]);
    // The client's attempts, all throttled: at most 3, and fewer when its backoff reaches the put's 1.5 s bound.
    const attempts = eb.calls().map((c) => c.errorType);
    expect(attempts.length).toBeGreaterThanOrEqual(1);
    expect(attempts.length).toBeLessThanOrEqual(3);
    expect(new Set(attempts)).toEqual(new Set(['ThrottlingException']));
    expect(eb.events()).toEqual([]);
    expect(output.json().find((line) => line.message === 'outcome events not published')).toMatchObject({
      failed_events: 3,
      // The last word is the SDK's error, or the bound's abort when it came first.
      reason: expect.stringMatching(/ThrottlingException|TimeoutError/),
    });
    expect(output.metric('EventPublishFailures')).toBe(3);
  });
});
