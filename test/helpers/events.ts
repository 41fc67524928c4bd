/** Real event shapes, as API Gateway, SQS and EventBridge deliver them to Lambda. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';

export function lambdaContext(remainingMs = 10_000, functionName = 'voxconf-dev-http'): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/26/[$LATEST]abc',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

type Authorizer = 'iam' | 'jwt' | 'none';

/** An HTTP API (payload 2.0) request to POST /conferences. */
export function httpEvent(
  body: string | undefined,
  options: {
    contentType?: string | null;
    authorizer?: Authorizer;
    isBase64Encoded?: boolean;
    headers?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  const authorizer =
    options.authorizer === 'jwt'
      ? {
          jwt: {
            claims: { sub: 'client-1', iss: 'https://issuer.example', aud: 'voxconf' },
            scopes: ['conferences/start'],
          },
        }
      : options.authorizer === 'none'
        ? undefined
        : {
            iam: {
              accessKey: 'ASIAEXAMPLE',
              accountId: '123456789012',
              callerId: 'AROAEXAMPLE:caller',
              cognitoIdentity: null,
              principalOrgId: null,
              userArn: 'arn:aws:sts::123456789012:assumed-role/backend/caller',
              userId: 'AROAEXAMPLE:caller',
            },
          };
  const requestId = `req-${randomUUID()}`;
  return {
    version: '2.0',
    routeKey: 'POST /conferences',
    rawPath: '/conferences',
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'user-agent': 'test',
      ...(contentType === null ? {} : { 'content-type': contentType }),
      ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
      ...options.headers,
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/conferences', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'test' },
      requestId,
      routeKey: 'POST /conferences',
      stage: '$default',
      time: '26/Nov/2026:09:00:00 +0000',
      timeEpoch: Date.now(),
      ...(authorizer ? { authorizer } : {}),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
  } as APIGatewayProxyEventV2;
}

export function sqsRecord(
  body: string,
  options: { messageId?: string; receiveCount?: number; queueArn?: string } = {},
): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: `AQEB${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(Date.now()),
      SenderId: 'AROAEXAMPLE:sender',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'ignored',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn ?? 'arn:aws:sqs:us-east-1:123456789012:voxconf-dev-conferences',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** What the generated EventBridge Scheduler schedules send (Input with context placeholders filled). */
export function schedulerInput(request: unknown, scheduledTime: Date = new Date(), executionId: string = randomUUID()) {
  return { request, scheduled_time: scheduledTime.toISOString().replace(/\.\d{3}Z$/, 'Z'), execution_id: executionId };
}

/** An EventBridge rule without `input`: the envelope carries no request. */
export function scheduledEventEnvelope() {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/voxconf-standup'],
    detail: {},
  };
}
