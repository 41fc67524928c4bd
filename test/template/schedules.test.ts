/**
 * infra/schedules.cjs: the checks that run on infra/schedules.yml at package time (errors name the entry and
 * the field), and the resources it builds. Pure functions, no packaging.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { parseScheduledEvent } from '../../lib/schedule.js';
import { validateConferenceRequest } from '../../lib/validation.js';
import { ROOT, requireCjs } from './package-helper.js';

interface Entry {
  name: string;
  schedule: string;
  timezone: string;
  enabled?: boolean;
  description?: string;
  correlation_id?: string;
  request: Record<string, unknown>;
}
interface SchedulesModule {
  SCHEDULES_FILE: string;
  ScheduleConfigError: new (problems: string[]) => Error & { problems: string[] };
  validateSchedules(
    doc: unknown,
    options?: { defaultRuleId?: number; allowedRuleIds?: number[]; checkRules?: boolean },
  ): string[];
  parseSchedules(text: string, options?: { defaultRuleId?: number; allowedRuleIds?: number[] }): Entry[];
  buildScheduleResources(
    entries: Entry[],
    settings: { maxEventAgeSeconds: number },
  ): Record<string, { Type: string; Properties: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
  scheduleInput(entry: Entry, run?: { scheduledTime: string; executionId: string }): Record<string, unknown>;
  logicalId(name: string): string;
}

const schedules = requireCjs('../../infra/schedules.cjs') as SchedulesModule;

const valid = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'standup',
  schedule: 'cron(0 9 ? * MON-FRI *)',
  timezone: 'Europe/Berlin',
  request: { conference_name: 'standup', rule_id: 42 },
  ...overrides,
});
const problemsOf = (entry: unknown, options = {}) => schedules.validateSchedules({ schedules: [entry] }, options);

describe('the shipped infra/schedules.yml', () => {
  const text = readFileSync(path.join(ROOT, 'infra', 'schedules.yml'), 'utf8');

  test('ships every example disabled: a deploy starts no conference nobody asked for', () => {
    const entries = schedules.parseSchedules(text, {});
    expect(entries.map((e) => [e.name, e.enabled])).toEqual([
      ['weekday-standup', false],
      ['monthly-review', false],
    ]);
  });

  test('enabled as the README says, the stand-up needs a rule: without defaultRuleId the error says what to do', () => {
    const enabled = text.replace(/(name: weekday-standup[\s\S]*?)enabled: false/, '$1enabled: true');
    expect(enabled).not.toBe(text);
    expect(() => schedules.parseSchedules(enabled, {})).toThrow(
      /schedule #1 "weekday-standup": request.rule_id is missing .*defaultRuleId.*enabled: false/,
    );
  });

  test('every example request passes the functions own validation (lib/validation.ts)', () => {
    for (const entry of (YAML.parse(text) as { schedules: Entry[] }).schedules) {
      expect(() => validateConferenceRequest(entry.request, { defaultRuleId: 1000001 })).not.toThrow();
    }
  });
});

describe('validation: every problem names the entry and the field', () => {
  test('a valid entry has no problems', () => {
    expect(problemsOf(valid())).toEqual([]);
    expect(problemsOf(valid({ enabled: false, description: 'x', schedule: 'rate(1 hour)', timezone: 'UTC' }))).toEqual(
      [],
    );
    expect(
      problemsOf(valid({ schedule: 'at(2030-01-15T14:00:00)', timezone: 'America/Argentina/Buenos_Aires' })),
    ).toEqual([]);
  });

  test.each([
    ['missing name', { name: undefined }, /schedule #1: name is required/],
    ['bad name', { name: 'stand up!' }, /schedule #1 "stand up!": name must be 1-64 letters/],
    ['name too long', { name: 'a'.repeat(65) }, /name must be 1-64/],
    ['missing request', { request: undefined }, /"standup": request is required/],
    ['missing conference_name', { request: { rule_id: 1 } }, /"standup": request.conference_name is required/],
    [
      'empty conference_name',
      { request: { conference_name: '', rule_id: 1 } },
      /request.conference_name must not be empty/,
    ],
    [
      'blank conference_name',
      { request: { conference_name: ' ', rule_id: 1 } },
      /request.conference_name must contain a visible character/,
    ],
    [
      'C1 control character in conference_name',
      { request: { conference_name: 'a\u0085b', rule_id: 1 } },
      /request.conference_name must not contain control characters/,
    ],
    [
      'conference_name with a trailing space',
      { request: { conference_name: 'standup ', rule_id: 1 } },
      /request.conference_name must not start or end with white space/,
    ],
    ['long conference_name', { request: { conference_name: 'x'.repeat(50), rule_id: 1 } }, /at most 49 characters/],
    [
      'numeric conference_name',
      { request: { conference_name: 12, rule_id: 1 } },
      /request.conference_name must be a string/,
    ],
    [
      'bad rule_id',
      { request: { conference_name: 'a', rule_id: 'twelve' } },
      /request.rule_id must be a positive integer/,
    ],
    [
      'unknown request field',
      { request: { conference_name: 'a', rule_id: 1, room: 'x' } },
      /request.room is not a known field/,
    ],
    [
      'bad reference_ip',
      { request: { conference_name: 'a', rule_id: 1, reference_ip: '300.1.1.1' } },
      /request.reference_ip/,
    ],
    ['variable syntax', { request: { conference_name: 'a${sls:stage}', rule_id: 1 } }, /must not contain "\$\{"/],
    ['unknown key', { every: 'day' }, /"standup": unknown key "every"/],
    ['missing timezone', { timezone: undefined }, /"standup": timezone is required/],
    [
      'timezone format',
      { timezone: 'GMT+2 hours' },
      /"standup": timezone "GMT\+2 hours" is not an IANA time zone name/,
    ],
    ['unknown timezone', { timezone: 'Europe/Berln' }, /"standup": timezone "Europe\/Berln" is not a known time zone/],
    ['missing schedule', { schedule: undefined }, /"standup": schedule is required/],
    ['cron with 5 fields', { schedule: 'cron(0 9 * * MON-FRI)' }, /must have 6 fields/],
    ['cron without ?', { schedule: 'cron(0 9 * * MON-FRI *)' }, /exactly one of day-of-month/],
    ['rate plural', { schedule: 'rate(1 hours)' }, /write rate\(1 hour\)/],
    ['rate singular', { schedule: 'rate(5 minute)' }, /write rate\(5 minutes\)/],
    ['bad at date', { schedule: 'at(2030-02-30T10:00:00)' }, /not a valid date/],
    ['unknown expression', { schedule: 'every monday' }, /must start with cron\(, rate\( or at\(/],
    ['enabled not boolean', { enabled: 'yes' }, /"standup": enabled must be true or false/],
    ['long description', { description: 'x'.repeat(513) }, /description must be at most 512/],
    [
      'correlation_id too long',
      { correlation_id: 'c'.repeat(129) },
      /"standup": correlation_id must be 1 to 128 printable ASCII characters, got a string of 129 characters/,
    ],
    ['correlation_id not a string', { correlation_id: 42 }, /correlation_id must be 1 to 128 .*got number 42/],
    ['correlation_id with a control character', { correlation_id: 'a\tb' }, /correlation_id must be 1 to 128/],
    ['correlation_id with a leading space', { correlation_id: ' a' }, /correlation_id must be 1 to 128/],
    ['correlation_id with variable syntax', { correlation_id: 'a${self:x}' }, /correlation_id must not contain "\$\{"/],
  ])('%s', (_label, overrides, message) => {
    const problems = problemsOf(valid(overrides as Record<string, unknown>));
    expect(problems.join('\n')).toMatch(message);
  });

  test('duplicate names and names that collide as logical ids', () => {
    expect(schedules.validateSchedules({ schedules: [valid(), valid()] })).toEqual([
      'schedule #2 "standup": name is already used by schedule #1',
    ]);
    expect(schedules.validateSchedules({ schedules: [valid({ name: 'a-b' }), valid({ name: 'a_b' })] }).join()).toMatch(
      /too similar to "a-b"/,
    );
  });

  test('rule checks for enabled entries: default rule, allowed rules; skipped for disabled ones and the local stage', () => {
    const noRule = valid({ request: { conference_name: 'x' } });
    expect(problemsOf(noRule).join()).toMatch(/rule_id is missing/);
    expect(problemsOf(noRule, { defaultRuleId: 5 })).toEqual([]);
    expect(problemsOf({ ...noRule, enabled: false })).toEqual([]);
    expect(problemsOf(noRule, { checkRules: false })).toEqual([]);
    expect(problemsOf(valid(), { allowedRuleIds: [1, 2] }).join()).toMatch(
      /rule_id 42 is not in the stage's allowedRuleIds/,
    );
    expect(problemsOf(valid(), { allowedRuleIds: [42] })).toEqual([]);
  });

  test('document shape', () => {
    expect(schedules.validateSchedules(null)).toEqual([]);
    expect(schedules.validateSchedules({ schedules: null })).toEqual([]);
    expect(schedules.validateSchedules([valid()])).toEqual([
      'the file must be a mapping with a "schedules" list, got a list',
    ]);
    expect(schedules.validateSchedules({ schedule: [] })).toEqual([
      'unknown top-level key "schedule" (only "schedules" is allowed)',
    ]);
    expect(schedules.validateSchedules({ schedules: ['x'] })[0]).toMatch(/^schedule #1: must be a mapping/);
  });

  test('all problems are reported together, with the file name', () => {
    const text = YAML.stringify({
      schedules: [valid({ timezone: 'Mars/Olympus' }), valid({ name: 'b', request: {} })],
    });
    let error: (Error & { problems?: string[] }) | undefined;
    try {
      schedules.parseSchedules(text);
    } catch (caught) {
      error = caught as Error & { problems?: string[] };
    }
    expect(error?.message).toMatch(/^infra\/schedules.yml: 2 problems:/);
    expect(error?.problems).toEqual([
      'schedule #1 "standup": timezone "Mars/Olympus" is not a known time zone (e.g. Europe/Berlin, America/New_York, UTC)',
      'schedule #2 "b": request.conference_name is required.',
    ]);
  });

  test('YAML errors (duplicate keys) are reported', () => {
    expect(() => schedules.parseSchedules('schedules:\n  - name: a\n    name: b\n')).toThrow(/YAML: /);
  });
});

describe('resources', () => {
  test('one AWS::Scheduler::Schedule per entry, wrapper input, retry policy bounded by the lateness', () => {
    const resources = schedules.buildScheduleResources(
      [
        valid({
          description: 'daily',
          request: { conference_name: 'standup', rule_id: 42, script_custom_data: { a: 1 } },
        }) as unknown as Entry,
      ],
      { maxEventAgeSeconds: 600 },
    );
    expect(Object.keys(resources)).toEqual(['ScheduleStandup']);
    const { Type, Properties } = resources.ScheduleStandup;
    expect(Type).toBe('AWS::Scheduler::Schedule');
    expect(Properties).toMatchObject({
      Name: 'standup',
      Description: 'daily',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: { RetryPolicy: { MaximumEventAgeInSeconds: 600 } },
    });
    expect(JSON.parse(Properties.Target.Input)).toEqual({
      request: { conference_name: 'standup', rule_id: 42, script_custom_data: { a: 1 } },
      scheduled_time: '<aws.scheduler.scheduled-time>',
      execution_id: '<aws.scheduler.execution-id>',
      schedule_name: 'standup',
    });
  });

  test("an entry's correlation_id is in its input; the function's own parser takes the input as it is", () => {
    const entry = valid({ correlation_id: 'booking-42/class 7' }) as unknown as Entry;
    expect(problemsOf(entry)).toEqual([]);
    const { Properties } = schedules.buildScheduleResources([entry], { maxEventAgeSeconds: 600 }).ScheduleStandup;
    const input = JSON.parse(Properties.Target.Input);
    expect(input).toEqual({
      request: { conference_name: 'standup', rule_id: 42 },
      scheduled_time: '<aws.scheduler.scheduled-time>',
      execution_id: '<aws.scheduler.execution-id>',
      schedule_name: 'standup',
      correlation_id: 'booking-42/class 7',
    });
    // As Scheduler delivers it (placeholders filled in): what lib/schedule.ts reads.
    const delivered = schedules.scheduleInput(entry, { scheduledTime: '2026-12-01T08:00:00Z', executionId: 'e-1' });
    expect(parseScheduledEvent(delivered)).toEqual({
      request: { conference_name: 'standup', rule_id: 42 },
      scheduledTime: new Date('2026-12-01T08:00:00Z'),
      executionId: 'e-1',
      scheduleName: 'standup',
      correlationId: 'booking-42/class 7',
    });
  });

  test('logical ids are PascalCase and prefixed', () => {
    expect(schedules.logicalId('weekday-standup')).toBe('ScheduleWeekdayStandup');
    expect(schedules.logicalId('a_b-c')).toBe('ScheduleABC');
  });

  test('the lateness bound must be usable by Scheduler', () => {
    expect(() => schedules.buildScheduleResources([], { maxEventAgeSeconds: 30 })).toThrow(/between 60 and 21600/);
  });
});
