/**
 * local/scheduler-api.ts, the EventBridge Scheduler stand-in, through the real @aws-sdk/client-scheduler: the five
 * schedule operations and the groups, Scheduler's errors, injected faults, and the in-process API the local
 * stack's scheduler fires schedules with.
 */

import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { type SchedulerChange, type SchedulerStandIn, startSchedulerApi } from '../../local/scheduler-api.js';

let scheduler: SchedulerStandIn;
let client: SchedulerClient;

beforeAll(async () => {
  scheduler = await startSchedulerApi({ groups: ['voxconf-test', 'voxconf-test-api'] });
  client = new SchedulerClient({
    endpoint: scheduler.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 3,
    retryStrategy: undefined,
  });
});

afterAll(async () => {
  client.destroy();
  await scheduler.close();
});

afterEach(() => scheduler.reset());

const LAMBDA = 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-test-schedule';
const ROLE = 'arn:aws:iam::000000000000:role/voxconf-test-scheduler-api';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:voxconf-test-dead-letter';

function schedule(name: string, overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    GroupName: 'voxconf-test-api',
    ScheduleExpression: 'at(2030-01-15T14:00:00)',
    ScheduleExpressionTimezone: 'Europe/Berlin',
    FlexibleTimeWindow: { Mode: 'OFF' },
    ActionAfterCompletion: 'DELETE',
    Description: 'a consultation',
    Target: {
      Arn: LAMBDA,
      RoleArn: ROLE,
      Input: JSON.stringify({
        request: { conference_name: name },
        scheduled_time: '<aws.scheduler.scheduled-time>',
        execution_id: '<aws.scheduler.execution-id>',
        schedule_name: name,
      }),
      RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 5 },
      DeadLetterConfig: { Arn: DLQ },
    },
    ...overrides,
  };
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected a failure');
}

describe('the schedule operations, through the SDK', () => {
  test('create, get (every field, dates as dates), update (a full replace), delete', async () => {
    const created = await client.send(new CreateScheduleCommand(schedule('consult-1')));
    expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/voxconf-test-api/consult-1');

    const got = await client.send(new GetScheduleCommand({ Name: 'consult-1', GroupName: 'voxconf-test-api' }));
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: 'consult-1',
      GroupName: 'voxconf-test-api',
      ScheduleExpression: 'at(2030-01-15T14:00:00)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Description: 'a consultation',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: LAMBDA, RoleArn: ROLE, DeadLetterConfig: { Arn: DLQ } },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(JSON.parse(got.Target?.Input ?? '{}').schedule_name).toBe('consult-1');

    const start = new Date(Date.now() + 3_600_000);
    await client.send(
      new UpdateScheduleCommand({
        ...schedule('consult-1'),
        ScheduleExpression: 'cron(0 10 ? * TUE *)',
        StartDate: start,
        Description: undefined,
        State: 'DISABLED',
      }),
    );
    const updated = await client.send(new GetScheduleCommand({ Name: 'consult-1', GroupName: 'voxconf-test-api' }));
    expect(updated).toMatchObject({ ScheduleExpression: 'cron(0 10 ? * TUE *)', State: 'DISABLED' });
    expect(updated.Description).toBeUndefined(); // not sent: reset
    expect(updated.StartDate?.getTime()).toBe(start.getTime()); // epoch seconds with fractions, both ways
    expect(updated.CreationDate?.getTime()).toBe(got.CreationDate?.getTime());

    await client.send(new DeleteScheduleCommand({ Name: 'consult-1', GroupName: 'voxconf-test-api' }));
    expect(
      await failure(client.send(new GetScheduleCommand({ Name: 'consult-1', GroupName: 'voxconf-test-api' }))),
    ).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
  });

  test('names are unique per group: ConflictException 409; the same name in another group is another schedule', async () => {
    await client.send(new CreateScheduleCommand(schedule('taken')));
    expect(await failure(client.send(new CreateScheduleCommand(schedule('taken'))))).toMatchObject({
      name: 'ConflictException',
      status: 409,
    });
    await client.send(new CreateScheduleCommand(schedule('taken', { GroupName: 'voxconf-test' })));
    expect(scheduler.schedules().map((s) => `${s.GroupName}/${s.Name}`)).toEqual([
      'voxconf-test/taken',
      'voxconf-test-api/taken',
    ]);
  });

  test('a create retried with its ClientToken succeeds again (the SDK keeps one token across its retries)', async () => {
    const input = schedule('retried', { ClientToken: 'token-1' });
    const first = await client.send(new CreateScheduleCommand(input));
    const again = await client.send(new CreateScheduleCommand(input));
    expect(again.ScheduleArn).toBe(first.ScheduleArn);
    expect(await failure(client.send(new CreateScheduleCommand({ ...input, ClientToken: 'token-2' })))).toMatchObject({
      name: 'ConflictException',
    });
  });

  test('not found: a schedule, an update of none, a delete of none, a group that does not exist', async () => {
    const missing = { name: 'ResourceNotFoundException', status: 404 };
    expect(
      await failure(client.send(new GetScheduleCommand({ Name: 'nope', GroupName: 'voxconf-test-api' }))),
    ).toMatchObject(missing);
    expect(await failure(client.send(new UpdateScheduleCommand(schedule('nope'))))).toMatchObject(missing);
    expect(
      await failure(client.send(new DeleteScheduleCommand({ Name: 'nope', GroupName: 'voxconf-test-api' }))),
    ).toMatchObject(missing);
    expect(
      await failure(client.send(new CreateScheduleCommand(schedule('x', { GroupName: 'no-such-group' })))),
    ).toMatchObject({
      ...missing,
      message: 'Schedule group no-such-group does not exist.',
    });
    // Without GroupName: Scheduler's `default` group.
    await client.send(new CreateScheduleCommand(schedule('in-default', { GroupName: undefined })));
    expect(scheduler.schedule('default', 'in-default')).toBeDefined();
  });

  test.each([
    ['an expression', { ScheduleExpression: 'cron(0 9 * * MON *)' }, /Invalid Schedule Expression/],
    ['a time zone', { ScheduleExpressionTimezone: 'CET' }, /ScheduleExpressionTimezone/],
    ['a name', { Name: 'has space' }, /Invalid Name/],
    ['the flexible window', { FlexibleTimeWindow: undefined }, /FlexibleTimeWindow is required/],
    ['a FLEXIBLE window without its size', { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }, /MaximumWindowInMinutes/],
    ['the target', { Target: undefined }, /Target is required/],
    [
      'a Lambda input that is not JSON',
      { Target: { ...schedule('a').Target!, Input: 'not json' } },
      /well-formed JSON/,
    ],
    [
      'a dead-letter queue that is not SQS',
      { Target: { ...schedule('a').Target!, DeadLetterConfig: { Arn: LAMBDA } } },
      /SQS/,
    ],
    [
      'a retry policy out of range',
      { Target: { ...schedule('a').Target!, RetryPolicy: { MaximumRetryAttempts: 186 } } },
      /MaximumRetryAttempts/,
    ],
    ['a description over 512', { Description: 'd'.repeat(513) }, /512/],
    [
      'a recurring StartDate more than 5 minutes ago',
      { ScheduleExpression: 'rate(1 hour)', StartDate: new Date(Date.now() - 600_000) },
      /cannot be earlier than 5 minutes ago/,
    ],
    ['an EndDate in the past', { ScheduleExpression: 'rate(1 hour)', EndDate: new Date(Date.now() - 1000) }, /EndDate/],
  ] as [string, Partial<CreateScheduleCommandInput>, RegExp][])(
    'ValidationException 400 for %s',
    async (_what, overrides, message) => {
      const refused = await failure(client.send(new CreateScheduleCommand(schedule('checked', overrides))));
      expect(refused).toMatchObject({ name: 'ValidationException', status: 400 });
      expect(refused.message).toMatch(message);
      expect(scheduler.schedules()).toEqual([]);
    },
  );

  test('list: one group or all, a name prefix, pages of MaxResults with NextToken; summaries only', async () => {
    for (const name of ['a-1', 'a-2', 'a-3', 'b-1']) await client.send(new CreateScheduleCommand(schedule(name)));
    await client.send(new CreateScheduleCommand(schedule('deploy-1', { GroupName: 'voxconf-test' })));

    const first = await client.send(
      new ListSchedulesCommand({ GroupName: 'voxconf-test-api', NamePrefix: 'a-', MaxResults: 2 }),
    );
    expect(first.Schedules?.map((s) => s.Name)).toEqual(['a-1', 'a-2']);
    expect(first.Schedules?.[0]).toEqual({
      Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/voxconf-test-api/a-1',
      Name: 'a-1',
      GroupName: 'voxconf-test-api',
      State: 'ENABLED',
      CreationDate: expect.any(Date),
      LastModificationDate: expect.any(Date),
      Target: { Arn: LAMBDA },
    });
    const second = await client.send(
      new ListSchedulesCommand({
        GroupName: 'voxconf-test-api',
        NamePrefix: 'a-',
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.Schedules?.map((s) => s.Name)).toEqual(['a-3']);
    expect(second.NextToken).toBeUndefined();

    const all = await client.send(new ListSchedulesCommand({}));
    expect(all.Schedules?.map((s) => `${s.GroupName}/${s.Name}`)).toEqual([
      'voxconf-test/deploy-1',
      'voxconf-test-api/a-1',
      'voxconf-test-api/a-2',
      'voxconf-test-api/a-3',
      'voxconf-test-api/b-1',
    ]);
    expect(await failure(client.send(new ListSchedulesCommand({ MaxResults: 101 })))).toMatchObject({
      name: 'ValidationException',
    });
  });

  test('groups: create, list, delete (with its schedules)', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'extra' }));
    await client.send(new CreateScheduleCommand(schedule('in-extra', { GroupName: 'extra' })));
    const groups = await client.send(new ListScheduleGroupsCommand({}));
    expect(groups.ScheduleGroups?.map((g) => g.Name)).toEqual(['default', 'extra', 'voxconf-test', 'voxconf-test-api']);
    await client.send(new DeleteScheduleGroupCommand({ Name: 'extra' }));
    expect(scheduler.groups()).toEqual(['default', 'voxconf-test', 'voxconf-test-api']);
    expect(scheduler.schedules()).toEqual([]);
  });
});

describe('faults and refusals', () => {
  test('throttling: 429 ThrottlingException, retried by the SDK (3 attempts), then thrown', async () => {
    const fault = scheduler.fault({ kind: 'throttle', operation: 'CreateSchedule' });
    expect(await failure(client.send(new CreateScheduleCommand(schedule('t'))))).toMatchObject({
      name: 'ThrottlingException',
      status: 429,
    });
    expect(fault.hits()).toBe(3);
    fault.clear();
    scheduler.fault({ kind: 'throttle', times: 1 });
    await client.send(new CreateScheduleCommand(schedule('t')));
    expect(scheduler.schedule('voxconf-test-api', 't')).toBeDefined();
  });

  test.each([
    ['quota', 'ServiceQuotaExceededException', 402],
    ['access_denied', 'AccessDeniedException', 403],
    ['validation', 'ValidationException', 400],
    ['conflict', 'ConflictException', 409],
    ['not_found', 'ResourceNotFoundException', 404],
  ] as const)('%s: %s %i', async (kind, name, status) => {
    scheduler.fault({ kind, operation: 'CreateSchedule', times: 1 });
    expect(await failure(client.send(new CreateScheduleCommand(schedule('f'))))).toMatchObject({ name, status });
  });

  test('a server error and a dropped connection are retried by the SDK', async () => {
    scheduler.fault({ kind: 'server_error', times: 1 });
    scheduler.fault({ kind: 'drop', times: 1 });
    await client.send(new CreateScheduleCommand(schedule('retried')));
    expect(scheduler.calls().map((c) => [c.operation, c.status, c.fault])).toEqual([
      ['CreateSchedule', 500, 'server_error'],
      ['CreateSchedule', 0, 'drop'],
      ['CreateSchedule', 200, undefined],
    ]);
  });

  test('the account quota: ServiceQuotaExceededException past maxSchedules', async () => {
    const small = await startSchedulerApi({ groups: ['g'], maxSchedules: 1 });
    const smallClient = new SchedulerClient({
      endpoint: small.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await smallClient.send(new CreateScheduleCommand(schedule('one', { GroupName: 'g' })));
      expect(
        await failure(smallClient.send(new CreateScheduleCommand(schedule('two', { GroupName: 'g' })))),
      ).toMatchObject({
        name: 'ServiceQuotaExceededException',
        status: 402,
      });
    } finally {
      smallClient.destroy();
      await small.close();
    }
  });

  test('unsigned requests are refused; web pages are refused by the loopback guard', async () => {
    const unsigned = await fetch(`${scheduler.endpoint}/schedules?ScheduleGroup=voxconf-test-api`);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const fromPage = await fetch(`${scheduler.endpoint}/schedules`, { headers: { origin: 'https://evil.example' } });
    expect(fromPage.status).toBe(403);
    expect(await fromPage.json()).toMatchObject({ error: { code: 'forbidden_origin' } });
  });
});

describe('the in-process API the local stack fires schedules with', () => {
  test('onChange tells of every create, update and delete', async () => {
    const changes: SchedulerChange[] = [];
    const stop = scheduler.onChange((change) => changes.push(change));
    await client.send(new CreateScheduleCommand(schedule('watched')));
    await client.send(new UpdateScheduleCommand(schedule('watched', { State: 'DISABLED' })));
    await client.send(new DeleteScheduleCommand({ Name: 'watched', GroupName: 'voxconf-test-api' }));
    stop();
    await client.send(new CreateScheduleCommand(schedule('unwatched')));
    expect(changes.map((c) => [c.type, c.schedule.Name, c.schedule.State, c.reason])).toEqual([
      ['created', 'watched', 'ENABLED', undefined],
      ['updated', 'watched', 'DISABLED', undefined],
      ['deleted', 'watched', 'DISABLED', 'api'],
    ]);
  });

  test('nextRun: in the zone, within the dates, enabled only; a rate counts from its start', async () => {
    await client.send(new CreateScheduleCommand(schedule('once')));
    const once = scheduler.schedule('voxconf-test-api', 'once')!;
    expect(scheduler.nextRun(once, new Date('2030-01-01T00:00:00Z'))?.toISOString()).toBe('2030-01-15T13:00:00.000Z');
    expect(scheduler.nextRun(once, new Date('2030-02-01T00:00:00Z'))).toBeUndefined();
    expect(scheduler.nextRun({ ...once, State: 'DISABLED' }, new Date('2030-01-01T00:00:00Z'))).toBeUndefined();

    const start = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000);
    await client.send(
      new CreateScheduleCommand(
        schedule('weekly', {
          ScheduleExpression: 'cron(0 10 ? * TUE *)',
          StartDate: new Date('2030-03-20T00:00:00Z'),
          EndDate: new Date('2030-04-01T00:00:00Z'),
          ActionAfterCompletion: 'DELETE',
        }),
      ),
    );
    const weekly = scheduler.schedule('voxconf-test-api', 'weekly')!;
    expect(scheduler.nextRun(weekly, new Date('2030-01-01T00:00:00Z'))?.toISOString()).toBe('2030-03-26T09:00:00.000Z');
    expect(scheduler.nextRun(weekly, new Date('2030-03-26T09:00:00Z'))).toBeUndefined();

    await client.send(
      new CreateScheduleCommand(schedule('hourly', { ScheduleExpression: 'rate(1 hour)', StartDate: start })),
    );
    const hourly = scheduler.schedule('voxconf-test-api', 'hourly')!;
    expect(scheduler.nextRun(hourly, new Date(start.getTime() + 1))?.getTime()).toBe(start.getTime() + 3_600_000);
  });

  test('eventFor fills in the context attributes; afterRun deletes a finished DELETE schedule, not a recurring one', async () => {
    await client.send(new CreateScheduleCommand(schedule('once')));
    await client.send(
      new CreateScheduleCommand(
        schedule('daily', { ScheduleExpression: 'cron(0 9 * * ? *)', ActionAfterCompletion: 'NONE' }),
      ),
    );
    const once = scheduler.schedule('voxconf-test-api', 'once')!;
    const run = scheduler.eventFor(once, new Date('2030-01-15T13:00:00.400Z'));
    expect(run.event).toEqual({
      request: { conference_name: 'once' },
      scheduled_time: '2030-01-15T13:00:00Z',
      execution_id: run.executionId,
      schedule_name: 'once',
    });
    const changes: SchedulerChange[] = [];
    const stop = scheduler.onChange((change) => changes.push(change));
    expect(scheduler.afterRun('voxconf-test-api', 'daily', new Date('2030-01-15T09:00:00Z'))).toBe(false);
    expect(scheduler.afterRun('voxconf-test-api', 'once', new Date('2030-01-15T13:00:00Z'))).toBe(true);
    stop();
    expect(changes.map((c) => [c.type, c.schedule.Name, c.reason])).toEqual([['deleted', 'once', 'completed']]);
    expect(scheduler.schedules().map((s) => s.Name)).toEqual(['daily']);
  });
});
