/**
 * End to end, issue 12: the final outcome of every start from the queue and from a schedule is one event on the
 * stack's bus, read back from the stack's control API (`GET /events`, the EventBridge stand-in's record), with the
 * local stack started as `npm start` starts it and driven over the real SQS protocol and the control API:
 *
 *   a queue message that starts (with the producer's correlation_id), one refused for good, one whose retries run
 *   out (503 on every receive), one that fails once and then starts; a schedule that fires, one that fails, one that
 *   retries inside its invocation and then starts.
 *
 * Each ends with exactly one final event with the right detail, valid against docs/events/*.schema.json; every
 * message is either started or in the dead-letter queue with its reason; no event is published for a failure that
 * SQS or the schedule function still retries. Then Ctrl-C: nothing left listening.
 *
 * Local settings keep it short: visibility timeout 3 s, maxReceiveCount 3, redelivery after ~1 s then ~2 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { DeadLetter } from '../../local/control-server.js';
import type { RecordedEvent } from '../../local/eventbridge.js';
import { connectEmulator, type EmulatorControlClient } from '../../local/voximplant-emulator/index.js';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import { localSqsClient } from '../helpers/dlq.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';
import {
  eventually,
  freePortBase,
  openPorts,
  type RunningStack,
  sleep,
  startLocalStack,
} from '../helpers/local-stack.js';

const MAX_RECEIVE_COUNT = 3;
const STARTED = 'Conference Started';
const FAILED = 'Conference Start Failed';

let stack: RunningStack | undefined;
let stopped = false;
let emulator: EmulatorControlClient;
let sqs: SQSClient;
let ruleId: number;
let dir: string;
const began = Date.now();

const info = () => (stack as RunningStack).info;
const control = async <T>(path: string, init?: RequestInit): Promise<T> =>
  (await (await fetch(`${info().controlUrl}${path}`, init)).json()) as T;
const events = (detailType?: string) =>
  control<RecordedEvent[]>(`/events${detailType ? `?detail_type=${encodeURIComponent(detailType)}` : ''}`);
const eventsOf = async (sourceId: string) => (await events()).filter((e) => e.Detail.source_id === sourceId);
const deadLetters = () => control<DeadLetter[]>('/dead-letters');

async function enqueue(name: string, options: { ruleId?: number; correlationId?: string } = {}): Promise<string> {
  const { MessageId } = await sqs.send(
    new SendMessageCommand({
      QueueUrl: info().queueUrl,
      MessageBody: JSON.stringify({ conference_name: name, rule_id: options.ruleId ?? ruleId }),
      ...(options.correlationId
        ? { MessageAttributes: { correlation_id: { DataType: 'String', StringValue: options.correlationId } } }
        : {}),
    }),
  );
  return MessageId as string;
}

/** The one event of a source, once it is there; then a moment more, to see that no second one follows. */
async function onlyEventOf(sourceId: string, timeoutMs: number): Promise<RecordedEvent> {
  await eventually(async () => ((await eventsOf(sourceId)).length > 0 ? true : undefined), timeoutMs, sourceId);
  await sleep(300);
  const found = await eventsOf(sourceId);
  expect(found).toHaveLength(1);
  return found[0] as RecordedEvent;
}

const fire = async (name: string) => {
  const response = await fetch(`${info().controlUrl}/schedules/${name}/fire`, { method: 'POST' });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voxconf-e2e-events-'));
  const schedulesFile = join(dir, 'schedules.yml');
  // Disabled: fired by name only. The default rule (the emulator's) starts them, 999999 does not exist.
  writeFileSync(
    schedulesFile,
    [
      'schedules:',
      '  - { name: e2e-sched-ok, schedule: "cron(0 9 ? * MON-FRI *)", timezone: UTC, enabled: false,',
      '      correlation_id: class-42, request: { conference_name: e2e-sched-ok } }',
      '  - { name: e2e-sched-fail, schedule: "cron(0 9 ? * MON-FRI *)", timezone: UTC, enabled: false,',
      '      request: { conference_name: e2e-sched-fail, rule_id: 999999 } }',
      '  - { name: e2e-sched-retry, schedule: "cron(0 9 ? * MON-FRI *)", timezone: UTC, enabled: false,',
      '      request: { conference_name: e2e-sched-retry } }',
      '',
    ].join('\n'),
  );
  stack = await startLocalStack({
    VOXCONF_PORT_BASE: String(await freePortBase()),
    VOXCONF_LATENCY_MS: '10',
    VOXCONF_QUEUE_VISIBILITY_TIMEOUT_SECONDS: '3',
    VOXCONF_QUEUE_MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    VOXCONF_SCHEDULES_FILE: schedulesFile,
  });
  process.stdout.write(`outcome events: local stack ready in ${stack.readyMs} ms\n`);
  emulator = connectEmulator(stack.info.emulator?.origin as string);
  ruleId = stack.info.emulator?.ruleId as number;
  sqs = localSqsClient(stack.info.sqsEndpoint);
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  if (stack && !stopped) await stack.stop('SIGKILL').catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`outcome events: ${Date.now() - began} ms in all\n`);
});

describe('every start from the queue or a schedule ends with one final event', () => {
  const ids: Record<string, string> = {};
  const fired: Record<string, Record<string, any>> = {};

  test('the functions publish on the stack bus, voxconf-local, through the EventBridge stand-in', () => {
    expect(info().eventBusName).toBe('voxconf-local');
    expect(new URL(info().eventBridgeEndpoint).hostname).toBe('127.0.0.1');
  });

  test('queue and schedules, all at once: each start has its one event with the right detail', async () => {
    // 503 on every receive: retried by SQS twice, dead-lettered on the third. 503 for the first receive's three
    // attempts only: started on the second receive. 503 for the first round of a schedule run: started in round 2.
    await emulator.fault({ type: 'http', status: 503, conferenceName: 'e2e-ev-exhausted' });
    await emulator.fault({ type: 'http', status: 503, conferenceName: 'e2e-ev-second', times: 3 });
    await emulator.fault({ type: 'http', status: 503, conferenceName: 'e2e-sched-retry', times: 3 });

    [ids.started, ids.refused, ids.exhausted, ids.second] = await Promise.all([
      enqueue('e2e-ev-started', { correlationId: 'booking-7' }),
      enqueue('e2e-ev-refused', { ruleId: 999_999, correlationId: 'booking-8' }),
      enqueue('e2e-ev-exhausted'),
      enqueue('e2e-ev-second'),
    ]);
    const [ok, failed, retried] = await Promise.all([
      fire('e2e-sched-ok'),
      fire('e2e-sched-fail'),
      fire('e2e-sched-retry'),
    ]);
    expect([ok.status, ok.body.outcome]).toEqual([200, 'started']);
    expect([failed.status, failed.body.outcome]).toEqual([200, 'dead_lettered']);
    expect([retried.status, retried.body.outcome]).toEqual([200, 'started']);
    Object.assign(fired, { ok: ok.body, failed: failed.body, retried: retried.body });

    // Queue: started, with the producer's correlation id and the session Voximplant started.
    const started = await onlyEventOf(ids.started as string, 15_000);
    const conference = (await emulator.conferences()).find((c) => c.name === 'e2e-ev-started');
    expect(started).toMatchObject({
      EventBusName: 'voxconf-local',
      Source: 'voxconf',
      DetailType: STARTED,
      Detail: {
        stage: 'local',
        source: 'queue',
        source_id: ids.started,
        correlation_id: 'booking-7',
        conference_name: 'e2e-ev-started',
        rule_id: ruleId,
        call_session_history_id: conference?.callSessionHistoryId,
        attempts: 1,
      },
    });

    // Queue: refused for good at once.
    expect(await onlyEventOf(ids.refused as string, 15_000)).toMatchObject({
      DetailType: FAILED,
      Detail: {
        source: 'queue',
        correlation_id: 'booking-8',
        conference_name: 'e2e-ev-refused',
        error_code: 'voximplant_rejected_request',
        voximplant_code: 147,
        retryable: false,
        outcome: 'failed',
        final: true,
      },
    });

    // Schedules: the one that fired, the one that failed, the one that retried inside its invocation.
    expect(await onlyEventOf(fired.ok?.execution_id, 5_000)).toMatchObject({
      DetailType: STARTED,
      Detail: {
        source: 'schedule',
        schedule_name: 'e2e-sched-ok',
        scheduled_time: fired.ok?.scheduled_time,
        correlation_id: 'class-42',
        conference_name: 'e2e-sched-ok',
        call_session_history_id: fired.ok?.result.call_session_history_id,
      },
    });
    expect(await onlyEventOf(fired.failed?.execution_id, 5_000)).toMatchObject({
      DetailType: FAILED,
      Detail: {
        source: 'schedule',
        schedule_name: 'e2e-sched-fail',
        scheduled_time: fired.failed?.scheduled_time,
        error_code: 'voximplant_rejected_request',
        retryable: false,
        final: true,
      },
    });
    const afterRetry = await onlyEventOf(fired.retried?.execution_id, 5_000);
    expect(afterRetry).toMatchObject({
      DetailType: STARTED,
      Detail: { schedule_name: 'e2e-sched-retry', conference_name: 'e2e-sched-retry' },
    });
    // Three failed attempts in round 1, then the one that started it: one event, after all four.
    expect(afterRetry.Detail.attempts).toBe(4);

    // Queue: failed once then started on the second receive; failed on every receive, dead-lettered on the last.
    expect(await onlyEventOf(ids.second as string, 15_000)).toMatchObject({
      DetailType: STARTED,
      Detail: { conference_name: 'e2e-ev-second' },
    });
    expect(await onlyEventOf(ids.exhausted as string, 20_000)).toMatchObject({
      DetailType: FAILED,
      Detail: {
        source: 'queue',
        conference_name: 'e2e-ev-exhausted',
        error_code: 'voximplant_unavailable',
        retryable: true,
        final: true,
      },
    });
    await emulator.clearFaults();
  }, 60_000);

  test('no event for a failure still retried: the redelivered records and the retried schedule round', async () => {
    const output = (stack as RunningStack).output();
    // They did fail first: reported for redelivery (queue), tried again in the invocation (schedule).
    for (const id of [ids.exhausted, ids.second]) expect(output).toContain(id as string);
    expect(output).toMatch(new RegExp(`in batchItemFailures \\([^)]*${ids.second}`));
    const requests = await emulator.requests();
    const failures = (name: string) =>
      requests.filter((r) => r.params.conference_name === name && r.status === 503).length;
    expect(failures('e2e-ev-exhausted')).toBeGreaterThanOrEqual(MAX_RECEIVE_COUNT);
    expect(failures('e2e-ev-second')).toBe(3);
    expect(failures('e2e-sched-retry')).toBe(3);

    const all = await events();
    // Seven starts, seven events: none for the two receives and the schedule round that failed on the way.
    expect(all).toHaveLength(7);
    expect(new Set(all.map((e) => e.Detail.source_id)).size).toBe(7);
    expect(all.filter((e) => e.DetailType === FAILED).every((e) => e.Detail.final === true)).toBe(true);
    expectEventsMatchSchemas(all.map((e) => ({ detailType: e.DetailType, detail: e.Detail })));
    // Never a media URL, a token or the request's script_custom_data.
    expect(JSON.stringify(all)).not.toMatch(/media_session|token|script_custom_data|https?:/);
  });

  test('every message is either started or in the dead-letter queue with its reason; none is left', async () => {
    const letters = await deadLetters();
    const letterOf = (sourceId: string | undefined) => letters.find((l) => l.attributes.source_id === sourceId);
    const conferences = (await emulator.conferences()).map((c) => c.name);

    for (const name of ['e2e-ev-started', 'e2e-ev-second']) expect(conferences).toContain(name);
    expect(letterOf(ids.started)).toBeUndefined();
    expect(letterOf(ids.second)).toBeUndefined();

    expect(letterOf(ids.refused)?.attributes).toMatchObject({
      source: 'queue',
      error_code: 'voximplant_rejected_request',
      voximplant_code: '147',
      // The producer's own attributes travel with it, next to voxconf's reason.
      correlation_id: 'booking-8',
    });
    expect(letterOf(ids.exhausted)?.attributes).toMatchObject({
      source: 'queue',
      error_code: 'voximplant_unavailable',
      receive_count: String(MAX_RECEIVE_COUNT),
    });
    const scheduled = letterOf(fired.failed?.execution_id);
    expect(scheduled?.attributes).toMatchObject({ source: 'schedule', error_code: 'voximplant_rejected_request' });
    expect(JSON.parse(scheduled?.body ?? '{}')).toMatchObject({
      schedule_name: 'e2e-sched-fail',
      execution_id: fired.failed?.execution_id,
    });
    expect(letters).toHaveLength(3);

    // Nothing waits in the request queue any more.
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: info().queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  test('GET /events?detail_type= keeps one detail type, in the order published', async () => {
    const failed = await events(FAILED);
    expect(failed.map((e) => e.Detail.source_id).sort()).toEqual(
      [ids.refused, ids.exhausted, fired.failed?.execution_id].sort(),
    );
    const started = await events(STARTED);
    expect(started).toHaveLength(4);
    const all = await events();
    const times = all.map((e) => Date.parse(e.Time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const raw = await fetch(`${info().controlUrl}/events?detail_type=Conference%20Started`);
    expect(((await raw.json()) as RecordedEvent[]).map((e) => e.EventId)).toEqual(started.map((e) => e.EventId));
  });
});

describe('Ctrl-C', () => {
  test('stops the stand-in with the rest: exit 0, no port left', async () => {
    const running = stack as RunningStack;
    const result = await running.stop('SIGINT');
    stopped = true;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(await openPorts(Object.values(running.info.ports))).toEqual([]);
    // The events line of each PutEvents, and nothing that holds a key, a token or a media session URL.
    expect(running.output()).toMatch(/events\s+PutEvents: 1 Conference Started on voxconf-local/);
    expect(scanForLeaks(running.output(), 'local stack output')).toEqual([]);
  }, 30_000);
});
