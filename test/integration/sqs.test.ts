/** local/sqs.ts (local-aws-sqs) driven by the real SQSClient: attributes, delete, redrive to the dead-letter queue. */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type LocalSqs, startSqs } from '../../local/sqs.js';
import { setAwsTestEnv } from '../helpers/aws-env.js';
import { localSqsClient } from '../helpers/dlq.js';

let restoreEnv: () => void;
const started: LocalSqs[] = [];
const clients: SQSClient[] = [];

async function sqsFor(options: Parameters<typeof startSqs>[0]): Promise<{ sqs: LocalSqs; client: SQSClient }> {
  const sqs = await startSqs(options);
  started.push(sqs);
  const client = localSqsClient(sqs.endpoint);
  clients.push(client);
  return { sqs, client };
}

async function receive(client: SQSClient, queueUrl: string, waitSeconds: number, max = 1): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      // local-aws-sqs answers a long poll early only once it has MaxNumberOfMessages (see the deviation test).
      MaxNumberOfMessages: max,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      // local-aws-sqs reads only the deprecated AttributeNames, not MessageSystemAttributeNames.
      AttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

beforeAll(() => {
  restoreEnv = setAwsTestEnv();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(started.splice(0).map((sqs) => sqs.close()));
});

afterAll(() => restoreEnv());

describe('local SQS', () => {
  it('creates the main queue with a redrive policy to the dead-letter queue', async () => {
    const { sqs, client } = await sqsFor({ maxReceiveCount: 3, visibilityTimeoutSeconds: 7 });
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sqs.queueUrl).toBe(`${sqs.endpoint}/000000000000/voxconf-requests`);
    expect(sqs.deadLetterQueueUrl).toBe(`${sqs.endpoint}/000000000000/voxconf-requests-dlq`);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({ QueueArn: sqs.queueArn, VisibilityTimeout: '7' });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: sqs.deadLetterQueueArn,
      maxReceiveCount: 3,
    });
  });

  it('sends and receives a message with String, Number and Binary attributes (SDK MD5 checks pass), then deletes it', async () => {
    const { sqs, client } = await sqsFor({ visibilityTimeoutSeconds: 1 });
    const body = JSON.stringify({ conferenceName: 'standup', ruleId: 42 });
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl,
        MessageBody: body,
        MessageAttributes: {
          kind: { DataType: 'String', StringValue: 'start' },
          attempt: { DataType: 'Number', StringValue: '2' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    expect(sent.MessageId).toEqual(expect.any(String));
    expect(sent.MD5OfMessageAttributes).toMatch(/^[0-9a-f]{32}$/);

    const [message, ...rest] = await receive(client, sqs.queueUrl, 0, 10);
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      MessageId: sent.MessageId,
      Body: body,
      MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
      Attributes: expect.objectContaining({ ApproximateReceiveCount: '1', SentTimestamp: expect.any(String) }),
    });
    expect(message.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'start' });
    expect(message.MessageAttributes?.attempt).toEqual({ DataType: 'Number', StringValue: '2' });
    expect([...(message.MessageAttributes?.blob?.BinaryValue ?? [])]).toEqual([1, 2, 3]);

    await client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    // After the 1 s visibility timeout, a deleted message does not come back.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await receive(client, sqs.queueUrl, 0)).toEqual([]);
    expect(await receive(client, sqs.deadLetterQueueUrl, 0)).toEqual([]);
  }, 15_000);

  it('moves a message to the dead-letter queue after maxReceiveCount receives without a delete', async () => {
    const { sqs, client } = await sqsFor({ maxReceiveCount: 2, visibilityTimeoutSeconds: 1 });
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl,
        MessageBody: 'poison',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'start' } },
      }),
    );

    const first = await receive(client, sqs.queueUrl, 0);
    expect(first.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1']);
    const second = await receive(client, sqs.queueUrl, 2); // visible again after 1 s
    expect(second.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['2']);
    // The second visibility timeout expires: local-aws-sqs moves it then (AWS: at the next receive attempt).
    expect(await receive(client, sqs.queueUrl, 2)).toEqual([]);

    const dead = await receive(client, sqs.deadLetterQueueUrl, 1);
    expect(dead).toHaveLength(1);
    expect(await receive(client, sqs.deadLetterQueueUrl, 0, 10)).toEqual([]); // in flight now
    expect(dead[0]).toMatchObject({ MessageId: sent.MessageId, Body: 'poison' });
    expect(dead[0].MessageAttributes?.kind?.StringValue).toBe('start');
    expect(dead[0].Attributes?.DeadLetterQueueSourceArn).toBe(sqs.queueArn);
  }, 15_000);

  it('ChangeMessageVisibility is not a receive (as in AWS; local/local-aws-sqs.ts corrects local-aws-sqs 2.0.2)', async () => {
    // One receive + ChangeMessageVisibility(0) leaves ApproximateReceiveCount at 1, so the message comes back
    // for a second receive when maxReceiveCount is 2, counted 2, and only then goes to the dead-letter queue.
    const { sqs, client } = await sqsFor({ maxReceiveCount: 2, visibilityTimeoutSeconds: 30 });
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'retry-me' }));
    const [message] = await receive(client, sqs.queueUrl, 0);
    for (const seconds of [60, 0]) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: sqs.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [again] = await receive(client, sqs.queueUrl, 0);
    expect(again?.Body).toBe('retry-me');
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(await receive(client, sqs.deadLetterQueueUrl, 0)).toEqual([]);
  });

  it('KNOWN DEVIATIONS of long polling: waits out WaitTimeSeconds below MaxNumberOfMessages; can return a message twice', async () => {
    // AWS answers a long poll as soon as any message is available, and never returns one message twice in one
    // response. local-aws-sqs polls its queue every 10 ms until it has MaxNumberOfMessages or WaitTimeSeconds
    // (+40 ms) is over, so a message whose visibility timeout ends during the poll is taken again.
    const { sqs, client } = await sqsFor({ visibilityTimeoutSeconds: 2 });
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'once' }));
    const polling = Date.now();
    const messages = await receive(client, sqs.queueUrl, 3, 10); // taken at 0 s and again at 2 s
    expect(Date.now() - polling).toBeGreaterThanOrEqual(2_950);
    expect(messages.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([
      ['once', '1'],
      ['once', '2'],
    ]);
  }, 15_000);

  it('supports FIFO queues and refuses non-loopback hosts', async () => {
    const { sqs, client } = await sqsFor({ queueName: 'voxconf.fifo' });
    expect(sqs.deadLetterQueueName).toBe('voxconf-dlq.fifo');
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl,
        MessageBody: 'x',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'd',
      }),
    );
    expect((await receive(client, sqs.queueUrl, 0)).map((m) => m.Body)).toEqual(['x']);
    await expect(startSqs({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('is reached through AWS_ENDPOINT_URL_SQS, and close() ends kept-alive connections and long polls', async () => {
    const sqs = await startSqs();
    const restore = setAwsTestEnv({ sqs: sqs.endpoint });
    const client = new SQSClient({ maxAttempts: 1 });
    try {
      await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'via env' }));
      expect((await receive(client, sqs.queueUrl, 0)).map((m) => m.Body)).toEqual(['via env']);
      const polling = receive(client, sqs.queueUrl, 20).then(
        () => 'answered',
        () => 'failed',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = Date.now();
      await sqs.close();
      expect(Date.now() - closing).toBeLessThan(1_000);
      expect(await polling).toBe('failed');
    } finally {
      client.destroy();
      restore();
    }
  });
});
