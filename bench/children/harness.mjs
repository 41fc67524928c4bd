/**
 * What the bench children share: the Lambda context, the invocation of each kind of client, and the check
 * that an answer is a success. Loaded before any measured interval starts.
 *
 * It must not load anything a client would otherwise pay for itself: no `import` of node builtins (on Node 22
 * an ESM import of a builtin evaluates all of its lazy getters: `node:http` then loads undici, `node:crypto`
 * WebCrypto), no `crypto.randomUUID` (the `crypto` global loads WebCrypto). Builtins come from
 * process.getBuiltinModule, which returns them as require() would; node:fs is loaded by Node's bootstrap anyway.
 */
const { readFileSync, writeFileSync } = process.getBuiltinModule('node:fs');

/** A request id; random enough for logs, without node:crypto. */
export function requestId() {
  const hex = () =>
    Math.floor(Math.random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return `${hex()}-${hex().slice(0, 4)}-4${hex().slice(0, 3)}-a${hex().slice(0, 3)}-${hex()}${hex().slice(0, 4)}`;
}

/** The spec file named on the command line (written by the parent). */
export function readSpec() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node <child>.mjs <spec.json>');
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function writeResult(spec, result) {
  writeFileSync(spec.resultFile, JSON.stringify(result));
}

/** A Lambda context like the runtime's (remaining time counts down from the function timeout). */
export function lambdaContext(functionName, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/26/[$LATEST]bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
}

/** Throws unless `answer` is a success of that handler kind ('http' | 'queue' | 'schedule' | 'schedules' | 'lifecycle'). */
export function checkHandlerAnswer(kind, answer) {
  const fail = () => {
    throw new Error(`${kind} handler did not succeed: ${JSON.stringify(answer).slice(0, 400)}`);
  };
  if (kind === 'http') {
    if (answer?.statusCode !== 200) fail();
    const body = JSON.parse(answer.body);
    if (typeof body.media_session_access_url !== 'string') fail();
  } else if (kind === 'queue') {
    if (!Array.isArray(answer?.batchItemFailures) || answer.batchItemFailures.length !== 0) fail();
  } else if (kind === 'schedule') {
    if (answer?.outcome !== 'started') fail();
  } else if (kind === 'schedules') {
    if (answer?.statusCode !== 200 || !Array.isArray(JSON.parse(answer.body).schedules)) fail();
  } else if (kind === 'lifecycle') {
    if (answer?.statusCode !== 200 || !Array.isArray(JSON.parse(answer.body).conferences)) fail();
  } else throw new Error(`unknown handler kind ${kind}`);
}

/** A fresh copy of an event per invocation (middy's body parser rewrites event.body in place), new ids. */
export function cloneEvent(event, kind) {
  const copy = JSON.parse(JSON.stringify(event));
  if (kind === 'http') {
    copy.requestContext.requestId = requestId();
    copy.requestContext.timeEpoch = Date.now();
  } else if (kind === 'queue') {
    for (const record of copy.Records) record.messageId = requestId();
  } else if (kind === 'schedule' && copy.scheduled_time !== undefined) {
    copy.scheduled_time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    copy.execution_id = requestId();
  }
  return copy;
}

/** `performance.now()` in ms, and the process's peak RSS so far in bytes. */
export const now = () => performance.now();
export const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;
