import { describe, expect, it } from '@jest/globals';
import type { SQSRecord } from 'aws-lambda';
import type { DeadLetterSink } from '../../lib/dead-letter.js';
import { DeadLetterError, UpstreamError, ValidationError, type VoxconfError } from '../../lib/index.js';
import { processQueueBatch } from '../../lib/queue-batch.js';

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    body,
    receiptHandle: `rh-${messageId}`,
    attributes: {},
    messageAttributes: {},
  } as unknown as SQSRecord;
}

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
    const response = await processQueueBatch(records, { service, deadLetter });
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
      service: { start: async () => Promise.reject(new TypeError('bug')) },
      deadLetter,
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(sent).toEqual(['internal_error']);
  });
});
