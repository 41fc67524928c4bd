/**
 * functions/schedules.ts with API Gateway payload 2.0 events, against the EventBridge Scheduler stand-in
 * (local/scheduler-api.ts) through the real @aws-sdk/client-scheduler (AWS_ENDPOINT_URL_SCHEDULER). Every answer
 * is checked against docs/openapi.yaml. Then lib/schedule-service.ts wired by hand, for what needs a clock, a
 * small cap or the audit log.
 */

import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseScheduledEvent } from '../../lib/schedule.js';
import { type Caller, ScheduleService } from '../../lib/schedule-service.js';
import { SchedulerStore } from '../../lib/scheduler-store.js';
import { loadSchedulesConfig } from '../../lib/schedules-config.js';
import { handleSchedulesRequest } from '../../lib/schedules-http.js';
import { validateStartableRequest } from '../../lib/validation.js';
import { type SchedulerStandIn, startSchedulerApi } from '../../local/scheduler-api.js';
import { setAwsTestEnv } from '../helpers/aws-env.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { expectMatchesOpenApi, fromLambdaResult } from '../helpers/openapi.js';

const DEPLOY = 'voxconf-test';
const API = 'voxconf-test-api';
const ENV = {
  VOXIMPLANT_CREDENTIALS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:voxconf/test-AbCdEf',
  VOXIMPLANT_ALLOWED_RULE_IDS: '4242,4243',
  SCHEDULES_DEPLOY_GROUP: DEPLOY,
  SCHEDULES_API_GROUP: API,
  SCHEDULES_TARGET_ARN: 'arn:aws:lambda:us-east-1:000000000000:function:voxconf-test-schedule',
  SCHEDULES_ROLE_ARN: 'arn:aws:iam::000000000000:role/voxconf-test-scheduler-api',
  SCHEDULES_DEAD_LETTER_ARN: 'arn:aws:sqs:us-east-1:000000000000:voxconf-test-dead-letter',
};

let scheduler: SchedulerStandIn;
let sdk: SchedulerClient;
let restore: () => void;
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;

beforeAll(async () => {
  scheduler = await startSchedulerApi({ groups: [DEPLOY, API] });
  restore = setAwsTestEnv({ extra: { ...ENV, AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint } });
  sdk = new SchedulerClient({});
  ({ handler } = (await import('../../functions/schedules.js')) as never);
});
afterAll(async () => {
  sdk.destroy();
  restore();
  await scheduler.close();
});
afterEach(() => scheduler.reset());

// ---- requests as API Gateway sends them ----------------------------------------------------------------------

interface Call {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly authorizer?: 'iam' | 'jwt' | 'none';
  readonly raw?: string;
}

/** The event of `METHOD /schedules[/name]`, as API Gateway (payload 2.0) builds it. */
function scheduleEvent(method: string, path: string, call: Call = {}): APIGatewayProxyEventV2 {
  const text = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const base = httpEvent(text, { authorizer: call.authorizer ?? 'iam', headers: call.headers ?? {} });
  const name = path.split('/')[2];
  const routeKey = `${method} ${name === undefined ? '/schedules' : '/schedules/{name}'}`;
  const query = call.query ?? {};
  return {
    ...base,
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(name === undefined ? {} : { pathParameters: { name: decodeURIComponent(name) } }),
    requestContext: {
      ...base.requestContext,
      routeKey,
      http: { ...base.requestContext.http, method, path },
    },
  };
}

/** Invokes the handler; the answer must match docs/openapi.yaml. */
async function call(method: string, path: string, options: Call = {}) {
  const response = await handler(scheduleEvent(method, path, options), lambdaContext(10_000, 'voxconf-test-schedules'));
  const body = expectMatchesOpenApi(method, path, fromLambdaResult(response)) as Record<string, any> | undefined;
  return { status: response.statusCode, headers: (response.headers ?? {}) as Record<string, string>, body: body ?? {} };
}

// ---- times relative to now ------------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD` of the next `weekday` (0 = Sunday) at least `days` ahead, in `zone`. */
function dateAhead(days: number, weekday: number, zone: string): string {
  for (let extra = 0; extra < 7; extra++) {
    const when = new Date(Date.now() + (days + extra) * 86_400_000);
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        weekday: 'short',
      })
        .formatToParts(when)
        .map((p) => [p.type, p.value]),
    );
    if (['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday as string) === weekday) {
      return `${parts.year}-${pad(Number(parts.month))}-${pad(Number(parts.day))}`;
    }
  }
  throw new Error('unreachable');
}

const TUESDAY = dateAhead(7, 2, 'Europe/Berlin');
const request = { conference_name: 'consult-4711', rule_id: 4242, script_custom_data: { patient: 'P-4711' } };
const booking = { name: 'consult-4711', at: `${TUESDAY}T10:00:00`, timezone: 'Europe/Berlin', request };

async function seedDeploySchedule(name = 'weekday-standup') {
  await sdk.send(
    new CreateScheduleCommand({
      Name: name,
      GroupName: DEPLOY,
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: ENV.SCHEDULES_TARGET_ARN,
        RoleArn: 'arn:aws:iam::000000000000:role/voxconf-test-scheduler',
        Input: JSON.stringify({
          request: { conference_name: name },
          scheduled_time: '<aws.scheduler.scheduled-time>',
          execution_id: '<aws.scheduler.execution-id>',
        }),
      },
    }),
  );
}

describe('a booking: create for Tuesday 10:00 in the patient zone, move it, cancel it', () => {
  it('creates (201, Location), shows, moves (PUT), cancels (204), and then it is gone (404)', async () => {
    const created = await call('POST', '/schedules', { body: booking });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/schedules/consult-4711');
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body).toEqual({
      name: 'consult-4711',
      managed_by: 'api',
      at: `${TUESDAY}T10:00:00`,
      timezone: 'Europe/Berlin',
      enabled: true,
      request,
      next_fire_time: expect.stringMatching(new RegExp(`^${TUESDAY}T10:00:00\\+0[12]:00$`)),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    // Stored in Scheduler, in the API's group, with everything voxconf owns.
    const stored = scheduler.schedule(API, 'consult-4711');
    expect(stored).toMatchObject({
      ScheduleExpression: `at(${TUESDAY}T10:00:00)`,
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: ENV.SCHEDULES_TARGET_ARN,
        RoleArn: ENV.SCHEDULES_ROLE_ARN,
        RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 5 },
        DeadLetterConfig: { Arn: ENV.SCHEDULES_DEAD_LETTER_ARN },
      },
    });
    // What the schedule function receives when it fires is a wrapper it reads.
    const fired = scheduler.eventFor(stored!, new Date());
    expect(parseScheduledEvent(fired.event)).toMatchObject({ request, scheduleName: 'consult-4711' });

    const shown = await call('GET', '/schedules/consult-4711');
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({ ...created.body, updated_at: expect.any(String) });

    const moved = await call('PUT', '/schedules/consult-4711', {
      body: { ...booking, at: `${TUESDAY}T11:30:00`, description: 'moved by an hour and a half' },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      at: `${TUESDAY}T11:30:00`,
      description: 'moved by an hour and a half',
      next_fire_time: expect.stringMatching(new RegExp(`^${TUESDAY}T11:30:00`)),
      created_at: created.body.created_at,
    });
    expect(scheduler.schedule(API, 'consult-4711')?.ScheduleExpression).toBe(`at(${TUESDAY}T11:30:00)`);

    const cancelled = await call('DELETE', '/schedules/consult-4711');
    expect(cancelled).toMatchObject({ status: 204, headers: { 'cache-control': 'no-store' } });
    expect(scheduler.schedules(API)).toEqual([]);
    const gone = await call('GET', '/schedules/consult-4711');
    expect(gone.status).toBe(404);
    expect(gone.body.error).toMatchObject({ code: 'schedule_not_found', field: 'name' });
  });

  it('PUT replaces: what the body leaves out takes its default (the description goes, enabled is true again)', async () => {
    await call('POST', '/schedules', {
      body: { ...booking, description: 'first', enabled: false, correlation_id: 'c-1' },
    });
    const replaced = await call('PUT', '/schedules/consult-4711', { body: { at: booking.at, request } });
    expect(replaced.body).toEqual({
      name: 'consult-4711',
      managed_by: 'api',
      at: booking.at,
      timezone: 'UTC',
      enabled: true,
      request,
      next_fire_time: expect.any(String),
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
  });

  it('a recurring schedule: next_fire_time in its zone; rate() has none', async () => {
    const weekly = await call('POST', '/schedules', {
      body: { name: 'team-sync', schedule_expression: 'cron(0 9 ? * MON *)', timezone: 'America/New_York', request },
    });
    expect(weekly.status).toBe(201);
    expect(weekly.body.next_fire_time).toMatch(/T09:00:00-0[45]:00$/);
    expect(scheduler.schedule(API, 'team-sync')?.ActionAfterCompletion).toBe('NONE');
    const hourly = await call('POST', '/schedules', {
      body: { name: 'hourly', schedule_expression: 'rate(1 hour)', request },
    });
    expect(hourly.body.next_fire_time).toBeNull();
  });
});

describe('names and idempotency', () => {
  it('without a name or a key: a random name, in Location', async () => {
    const created = await call('POST', '/schedules', { body: { at: booking.at, request } });
    expect(created.body.name).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.headers.location).toBe(`/schedules/${created.body.name}`);
  });

  it('a retried create with the same Idempotency-Key answers with the first (201 again, one schedule)', async () => {
    const headers = { 'idempotency-key': '6f1c2b9e-8d1e-4c1a-9f2e-0a1b2c3d4e5f' };
    const body = { at: booking.at, timezone: 'Europe/Berlin', request };
    const first = await call('POST', '/schedules', { body, headers });
    const again = await call('POST', '/schedules', {
      body: { request, timezone: 'Europe/Berlin', at: booking.at },
      headers,
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(first.body.name).toMatch(/^idem-[0-9a-f]{40}$/);
    expect(scheduler.schedules(API)).toHaveLength(1);
    // The fingerprint travels in the wrapper; the key itself is not stored.
    const input = scheduler.schedule(API, first.body.name)?.Target.Input ?? '';
    expect(JSON.parse(input).idempotency_fingerprint).toMatch(/^v1\./);
    expect(input).not.toContain('6f1c2b9e');
  });

  it('the same key with another body: 409 idempotency_key_reused; another key on a taken name: 409 schedule_exists', async () => {
    const headers = { 'idempotency-key': 'key-1' };
    await call('POST', '/schedules', { body: { ...booking }, headers });
    const reused = await call('POST', '/schedules', { body: { ...booking, at: `${TUESDAY}T12:00:00` }, headers });
    expect(reused.status).toBe(409);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_key_reused', field: 'Idempotency-Key' });
    const otherKey = await call('POST', '/schedules', { body: booking, headers: { 'idempotency-key': 'key-2' } });
    expect(otherKey.body.error).toMatchObject({ code: 'schedule_exists', field: 'name' });
    const noKey = await call('POST', '/schedules', { body: booking });
    expect(noKey.body.error).toMatchObject({ code: 'schedule_exists' });
  });

  it('two creates with one key at once: both 201 with the same schedule', async () => {
    const headers = { 'idempotency-key': 'concurrent-1' };
    const [a, b] = await Promise.all([
      call('POST', '/schedules', { body: { at: booking.at, request }, headers }),
      call('POST', '/schedules', { body: { at: booking.at, request }, headers }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.name).toBe(b.body.name);
    expect(scheduler.schedules(API)).toHaveLength(1);
  });

  it('names are unique across both groups: a deploy-time name is taken', async () => {
    await seedDeploySchedule();
    const taken = await call('POST', '/schedules', { body: { ...booking, name: 'weekday-standup' } });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'schedule_exists', field: 'name' });
  });
});

describe('schedules of infra/schedules.yml', () => {
  it('are shown (managed_by deploy) and listed, never changed: 409 schedule_managed_by_deploy', async () => {
    await seedDeploySchedule();
    const shown = await call('GET', '/schedules/weekday-standup');
    expect(shown.body).toMatchObject({
      name: 'weekday-standup',
      managed_by: 'deploy',
      schedule_expression: 'cron(0 9 ? * MON-FRI *)',
      timezone: 'Europe/Berlin',
      enabled: true,
      request: { conference_name: 'weekday-standup' },
      next_fire_time: expect.stringMatching(/T09:00:00\+0[12]:00$/),
    });
    for (const [method, body] of [
      ['PUT', { schedule_expression: 'cron(0 10 ? * MON-FRI *)', request: { conference_name: 'x', rule_id: 4242 } }],
      ['DELETE', undefined],
    ] as const) {
      const refused = await call(method, '/schedules/weekday-standup', { body });
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatchObject({ code: 'schedule_managed_by_deploy', field: 'name' });
    }
    expect(scheduler.schedule(DEPLOY, 'weekday-standup')?.ScheduleExpression).toBe('cron(0 9 ? * MON-FRI *)');
  });

  it('404 for a PUT or DELETE of a name neither group has', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const missing = await call(method, '/schedules/nope', { body: method === 'PUT' ? booking : undefined });
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('schedule_not_found');
    }
  });
});

describe('GET /schedules', () => {
  it('lists both groups, deploy first, with one next_token across both; prefix filters', async () => {
    await seedDeploySchedule('standup-a');
    await seedDeploySchedule('standup-b');
    for (const name of ['consult-1', 'consult-2', 'consult-3']) {
      await call('POST', '/schedules', { body: { ...booking, name, request: { ...request, conference_name: name } } });
    }
    const names: string[] = [];
    const owners: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await call('GET', '/schedules', { query: { limit: '2', ...(token ? { next_token: token } : {}) } });
      expect(page.status).toBe(200);
      expect(page.body.schedules.length).toBeLessThanOrEqual(2);
      names.push(...page.body.schedules.map((s: { name: string }) => s.name));
      owners.push(...page.body.schedules.map((s: { managed_by: string }) => s.managed_by));
      token = page.body.next_token;
      pages += 1;
    } while (token && pages < 10);
    expect(names).toEqual(['standup-a', 'standup-b', 'consult-1', 'consult-2', 'consult-3']);
    expect(owners).toEqual(['deploy', 'deploy', 'api', 'api', 'api']);
    expect(pages).toBe(3);

    const filtered = await call('GET', '/schedules', { query: { prefix: 'consult-' } });
    expect(filtered.body).toEqual({
      schedules: [
        {
          name: 'consult-1',
          managed_by: 'api',
          enabled: true,
          created_at: expect.any(String),
          updated_at: expect.any(String),
        },
        {
          name: 'consult-2',
          managed_by: 'api',
          enabled: true,
          created_at: expect.any(String),
          updated_at: expect.any(String),
        },
        {
          name: 'consult-3',
          managed_by: 'api',
          enabled: true,
          created_at: expect.any(String),
          updated_at: expect.any(String),
        },
      ],
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '101' }, 'limit'],
    [{ prefix: 'has space' }, 'prefix'],
    [{ next_token: 'garbage' }, 'next_token'],
    [{ page: '2' }, 'page'],
  ])('400 for %p naming %s', async (query, field) => {
    const refused = await call('GET', '/schedules', { query });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', field });
  });
});

describe('refusals over HTTP', () => {
  it('400 naming the field, nothing stored', async () => {
    const refused = await call('POST', '/schedules', {
      body: { at: `${TUESDAY}T10:00:00`, timezone: 'Mars/Olympus', request: { conference_name: 'x', rule_id: 1 } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual([
      expect.objectContaining({ field: 'timezone', rule: 'time_zone' }),
      expect.objectContaining({ field: 'request.rule_id', rule: 'rule_not_allowed' }),
    ]);
    expect(scheduler.calls().filter((c) => c.operation === 'CreateSchedule')).toEqual([]);
  });

  it('the payload: 415 not JSON, 422 malformed, 400 no body, 400 a bad Idempotency-Key, 400 a bad name in the path', async () => {
    expect((await call('POST', '/schedules', { raw: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(
      415,
    );
    expect((await call('POST', '/schedules', { raw: '{"at":' })).body.error.code).toBe('malformed_json');
    expect((await call('POST', '/schedules', {})).body.error).toMatchObject({
      field: 'body',
      details: [expect.objectContaining({ rule: 'required' })],
    });
    const key = await call('POST', '/schedules', { body: booking, headers: { 'idempotency-key': 'has space' } });
    expect(key.body.error).toMatchObject({ code: 'invalid_request', field: 'Idempotency-Key' });
    const path = await call('GET', `/schedules/${encodeURIComponent('bad name')}`);
    expect(path.body.error).toMatchObject({ code: 'invalid_request', field: 'name' });
  });

  it('Scheduler throttling (after the SDK retries): 503 scheduler_throttled with Retry-After', async () => {
    scheduler.fault({ kind: 'throttle', operation: 'CreateSchedule' });
    const throttled = await call('POST', '/schedules', { body: booking });
    expect(throttled.status).toBe(503);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.body.error.code).toBe('scheduler_throttled');
  });

  it("Scheduler's quota: 503 schedule_quota_exceeded without Retry-After", async () => {
    scheduler.fault({ kind: 'quota', operation: 'CreateSchedule', times: 1 });
    const full = await call('POST', '/schedules', { body: booking });
    expect(full.status).toBe(503);
    expect(full.headers).not.toHaveProperty('retry-after');
    expect(full.body.error.code).toBe('schedule_quota_exceeded');
  });

  it('access denied: 500 with a generic message, the reason only in the logs', async () => {
    scheduler.fault({ kind: 'access_denied', times: 2 });
    const denied = await call('GET', '/schedules/consult-4711');
    expect(denied.status).toBe(500);
    expect(denied.body.error).toEqual({ code: 'scheduler_access_denied', message: 'The service is misconfigured.' });
  });

  it('Scheduler down (after the SDK retries): 503 scheduler_unavailable', async () => {
    scheduler.fault({ kind: 'server_error', operation: 'DeleteSchedule' });
    const down = await call('DELETE', '/schedules/consult-4711');
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('scheduler_unavailable');
  });
});

describe('lib/schedule-service.ts wired by hand', () => {
  const config = { ...loadSchedulesConfig(ENV), maxCount: 2 };
  const caller: Caller = { type: 'iam', id: 'arn:aws:sts::123456789012:assumed-role/booking/app' };
  const logged: { message: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    info: (message: string, fields: Record<string, unknown>) => logged.push({ message, fields }),
    warn: (message: string, fields: Record<string, unknown>) => logged.push({ message, fields }),
  };
  let clock = Date.now();
  let quotaAlarms = 0;
  const service = () =>
    new ScheduleService({
      store: new SchedulerStore(sdk),
      config,
      validateRequest: (input) => validateStartableRequest(input, { allowedRuleIds: new Set([4242]) }),
      logger: logger as never,
      onQuotaExceeded: () => {
        quotaAlarms += 1;
      },
      now: () => clock,
    });

  afterEach(() => {
    logged.length = 0;
    clock = Date.now();
    quotaAlarms = 0;
  });

  it('an audit line for every create, change and cancel, done or refused, naming the caller', async () => {
    const s = service();
    await s.create(booking, { caller });
    await s.replace(
      'consult-4711',
      { ...booking, at: `${TUESDAY}T11:00:00` },
      { caller: { type: 'jwt', id: 'user-7' } },
    );
    await s.remove('consult-4711', { caller });
    await s.remove('consult-4711', { caller }).catch(() => undefined);
    expect(
      logged.map(({ message, fields }) => [
        message,
        fields.action,
        fields.outcome,
        fields.schedule_name,
        fields.caller,
        fields.error_code,
      ]),
    ).toEqual([
      ['schedule created', 'create', 'done', 'consult-4711', caller.id, undefined],
      ['schedule replaced', 'replace', 'done', 'consult-4711', 'user-7', undefined],
      ['schedule cancelled', 'cancel', 'done', 'consult-4711', caller.id, undefined],
      ['schedule not cancelled', 'cancel', 'refused', 'consult-4711', caller.id, 'schedule_not_found'],
    ]);
    for (const { fields } of logged) expect(fields.audit).toBe(true);
  });

  it('a create retried after its at has passed still answers with the first (the replay comes before the checks)', async () => {
    const s = service();
    const body = { at: new Date(clock + 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), request };
    const first = await s.create(body, { caller, idempotencyKey: 'late-retry' });
    clock += 600_000;
    const again = await s.create(body, { caller, idempotencyKey: 'late-retry' });
    expect(again).toMatchObject({ replayed: true, schedule: { name: first.schedule.name } });
    await expect(s.create(body, { caller })).rejects.toMatchObject({ code: 'invalid_request', field: 'at' });
  });

  it("voxconf's cap (SCHEDULES_MAX_COUNT): the create past it is refused like the quota, and counted for the alarm", async () => {
    const s = service();
    for (const name of ['c-1', 'c-2']) await s.create({ ...booking, name }, { caller });
    await expect(s.create({ ...booking, name: 'c-3' }, { caller })).rejects.toMatchObject({
      code: 'schedule_quota_exceeded',
      message: expect.stringContaining('schedulesMaxCount'),
    });
    expect(quotaAlarms).toBe(1);
    await s.remove('c-1', { caller });
    await expect(s.create({ ...booking, name: 'c-3' }, { caller })).resolves.toMatchObject({ replayed: false });
    // A new container counts what is there.
    await expect(service().create({ ...booking, name: 'c-4' }, { caller })).rejects.toMatchObject({
      code: 'schedule_quota_exceeded',
    });
  });

  it('access denied: its reason is logged (the answer says only the code)', async () => {
    const errors: Record<string, unknown>[] = [];
    const log = (_: string, fields: Record<string, unknown>) => errors.push(fields);
    scheduler.fault({ kind: 'access_denied', times: 2 });
    await expect(
      handleSchedulesRequest(scheduleEvent('GET', '/schedules/consult-4711'), {
        service: service(),
        logger: { error: log, warn: log } as never,
      }),
    ).rejects.toMatchObject({ code: 'scheduler_access_denied' });
    expect(errors).toEqual([
      expect.objectContaining({
        route: 'GET /schedules/{name}',
        error_code: 'scheduler_access_denied',
        error_message: expect.stringContaining('not authorized to perform: scheduler:GetSchedule'),
      }),
    ]);
  });

  it("Scheduler's own quota counts for the alarm too", async () => {
    scheduler.fault({ kind: 'quota', operation: 'CreateSchedule', times: 1 });
    await expect(service().create(booking, { caller })).rejects.toMatchObject({ code: 'schedule_quota_exceeded' });
    expect(quotaAlarms).toBe(1);
  });

  it('the list only reads its two groups (ListSchedules is allowed on "*": the code filters)', async () => {
    scheduler.createGroup('someone-else');
    await sdk.send(
      new CreateScheduleCommand({
        Name: 'foreign',
        GroupName: 'someone-else',
        ScheduleExpression: 'rate(1 day)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: ENV.SCHEDULES_TARGET_ARN, RoleArn: ENV.SCHEDULES_ROLE_ARN, Input: '{}' },
      }),
    );
    expect((await service().list({ limit: 100 })).schedules).toEqual([]);
    expect(
      scheduler
        .calls()
        .filter((c) => c.operation === 'ListSchedules')
        .map((c) => c.group),
    ).toEqual([DEPLOY, API]);
  });
});
