/** functions/queue.ts with real SQS batches, the emulator, the Secrets Manager stand-in and local SQS as DLQ. */

import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SQSBatchResponse } from 'aws-lambda';
import { toSqsRecord } from '../../local/sqs-event.js';
import { attribute, drainQueue, localSqsClient } from '../helpers/dlq.js';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/events.js';
import { startTriggerFixture, type TriggerFixture } from '../helpers/fixture.js';

let fx: TriggerFixture;
let sqs: TriggerFixture['sqs'];
let handler: (event: unknown, context: unknown) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  fx = await startTriggerFixture({ VOXIMPLANT_MAX_ATTEMPTS: '2', QUEUE_MAX_RECEIVE_COUNT: '2' });
  sqs = fx.sqs;
  process.env.REQUEST_QUEUE_URL = sqs.queueUrl;
  fx.secrets.clearCalls();
  // Init's warm-up reads the secret here, at module load.
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
  it('makes one GetSecretValue for a cold start (init, then a batch of 10 concurrent records)', async () => {
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
    const { getRedelivery } = await import('../../lib/redelivery.js');
    const response = await processQueueBatch([sqsRecord('{"bad":true}', { messageId: 'kept' })], {
      service: fx.service(),
      deadLetter,
      redelivery: getRedelivery(),
      maxReceiveCount: 2,
      redeliveryBaseSeconds: 30,
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'kept' }]);
  });

  it('a refused key is redelivered later, not dead-lettered; on the last receive it is dead-lettered with its reason', async () => {
    fx.emulator.fault({ type: 'error', code: 100, conferenceName: 'q-auth' } as never);
    const client = localSqsClient(sqs.endpoint);
    const receive = async (visibilitySeconds: number) => {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: sqs.queueUrl,
          MaxNumberOfMessages: 1,
          AttributeNames: ['All'],
          VisibilityTimeout: visibilitySeconds,
          WaitTimeSeconds: 0,
        }),
      );
      return Messages.map((m) => toSqsRecord(m, { queueArn: sqs.queueArn, region: 'us-east-1' }));
    };
    try {
      await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: body('q-auth') }));
      const [first] = await receive(1);
      const context = lambdaContext(30_000, 'voxconf-dev-queue');
      expect((await handler(sqsEvent([first!]), context)).batchItemFailures).toEqual([
        { itemIdentifier: first!.messageId },
      ]);
      expect(await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint)).toEqual([]);
      // The receive made it visible again after 1 s; the function pushed that out by at least 15 s.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await receive(1)).toEqual([]);

      // Time passes (the test makes it visible now): the second receive is the queue's last (maxReceiveCount 2).
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: sqs.queueUrl,
          ReceiptHandle: first!.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      const [last] = await receive(30);
      expect(last!.attributes.ApproximateReceiveCount).toBe('2');
      expect((await handler(sqsEvent([last!]), context)).batchItemFailures).toEqual([]);
      const [dead] = await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
      expect(dead!.Body).toBe(body('q-auth'));
      expect(attribute(dead!, 'error_code')).toBe('voximplant_authorization_failed');
      expect(attribute(dead!, 'receive_count')).toBe('2');
      expect(attribute(dead!, 'outcome')).toBe('failed');
    } finally {
      await drainQueue(sqs.queueUrl, sqs.endpoint);
      client.destroy();
    }
  });
});
