/**
 * The schedules API's pure parts: the body's checks (lib/schedule-request.ts: every refusal names its field and
 * rule), idempotency (lib/schedule-idempotency.ts), the mapping to and from Scheduler (lib/scheduler-mapping.ts),
 * the list token, and the caller and route of an API Gateway event (lib/schedules-http.ts).
 */
import { describe, expect, test } from '@jest/globals';
import { ConferenceService } from '../../lib/conference.js';
import { loadConfig } from '../../lib/config.js';
import { ValidationError } from '../../lib/errors.js';
import { callerOf } from '../../lib/http-caller.js';
import {
  canonicalJson,
  compareFingerprints,
  fingerprintOf,
  nameFromKey,
  validateIdempotencyKey,
} from '../../lib/schedule-idempotency.js';
import { type ScheduleRequestOptions, type ScheduleSpec, validateScheduleRequest } from '../../lib/schedule-request.js';
import { decodeListToken, encodeListToken } from '../../lib/schedule-service.js';
import { storedFingerprint, toSchedulerInput, toScheduleView, toSummaryView } from '../../lib/scheduler-mapping.js';
import { loadSchedulesConfig } from '../../lib/schedules-config.js';
import { routeOf } from '../../lib/schedules-http.js';
import { validateStartableRequest } from '../../lib/validation.js';
import { httpEvent } from '../helpers/events.js';

const NOW = new Date('2026-11-30T12:00:00Z'); // a Monday
const allowed = new Set([4242, 4243]);
const options: ScheduleRequestOptions = {
  now: NOW,
  horizonDays: 400,
  minIntervalMinutes: 5,
  validateRequest: (input) => validateStartableRequest(input, { allowedRuleIds: allowed }),
};
const request = { conference_name: 'consult-4711', rule_id: 4242 };
const check = (body: unknown, overrides: Partial<ScheduleRequestOptions> = {}): ScheduleSpec =>
  validateScheduleRequest(body, { ...options, ...overrides });

/** The problems of a refused body, as [field, rule]. */
function refusal(body: unknown, overrides: Partial<ScheduleRequestOptions> = {}): [string, string][] {
  try {
    check(body, overrides);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    expect(error.code).toBe('invalid_request');
    expect(error.field).toBe(error.details?.[0]?.field);
    return (error.details ?? []).map((d) => [d.field, d.rule]);
  }
  throw new Error('accepted');
}

describe('accepted schedules', () => {
  test('Tuesday 10:00 in the patient zone: at() local to Berlin', () => {
    const spec = check({ at: '2026-12-08T10:00:00', timezone: 'Europe/Berlin', request });
    expect(spec).toMatchObject({
      name: undefined,
      expression: { kind: 'at', text: 'at(2026-12-08T10:00:00)' },
      timezone: 'Europe/Berlin',
      enabled: true,
      request,
    });
  });

  test('an instant (Z or an offset) becomes at() in UTC; timezone left out or UTC', () => {
    expect(check({ at: '2026-12-08T10:00:00+01:00', request }).expression.text).toBe('at(2026-12-08T09:00:00)');
    expect(check({ at: '2026-12-08T09:00Z', timezone: 'UTC', request })).toMatchObject({
      expression: { text: 'at(2026-12-08T09:00:00)' },
      timezone: 'UTC',
    });
  });

  test('recurring, with dates (local ones read in the zone), disabled, a description and a correlation id', () => {
    const spec = check({
      name: 'team.sync-1',
      schedule_expression: 'cron(0 9 ? * MON *)',
      timezone: 'America/New_York',
      start_date: '2026-12-01T00:00:00',
      end_date: '2027-01-01T00:00:00Z',
      enabled: false,
      description: 'Team sync',
      correlation_id: 'team-sync',
      request: { ...request, script_custom_data: { agenda: 'planning' } },
    });
    expect(spec).toMatchObject({
      name: 'team.sync-1',
      expression: { kind: 'cron' },
      startDate: new Date('2026-12-01T05:00:00Z'),
      endDate: new Date('2027-01-01T00:00:00Z'),
      enabled: false,
      description: 'Team sync',
      correlationId: 'team-sync',
    });
    // The request is kept as given (the schedule function reads it as given when it fires).
    expect(spec.request.script_custom_data).toEqual({ agenda: 'planning' });
  });

  test('an at a little in the past is fine (60 s of grace); 400 days ahead is the default horizon', () => {
    expect(() => check({ at: '2026-11-30T11:59:30Z', request })).not.toThrow();
    expect(() => check({ at: '2028-01-10T00:00:00Z', request })).toThrow(ValidationError);
    expect(() => check({ at: '2028-01-10T00:00:00Z', request }, { horizonDays: 500 })).not.toThrow();
  });

  test("a cron's start more than 5 minutes ago is dropped (Scheduler refuses it; it bounds nothing)", () => {
    const spec = check({ schedule_expression: 'cron(0 9 * * ? *)', start_date: '2026-11-01T00:00:00Z', request });
    expect(spec.startDate).toBeUndefined();
  });

  test('PUT: the name comes from the path; a body name must be the same', () => {
    expect(check({ at: '2026-12-08T10:00:00', request }, { pathName: 'consult-4711' }).name).toBe('consult-4711');
    expect(check({ name: 'consult-4711', at: '2026-12-08T10:00', request }, { pathName: 'consult-4711' }).name).toBe(
      'consult-4711',
    );
  });

  test('rule_id may be left out when the stage has a default rule', () => {
    const withDefault = (input: unknown) => validateStartableRequest(input, { defaultRuleId: 4242 });
    expect(() =>
      check({ at: '2026-12-08T10:00', request: { conference_name: 'a' } }, { validateRequest: withDefault }),
    ).not.toThrow();
  });
});

describe('every refusal names its field and rule', () => {
  test.each([
    ['not an object', [], [['body', 'type']]],
    ['an unknown field', { at: '2026-12-08T10:00', request, room: 7 }, [['room', 'unknown_field']]],
    ['neither at nor schedule_expression', { request }, [['at', 'required']]],
    [
      'both at and schedule_expression',
      { at: '2026-12-08T10:00', schedule_expression: 'rate(1 day)', request },
      [['schedule_expression', 'mutually_exclusive']],
    ],
    ['a bad name', { name: 'no spaces', at: '2026-12-08T10:00', request }, [['name', 'schedule_name']]],
    ['a name over 64', { name: 'n'.repeat(65), at: '2026-12-08T10:00', request }, [['name', 'schedule_name']]],
    ['an unknown zone', { at: '2026-12-08T10:00', timezone: 'Mars/Olympus', request }, [['timezone', 'time_zone']]],
    ['an abbreviation', { at: '2026-12-08T10:00', timezone: 'CET', request }, [['timezone', 'time_zone']]],
    ['an at that is not a date', { at: 'next Tuesday', request }, [['at', 'date_time']]],
    // An object no String() can convert: a 400 naming at, not a 500.
    ['an at that is an odd object', { at: { toString: 1 }, request }, [['at', 'date_time']]],
    ['an at with fractions', { at: '2026-12-08T10:00:00.5Z', request }, [['at', 'date_time']]],
    ['an at that no calendar has', { at: '2026-02-30T10:00', request }, [['at', 'date_time']]],
    [
      'an instant at with another zone',
      { at: '2026-12-08T09:00:00Z', timezone: 'Europe/Berlin', request },
      [['timezone', 'instant_with_zone']],
    ],
    [
      'a local at the clocks skip (Berlin, 28 March 2027)',
      { at: '2027-03-28T02:30:00', timezone: 'Europe/Berlin', request },
      [['at', 'nonexistent_time']],
    ],
    ['an at in the past', { at: '2026-11-30T11:58:00Z', request }, [['at', 'past']]],
    ['an at beyond the horizon', { at: '2028-01-05T10:00', request }, [['at', 'horizon']]],
    [
      'a malformed cron',
      { schedule_expression: 'cron(0 9 * * MON *)', request },
      [['schedule_expression', 'schedule_expression']],
    ],
    [
      'a malformed rate',
      { schedule_expression: 'rate(1 hours)', request },
      [['schedule_expression', 'schedule_expression']],
    ],
    ['an expression that is not a string', { schedule_expression: 5, request }, [['schedule_expression', 'type']]],
    [
      'at() as schedule_expression',
      { schedule_expression: 'at(2026-12-08T10:00:00)', request },
      [['schedule_expression', 'one_time']],
    ],
    [
      'a rate every minute',
      { schedule_expression: 'rate(1 minute)', request },
      [['schedule_expression', 'min_interval']],
    ],
    [
      'a cron every 2 minutes',
      { schedule_expression: 'cron(0/2 * * * ? *)', request },
      [['schedule_expression', 'min_interval']],
    ],
    [
      'two runs 3 minutes apart',
      { schedule_expression: 'cron(0,3 9 * * ? *)', request },
      [['schedule_expression', 'min_interval']],
    ],
    [
      'a cron that never fires again',
      { schedule_expression: 'cron(0 9 * * ? 2020)', request },
      [['schedule_expression', 'no_fire_time']],
    ],
    [
      'a cron with no run between its dates',
      {
        schedule_expression: 'cron(0 9 ? * SUN *)',
        start_date: '2026-12-01T00:00:00Z',
        end_date: '2026-12-05T00:00:00Z',
        request,
      },
      [['schedule_expression', 'no_fire_time']],
    ],
    [
      'start_date with at',
      { at: '2026-12-08T10:00', start_date: '2026-12-01T00:00', request },
      [['start_date', 'one_time']],
    ],
    ['end_date with at', { at: '2026-12-08T10:00', end_date: '2026-12-10T00:00', request }, [['end_date', 'one_time']]],
    [
      'a start that is not a date',
      { schedule_expression: 'rate(1 day)', start_date: 'soon', request },
      [['start_date', 'date_time']],
    ],
    [
      'a local start the clocks skip',
      { schedule_expression: 'rate(1 day)', timezone: 'Europe/Berlin', start_date: '2027-03-28T02:30', request },
      [['start_date', 'nonexistent_time']],
    ],
    [
      'a rate start in the past',
      { schedule_expression: 'rate(1 day)', start_date: '2026-11-01T00:00Z', request },
      [['start_date', 'past']],
    ],
    [
      'a start beyond the horizon',
      { schedule_expression: 'rate(1 day)', start_date: '2028-06-01T00:00Z', request },
      [['start_date', 'horizon']],
    ],
    [
      'an end in the past',
      { schedule_expression: 'rate(1 day)', end_date: '2026-11-29T00:00Z', request },
      [['end_date', 'past']],
    ],
    [
      'an end before the start',
      { schedule_expression: 'rate(1 day)', start_date: '2026-12-10T00:00Z', end_date: '2026-12-09T00:00Z', request },
      [['end_date', 'order']],
    ],
    ['enabled not a boolean', { at: '2026-12-08T10:00', enabled: 'yes', request }, [['enabled', 'type']]],
    ['a description that is not text', { at: '2026-12-08T10:00', description: 5, request }, [['description', 'type']]],
    [
      'a description over 512',
      { at: '2026-12-08T10:00', description: 'd'.repeat(513), request },
      [['description', 'max_length']],
    ],
    [
      'a lone surrogate in the description',
      { at: '2026-12-08T10:00', description: 'a\ud800', request },
      [['description', 'unicode']],
    ],
    [
      'a bad correlation id',
      { at: '2026-12-08T10:00', correlation_id: ' padded', request },
      [['correlation_id', 'correlation_id']],
    ],
    ['no request', { at: '2026-12-08T10:00' }, [['request', 'required']]],
    ['a request that is not an object', { at: '2026-12-08T10:00', request: 'standup' }, [['request', 'type']]],
    [
      "the request's own problems, under request.",
      { at: '2026-12-08T10:00', request: { conference_name: '', rule_id: 0, room: 1 } },
      [
        ['request.room', 'unknown_field'],
        ['request.conference_name', 'required'],
        ['request.rule_id', 'range'],
      ],
    ],
    [
      'a rule outside the allow-list',
      { at: '2026-12-08T10:00', request: { conference_name: 'a', rule_id: 1 } },
      [['request.rule_id', 'rule_not_allowed']],
    ],
    [
      'no rule and no default rule',
      { at: '2026-12-08T10:00', request: { conference_name: 'a' } },
      [['request.rule_id', 'required']],
    ],
  ] as [string, unknown, [string, string][]][])('%s', (_what, body, expected) => {
    expect(refusal(body)).toEqual(expected);
  });

  test('a PUT body naming another schedule', () => {
    expect(refusal({ name: 'other', at: '2026-12-08T10:00', request }, { pathName: 'consult-4711' })).toEqual([
      ['name', 'name_mismatch'],
    ]);
  });

  test('every problem at once', () => {
    expect(
      refusal({ at: 'x', timezone: 'CET', enabled: 1, description: 2, correlation_id: '', request: [], extra: 1 }),
    ).toEqual([
      ['extra', 'unknown_field'],
      ['timezone', 'time_zone'],
      ['at', 'date_time'],
      ['enabled', 'type'],
      ['description', 'type'],
      ['correlation_id', 'correlation_id'],
      ['request', 'type'],
    ]);
  });

  test('the minimum interval is a setting', () => {
    expect(() => check({ schedule_expression: 'rate(2 minutes)', request }, { minIntervalMinutes: 2 })).not.toThrow();
    expect(refusal({ schedule_expression: 'rate(1 hour)', request }, { minIntervalMinutes: 61 })).toEqual([
      ['schedule_expression', 'min_interval'],
    ]);
  });

  test("the light check agrees with ConferenceService.validate (the schedule function's), allow-list included", () => {
    const config = { ...loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's' }), allowedRuleIds: allowed };
    const never = () => {
      throw new Error('not called');
    };
    const service = new ConferenceService({
      config,
      credentials: { get: never },
      signer: { token: never, invalidate: never },
      client: { startConference: never },
    });
    const verdict = (validate: (input: unknown) => unknown, input: unknown) => {
      try {
        validate(input);
        return 'ok';
      } catch (error) {
        return (error as { code: string; field?: string }).code + (error as { field?: string }).field;
      }
    };
    for (const input of [request, { conference_name: 'a', rule_id: 1 }, { conference_name: '' }, { x: 1 }, null]) {
      expect(verdict((i) => service.validate(i), input)).toBe(
        verdict((i) => validateStartableRequest(i, { allowedRuleIds: allowed }), input),
      );
    }
  });
});

describe('idempotency', () => {
  test('the key: printable ASCII without spaces, at most 255', () => {
    expect(validateIdempotencyKey(undefined)).toBeUndefined();
    expect(validateIdempotencyKey('6f1c2b9e-8d1e-4c1a-9f2e-0a1b2c3d4e5f')).toBe('6f1c2b9e-8d1e-4c1a-9f2e-0a1b2c3d4e5f');
    for (const bad of ['', 'has space', 'k'.repeat(256), 'é']) {
      expect(() => validateIdempotencyKey(bad)).toThrow(expect.objectContaining({ field: 'Idempotency-Key' }) as never);
    }
  });

  test('a key names a schedule: stable, a valid Scheduler name, different per key', () => {
    expect(nameFromKey('k1')).toBe(nameFromKey('k1'));
    expect(nameFromKey('k1')).toMatch(/^idem-[0-9a-f]{40}$/);
    expect(nameFromKey('k1')).not.toBe(nameFromKey('k2'));
  });

  test('the fingerprint: the same body in any key order is the same; another body or key is not', () => {
    const a = fingerprintOf('k1', { at: '2026-12-08T10:00', request: { rule_id: 1, conference_name: 'a' } });
    const b = fingerprintOf('k1', { request: { conference_name: 'a', rule_id: 1 }, at: '2026-12-08T10:00' });
    expect(a).toBe(b);
    expect(a).toMatch(/^v1\.[0-9a-f]{32}\.[0-9a-f]{64}$/);
    expect(a).not.toContain('k1');
    const otherBody = fingerprintOf('k1', { at: '2026-12-08T11:00', request: { rule_id: 1, conference_name: 'a' } });
    expect(compareFingerprints(a, b)).toBe('same');
    expect(compareFingerprints(a, otherBody)).toBe('key_reused');
    expect(compareFingerprints(fingerprintOf('k2', {}), a)).toBe('other');
    expect(compareFingerprints(undefined, a)).toBe('other');
    expect(canonicalJson({ b: [1, { d: 1, c: undefined }], a: null })).toBe('{"a":null,"b":[1,{"d":1}]}');
  });
});

describe('to and from Scheduler', () => {
  const config = loadSchedulesConfig({
    SCHEDULES_DEPLOY_GROUP: 'voxconf-dev',
    SCHEDULES_API_GROUP: 'voxconf-dev-api',
    SCHEDULES_TARGET_ARN: 'arn:aws:lambda:eu-central-1:123456789012:function:voxconf-dev-schedule',
    SCHEDULES_ROLE_ARN: 'arn:aws:iam::123456789012:role/voxconf-dev-scheduler-api',
    SCHEDULES_DEAD_LETTER_ARN: 'arn:aws:sqs:eu-central-1:123456789012:voxconf-dev-dead-letter',
  });

  test('the settings: groups and ARNs required, limits from lib/facts.json', () => {
    expect(config).toMatchObject({
      maxEventAgeSeconds: 600,
      horizonDays: 400,
      minIntervalMinutes: 5,
      maxCount: 10_000,
    });
    expect(() => loadSchedulesConfig({})).toThrow(/SCHEDULES_DEPLOY_GROUP/);
    expect(() => loadSchedulesConfig({ SCHEDULES_DEPLOY_GROUP: 'g', SCHEDULES_API_GROUP: 'g' })).toThrow(/must differ/);
  });

  test('a one-time schedule: everything voxconf owns, the wrapper input, DELETE after its run', () => {
    const spec = check({ at: '2026-12-08T10:00:00', timezone: 'Europe/Berlin', correlation_id: 'c-1', request });
    const input = toSchedulerInput('consult-4711', 'voxconf-dev-api', spec, config, 'v1.fp');
    expect(input).toEqual({
      Name: 'consult-4711',
      GroupName: 'voxconf-dev-api',
      ScheduleExpression: 'at(2026-12-08T10:00:00)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: config.targetArn,
        RoleArn: config.roleArn,
        Input: expect.any(String),
        RetryPolicy: { MaximumEventAgeInSeconds: 600, MaximumRetryAttempts: 5 },
        DeadLetterConfig: { Arn: config.deadLetterArn },
      },
    });
    expect(JSON.parse(input.Target?.Input ?? '')).toEqual({
      request,
      scheduled_time: '<aws.scheduler.scheduled-time>',
      execution_id: '<aws.scheduler.execution-id>',
      schedule_name: 'consult-4711',
      correlation_id: 'c-1',
      idempotency_fingerprint: 'v1.fp',
    });
    expect(storedFingerprint(input)).toBe('v1.fp');
  });

  test('recurring: NONE after completion without an end date, DELETE with one', () => {
    const open = check({ schedule_expression: 'cron(0 9 ? * MON *)', request });
    expect(toSchedulerInput('a', 'g', open, config).ActionAfterCompletion).toBe('NONE');
    const ending = check({ schedule_expression: 'cron(0 9 ? * MON *)', end_date: '2027-01-01T00:00Z', request });
    expect(toSchedulerInput('a', 'g', ending, config)).toMatchObject({
      ActionAfterCompletion: 'DELETE',
      EndDate: new Date('2027-01-01T00:00:00Z'),
    });
  });

  test('shown back: at local to its zone, next_fire_time with the offset, managed_by', () => {
    const spec = check({ at: '2026-12-08T10:00:00', timezone: 'Europe/Berlin', description: 'd', request });
    const stored = {
      ...toSchedulerInput('consult-4711', 'voxconf-dev-api', spec, config),
      $metadata: {},
      CreationDate: NOW,
      LastModificationDate: NOW,
    };
    expect(toScheduleView(stored, 'api', NOW)).toEqual({
      name: 'consult-4711',
      managed_by: 'api',
      at: '2026-12-08T10:00:00',
      timezone: 'Europe/Berlin',
      enabled: true,
      description: 'd',
      request,
      next_fire_time: '2026-12-08T10:00:00+01:00',
      created_at: '2026-11-30T12:00:00.000Z',
      updated_at: '2026-11-30T12:00:00.000Z',
    });
    expect(toScheduleView({ ...stored, State: 'DISABLED' }, 'api', NOW).next_fire_time).toBeNull();
  });

  test('a deploy-time schedule (infra/schedules.yml input) is shown with managed_by deploy; rate() has no next time', () => {
    const deploy = {
      $metadata: {},
      Name: 'weekday-standup',
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'DISABLED' as const,
      Target: {
        Arn: 'a',
        RoleArn: 'r',
        Input: JSON.stringify({
          request: { conference_name: 'weekday-standup' },
          scheduled_time: '<x>',
          execution_id: '<y>',
        }),
      },
    };
    expect(toScheduleView(deploy, 'deploy', NOW)).toEqual({
      name: 'weekday-standup',
      managed_by: 'deploy',
      schedule_expression: 'cron(0 9 ? * MON-FRI *)',
      timezone: 'Europe/Berlin',
      enabled: false,
      request: { conference_name: 'weekday-standup' },
      next_fire_time: null,
    });
    const enabled = toScheduleView({ ...deploy, State: 'ENABLED' }, 'deploy', NOW);
    expect(enabled.next_fire_time).toBe('2026-12-01T09:00:00+01:00');
    expect(
      toScheduleView({ ...deploy, ScheduleExpression: 'rate(1 day)', State: 'ENABLED' }, 'deploy', NOW).next_fire_time,
    ).toBeNull();
    expect(toSummaryView({ Name: 'weekday-standup', State: 'DISABLED' }, 'deploy')).toEqual({
      name: 'weekday-standup',
      managed_by: 'deploy',
      enabled: false,
    });
  });
});

describe('the list token', () => {
  test('round trip; bound to its prefix; anything else is refused naming next_token', () => {
    const token = encodeListToken({ g: 1, t: 'abc', p: 'consult-' });
    expect(decodeListToken(token, 'consult-')).toEqual({ g: 1, t: 'abc' });
    for (const [bad, prefix] of [
      [token, undefined],
      [token, 'other'],
      ['not-a-token', undefined],
      [encodeListToken({ g: 7 }), undefined],
      [Buffer.from('{"v":2,"g":0}').toString('base64url'), undefined],
    ] as [string, string | undefined][]) {
      expect(() => decodeListToken(bad, prefix)).toThrow(expect.objectContaining({ field: 'next_token' }) as never);
    }
  });
});

describe('the API Gateway event', () => {
  test('the caller: the IAM ARN, the JWT sub, or anonymous (the local stage)', () => {
    expect(callerOf(httpEvent('{}'))).toEqual({
      type: 'iam',
      id: 'arn:aws:sts::123456789012:assumed-role/backend/caller',
    });
    expect(callerOf(httpEvent('{}', { authorizer: 'jwt' }))).toEqual({ type: 'jwt', id: 'client-1' });
    expect(callerOf(httpEvent('{}', { authorizer: 'none' }))).toEqual({ type: 'none', id: 'anonymous' });
  });

  test('the route: the route key, or worked out from method and path ($default)', () => {
    const event = httpEvent(undefined);
    expect(routeOf({ ...event, routeKey: 'GET /schedules/{name}' })).toBe('GET /schedules/{name}');
    expect(
      routeOf({
        ...event,
        routeKey: '$default',
        rawPath: '/schedules/a',
        requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: 'DELETE' } },
      }),
    ).toBe('DELETE /schedules/{name}');
    expect(routeOf({ ...event, routeKey: '$default', rawPath: '/schedules' })).toBe('POST /schedules');
  });
});
