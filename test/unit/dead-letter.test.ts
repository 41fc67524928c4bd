import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from '@jest/globals';
import { SqsDeadLetterSink } from '../../lib/dead-letter.js';
import { ConfigurationError, ValidationError, VoximplantApiError } from '../../lib/index.js';

function sink() {
  const sent: SendMessageCommand['input'][] = [];
  const client = { send: async (command: SendMessageCommand) => void sent.push(command.input) };
  return {
    sent,
    sink: new SqsDeadLetterSink({ queueUrl: 'http://127.0.0.1:1/000000000000/dlq', client: client as never }),
  };
}

describe('SqsDeadLetterSink', () => {
  it('sends the body unchanged with the reason as message attributes', async () => {
    const { sent, sink: dlq } = sink();
    await dlq.send('{"conference_name":"x"}', new VoximplantApiError('voximplant_rejected_request', 147, 'bad rule'), {
      source: 'queue',
      sourceId: 'm-1',
    });
    expect(sent[0]).toMatchObject({
      MessageBody: '{"conference_name":"x"}',
      MessageAttributes: {
        error_code: { DataType: 'String', StringValue: 'voximplant_rejected_request' },
        error_message: { DataType: 'String', StringValue: 'Voximplant error 147: bad rule' },
        voximplant_code: { DataType: 'Number', StringValue: '147' },
        source: { DataType: 'String', StringValue: 'queue' },
        source_id: { DataType: 'String', StringValue: 'm-1' },
      },
    });
  });

  it("keeps the message's own attributes next to the reason, within SQS's 10 (the essential reason first)", async () => {
    const { sent, sink: dlq } = sink();
    const own = Object.fromEntries(
      Array.from({ length: 8 }, (_, i) => [`attr${i}`, { dataType: 'String', stringValue: `v${i}` }]),
    );
    own.blob = { dataType: 'Binary', binaryValue: Buffer.from('bytes').toString('base64') } as never;
    await dlq.send('{}', new VoximplantApiError('voximplant_rejected_request', 147, 'bad rule'), {
      source: 'queue',
      sourceId: 'm-1',
      receiveCount: 2,
      messageAttributes: own as never,
    });
    const attributes = sent[0]!.MessageAttributes!;
    expect(Object.keys(attributes)).toHaveLength(10);
    expect(Object.keys(attributes).slice(0, 4)).toEqual(['error_code', 'error_message', 'outcome', 'source']);
    expect(attributes.attr0).toEqual({ DataType: 'String', StringValue: 'v0' });
    expect(Object.keys(attributes).filter((name) => name.startsWith('attr'))).toHaveLength(6);
    // With fewer of its own, the rest of the reason fits, and binary values stay binary.
    await dlq.send('{}', new VoximplantApiError('voximplant_rejected_request', 147, 'bad rule'), {
      source: 'queue',
      sourceId: 'm-1',
      messageAttributes: { blob: own.blob } as never,
    });
    expect(Buffer.from(sent[1]!.MessageAttributes!.blob!.BinaryValue!).toString()).toBe('bytes');
    expect(sent[1]!.MessageAttributes!.voximplant_code).toEqual({ DataType: 'Number', StringValue: '147' });
  });

  it('cuts a long reason without leaving half an emoji (SQS would refuse the message), and keeps inherited names', async () => {
    const { sent, sink: dlq } = sink();
    const error = new VoximplantApiError('voximplant_account_error', 127, `${'a'.repeat(990)}😀 tail`);
    await dlq.send('{}', error, {
      source: 'queue',
      messageAttributes: { constructor: { dataType: 'String', stringValue: 'kept' } } as never,
    });
    const attributes = sent[0]!.MessageAttributes!;
    expect(attributes.error_message!.StringValue!.isWellFormed()).toBe(true);
    expect(attributes.error_message!.StringValue!.length).toBeLessThanOrEqual(1024);
    expect(Object.hasOwn(attributes, 'constructor')).toBe(true);
    expect(attributes.constructor).toEqual({ DataType: 'String', StringValue: 'kept' });
  });

  it('leaves out empty values and replaces characters SQS refuses', async () => {
    const { sent, sink: dlq } = sink();
    const error = new ValidationError([{ field: '', rule: 'unknown_field', message: 'bad \u0000 key \ud800' }]);
    await dlq.send('{}', error, { source: 'schedule' });
    const attributes = sent[0]!.MessageAttributes!;
    expect(attributes.error_field).toBeUndefined();
    expect(attributes.error_message!.StringValue).toBe('bad ? key ?');
    for (const value of Object.values(attributes)) expect(value.StringValue).not.toBe('');
  });

  it('needs a queue URL, naming the variable', () => {
    expect(() => new SqsDeadLetterSink({ queueUrl: undefined })).toThrow(ConfigurationError);
    expect(() => new SqsDeadLetterSink({ queueUrl: '' })).toThrow(/DEAD_LETTER_QUEUE_URL/);
  });
});
