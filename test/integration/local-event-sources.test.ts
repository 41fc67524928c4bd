/**
 * The local stack's stand-ins for Lambda's event sources, each against a scripted function:
 *   - the queue poller on a real local SQS (local/sqs.ts): what it deletes, what it leaves for redelivery;
 *   - the scheduler: the invocation input, Lambda-style retries and the on-failure record;
 *   - the scheduler with the EventBridge Scheduler stand-in (local/scheduler-api.ts): the schedules API's schedules
 *     fired at their second, re-armed when moved, disarmed when cancelled, deleted after their last run.
 */

import { createRequire } from 'node:module';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { parseScheduledEvent } from '../../lib/schedule.js';
import type { InvokeResult } from '../../local/lambda-invoke.js';
import { type QueuePoller, startQueuePoller } from '../../local/queue-poller.js';
import { type ScheduleInvocation, type Scheduler, startScheduler } from '../../local/scheduler.js';
import { type SchedulerStandIn, startSchedulerApi } from '../../local/scheduler-api.js';
import { type LocalSqs, startSqs } from '../../local/sqs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const schedulesCjs = createRequire(import.meta.url)('../../infra/schedules.cjs') as {
  buildScheduleResources(
    entries: unknown[],
    settings: { maxEventAgeSeconds: number },
  ): Record<string, { Properties: { Target: { Input: string } } }>;
};

async function until<T>(check: () => T | undefined | Promise<T | undefined>, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

describe('queue poller (event source mapping with ReportBatchItemFailures)', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let poller: QueuePoller | undefined;
  const lines: string[] = [];

  beforeEach(async () => {
    sqs = await startSqs({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
    client = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    lines.length = 0;
  });

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
    client.destroy();
    await sqs.close();
  });

  const start = (answer: (event: SQSEvent) => Promise<InvokeResult>) => {
    const events: SQSEvent[] = [];
    poller = startQueuePoller({
      sqs: client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: 'us-east-1',
      invoke: (event) => {
        events.push(event as unknown as SQSEvent);
        return answer(event as unknown as SQSEvent);
      },
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 2,
      idleDelayMs: 20,
      log: (source, message) => lines.push(`${source} ${message}`),
    });
    return events;
  };
  const send = async (body: string) =>
    (
      await client.send(
        new SendMessageCommand({
          QueueUrl: sqs.queueUrl,
          MessageBody: body,
          MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } },
        }),
      )
    ).MessageId as string;
  const count = async (queueUrl: string) => {
    // VisibilityTimeout 0 leaves them visible; local-aws-sqs may then return one twice in a receive: count ids.
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    return new Set(Messages.map((m) => m.MessageId)).size;
  };

  test('invokes with real SQS records and deletes all but the reported ones, which come back', async () => {
    const keep = await send('keep');
    await send('done');
    const events = start(async (event) => {
      const ids = event.Records.filter((r) => r.body === 'keep' && r.attributes.ApproximateReceiveCount === '1').map(
        (r) => r.messageId,
      );
      return {
        statusCode: 200,
        functionError: undefined,
        payload: { batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) },
      };
    });
    const second = await until(() =>
      events.find((e) => e.Records.some((r) => r.attributes.ApproximateReceiveCount === '2')),
    );
    expect(second.Records.map((r) => r.messageId)).toEqual([keep]);

    const record = events[0].Records[0];
    expect(record).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn,
      awsRegion: 'us-east-1',
      messageAttributes: {
        origin: { stringValue: 'test', dataType: 'String', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(record.md5OfBody).toMatch(/^[0-9a-f]{32}$/);
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
    await until(() => (lines.some((l) => /receive #2\) → 1 done \(deleted\)/.test(l)) ? true : undefined));
    expect(await count(sqs.queueUrl)).toBe(0);
    expect(await count(sqs.deadLetterQueueUrl)).toBe(0);
  });

  test('a failed invocation deletes nothing; the redrive policy moves the record after maxReceiveCount', async () => {
    const id = await send('boom');
    const events = start(async () => ({
      statusCode: 200,
      functionError: 'Unhandled',
      payload: { errorType: 'Error', errorMessage: 'kaput' },
    }));
    const t0 = Date.now();
    await until(async () => ((await count(sqs.deadLetterQueueUrl)) === 1 ? true : undefined), 10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(events.map((e) => e.Records[0].messageId)).toEqual([id, id]);
    expect(lines.some((l) => l.includes('nothing deleted, the function failed: kaput'))).toBe(true);
    expect(
      lines.some((l) =>
        l.includes('received 2 times (maxReceiveCount): the redrive policy moves it to the dead-letter queue'),
      ),
    ).toBe(true);
  }, 15_000);

  test('an answer Lambda cannot read fails the whole batch', async () => {
    await send('x');
    const events = start(async () => ({
      statusCode: 200,
      functionError: undefined,
      payload: { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] },
    }));
    await until(() => (events.length >= 2 ? true : undefined), 5000);
    expect(lines[0]).toMatch(/nothing deleted, batchItemFailures names "not-in-batch"/);
  });
});

describe('scheduler (EventBridge Scheduler + asynchronous invocation)', () => {
  const entry = {
    name: 'standup',
    schedule: 'cron(0 9 ? * MON-FRI *)',
    timezone: 'Europe/Berlin',
    request: { conference_name: 'standup', rule_id: 7 },
  };

  /** A scheduler firing one UTC entry on its own clock, recording what it sends and answering "started". */
  function firingScheduler(schedule: string, inputs: ScheduleInvocation[]) {
    return startScheduler({
      entries: [{ ...entry, schedule, timezone: 'UTC' }],
      invoke: async (event) => {
        inputs.push(event);
        return { statusCode: 200, functionError: undefined, payload: { outcome: 'started' } };
      },
      sendOnFailureRecord: async () => {},
      functionArn: 'arn',
      autoFire: true,
      retryDelaysSeconds: [],
      log: () => {},
    });
  }

  test("fire() sends the deployed input and reports the function's answer", async () => {
    const inputs: ScheduleInvocation[] = [];
    const scheduler = startScheduler({
      entries: [entry],
      invoke: async (event) => {
        inputs.push(event);
        return {
          statusCode: 200,
          functionError: undefined,
          payload: { outcome: 'started', conference_name: 'standup', call_session_history_id: 5 },
        };
      },
      sendOnFailureRecord: async () => {},
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-local-schedule',
      autoFire: true,
      retryDelaysSeconds: [0, 0],
      log: () => {},
      now: () => new Date('2026-11-26T07:59:59.400Z'),
    });
    const result = await scheduler.fire('standup');
    expect(inputs).toEqual([
      {
        request: entry.request,
        scheduled_time: '2026-11-26T07:59:59Z',
        execution_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        schedule_name: 'standup',
      },
    ]);
    // The deployed schedule's input (infra/schedules.cjs), placeholders filled in; the function's parser takes it.
    const deployed = JSON.parse(
      schedulesCjs.buildScheduleResources([entry], { maxEventAgeSeconds: 600 }).ScheduleStandup.Properties.Target.Input,
    ) as Record<string, unknown>;
    expect(Object.keys(inputs[0] as object)).toEqual(Object.keys(deployed));
    expect(parseScheduledEvent(inputs[0])).toMatchObject({
      scheduleName: 'standup',
      executionId: inputs[0]?.execution_id,
    });
    expect(result).toMatchObject({ schedule: 'standup', outcome: 'started', result: { call_session_history_id: 5 } });
    expect(scheduler.list()[0].next_fire_time).toBe('2026-11-26T08:00:00Z');
    await scheduler.stop();
  });

  test("an entry's correlation_id travels in the input, as the deployed schedule's does", async () => {
    const inputs: ScheduleInvocation[] = [];
    const scheduler = startScheduler({
      entries: [{ ...entry, correlation_id: 'booking-42' }],
      invoke: async (event) => {
        inputs.push(event);
        return { statusCode: 200, functionError: undefined, payload: { outcome: 'started' } };
      },
      sendOnFailureRecord: async () => {},
      functionArn: 'arn',
      autoFire: false,
      retryDelaysSeconds: [],
      log: () => {},
    });
    await scheduler.fire('standup');
    expect(inputs[0]).toMatchObject({ schedule_name: 'standup', correlation_id: 'booking-42' });
    expect(parseScheduledEvent(inputs[0])).toMatchObject({ correlationId: 'booking-42' });
    await scheduler.stop();
  });

  test('fires on time, with the scheduled time, not the time it ran', async () => {
    const inputs: ScheduleInvocation[] = [];
    const soon = new Date(Math.ceil((Date.now() + 1200) / 1000) * 1000);
    const scheduler = firingScheduler(`at(${soon.toISOString().slice(0, 19)})`, inputs);
    await until(() => (inputs.length > 0 ? true : undefined), 5000);
    expect(inputs[0].scheduled_time).toBe(soon.toISOString().replace('.000Z', 'Z'));
    await scheduler.stop();
  });

  test('a rate() schedule runs at once, then every period', async () => {
    const inputs: ScheduleInvocation[] = [];
    const before = Date.now();
    const scheduler = firingScheduler('rate(1 minute)', inputs);
    await until(() => (inputs.length > 0 ? true : undefined), 3000);
    expect(Math.abs(Date.parse(inputs[0].scheduled_time) - before)).toBeLessThan(2000);
    expect(
      Date.parse(scheduler.list()[0].next_fire_time as string) - Date.parse(inputs[0].scheduled_time),
    ).toBeGreaterThanOrEqual(59_000);
    await scheduler.stop();
  });

  test('a failing run is retried twice, then an on-failure record with the payload goes to the dead-letter queue', async () => {
    const inputs: ScheduleInvocation[] = [];
    const records: string[] = [];
    const scheduler = startScheduler({
      entries: [entry],
      invoke: async (event) => {
        inputs.push(event);
        return {
          statusCode: 200,
          functionError: 'Unhandled',
          payload: { errorType: 'Error', errorMessage: 'Voximplant is unavailable' },
        };
      },
      sendOnFailureRecord: async (body) => {
        records.push(body);
      },
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-local-schedule',
      autoFire: false,
      retryDelaysSeconds: [0, 0],
      log: () => {},
    });
    const first = await scheduler.fire('standup');
    expect(first).toMatchObject({ outcome: 'failed', error: 'Voximplant is unavailable', retry: 'in 0 s' });
    await until(() => (records.length > 0 ? true : undefined));
    expect(inputs).toHaveLength(3);
    expect(new Set(inputs.map((i) => i.execution_id)).size).toBe(1);
    expect(JSON.parse(records[0])).toMatchObject({
      requestContext: {
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
        functionArn: expect.stringContaining(':$LATEST'),
      },
      requestPayload: inputs[0],
      responseContext: { functionError: 'Unhandled' },
      responsePayload: { errorMessage: 'Voximplant is unavailable' },
    });
    expect(scheduler.list()[0].next_fire_time).toBeNull();
    await scheduler.stop();
  });
});

describe("scheduler with the Scheduler stand-in (the schedules API's schedules)", () => {
  const DEPLOY = 'voxconf-local';
  const API = 'voxconf-local-api';
  let standIn: SchedulerStandIn;
  let client: SchedulerClient;
  let scheduler: Scheduler | undefined;
  let inputs: { event: ScheduleInvocation; at: number }[];
  const lines: string[] = [];

  beforeEach(async () => {
    standIn = await startSchedulerApi({ groups: [DEPLOY, API] });
    client = new SchedulerClient({
      endpoint: standIn.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    inputs = [];
    lines.length = 0;
  });

  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    client.destroy();
    await standIn.close();
  });

  const start = (autoFire = true) => {
    scheduler = startScheduler({
      entries: [],
      entriesGroup: DEPLOY,
      api: { standIn, groups: [API] },
      invoke: async (event) => {
        inputs.push({ event, at: Date.now() });
        const conference = (event.request as { conference_name: string }).conference_name;
        return {
          statusCode: 200,
          functionError: undefined,
          payload: { outcome: 'started', conference_name: conference, call_session_history_id: inputs.length },
        };
      },
      sendOnFailureRecord: async () => {},
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-local-schedule',
      autoFire,
      retryDelaysSeconds: [],
      log: (_source, line) => lines.push(line),
    });
    return scheduler;
  };

  /** A schedule as the schedules API writes it (lib/scheduler-mapping.ts): the wrapper input with placeholders. */
  const schedule = (name: string, expression: string, extra: Partial<CreateScheduleCommandInput> = {}) =>
    ({
      Name: name,
      GroupName: API,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: expression.startsWith('at(') ? 'DELETE' : 'NONE',
      Target: {
        Arn: 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-local-schedule',
        RoleArn: 'arn:aws:iam::000000000000:role/voxconf-local-scheduler-api',
        Input: JSON.stringify({
          request: { conference_name: name, rule_id: 7 },
          scheduled_time: '<aws.scheduler.scheduled-time>',
          execution_id: '<aws.scheduler.execution-id>',
          schedule_name: name,
          correlation_id: `booking-${name}`,
        }),
      },
      ...extra,
    }) as CreateScheduleCommandInput;
  /** `at(...)` of the whole second `seconds` from now (at least `seconds - 1` ahead), and that second. */
  const secondsAhead = (seconds: number) => {
    const when = new Date(Math.ceil(Date.now() / 1000) * 1000 + (seconds - 1) * 1000);
    return { expression: `at(${when.toISOString().slice(0, 19)})`, when };
  };

  test('a one-time schedule fires at its second, with its wrapper filled in, and is then deleted', async () => {
    start();
    const { expression, when } = secondsAhead(2);
    await client.send(new CreateScheduleCommand(schedule('once', expression)));
    expect(scheduler?.list()).toEqual([
      expect.objectContaining({
        name: 'once',
        group: API,
        managed_by: 'api',
        enabled: true,
        request: { conference_name: 'once', rule_id: 7 },
        next_fire_time: when.toISOString().replace('.000Z', 'Z'),
      }),
    ]);
    const { event, at } = await until(() => inputs[0], 5000);
    expect(at).toBeGreaterThanOrEqual(when.getTime());
    expect(at - when.getTime()).toBeLessThan(500);
    expect(event).toEqual({
      request: { conference_name: 'once', rule_id: 7 },
      scheduled_time: when.toISOString().replace('.000Z', 'Z'),
      execution_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      schedule_name: 'once',
      correlation_id: 'booking-once',
    });
    expect(parseScheduledEvent(event)).toMatchObject({ scheduleName: 'once', correlationId: 'booking-once' });
    await until(() => (standIn.schedule(API, 'once') === undefined ? true : undefined), 2000);
    expect(scheduler?.list()).toEqual([]);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^voxconf-local-api\/once created: at\(.+\) UTC, next /),
        'voxconf-local-api/once deleted after its last run (ActionAfterCompletion DELETE)',
        'voxconf-local-api/once fired on schedule → started conference "once" (call_session_history_id 1)',
      ]),
    );
  });

  test('moved (UpdateSchedule), it fires at the new time only; cancelled (DeleteSchedule), not at all', async () => {
    start();
    const first = secondsAhead(1);
    const moved = secondsAhead(3);
    await client.send(new CreateScheduleCommand(schedule('moved', first.expression)));
    await client.send(new CreateScheduleCommand(schedule('cancelled', first.expression)));
    await client.send(new UpdateScheduleCommand(schedule('moved', moved.expression)));
    await client.send(new DeleteScheduleCommand({ Name: 'cancelled', GroupName: API }));
    await sleep(first.when.getTime() - Date.now() + 600);
    expect(inputs).toEqual([]);
    const { event, at } = await until(() => inputs[0], 4000);
    expect(event.schedule_name).toBe('moved');
    expect(event.scheduled_time).toBe(moved.when.toISOString().replace('.000Z', 'Z'));
    expect(at - moved.when.getTime()).toBeLessThan(500);
    await sleep(300);
    expect(inputs).toHaveLength(1);
    expect(lines).toContain('voxconf-local-api/cancelled deleted (cancelled)');
  });

  test('fire(name, group) fires any schedule now; a recurring one stays, a disabled one is not armed', async () => {
    start();
    await client.send(new CreateScheduleCommand(schedule('weekly', 'cron(0 9 ? * MON *)')));
    await client.send(new CreateScheduleCommand(schedule('paused', 'cron(0 9 ? * MON *)', { State: 'DISABLED' })));
    const before = Math.floor(Date.now() / 1000) * 1000;
    const result = await (scheduler as Scheduler).fire('weekly', API);
    expect(result).toMatchObject({ schedule: 'weekly', group: API, outcome: 'started' });
    expect(Date.parse(inputs[0]?.event.scheduled_time as string)).toBeGreaterThanOrEqual(before);
    expect(standIn.schedule(API, 'weekly')).toBeDefined();
    expect(scheduler?.has('weekly', API)).toBe(true);
    expect(scheduler?.has('weekly')).toBe(false);
    expect(scheduler?.groups()).toEqual([DEPLOY, API]);
    const listed = scheduler?.list() ?? [];
    expect(listed.find((s) => s.name === 'weekly')?.next_fire_time).toMatch(/T09:00:00Z$/);
    expect(listed.find((s) => s.name === 'paused')).toMatchObject({ enabled: false, next_fire_time: null });
    await expect((scheduler as Scheduler).fire('nope', API)).rejects.toThrow(/no schedule named "nope"/);
  });

  test('with automatic runs off, nothing is armed; fire() still works', async () => {
    start(false);
    const { expression, when } = secondsAhead(1);
    await client.send(new CreateScheduleCommand(schedule('manual', expression)));
    expect(scheduler?.list()[0]?.next_fire_time).toBeNull();
    await sleep(when.getTime() - Date.now() + 400);
    expect(inputs).toEqual([]);
    await (scheduler as Scheduler).fire('manual', API);
    expect(inputs).toHaveLength(1);
    // Its time has passed: after this run nothing is left, so Scheduler's clean-up deletes it.
    expect(standIn.schedule(API, 'manual')).toBeUndefined();
  });

  test('schedules of other groups (the deploy copies) are neither armed nor listed from the stand-in', async () => {
    start();
    const { expression } = secondsAhead(1);
    await client.send(new CreateScheduleCommand({ ...schedule('deployed', expression), GroupName: DEPLOY }));
    expect(scheduler?.list()).toEqual([]);
    await sleep(1500);
    expect(inputs).toEqual([]);
  });
});
