import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let shared: DynamoDBClient | undefined;

/**
 * The process's DynamoDB client (the registry). Imported only by modules loaded lazily after a start's answer is
 * in hand, or by the lifecycle function, so no cold start pays for it before Voximplant is called. Bounded per
 * attempt: a registry write runs on the caller's time.
 */
export function dynamoDbClient(): DynamoDBClient {
  shared ??= new DynamoDBClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_500, throwOnRequestTimeout: true },
  });
  return shared;
}
