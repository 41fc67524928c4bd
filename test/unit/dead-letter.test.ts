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
