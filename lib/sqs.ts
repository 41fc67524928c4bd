import { SQSClient } from '@aws-sdk/client-sqs';

let shared: SQSClient | undefined;

/**
 * The process's SQS client (dead-letter sends, redelivery delays). Bounded per attempt: a hung connection
 * must fail over to the SDK's own retries within the invocation's reserve, not eat it.
 */
export function sqsClient(): SQSClient {
  shared ??= new SQSClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
  });
  return shared;
}
