import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

/** A real SQS client for a loopback SQS (the local stack's, or a test's own). */
export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

/** Reads everything currently in a queue (each message once), with its attributes. */
export async function drainQueue(queueUrl: string, endpoint: string): Promise<Message[]> {
  const client = localSqsClient(endpoint);
  const all: Message[] = [];
  try {
    for (;;) {
      const { Messages = [] } = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
          VisibilityTimeout: 300,
          WaitTimeSeconds: 0,
        }),
      );
      if (Messages.length === 0) return all;
      all.push(...Messages);
    }
  } finally {
    client.destroy();
  }
}

export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}
