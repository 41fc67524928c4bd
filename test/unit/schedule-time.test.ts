/**
 * Time as Scheduler reads it, in lib/zoned-time.ts and lib/schedule-expression.ts: zone names, local times and
 * instants across daylight saving time (Europe/Berlin in March and October, America/New_York), next fire times,
 * and how often an expression fires.
 */
import { describe, expect, test } from '@jest/globals';
import {
  atExpression,
  compileSchedule,
  nextFireTime,
  parseExpression,
  ScheduleExpressionError,
  shortestIntervalMs,
} from '../../lib/schedule-expression.js';
import {
  formatInstant,
  instantOf,
  isTimeZone,
  offsetMsAt,
  parseDateTime,
  type WallTime,
  wallTimeAt,
} from '../../lib/zoned-time.js';

const wall = (text: string): WallTime => {
  const parsed = parseDateTime(text);
  if (!parsed) throw new Error(`not a date-time: ${text}`);
  return parsed.wall;
};
const next = (expression: string, zone: string, after: string, dates: { start?: string; end?: string } = {}) =>
  nextFireTime(parseExpression(expression), zone, {
    after: new Date(after),
    startDate: dates.start ? new Date(dates.start) : undefined,
    endDate: dates.end ? new Date(dates.end) : undefined,
  });
const iso = (date: Date | undefined) => date?.toISOString();

/** Runs of a cron from `after`, as the schedules API and the local scheduler see them. */
function runs(expression: string, zone: string, after: string, count: number): string[] {
  const out: string[] = [];
  let from: Date | undefined = new Date(after);
  for (let i = 0; i < count && from; i++) {
    from = next(expression, zone, from.toISOString());
    if (from) out.push(formatInstant(from, zone));
  }
  return out;
}

describe('time zone names', () => {
  test.each([
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'America/Argentina/Buenos_Aires',
    'Etc/GMT+5',
    'Asia/Kolkata',
  ])('%s is a zone', (zone) => expect(isTimeZone(zone)).toBe(true));
  test.each(['CET', 'EST', '+01:00', 'Mars/Olympus', 'europe/berlin', '', 'Europe/Berlin ', 'A/'.repeat(30), 7])(
    '%p is not',
    (zone) => expect(isTimeZone(zone)).toBe(false),
  );
});

describe('local times and instants', () => {
  test('dates and times: seconds optional, an offset makes an instant, impossible dates are refused', () => {
    expect(parseDateTime('2026-12-08T10:00')).toEqual({
      kind: 'local',
      wall: { year: 2026, month: 12, day: 8, hour: 10, minute: 0, second: 0 },
    });
    expect(parseDateTime('2026-12-08T10:00:00+01:00')).toMatchObject({
      kind: 'instant',
      instant: new Date('2026-12-08T09:00:00Z'),
    });
    expect(parseDateTime('2026-12-08T09:00:00Z')).toMatchObject({ instant: new Date('2026-12-08T09:00:00Z') });
    for (const bad of [
      '2026-02-30T10:00',
      '2026-12-08T24:00',
      '2026-12-08 10:00',
      '2026-12-08T10:00:00.5Z',
      '2026-12-08',
    ]) {
      expect([bad, parseDateTime(bad)]).toEqual([bad, undefined]);
    }
    expect(parseDateTime('2026-12-08T10:00:00z')).toBeUndefined();
    expect(parseDateTime(20261208)).toBeUndefined();
  });

  test('Berlin: winter is UTC+1, summer UTC+2; 10:00 local is 09:00 or 08:00 UTC', () => {
    expect(iso(instantOf(wall('2026-12-08T10:00'), 'Europe/Berlin'))).toBe('2026-12-08T09:00:00.000Z');
    expect(iso(instantOf(wall('2027-06-08T10:00'), 'Europe/Berlin'))).toBe('2027-06-08T08:00:00.000Z');
    expect(offsetMsAt(new Date('2026-12-08T09:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
  });

  test('Berlin, 29 March 2026: 02:00-02:59 does not exist (clocks go forward)', () => {
    expect(instantOf(wall('2026-03-29T02:30'), 'Europe/Berlin')).toBeUndefined();
    expect(iso(instantOf(wall('2026-03-29T01:59:59'), 'Europe/Berlin'))).toBe('2026-03-29T00:59:59.000Z');
    expect(iso(instantOf(wall('2026-03-29T03:00'), 'Europe/Berlin'))).toBe('2026-03-29T01:00:00.000Z');
  });

  test('Berlin, 25 October 2026: 02:30 happens twice; its first occurrence (CEST) is taken', () => {
    expect(iso(instantOf(wall('2026-10-25T02:30'), 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
  });

  test('New York: 8 March and 1 November 2026', () => {
    expect(instantOf(wall('2026-03-08T02:30'), 'America/New_York')).toBeUndefined();
    expect(iso(instantOf(wall('2026-11-01T01:30'), 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(instantOf(wall('2026-07-04T09:00'), 'America/New_York'))).toBe('2026-07-04T13:00:00.000Z');
  });

  test('instants are shown with the zone offset of that moment', () => {
    expect(formatInstant(new Date('2026-12-08T09:00:00Z'), 'Europe/Berlin')).toBe('2026-12-08T10:00:00+01:00');
    expect(formatInstant(new Date('2027-06-08T08:00:00Z'), 'Europe/Berlin')).toBe('2027-06-08T10:00:00+02:00');
    expect(formatInstant(new Date('2026-07-04T13:00:00.900Z'), 'America/New_York')).toBe('2026-07-04T09:00:00-04:00');
    expect(formatInstant(new Date('2026-12-08T09:00:00Z'), 'UTC')).toBe('2026-12-08T09:00:00+00:00');
    expect(formatInstant(new Date('2026-12-08T09:00:00Z'), 'Asia/Kolkata')).toBe('2026-12-08T14:30:00+05:30');
    expect(wallTimeAt(new Date('2026-12-08T09:00:00Z'), 'America/New_York')).toEqual(wall('2026-12-08T04:00'));
  });
});

describe('expressions, read as Scheduler reads them', () => {
  test.each([
    ['cron(0 9 ? * MON-FRI *)', 'cron'],
    ['cron(30 15 ? * MON#1 *)', 'cron'],
    ['cron(0 12 L * ? 2027)', 'cron'],
    ['rate(1 hour)', 'rate'],
    ['rate(5 minutes)', 'rate'],
    ['rate(2 days)', 'rate'],
    ['at(2026-12-08T10:00:00)', 'at'],
  ])('%s is %s', (expression, kind) => expect(parseExpression(expression).kind).toBe(kind));

  test.each([
    ['cron(0 9 * * MON-FRI *)', /exactly one of day-of-month/],
    ['cron(0 9 ? * MON-FRI)', /6 fields/],
    ['cron(0 9 ? * FOO *)', /FOO|Syntax|invalid/i],
    ['cron(0 9 ? * MON-FRI *', /closing parenthesis/],
    ['rate(1 hours)', /rate\(1 hour\)/],
    ['rate(5 minute)', /rate\(5 minutes\)/],
    ['rate(0 minutes)', /at least 1/],
    ['rate(5 weeks)', /rate\(5 minutes\)/],
    ['at(2026-12-08T10:00:00Z)', /at\(yyyy/],
    ['at(2026-02-30T10:00:00)', /at\(yyyy/],
    ['every day at 9', /not a cron/],
  ])('%s is refused', (expression, reason) => {
    expect(() => parseExpression(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseExpression(expression)).toThrow(reason);
  });

  test('at() is written back from a wall-clock time', () => {
    expect(atExpression(wall('2026-12-08T10:00'))).toBe('at(2026-12-08T10:00:00)');
  });
});

describe('next fire time, in the zone, with daylight saving time', () => {
  test('Tuesday 10:00 Berlin across the March change: 09:00 UTC, then 08:00 UTC', () => {
    expect(runs('cron(0 10 ? * TUE *)', 'Europe/Berlin', '2026-03-20T00:00:00Z', 3)).toEqual([
      '2026-03-24T10:00:00+01:00',
      '2026-03-31T10:00:00+02:00',
      '2026-04-07T10:00:00+02:00',
    ]);
  });

  test('across the October change: 08:00 UTC, then 09:00 UTC', () => {
    expect(runs('cron(0 10 ? * TUE *)', 'Europe/Berlin', '2026-10-20T00:00:00Z', 2)).toEqual([
      '2026-10-20T10:00:00+02:00',
      '2026-10-27T10:00:00+01:00',
    ]);
  });

  test('a daily 02:30 Berlin does not run on 29 March (the time does not exist), as Scheduler documents', () => {
    expect(runs('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-03-28T00:00:00Z', 3)).toEqual([
      '2026-03-28T02:30:00+01:00',
      '2026-03-30T02:30:00+02:00',
      '2026-03-31T02:30:00+02:00',
    ]);
  });

  test('a daily 02:30 Berlin runs once on 25 October (the time occurs twice)', () => {
    expect(runs('cron(30 2 * * ? *)', 'Europe/Berlin', '2026-10-24T12:00:00Z', 3)).toEqual([
      '2026-10-25T02:30:00+02:00',
      '2026-10-26T02:30:00+01:00',
      '2026-10-27T02:30:00+01:00',
    ]);
  });

  test('New York: first Monday 15:30 across November; 09:00 daily across March', () => {
    expect(runs('cron(30 15 ? * MON#1 *)', 'America/New_York', '2026-10-01T00:00:00Z', 2)).toEqual([
      '2026-10-05T15:30:00-04:00',
      '2026-11-02T15:30:00-05:00',
    ]);
    expect(runs('cron(0 9 * * ? *)', 'America/New_York', '2026-03-07T00:00:00Z', 2)).toEqual([
      '2026-03-07T09:00:00-05:00',
      '2026-03-08T09:00:00-04:00',
    ]);
  });

  test('start and end dates bound the runs', () => {
    const weekdays = 'cron(0 9 ? * MON-FRI *)';
    expect(iso(next(weekdays, 'UTC', '2026-11-30T12:00:00Z', { start: '2026-12-07T00:00:00Z' }))).toBe(
      '2026-12-07T09:00:00.000Z',
    );
    expect(next(weekdays, 'UTC', '2026-11-30T12:00:00Z', { end: '2026-12-01T09:00:00Z' })).toBeUndefined();
    expect(iso(next(weekdays, 'UTC', '2026-11-30T12:00:00Z', { end: '2026-12-01T09:00:01Z' }))).toBe(
      '2026-12-01T09:00:00.000Z',
    );
  });

  test('at: its instant while ahead; nothing once past; rate: unknown (null in the API)', () => {
    expect(iso(next('at(2026-12-08T10:00:00)', 'Europe/Berlin', '2026-12-01T00:00:00Z'))).toBe(
      '2026-12-08T09:00:00.000Z',
    );
    expect(next('at(2026-12-08T10:00:00)', 'Europe/Berlin', '2026-12-09T00:00:00Z')).toBeUndefined();
    expect(next('rate(1 day)', 'UTC', '2026-12-01T00:00:00Z')).toBeUndefined();
    expect(next('cron(0 9 ? * MON-FRI 2020)', 'UTC', '2026-12-01T00:00:00Z')).toBeUndefined();
  });
});

describe('how often an expression fires', () => {
  const from = new Date('2026-11-30T12:00:00Z');
  const shortest = (expression: string, zone = 'UTC') =>
    shortestIntervalMs(parseExpression(expression), zone, from, 400);
  const minutes = (ms: number | undefined) => (ms === undefined ? undefined : ms / 60_000);

  test.each([
    ['rate(5 minutes)', 5],
    ['rate(1 hour)', 60],
    ['cron(0/5 * * * ? *)', 5],
    ['cron(0/1 * * * ? *)', 1],
    ['cron(0,3 9 * * ? *)', 3],
    ['cron(58 * * * ? *)', 60],
    ['cron(3,58 * * * ? *)', 5],
    ['cron(59 23 L * ? *)', 60 * 24 * 28],
    ['cron(0 9 ? * MON-FRI *)', 60 * 24],
  ])('%s: every %i minutes at the shortest', (expression, expected) => {
    expect(minutes(shortest(expression))).toBe(expected);
  });

  test('a gap across a day boundary is found (23:58, then 00:01 the next day)', () => {
    expect(minutes(shortest('cron(1,58 0,23 * * ? *)'))).toBe(3);
  });

  test('at: no interval; it stops at the first gap below the given bound', () => {
    expect(shortestIntervalMs(parseExpression('at(2026-12-08T10:00:00)'), 'UTC', from, 400)).toBeUndefined();
    expect(minutes(shortestIntervalMs(parseExpression('cron(0/1 * * * ? *)'), 'UTC', from, 400, 300_000))).toBe(1);
  });
});

describe('the local scheduler reads the same expressions (local/ re-exports lib/)', () => {
  test('a cron time the clocks skip is skipped there too', async () => {
    const local = await import('../../local/schedule-expression.js');
    expect(local.compileSchedule).toBe(compileSchedule);
    const schedule = compileSchedule('cron(30 2 * * ? *)', 'Europe/Berlin', new Date('2026-03-28T00:00:00Z'));
    expect(iso(schedule.next(new Date('2026-03-28T12:00:00Z')))).toBe('2026-03-30T00:30:00.000Z');
  });
});
