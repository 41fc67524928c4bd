/** functions/queue.ts with real SQS batches, the emulator, the Secrets Manager stand-in and local SQS as DLQ. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SQSBatchResponse } from 'aws-lambda';
import { attribute, drainQueue } from '../helpers/dlq.js';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/events.js';
import { startTriggerFixture, type TriggerFixture } from '../helpers/fixture.js';

let fx: TriggerFixture;
let sqs: TriggerFixture['sqs'];
let handler: (event: unknown, context: unknown) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  fx = await startTriggerFixture({ VOXIMPLANT_MAX_ATTEMPTS: '2' });
  sqs = fx.sqs;
  ({ handler } = (await import('../../functions/queue.js')) as never);
});
afterAll(() => fx.close());
beforeEach(async () => {
  fx.emulator.clearFaults();
  await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
});

const body = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ conference_name: name, rule_id: fx.account.ruleId, ...extra });

describe('queue handler', () => {
  it('makes one GetSecretValue for a cold batch of 10 concurrent records', async () => {
    fx.secrets.clearCalls();
    const records = Array.from({ length: 10 }, (_, i) => sqsRecord(body(`q-cold-${i}`)));
    const response = await handler(sqsEvent(records), lambdaContext(30_000, 'voxconf-dev-queue'));
    expect(response.batchItemFailures).toEqual([]);
    expect(fx.secrets.getSecretValueCount()).toBe(1);
  });

  it('handles a mixed batch concurrently: every record acknowledged, reported, or dead-lettered', async () => {
    fx.emulator.setLatency(50);
    fx.emulator.fault({ type: 'http', status: 503, conferenceName: 'q-retry' } as never);
    fx.emulator.fault({ type: 'error', code: 147, conferenceName: 'q-rejected' } as never);
    const records = [
      sqsRecord(body('q-ok-1'), { messageId: 'ok-1' }),
      sqsRecord(body('q-ok-2'), { messageId: 'ok-2' }),
      sqsRecord(body('q-retry'), { messageId: 'retry' }),
      sqsRecord(body('q-rejected'), { messageId: 'rejected' }),
      sqsRecord('{"conference_name": "q-invalid", "rule_id": -1}', { messageId: 'invalid' }),
      sqsRecord('this is not json', { messageId: 'not-json' }),
    ];
    const response = await handler(sqsEvent(records), lambdaContext(30_000, 'voxconf-dev-queue'));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'retry' }]);

    const dead = await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
    const byId = Object.fromEntries(dead.map((m) => [attribute(m, 'source_id'), m]));
    expect(Object.keys(byId).sort()).toEqual(['invalid', 'not-json', 'rejected']);
    expect(byId.rejected!.Body).toBe(body('q-rejected'));
    expect(attribute(byId.rejected!, 'error_code')).toBe('voximplant_rejected_request');
    expect(attribute(byId.rejected!, 'error_message')).toContain('147');
    expect(byId.invalid!.Body).toBe('{"conference_name": "q-invalid", "rule_id": -1}');
    expect(attribute(byId.invalid!, 'error_code')).toBe('invalid_request');
    expect(attribute(byId.invalid!, 'error_message')).toContain('rule_id');
    expect(attribute(byId['not-json']!, 'error_code')).toBe('malformed_json');

    const started = fx.emulator.conferences().map((c) => c.name);
    expect(started).toEqual(expect.arrayContaining(['q-ok-1', 'q-ok-2']));
    expect(started).not.toContain('q-retry');
    // Records overlap in time rather than running one after another.
    expect(fx.emulator.stats().peakInFlight).toBeGreaterThan(1);
    fx.emulator.setLatency(0);
  });

  it('reports a permanent failure as failed when the dead-letter queue cannot take it', async () => {
    const { SqsDeadLetterSink } = await import('../../lib/dead-letter.js');
    const { processQueueBatch } = await import('../../lib/queue-batch.js');
    const deadLetter = new SqsDeadLetterSink({ queueUrl: `${sqs.endpoint}/000000000000/does-not-exist` });
    const response = await processQueueBatch([sqsRecord('{"bad":true}', { messageId: 'kept' })], {
      service: fx.service(),
      deadLetter,
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'kept' }]);
  });
});
