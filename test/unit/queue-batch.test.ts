import { describe, expect, it } from '@jest/globals';
import type { SQSRecord } from 'aws-lambda';
import type { DeadLetterSink } from '../../lib/dead-letter.js';
import {
  DeadLetterError,
  UpstreamError,
  ValidationError,
  type VoxconfError,
  VoximplantApiError,
} from '../../lib/index.js';
import type { OutcomeEvent } from '../../lib/outcome-events.js';
import { processQueueBatch } from '../../lib/queue-batch.js';
import { type Redelivery, redeliveryDelaySeconds } from '../../lib/redelivery.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';

function record(messageId: string, body: string, receiveCount?: number): SQSRecord {
  return {
    messageId,
    body,
    receiptHandle: `rh-${messageId}`,
    attributes: receiveCount === undefined ? {} : { ApproximateReceiveCount: String(receiveCount) },
    messageAttributes: {},
  } as unknown as SQSRecord;
}

/** Redelivery delays asked for, by receipt handle. */
function redeliveries() {
  const asked: Array<{ receiptHandle: string; seconds: number }> = [];
  const redelivery: Redelivery = {
    after: async (receiptHandle, seconds) => void asked.push({ receiptHandle, seconds }),
  };
  return { asked, redelivery };
}

const policy = { redelivery: redeliveries().redelivery, maxReceiveCount: 5, redeliveryBaseSeconds: 30 };

describe('processQueueBatch', () => {
  it('acknowledges successes, reports retryables, dead-letters permanents with the body unchanged', async () => {
    const sent: Array<{ body: string; code: string; sourceId?: string }> = [];
    const deadLetter: DeadLetterSink = {
      send: async (body: string, error: VoxconfError, context) => {
        if (body.includes('dlq-down')) throw new DeadLetterError('down');
        sent.push({ body, code: error.code, sourceId: context.sourceId });
      },
    };
    let concurrent = 0;
    let peak = 0;
    const service = {
      start: async (input: unknown) => {
        concurrent++;
        peak = Math.max(peak, concurrent);
        await new Promise((resolve) => setTimeout(resolve, 10));
        concurrent--;
        const name = (input as { conference_name: string }).conference_name;
        if (name === 'retry') throw new UpstreamError('voximplant_unavailable', '503');
        if (name === 'bad' || name === 'dlq-down')
          throw new ValidationError([{ field: 'rule_id', rule: 'required', message: 'x' }]);
        return {
          conference_name: name,
          media_session_access_url: '',
          media_session_access_secure_url: '',
          call_session_history_id: 1,
        };
      },
    };
    const records = [
      record('1', '{"conference_name":"ok"}'),
      record('2', '{"conference_name":"retry"}'),
      record('3', '{"conference_name":"bad"}'),
      record('4', 'not json {'),
      record('5', '{"conference_name":"dlq-down"}'),
    ];
    const response = await processQueueBatch(records, { ...policy, service, deadLetter });
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['2', '5']);
    expect(sent.sort((a, b) => a.body.localeCompare(b.body))).toEqual([
      { body: '{"conference_name":"bad"}', code: 'invalid_request', sourceId: '3' },
      { body: 'not json {', code: 'malformed_json', sourceId: '4' },
    ]);
    expect(peak).toBeGreaterThan(1);
  });

  it('reports a record rather than dropping it when its handling itself throws', async () => {
    const deadLetter: DeadLetterSink = { send: async () => undefined };
    const loggerFor = () => {
      throw new Error('logger broke');
    };
    const response = await processQueueBatch([record('x', '{}')], {
      ...policy,
      service: { start: async () => Promise.reject(new Error('never')) },
      deadLetter,
      loggerFor,
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'x' }]);
  });

  it('dead-letters an unexpected error of the core as a permanent internal_error', async () => {
    const sent: string[] = [];
    const deadLetter: DeadLetterSink = { send: async (_body, error) => void sent.push(error.code) };
    const response = await processQueueBatch([record('x', '{}')], {
      ...policy,
      service: { start: async () => Promise.reject(new TypeError('bug')) },
      deadLetter,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(sent).toEqual(['internal_error']);
  });
});

describe('retries through SQS, and the last receive', () => {
  const refused = () => new VoximplantApiError('voximplant_authorization_failed', 100, 'Authorization failed');
  const timeout = () => new UpstreamError('voximplant_timeout', 'slow', { outcome: 'unknown' });

  function run(error: () => VoxconfError, receiveCount: number) {
    const sent: Array<{ code: string; outcome: string; receiveCount?: number }> = [];
    const deadLetter: DeadLetterSink = {
      send: async (_body, e, context) =>
        void sent.push({ code: e.code, outcome: e.outcome, receiveCount: context.receiveCount }),
    };
    const { asked, redelivery } = redeliveries();
    const service = { start: async () => Promise.reject(error()) };
    return processQueueBatch([record('m', '{}', receiveCount)], {
      service,
      deadLetter,
      redelivery,
      maxReceiveCount: 5,
      redeliveryBaseSeconds: 30,
      random: () => 1,
    }).then((response) => ({ failures: response.batchItemFailures, sent, asked }));
  }

  it('an authorization failure that survived its refresh is redelivered later, not dead-lettered (a rotation passes)', async () => {
    const { failures, sent, asked } = await run(refused, 1);
    expect(failures).toEqual([{ itemIdentifier: 'm' }]);
    expect(sent).toEqual([]);
    expect(asked).toEqual([{ receiptHandle: 'rh-m', seconds: 30 }]);
  });

  it('each receive waits longer: 30, 60, 120, 240 s at most, at least half of that', async () => {
    const delays = [];
    for (const receives of [1, 2, 3, 4]) delays.push((await run(refused, receives)).asked[0]?.seconds);
    expect(delays).toEqual([30, 60, 120, 240]);
    expect(redeliveryDelaySeconds(4, { baseSeconds: 30 }, () => 0)).toBe(120);
    expect(redeliveryDelaySeconds(20, { baseSeconds: 30 }, () => 1)).toBe(900);
  });

  it('on the last receive a retryable failure is dead-lettered by voxconf, with its reason and receive count', async () => {
    const { failures, sent, asked } = await run(refused, 5);
    expect(failures).toEqual([]);
    expect(asked).toEqual([]);
    expect(sent).toEqual([{ code: 'voximplant_authorization_failed', outcome: 'failed', receiveCount: 5 }]);
  });

  it('a timeout dead-lettered on the last receive says the conference may have started (outcome unknown)', async () => {
    const { sent } = await run(timeout, 5);
    expect(sent).toEqual([{ code: 'voximplant_timeout', outcome: 'unknown', receiveCount: 5 }]);
  });

  it('a failed visibility change still reports the record: the queue visibility timeout brings it back', async () => {
    const deadLetter: DeadLetterSink = { send: async () => undefined };
    const redelivery: Redelivery = { after: async () => Promise.reject(new Error('AccessDenied')) };
    const response = await processQueueBatch([record('m', '{}', 1)], {
      service: { start: async () => Promise.reject(refused()) },
      deadLetter,
      redelivery,
      maxReceiveCount: 5,
      redeliveryBaseSeconds: 30,
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm' }]);
  });
});

describe('outcome events and correlation ids', () => {
  function publisherRecorder() {
    const calls: OutcomeEvent[][] = [];
    return { calls, publisher: { publish: async (events: readonly OutcomeEvent[]) => void calls.push([...events]) } };
  }
  const withAttributes = (r: SQSRecord, attributes: Record<string, string>): SQSRecord => ({
    ...r,
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { dataType: 'String', stringValue: value } as never]),
    ),
  });

  it('one PutEvents for the batch, final outcomes only: started and dead-lettered, not a retry SQS will redeliver', async () => {
    const { calls, publisher } = publisherRecorder();
    const deadLetter: DeadLetterSink = { send: async () => undefined };
    const service = {
      start: async (input: unknown, options?: { onSettled?: (r: never) => void }) => {
        const name = (input as { conference_name: string }).conference_name;
        options?.onSettled?.({ conferenceName: name, ruleId: 5, attempts: 1, durationMs: 3 } as never);
        if (name === 'later') throw new UpstreamError('voximplant_unavailable', '503');
        if (name === 'never') throw new VoximplantApiError('voximplant_rejected_request', 147, 'Invalid rule_id');
        return {
          conference_name: name,
          media_session_access_url: 'u',
          media_session_access_secure_url: 'v',
          call_session_history_id: 8,
        };
      },
    };
    const records = [
      withAttributes(record('a', '{"conference_name":"ok"}', 1), { correlation_id: 'booking-1' }),
      record('b', '{"conference_name":"later"}', 1),
      record('c', '{"conference_name":"never"}', 1),
      record('d', '{"conference_name":"later"}', 5),
    ];
    const response = await processQueueBatch(records, { ...policy, service, deadLetter, publisher, stage: 'prod' });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'b' }]);
    expect(calls).toHaveLength(1);
    const events = calls[0]!;
    expectEventsMatchSchemas(events);
    expect(events.map((e) => [e.detailType, e.detail.source_id, e.detail.final])).toEqual([
      ['Conference Started', 'a', undefined],
      ['Conference Start Failed', 'c', true],
      ['Conference Start Failed', 'd', true],
    ]);
    expect(events[0]?.detail).toMatchObject({ correlation_id: 'booking-1', call_session_history_id: 8, stage: 'prod' });
    expect(events[2]?.detail).toMatchObject({ error_code: 'voximplant_unavailable', retryable: true });
  });

  it('publishes nothing when every failure will be redelivered', async () => {
    const { calls, publisher } = publisherRecorder();
    const service = { start: async () => Promise.reject(new UpstreamError('voximplant_unavailable', '503')) };
    await processQueueBatch([record('x', '{}', 1)], {
      ...policy,
      service,
      deadLetter: { send: async () => undefined },
      publisher,
    });
    expect(calls).toEqual([]);
  });

  it('a correlation_id attribute that is not printable ASCII (or too long) is refused naming it, and dead-lettered', async () => {
    const sent: Array<{ field?: string; attributes: string[] }> = [];
    const deadLetter: DeadLetterSink = {
      send: async (_body, error, context) =>
        void sent.push({ field: error.field, attributes: Object.keys(context.messageAttributes ?? {}) }),
    };
    const started: string[] = [];
    const service = { start: async (input: unknown) => void started.push(String(input)) as never };
    for (const bad of ['tab\there', 'x'.repeat(129), ' leading-space']) {
      await processQueueBatch(
        [withAttributes(record('m', '{"conference_name":"a"}', 1), { correlation_id: bad, tenant: 't1' })],
        {
          ...policy,
          service,
          deadLetter,
        },
      );
    }
    expect(started).toEqual([]);
    // The message keeps its own attributes next to the reason.
    expect(sent).toEqual(
      Array.from({ length: 3 }, () => ({ field: 'correlation_id', attributes: ['correlation_id', 'tenant'] })),
    );
  });
});
