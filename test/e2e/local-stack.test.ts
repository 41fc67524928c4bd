/**
 * End to end: the local stack started as `npm start` starts it (a child process running local/start.ts), then
 * driven over real HTTP and the real SQS protocol, each trigger through its own path:
 *
 *   HTTP API (serverless offline) -> http function -> Secrets Manager stand-in + Voximplant emulator
 *   SQS SendMessage -> queue poller (event source mapping) -> queue function -> emulator / dead-letter queue
 *   stack control "fire now" -> scheduler -> schedule function -> emulator
 *
 * The functions run on the Node of serverless.yml's Lambda runtime (nodejs24.x), whatever Node runs the test.
 * Every answer of the HTTP API is checked against docs/openapi.yaml (route, status, headers, body).
 *
 * and finally Ctrl-C (SIGINT): exit 0, no process and no port left.
 *
 * Local settings keep it short: visibility timeout 3 s, maxReceiveCount 3, emulated latency 10 ms.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type Message, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { triggerCommands } from '../../local/banner.js';
import { PORT_NAMES } from '../../local/settings.js';
import { connectEmulator, type EmulatorControlClient } from '../../local/voximplant-emulator/index.js';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import { localSqsClient } from '../helpers/dlq.js';
import {
  eventually,
  freePortBase,
  leftoverProcesses,
  openPorts,
  processAlive,
  type RawAnswer,
  type RunningStack,
  rawRequest,
  startLocalStack,
} from '../helpers/local-stack.js';
import { expectMatchesOpenApi, fetchDocumented } from '../helpers/openapi.js';
import { fromItem } from '../helpers/registry.js';

const VISIBILITY_TIMEOUT_SECONDS = 3;
const MAX_RECEIVE_COUNT = 3;

let stack: RunningStack | undefined;
let emulator: EmulatorControlClient;
let sqs: SQSClient;
let ruleId: number;
let stopped = false;

const info = () => (stack as RunningStack).info;

/** POST /conferences through serverless offline; the answer is checked against docs/openapi.yaml. */
async function postConference(
  body: unknown,
  options: { text?: string; contentType?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, any> }> {
  return fetchDocumented(info().conferencesUrl, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json' },
    body: options.text ?? JSON.stringify(body),
  });
}

async function enqueue(body: string): Promise<string> {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: info().queueUrl, MessageBody: body }));
  return MessageId as string;
}

async function conferenceNamed(name: string) {
  return (await emulator.conferences()).find((conference) => conference.name === name);
}

/** Messages now in the dead-letter queue, over SQS itself (left visible for other readers). */
async function deadLetters(): Promise<Message[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: info().deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  // Left visible (VisibilityTimeout 0), a message may come twice in one local-aws-sqs answer.
  return [...new Map(Messages.map((m) => [m.MessageId, m])).values()];
}

const deadLetterWithBody = (body: string, timeoutMs: number) =>
  eventually(
    async () => (await deadLetters()).find((m) => m.Body === body),
    timeoutMs,
    `a dead letter with body ${body}`,
  );

beforeAll(async () => {
  stack = await startLocalStack({
    VOXCONF_PORT_BASE: String(await freePortBase()),
    VOXCONF_LATENCY_MS: '10',
    VOXCONF_QUEUE_VISIBILITY_TIMEOUT_SECONDS: String(VISIBILITY_TIMEOUT_SECONDS),
    VOXCONF_QUEUE_MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
  });
  process.stdout.write(`local stack ready in ${stack.readyMs} ms (its own count: ${stack.info.startupMs} ms)\n`);
  emulator = connectEmulator(stack.info.emulator?.origin as string);
  ruleId = stack.info.emulator?.ruleId as number;
  sqs = localSqsClient(stack.info.sqsEndpoint);
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  if (stack && !stopped) await stack.stop('SIGKILL').catch(() => {});
});

describe('start-up', () => {
  test('listens on loopback only, on the requested ports, with an emulator account and its secret', () => {
    const { ports } = info();
    expect(new Set(Object.values(ports)).size).toBe(PORT_NAMES.length);
    for (const url of [info().conferencesUrl, info().sqsEndpoint, info().secretsManagerEndpoint, info().controlUrl]) {
      expect(new URL(url).hostname).toBe('127.0.0.1');
    }
    // What the kernel says: every listening socket on those ports is bound to 127.0.0.1, none to 0.0.0.0 or ::.
    const listening = listeningAddresses(Object.values(ports));
    for (const port of Object.values(ports)) expect(listening.get(port)).toEqual(['127.0.0.1']);
    expect(info().mode).toBe('emulator');
    expect(info().secretArn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:voxconf\/local-credentials-\w{6}$/,
    );
  });

  test('the banner says what listens where, that the API is open on loopback, and gives a command per trigger', () => {
    const out = (stack as RunningStack).output();
    expect(out).toContain(info().conferencesUrl);
    expect(out).toMatch(/open on loopback: no IAM/);
    expect(out).toMatch(/no CORS: every port answers 403 to web pages/);
    expect(out).toMatch(/local only: visibility timeout 3 s, maxReceiveCount 3 \(deployed: 180 s, 5\)/);
    const commands = triggerCommands(info());
    for (const command of [
      commands.http,
      commands.enqueue,
      commands.fireSchedule,
      commands.emulatorConferences,
      commands.deadLetters,
      commands.events,
      commands.failedEvents,
      commands.addParticipant,
      commands.conferenceStatus,
      commands.conferenceCommand,
      commands.activeConferences,
      commands.endConference,
    ]) {
      expect(out).toContain(command as string);
    }
    // The "follow demo" block starts "demo" again before anyone joins: the triggers before it may outlive an
    // empty session (60 s), and the lifecycle commands need it running.
    const follow = out.slice(out.indexOf('Follow "demo"'));
    expect(follow.indexOf(commands.http)).toBeGreaterThan(0);
    expect(follow.indexOf(commands.http)).toBeLessThan(follow.indexOf(commands.addParticipant as string));
    expect(follow).toMatch(/a session nobody joins ends after 60 s/);
    expect(out).toContain(`EventBridge      ${info().eventBridgeEndpoint}  bus voxconf-local`);
    expect(out).toContain(`DynamoDB         ${info().dynamoDbEndpoint}  table voxconf-local-conferences`);
    expect(Number(new URL(info().dynamoDbEndpoint).port)).toBe(info().ports.dynamoDb);
  });

  test("the functions run on the Lambda runtime's Node (serverless.yml), whichever Node runs the stack", () => {
    const runtime = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8').match(
      /^\s*runtime:\s*nodejs(\d+)\.x/m,
    );
    expect(runtime).not.toBeNull();
    const { functionsNode, offlinePid } = info();
    expect(functionsNode.version).toMatch(new RegExp(`^v${runtime?.[1]}\\.`));
    // The binary answers for itself...
    const version = spawnSync(functionsNode.bin, ['-p', 'process.version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe(functionsNode.version);
    // ...and it is what serverless offline runs on: the handlers run in worker threads of that very process.
    if (existsSync(`/proc/${offlinePid}/exe`)) {
      expect(realpathSync(`/proc/${offlinePid}/exe`)).toBe(realpathSync(functionsNode.bin));
    }
    expect((stack as RunningStack).output()).toContain(`functions run on Node ${functionsNode.version} (as Lambda's`);
  });
});

describe('HTTP trigger (POST /conferences through serverless offline)', () => {
  test('starts a conference: 200 with the four fields', async () => {
    const { status, json } = await postConference({ conference_name: 'e2e-http', rule_id: ruleId });
    expect(status).toBe(200);
    expect(Object.keys(json).sort()).toEqual(
      [
        'call_session_history_id',
        'conference_name',
        'media_session_access_secure_url',
        'media_session_access_url',
      ].sort(),
    );
    expect(json.conference_name).toBe('e2e-http');
    expect(await conferenceNamed('e2e-http')).toMatchObject({ active: true, ruleId });
  }, 20_000);

  test('the same name twice joins the same session', async () => {
    const first = await postConference({ conference_name: 'e2e-join', rule_id: ruleId });
    const second = await postConference({ conference_name: 'e2e-join', rule_id: ruleId });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.json).toEqual(first.json);
    expect(await conferenceNamed('e2e-join')).toMatchObject({ joinCount: 1 });
    // Both starts are in the registry on dynalite: one record of the session, one join.
    const client = new DynamoDBClient({
      endpoint: info().dynamoDbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: info().registryTableName, Key: { conference_name: { S: 'e2e-join' } } }),
      );
      expect(Item ? fromItem(Item) : undefined).toMatchObject({
        status: 'active',
        started_by: { source: 'http' },
        call_session_history_id: first.json.call_session_history_id,
        join_count: 1,
      });
    } finally {
      client.destroy();
    }
  }, 20_000);

  test('a bad request is answered 400 naming the field', async () => {
    const { status, json } = await postConference({ rule_id: ruleId });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: 'invalid_request', field: 'conference_name' });
  }, 20_000);

  test('the other refusals answer as docs/openapi.yaml says: 413, 415, 422, 502, 503 with Retry-After', async () => {
    const code = async (status: number, answer: Promise<{ status: number; json: Record<string, any> }>) => {
      const { status: got, json } = await answer;
      expect(got).toBe(status);
      return json.error.code as string;
    };
    expect(await code(415, postConference(undefined, { text: 'conference_name=x', contentType: 'text/plain' }))).toBe(
      'unsupported_media_type',
    );
    expect(await code(422, postConference(undefined, { text: '{"conference_name":' }))).toBe('malformed_json');
    expect(
      await code(413, postConference({ conference_name: 'e2e-big', script_custom_data: 'y'.repeat(40_000) })),
    ).toBe('body_too_large');
    expect(await code(422, postConference({ conference_name: 'e2e-http-rule', rule_id: 999_999 }))).toBe(
      'voximplant_rejected_request',
    );

    const account = await emulator.fault({ type: 'error', code: 127, conferenceName: 'e2e-http-502' });
    const unavailable = await emulator.fault({
      type: 'http',
      status: 503,
      retryAfter: 30,
      conferenceName: 'e2e-http-503',
    });
    try {
      expect(await code(502, postConference({ conference_name: 'e2e-http-502', rule_id: ruleId }))).toBe(
        'voximplant_account_error',
      );
      const throttled = await postConference({ conference_name: 'e2e-http-503', rule_id: ruleId });
      expect(throttled.status).toBe(503);
      expect(throttled.headers.get('retry-after')).toBe('30');
    } finally {
      await emulator.clearFaults(account.id);
      await emulator.clearFaults(unavailable.id);
    }
  }, 30_000);
});

describe('requests a web page could send are refused, on every port of the stack', () => {
  /** The refusal's shape: the documented error shape, no CORS header that would let a page read anything. */
  const expectRefused = (answer: RawAnswer, status: number, code: string) => {
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status,
      body: { error: { code, message: expect.any(String) } },
    });
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  };
  // Every port the stack opens (a server added later gets a port here, and so this check).
  const everyPort = () => PORT_NAMES.map((name) => [name, info().ports[name]] as const);

  test('with an Origin header: 403 forbidden_origin', async () => {
    for (const [name, port] of everyPort()) {
      const answer = await rawRequest(port, {
        method: 'POST',
        path: name === 'http' ? '/conferences' : '/',
        headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
        body: '{"conference_name":"from-a-page"}',
      });
      expectRefused(answer, 403, 'forbidden_origin');
    }
    expect(await conferenceNamed('from-a-page')).toBeUndefined();
  }, 20_000);

  test('addressed to a host name other than loopback (DNS rebinding): 403 forbidden_host', async () => {
    for (const [, port] of everyPort()) {
      expectRefused(
        await rawRequest(port, { headers: { host: `rebound.evil.example:${port}` } }),
        403,
        'forbidden_host',
      );
    }
    // Loopback names are fine.
    const ok = await rawRequest(info().ports.control, { headers: { host: `localhost:${info().ports.control}` } });
    expect(ok.status).toBe(200);
  }, 20_000);

  test("a CORS preflight to the HTTP API is refused; serverless offline's own CORS never answers", async () => {
    const preflight = await rawRequest(info().ports.http, {
      method: 'OPTIONS',
      path: '/conferences',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expectRefused(preflight, 403, 'forbidden_origin');
    // Answers to local tools carry no CORS header either.
    const answer = await rawRequest(info().ports.http, {
      method: 'POST',
      path: '/conferences',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conference_name: 'e2e-no-cors', rule_id: ruleId }),
    });
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  }, 20_000);

  test('the Lambda API refuses what a page sends without a preflight (415), and invokes nothing', async () => {
    const path = `/2015-03-31/functions/${info().functions.schedule}/invocations`;
    const event = JSON.stringify({ request: { conference_name: 'e2e-form-post' } });
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const answer = await rawRequest(info().ports.lambda, {
        method: 'POST',
        path,
        headers: { 'content-type': type },
        body: event,
      });
      expectRefused(answer, 415, 'unsupported_media_type');
    }
    // The request: foreign Host, Origin and text/plain at once.
    expectRefused(
      await rawRequest(info().ports.lambda, {
        method: 'POST',
        path,
        headers: { host: 'evil.example', origin: 'https://evil.example', 'content-type': 'text/plain' },
        body: event,
      }),
      403,
      'forbidden_host',
    );
    expect(await conferenceNamed('e2e-form-post')).toBeUndefined();
    // A local tool's invocation (what the AWS SDK, the poller and the scheduler send) still works.
    const invoked = await rawRequest(info().ports.lambda, {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: { conference_name: 'e2e-invoke', rule_id: ruleId } }),
    });
    expect(invoked.status).toBe(200);
    expect(JSON.parse(invoked.body)).toMatchObject({ outcome: 'started', conference_name: 'e2e-invoke' });
  }, 30_000);
});

describe('queue trigger (SQS -> poller -> queue function)', () => {
  test('a message starts a conference and is deleted', async () => {
    const id = await enqueue(JSON.stringify({ conference_name: 'e2e-queue', rule_id: ruleId }));
    await eventually(() => conferenceNamed('e2e-queue'), 15_000, 'the queued conference');
    await (stack as RunningStack).waitForOutput(/queue\s+1 record \(receive #1\) → 1 done \(deleted\)/, 10_000);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  }, 30_000);

  test('permanent failures land in the dead-letter queue with error_code and error_message', async () => {
    const unknownRule = JSON.stringify({ conference_name: 'e2e-unknown-rule', rule_id: 999_999 });
    const invalid = JSON.stringify({ conference_name: '' });
    await enqueue(unknownRule);
    await enqueue(invalid);

    const rejected = await deadLetterWithBody(unknownRule, 15_000);
    expect(rejected.MessageAttributes?.error_code?.StringValue).toBe('voximplant_rejected_request');
    expect(rejected.MessageAttributes?.voximplant_code?.StringValue).toBe('147');
    expect(rejected.MessageAttributes?.error_message?.StringValue).toMatch(/147/);

    const bad = await deadLetterWithBody(invalid, 15_000);
    expect(bad.MessageAttributes?.error_code?.StringValue).toBe('invalid_request');
    expect(bad.MessageAttributes?.error_field?.StringValue).toBe('conference_name');
    expect(bad.MessageAttributes?.error_message?.StringValue).toBeTruthy();

    // The stack's own peek at the dead-letter queue shows them too, and leaves them there.
    const peek = (await (await fetch(`${info().controlUrl}/dead-letters`)).json()) as {
      body: string;
      attributes: Record<string, string>;
    }[];
    expect(peek.find((m) => m.body === unknownRule)?.attributes.error_code).toBe('voximplant_rejected_request');
    expect((await deadLetters()).some((m) => m.Body === unknownRule)).toBe(true);
  }, 40_000);

  test("a retryable failure that outlasts the invocation's retries is reported, redelivered, then succeeds", async () => {
    const name = 'e2e-retry';
    // 503 for every attempt of the first invocation, so the record is reported; the redelivery after the
    // visibility timeout then succeeds.
    // `times` = the queue function's attempts (VOXIMPLANT_MAX_ATTEMPTS, 3): independent of how fast it runs.
    await emulator.fault({ type: 'http', status: 503, conferenceName: name, times: 3 });
    const id = await enqueue(JSON.stringify({ conference_name: name, rule_id: ruleId }));

    await (stack as RunningStack).waitForOutput(new RegExp(`1 in batchItemFailures \\(${id}\\)`), 15_000);
    await eventually(() => conferenceNamed(name), 20_000, 'the redelivered conference');
    await (stack as RunningStack).waitForOutput(/queue\s+1 record \(receive #2\) → 1 done \(deleted\)/, 10_000);

    const calls = (await emulator.requests()).filter((r) => r.params.conference_name === name);
    expect(calls.filter((r) => r.status === 503).length).toBeGreaterThanOrEqual(2);
    expect(calls.filter((r) => r.outcome === 'success')).toHaveLength(1);
    expect((await deadLetters()).some((m) => m.Body?.includes(name))).toBe(false);
  }, 40_000);

  test('a record failing every receive is dead-lettered by the function on its last receive, with its reason', async () => {
    const name = 'e2e-redrive';
    await emulator.fault({ type: 'http', status: 503, conferenceName: name });
    const body = JSON.stringify({ conference_name: name, rule_id: ruleId });
    const id = await enqueue(body);
    const moved = await deadLetterWithBody(body, (MAX_RECEIVE_COUNT + 2) * VISIBILITY_TIMEOUT_SECONDS * 1000);
    // A new message in the dead-letter queue, naming the one it came from.
    expect(moved.MessageAttributes?.source_id?.StringValue).toBe(id);
    const peek = (await (await fetch(`${info().controlUrl}/dead-letters`)).json()) as {
      message_id: string;
      origin: string;
    }[];
    expect(peek.find((m) => m.message_id === moved.MessageId)?.origin).toMatch(/^queue function/);
    // Sent by the function on the queue's last receive, before the redrive policy would: with its reason.
    expect(moved.MessageAttributes?.error_code?.StringValue).toBe('voximplant_unavailable');
    expect(moved.MessageAttributes?.receive_count?.StringValue).toBe(String(MAX_RECEIVE_COUNT));
    expect(moved.MessageAttributes?.outcome?.StringValue).toBe('failed');
    // Each receive was a real attempt, and ChangeMessageVisibility did not count as one (local/local-aws-sqs.ts).
    const receives = (await emulator.requests()).filter((r) => r.params.conference_name === name && r.status === 503);
    expect(receives.length).toBeGreaterThanOrEqual(MAX_RECEIVE_COUNT);
    await emulator.clearFaults();
  }, 40_000);
});

describe('schedule trigger (infra/schedules.yml -> local scheduler -> schedule function)', () => {
  test('lists the declared schedules with their next run', async () => {
    const list = (await (await fetch(`${info().controlUrl}/schedules`)).json()) as {
      name: string;
      enabled: boolean;
      next_fire_time: string | null;
    }[];
    // The shipped examples are disabled: they run only when fired by name.
    expect(list.find((s) => s.name === 'weekday-standup')).toMatchObject({ enabled: false, next_fire_time: null });
    expect(list.find((s) => s.name === 'monthly-review')).toMatchObject({ enabled: false, next_fire_time: null });
  });

  test('fired now, it starts its conference with the deployed input shape', async () => {
    const response = await fetch(`${info().controlUrl}/schedules/weekday-standup/fire`, { method: 'POST' });
    const result = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(200);
    expect(result).toMatchObject({ schedule: 'weekday-standup', outcome: 'started' });
    expect(result.scheduled_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(result.execution_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await conferenceNamed('weekday-standup')).toMatchObject({ ruleId });
  }, 20_000);

  test('an unknown schedule is a 404 listing the known ones', async () => {
    const response = await fetch(`${info().controlUrl}/schedules/nope/fire`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { schedules: string[] }).schedules).toContain('weekday-standup');
  });
});

const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).status === 0;

describe("the banner's copy-paste commands", () => {
  (hasCurl ? test : test.skip)(
    'each one works as printed (sh + curl)',
    async () => {
      const commands = triggerCommands(info());
      const run = (command: string) => {
        const result = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 20_000 });
        expect(result.status).toBe(0);
        return result.stdout;
      };
      // The HTTP command's conference "demo" is new; the second run joins it. curl -sS prints only the body:
      // checked against the document's 200 without headers.
      const http = () =>
        expectMatchesOpenApi('POST', info().conferencesUrl, {
          status: 200,
          headers: undefined,
          body: run(commands.http),
        });
      const first = http() as Record<string, unknown>;
      expect(first.conference_name).toBe('demo');
      expect(http()).toEqual(first);

      expect(run(commands.enqueue)).toMatch(/<MessageId>[0-9a-f-]{36}<\/MessageId>/);
      await eventually(() => conferenceNamed('from-queue'), 15_000, "the conference of the banner's queue command");

      expect(JSON.parse(run(commands.fireSchedule as string))).toMatchObject({ outcome: 'started' });
      const conferences = JSON.parse(run(commands.emulatorConferences as string)) as { name: string }[];
      expect(conferences.map((c) => c.name)).toEqual(expect.arrayContaining(['demo', 'from-queue', 'weekday-standup']));
      const letters = JSON.parse(run(commands.deadLetters)) as { attributes: Record<string, string> }[];
      expect(letters.some((m) => m.attributes.error_code === 'voximplant_rejected_request')).toBe(true);

      type Entry = { DetailType: string; EventBusName: string; Detail: Record<string, unknown> };
      const events = JSON.parse(run(commands.events)) as Entry[];
      expect(events.every((e) => e.EventBusName === 'voxconf-local')).toBe(true);
      const started = (name: string) =>
        events.some((e) => e.DetailType === 'Conference Started' && e.Detail.conference_name === name);
      expect(started('from-queue') && started('weekday-standup')).toBe(true);
      const failed = JSON.parse(run(commands.failedEvents)) as Entry[];
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((e) => e.DetailType === 'Conference Start Failed' && e.Detail.final === true)).toBe(true);

      // The lifecycle of "demo": someone joins, its status, a command, the list, the end. curl prints bodies only.
      const demoUrl = `${info().conferencesUrl}/demo`;
      const documented = (method: string, url: string, command: string, status = 200) =>
        expectMatchesOpenApi(method, url, { status, headers: undefined, body: run(command) }) as Record<string, any>;
      expect(http()).toEqual(first); // the follow block's start again: still running, the same session
      expect(JSON.parse(run(commands.addParticipant as string))).toMatchObject({ displayName: 'Ada' });
      expect(documented('GET', demoUrl, commands.conferenceStatus)).toMatchObject({
        conference_name: 'demo',
        status: 'active',
        reference_scenario: true,
        session: { reachable: true, participant_count: 1 },
      });
      expect(documented('POST', `${demoUrl}/commands`, commands.conferenceCommand)).toMatchObject({
        status: 200,
        body: { ok: true, command: 'status', conference_name: 'demo', participant_count: 1 },
      });
      const active = documented('GET', info().conferencesUrl, commands.activeConferences);
      expect(active.conferences.map((c: { conference_name: string }) => c.conference_name)).toContain('demo');
      expect(run(commands.endConference)).toBe(''); // 204
      expect(await conferenceNamed('demo')).toMatchObject({ active: false, endCause: 'stop' });
      const ended = documented('GET', demoUrl, commands.conferenceStatus);
      expect(ended).toMatchObject({ conference_name: 'demo', status: 'ended', end_reason: 'stopped' });
      expect(ended).not.toHaveProperty('media_session_access_secure_url');
    },
    40_000,
  );
});

describe('the dead-letter queue from the control endpoint', () => {
  test('DELETE /dead-letters empties it at once', async () => {
    expect((await deadLetters()).length).toBeGreaterThan(0);
    const response = await fetch(`${info().controlUrl}/dead-letters`, { method: 'DELETE' });
    expect(((await response.json()) as { deleted: number }).deleted).toBeGreaterThan(0);
    expect(await (await fetch(`${info().controlUrl}/dead-letters`)).json()).toEqual([]);
  }, 20_000);
});

describe('Ctrl-C', () => {
  test('stops everything: exit 0, no process, no port left', async () => {
    const running = stack as RunningStack;
    const { ports, offlinePid } = running.info;
    const result = await running.stop('SIGINT');
    stopped = true;
    process.stdout.write(`local stack stopped in ${result.ms} ms\n`);
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(running.output()).toMatch(/stack\s+stopped/);
    expect(processAlive(offlinePid)).toBe(false);
    expect(leftoverProcesses(offlinePid, `--httpPort ${ports.http} `)).toEqual([]);
    expect(await openPorts(Object.values(ports))).toEqual([]);
  }, 30_000);

  test('nothing the stack printed holds a key, a token or a media session URL', () => {
    expect(scanForLeaks((stack as RunningStack).output(), 'local stack output')).toEqual([]);
  });
});

/** Local addresses of the TCP sockets listening on these ports, from /proc/net/tcp and tcp6 (Linux). */
function listeningAddresses(ports: number[]): Map<number, string[]> {
  const found = new Map<number, string[]>(ports.map((port) => [port, []]));
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue; // 0A: LISTEN
      const [hexAddress, hexPort] = local.split(':');
      const port = parseInt(hexPort!, 16);
      if (!found.has(port)) continue;
      const address =
        hexAddress!.length === 8
          ? hexAddress!
              .match(/../g)!
              .reverse()
              .map((byte) => parseInt(byte, 16))
              .join('.')
          : hexAddress === '00000000000000000000000001000000'
            ? '::1'
            : `ipv6:${hexAddress}`;
      found.get(port)!.push(address);
    }
  }
  return found;
}
