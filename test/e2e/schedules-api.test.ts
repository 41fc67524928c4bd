/**
 * End to end, issue 13: the schedules API through the local stack started as `npm start` starts it. Requests go
 * over real HTTP to serverless offline's /schedules routes (the schedules function), which stores schedules in the
 * EventBridge Scheduler stand-in through the real SDK; the stack's scheduler fires them through the schedule
 * function; the emulator's records say when each conference started. Every answer of the HTTP API is checked
 * against docs/openapi.yaml.
 *
 *   one due in 5 s starts at its second and is then gone; one cancelled never starts; one moved with PUT starts at
 *   the new time only; a recurring one fires (the control API's fire route) and keeps its next_fire_time; a DST
 *   zone's next_fire_time across both of Europe/Berlin's changes (expected values computed here, from the EU rule,
 *   not by lib/); a create retried with the same Idempotency-Key; every refusal of the issue, the Scheduler
 *   stand-in's failures made through the control API; the create latency through the stack (printed, not asserted);
 *   the banner's schedules commands as printed (bash + curl); Ctrl-C.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { triggerCommands } from '../../local/banner.js';
import type { RecordedEvent } from '../../local/eventbridge.js';
import type { FireResult, ScheduleInfo } from '../../local/scheduler.js';
import { connectEmulator, type EmulatorControlClient } from '../../local/voximplant-emulator/index.js';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import {
  eventually,
  freePortBase,
  openPorts,
  type RunningStack,
  sleep,
  startLocalStack,
} from '../helpers/local-stack.js';
import { expectMatchesOpenApi, fetchDocumented } from '../helpers/openapi.js';

const API_GROUP = 'voxconf-local-api';
const DEPLOY_GROUP = 'voxconf-local';
/** Rules the emulator account has (and the allow-list names): the first is the default rule. */
const RULES = [5_000_001, 5_000_002];
/** The scheduler fires to the second; the function, bundle load and emulator add a little. */
const JITTER_MS = 2000;

let stack: RunningStack | undefined;
let stopped = false;
let emulator: EmulatorControlClient;
const began = Date.now();

const info = () => (stack as RunningStack).info;

type Answer = { status: number; headers: Headers; json: Record<string, any> };

/** One request to the schedules API; the answer must match docs/openapi.yaml. */
function api(
  method: string,
  path: string,
  options: { body?: unknown; text?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const text = options.text ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  return fetchDocumented(`${info().httpApiUrl}${path}`, {
    method,
    headers: { ...(text === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(text === undefined ? {} : { body: text }),
  });
}

const control = async <T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> => {
  const response = await fetch(`${info().controlUrl}${path}`, init);
  return { status: response.status, body: (await response.json()) as T };
};
const schedulerFault = (fault: Record<string, unknown>) =>
  control('/scheduler/faults', { method: 'POST', body: JSON.stringify(fault) });
const clearSchedulerFaults = () => control('/scheduler/faults', { method: 'DELETE' });

const conferenceNamed = async (name: string) =>
  (await emulator.conferences()).find((conference) => conference.name === name);
const startedEventOf = async (name: string) =>
  (await control<RecordedEvent[]>('/events?detail_type=Conference%20Started')).body.find(
    (event) => event.Detail.schedule_name === name,
  );

/** The whole second at least `seconds` from now. */
const dueIn = (seconds: number) => Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000;
/** An instant as `at` takes it: UTC, whole seconds, `Z`. */
const instant = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;
/** The API's next_fire_time of an instant in UTC. */
const utcOffsetTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
const until = (ms: number) => sleep(Math.max(0, ms - Date.now()));

// ---- Europe/Berlin from the EU rule, independently of lib/ -----------------------------------------------------
// Summer time (UTC+2) from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.

const pad = (n: number) => String(n).padStart(2, '0');
/** Day of month of the last Sunday of a month (month 1-12). */
const lastSunday = (year: number, month: number) => {
  const last = new Date(Date.UTC(year, month, 0));
  return last.getUTCDate() - last.getUTCDay();
};
const berlinOffsetHours = (utcMs: number) => {
  const year = new Date(utcMs).getUTCFullYear();
  const start = Date.UTC(year, 2, lastSunday(year, 3), 1);
  const end = Date.UTC(year, 9, lastSunday(year, 10), 1);
  return utcMs >= start && utcMs < end ? 2 : 1;
};
const ymd = (year: number, month: number, day: number) => {
  const date = new Date(Date.UTC(year, month - 1, day));
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}`;
};
/** The next Monday 10:00 in Berlin after now, as the API shows it (ISO with the offset). */
function nextMondayTenBerlin(): string {
  const now = Date.now();
  const today = new Date(now + berlinOffsetHours(now) * 3_600_000);
  for (let days = 0; days <= 7; days++) {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + days));
    if (day.getUTCDay() !== 1) continue;
    const wall = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 10);
    const offset = berlinOffsetHours(wall - 2 * 3_600_000);
    if (wall - offset * 3_600_000 > now) {
      return `${ymd(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate())}T10:00:00+0${offset}:00`;
    }
  }
  throw new Error('unreachable');
}
/** The next changes of the clocks in Berlin (Sundays), March's and October's, at least a day ahead. */
function nextBerlinChanges(): { spring: [number, number, number]; autumn: [number, number, number] } {
  const soon = Date.now() + 86_400_000;
  const next = (month: number): [number, number, number] => {
    for (let year = new Date(soon).getUTCFullYear(); ; year++) {
      const day = lastSunday(year, month);
      if (Date.UTC(year, month - 1, day) > soon) return [year, month, day];
    }
  };
  return { spring: next(3), autumn: next(10) };
}

beforeAll(async () => {
  stack = await startLocalStack({
    VOXCONF_PORT_BASE: String(await freePortBase()),
    VOXCONF_LATENCY_MS: '10',
    VOXIMPLANT_ALLOWED_RULE_IDS: RULES.join(','),
  });
  process.stdout.write(`schedules API: local stack ready in ${stack.readyMs} ms\n`);
  emulator = connectEmulator(stack.info.emulator?.origin as string);
  // The schedules function's first request loads its bundle (a cold start): not part of what is measured below.
  expect((await api('GET', '/schedules')).status).toBe(200);
}, 90_000);

afterAll(async () => {
  if (stack && !stopped) await stack.stop('SIGKILL').catch(() => {});
  process.stdout.write(`schedules API: ${Date.now() - began} ms in all\n`);
});

describe('the Scheduler stand-in in the stack', () => {
  test('has its own port and groups, and the functions reach it through AWS_ENDPOINT_URL_SCHEDULER', () => {
    const { ports, schedulerEndpoint, scheduleGroups, functions } = info();
    expect(schedulerEndpoint).toBe(`http://127.0.0.1:${ports.scheduler}`);
    expect(scheduleGroups).toEqual({ deploy: DEPLOY_GROUP, api: API_GROUP });
    expect(functions.schedules).toBe('voxconf-local-schedules');
    expect(info().defaultRuleId).toBe(RULES[0]);
    const out = (stack as RunningStack).output();
    expect(out).toContain(`Scheduler API    ${schedulerEndpoint}  groups ${DEPLOY_GROUP} (infra/schedules.yml)`);
  });

  test("GET /schedules lists infra/schedules.yml's (managed_by deploy) with the API's, paged by one next_token", async () => {
    const created = await api('POST', '/schedules', {
      body: { name: 'e2e-listed', at: instant(dueIn(3600)), request: { conference_name: 'e2e-listed' } },
    });
    expect(created.status).toBe(201);
    const all = await api('GET', '/schedules');
    expect(all.json.schedules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'weekday-standup', managed_by: 'deploy', enabled: false }),
        expect.objectContaining({ name: 'monthly-review', managed_by: 'deploy', enabled: false }),
        expect.objectContaining({ name: 'e2e-listed', managed_by: 'api', enabled: true }),
      ]),
    );
    // One at a time: the same list, across both groups.
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await api('GET', `/schedules?limit=1${token ? `&next_token=${encodeURIComponent(token)}` : ''}`);
      paged.push(...page.json.schedules.map((s: { name: string }) => s.name));
      token = page.json.next_token;
    } while (token);
    expect(paged).toEqual(all.json.schedules.map((s: { name: string }) => s.name));
    expect(
      (await api('GET', '/schedules?prefix=e2e-list')).json.schedules.map((s: { name: string }) => s.name),
    ).toEqual(['e2e-listed']);
    // The deploy-time schedule, shown in full.
    expect((await api('GET', '/schedules/weekday-standup')).json).toMatchObject({
      name: 'weekday-standup',
      managed_by: 'deploy',
      schedule_expression: 'cron(0 9 ? * MON-FRI *)',
      timezone: 'Europe/Berlin',
      enabled: false,
      next_fire_time: null,
    });
    // The control API lists both groups too.
    const listed = (await control<ScheduleInfo[]>('/schedules')).body;
    expect(listed.find((s) => s.name === 'weekday-standup')).toMatchObject({
      group: DEPLOY_GROUP,
      managed_by: 'deploy',
    });
    expect(listed.find((s) => s.name === 'e2e-listed')).toMatchObject({ group: API_GROUP, managed_by: 'api' });
    expect((await api('DELETE', '/schedules/e2e-listed')).status).toBe(204);
  }, 30_000);
});

describe('one-time schedules fire at their time', () => {
  test('one due in 5 s starts its conference at that second, publishes its event, and is gone afterwards', async () => {
    const when = dueIn(5);
    const created = await api('POST', '/schedules', {
      body: {
        name: 'e2e-once',
        at: instant(when),
        correlation_id: 'booking-e2e-once',
        request: { conference_name: 'e2e-once' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/schedules/e2e-once');
    expect(created.json).toMatchObject({ name: 'e2e-once', managed_by: 'api', next_fire_time: utcOffsetTime(when) });
    const armed = (await control<ScheduleInfo[]>('/schedules')).body.find((s) => s.name === 'e2e-once');
    expect(armed).toMatchObject({ group: API_GROUP, next_fire_time: instant(when) });

    const conference = await eventually(() => conferenceNamed('e2e-once'), when - Date.now() + 10_000, 'e2e-once');
    const late = Date.parse(conference.createdAt) - when;
    process.stdout.write(`schedules API: e2e-once started ${late} ms after its second\n`);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(JITTER_MS);
    expect(conference.ruleId).toBe(RULES[0]);

    const event = await eventually(() => startedEventOf('e2e-once'), 5000, "e2e-once's event");
    expect(event.Detail).toMatchObject({
      source: 'schedule',
      schedule_name: 'e2e-once',
      scheduled_time: instant(when),
      correlation_id: 'booking-e2e-once',
    });
    // ActionAfterCompletion DELETE: gone once it ran.
    const gone = await eventually(
      async () => {
        const answer = await api('GET', '/schedules/e2e-once');
        return answer.status === 404 ? answer : undefined;
      },
      5000,
      'e2e-once to be deleted',
    );
    expect(gone.json.error).toMatchObject({ code: 'schedule_not_found', field: 'name' });
    expect((await control<ScheduleInfo[]>('/schedules')).body.some((s) => s.name === 'e2e-once')).toBe(false);
  }, 30_000);

  test('one created, then cancelled, never starts', async () => {
    const when = dueIn(3);
    const body = { name: 'e2e-cancelled', at: instant(when), request: { conference_name: 'e2e-cancelled' } };
    expect((await api('POST', '/schedules', { body })).status).toBe(201);
    const cancelled = await api('DELETE', '/schedules/e2e-cancelled');
    expect(cancelled.status).toBe(204);
    expect((await api('GET', '/schedules/e2e-cancelled')).status).toBe(404);
    await until(when + JITTER_MS);
    expect(await conferenceNamed('e2e-cancelled')).toBeUndefined();
    expect((await emulator.requests()).some((r) => r.params.conference_name === 'e2e-cancelled')).toBe(false);
  }, 20_000);

  test('one moved with PUT starts at the new time, not the old', async () => {
    const first = dueIn(3);
    const moved = first + 3000;
    const body = { name: 'e2e-moved', at: instant(first), request: { conference_name: 'e2e-moved' } };
    expect((await api('POST', '/schedules', { body })).status).toBe(201);
    const put = await api('PUT', '/schedules/e2e-moved', {
      body: { at: instant(moved), description: 'moved by 3 s', request: { conference_name: 'e2e-moved' } },
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      name: 'e2e-moved',
      description: 'moved by 3 s',
      next_fire_time: utcOffsetTime(moved),
    });
    await until(first + 1500);
    expect(await conferenceNamed('e2e-moved')).toBeUndefined();
    const conference = await eventually(() => conferenceNamed('e2e-moved'), moved - Date.now() + 10_000, 'e2e-moved');
    const late = Date.parse(conference.createdAt) - moved;
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(JITTER_MS);
    expect(conference.joinCount).toBe(0);
  }, 30_000);
});

describe('recurring schedules', () => {
  test("one fires through the control API's fire route and keeps its next_fire_time (Monday 10:00 Berlin)", async () => {
    const expected = nextMondayTenBerlin();
    const created = await api('POST', '/schedules', {
      body: {
        name: 'e2e-weekly',
        schedule_expression: 'cron(0 10 ? * MON *)',
        timezone: 'Europe/Berlin',
        correlation_id: 'class-e2e',
        request: { conference_name: 'e2e-weekly', rule_id: RULES[1] },
      },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ schedule_expression: 'cron(0 10 ? * MON *)', next_fire_time: expected });

    const before = Math.floor(Date.now() / 1000) * 1000;
    const fired = await control<FireResult>(`/schedules/${API_GROUP}/e2e-weekly/fire`, { method: 'POST' });
    expect(fired.status).toBe(200);
    expect(fired.body).toMatchObject({ schedule: 'e2e-weekly', group: API_GROUP, outcome: 'started' });
    expect(Date.parse(fired.body.scheduled_time)).toBeGreaterThanOrEqual(before);
    expect(await conferenceNamed('e2e-weekly')).toMatchObject({ ruleId: RULES[1] });
    expect((await eventually(() => startedEventOf('e2e-weekly'), 5000, "e2e-weekly's event")).Detail).toMatchObject({
      scheduled_time: fired.body.scheduled_time,
      correlation_id: 'class-e2e',
    });
    // Recurring: still there, same next run.
    expect((await api('GET', '/schedules/e2e-weekly')).json).toMatchObject({ next_fire_time: expected });
    const listed = (await control<ScheduleInfo[]>('/schedules')).body.find((s) => s.name === 'e2e-weekly');
    expect(Date.parse(listed?.next_fire_time as string)).toBe(Date.parse(expected));
    expect((await api('DELETE', '/schedules/e2e-weekly')).status).toBe(204);
  }, 20_000);

  test("the fire route takes infra/schedules.yml's group too, and says what it does not know", async () => {
    const fired = await control<FireResult>(`/schedules/${DEPLOY_GROUP}/weekday-standup/fire`, { method: 'POST' });
    expect(fired).toMatchObject({ status: 200, body: { schedule: 'weekday-standup', group: DEPLOY_GROUP } });
    expect(fired.body.outcome).toBe('started');
    const group = await control<{ groups: string[] }>('/schedules/nope/weekday-standup/fire', { method: 'POST' });
    expect(group).toMatchObject({ status: 404, body: { groups: [DEPLOY_GROUP, API_GROUP] } });
    const name = await control<{ error: string }>(`/schedules/${API_GROUP}/nope/fire`, { method: 'POST' });
    expect(name.status).toBe(404);
    expect(name.body.error).toMatch(/no schedule named "nope" in group voxconf-local-api/);
  }, 20_000);

  test("a DST zone's next_fire_time: Europe/Berlin across the last Sundays of March and October", async () => {
    const { spring, autumn } = nextBerlinChanges();
    const saturday = ([y, m, d]: [number, number, number]) => `${ymd(y, m, d - 1)}T12:00:00`;
    const sunday = ([y, m, d]: [number, number, number], later = 0) => ymd(y, m, d + later);
    const cases = [
      // 10:00 on the day of the change: already the new offset.
      { expression: 'cron(0 10 ? * SUN *)', change: spring, expected: `${sunday(spring)}T10:00:00+02:00` },
      { expression: 'cron(0 10 ? * SUN *)', change: autumn, expected: `${sunday(autumn)}T10:00:00+01:00` },
      // 02:30 does not exist when the clocks go forward: that run is skipped (Scheduler's documented rule).
      { expression: 'cron(30 2 ? * SUN *)', change: spring, expected: `${sunday(spring, 7)}T02:30:00+02:00` },
      // 02:30 happens twice when they go back: it runs once, at the first (still summer time).
      { expression: 'cron(30 2 ? * SUN *)', change: autumn, expected: `${sunday(autumn)}T02:30:00+02:00` },
    ];
    for (const [index, { expression, change, expected }] of cases.entries()) {
      const name = `e2e-dst-${index}`;
      const created = await api('POST', '/schedules', {
        body: {
          name,
          schedule_expression: expression,
          timezone: 'Europe/Berlin',
          start_date: saturday(change),
          request: { conference_name: name },
        },
      });
      expect({ name, status: created.status, next: created.json.next_fire_time }).toEqual({
        name,
        status: 201,
        next: expected,
      });
      expect((await api('GET', `/schedules/${name}`)).json.next_fire_time).toBe(expected);
      expect((await api('DELETE', `/schedules/${name}`)).status).toBe(204);
    }
    // A one-time 02:30 on the night the clocks go forward does not exist: refused, naming `at`.
    const skipped = await api('POST', '/schedules', {
      body: { at: `${sunday(spring)}T02:30:00`, timezone: 'Europe/Berlin', request: { conference_name: 'e2e-gap' } },
    });
    expect(skipped.status).toBe(400);
    expect(skipped.json.error).toMatchObject({ code: 'invalid_request', field: 'at' });
  }, 30_000);
});

describe('Idempotency-Key', () => {
  test('a retried create returns the first; the same key with another body is 409 idempotency_key_reused', async () => {
    const key = randomUUID();
    const body = { at: instant(dueIn(7200)), request: { conference_name: 'e2e-idem' } };
    const first = await api('POST', '/schedules', { body, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    expect(first.json.name).toMatch(/^idem-[0-9a-f]{40}$/);
    const retried = await api('POST', '/schedules', { body, headers: { 'idempotency-key': key } });
    expect(retried.status).toBe(201);
    expect(retried.json).toEqual(first.json);
    expect(retried.headers.get('location')).toBe(first.headers.get('location'));
    const reused = await api('POST', '/schedules', {
      body: { ...body, request: { conference_name: 'e2e-idem-other' } },
      headers: { 'idempotency-key': key },
    });
    expect(reused.status).toBe(409);
    expect(reused.json.error).toMatchObject({ code: 'idempotency_key_reused' });
    const mine = (await api('GET', '/schedules?prefix=idem-')).json.schedules as { name: string }[];
    expect(mine.filter((s) => s.name === first.json.name)).toHaveLength(1);
    expect((await api('DELETE', `/schedules/${first.json.name}`)).status).toBe(204);
  }, 20_000);
});

describe('every refusal, through the stack', () => {
  const request = { conference_name: 'e2e-refused' };
  const later = () => instant(dueIn(3600));

  test('400 naming the field', async () => {
    const cases: [string, unknown, string][] = [
      ['an at in the past', { at: instant(Date.now() - 10 * 60_000), request }, 'at'],
      ['an at beyond the horizon', { at: instant(Date.now() + 401 * 86_400_000), request }, 'at'],
      ['an at that is not a date', { at: 'next tuesday', request }, 'at'],
      ['neither at nor schedule_expression', { request }, 'at'],
      [
        'both at and schedule_expression',
        { at: later(), schedule_expression: 'cron(0 9 ? * MON *)', request },
        'schedule_expression',
      ],
      ['an unknown zone', { at: '2027-01-05T10:00:00', timezone: 'Mars/Olympus_Mons', request }, 'timezone'],
      ['an instant with a zone', { at: later(), timezone: 'Europe/Berlin', request }, 'timezone'],
      ['a malformed expression', { schedule_expression: 'cron(0 9 * *)', request }, 'schedule_expression'],
      ['a rate too frequent', { schedule_expression: 'rate(1 minute)', request }, 'schedule_expression'],
      ['a cron too frequent', { schedule_expression: 'cron(0/2 * ? * * *)', request }, 'schedule_expression'],
      ['an unknown field', { at: later(), request, colour: 'red' }, 'colour'],
      ['a bad name', { name: 'no spaces please', at: later(), request }, 'name'],
      ['a bad conference request', { at: later(), request: { conference_name: '' } }, 'request.conference_name'],
      ['a rule outside the allow-list', { at: later(), request: { ...request, rule_id: 999 } }, 'request.rule_id'],
      [
        'an end_date before the start_date',
        {
          schedule_expression: 'cron(0 9 ? * MON *)',
          start_date: '2027-02-01T00:00:00Z',
          end_date: '2027-01-01T00:00:00Z',
          request,
        },
        'end_date',
      ],
    ];
    for (const [what, body, field] of cases) {
      const answer = await api('POST', '/schedules', { body });
      expect({ what, status: answer.status, code: answer.json.error?.code, field: answer.json.error?.field }).toEqual({
        what,
        status: 400,
        code: 'invalid_request',
        field,
      });
    }
    const query = await api('GET', '/schedules?colour=red');
    expect(query.status).toBe(400);
    expect(query.json.error.field).toBe('colour');
    const badName = await api('GET', '/schedules/no%20spaces');
    expect(badName.status).toBe(400);
    expect(badName.json.error.field).toBe('name');
  }, 30_000);

  test("409: a taken name (the API's or the deploy's), and any change to a deploy-time schedule", async () => {
    const body = { name: 'e2e-taken', at: later(), request };
    expect((await api('POST', '/schedules', { body })).status).toBe(201);
    const again = await api('POST', '/schedules', { body });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatchObject({ code: 'schedule_exists', field: 'name' });
    const deployName = await api('POST', '/schedules', { body: { ...body, name: 'weekday-standup' } });
    expect(deployName.status).toBe(409);
    expect(deployName.json.error).toMatchObject({ code: 'schedule_exists' });
    const put = await api('PUT', '/schedules/weekday-standup', { body: { at: later(), request } });
    expect(put.status).toBe(409);
    expect(put.json.error).toMatchObject({ code: 'schedule_managed_by_deploy' });
    const cancel = await api('DELETE', '/schedules/weekday-standup');
    expect(cancel.status).toBe(409);
    expect(cancel.json.error).toMatchObject({ code: 'schedule_managed_by_deploy' });
    expect((await api('GET', '/schedules/weekday-standup')).status).toBe(200);
    expect((await api('DELETE', '/schedules/e2e-taken')).status).toBe(204);
  }, 20_000);

  test('404 schedule_not_found for a name nobody has', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { at: later(), request }],
      ['DELETE', undefined],
    ] as const) {
      const answer = await api(method, '/schedules/e2e-nobody', body === undefined ? {} : { body });
      expect({ method, status: answer.status, code: answer.json.error?.code }).toEqual({
        method,
        status: 404,
        code: 'schedule_not_found',
      });
    }
  }, 20_000);

  test("Scheduler's failures: 503 scheduler_throttled with Retry-After, 503 schedule_quota_exceeded without, access denied 500", async () => {
    const body = { at: later(), request };
    try {
      // The function's SDK retries a throttle (3 attempts): every one is throttled.
      expect((await schedulerFault({ kind: 'throttle', operation: 'CreateSchedule' })).status).toBe(201);
      const throttled = await api('POST', '/schedules', { body });
      expect(throttled.status).toBe(503);
      expect(throttled.json.error.code).toBe('scheduler_throttled');
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
      await clearSchedulerFaults();

      await schedulerFault({ kind: 'server_error', operation: 'GetSchedule' });
      const unavailable = await api('GET', '/schedules/weekday-standup');
      expect(unavailable.status).toBe(503);
      expect(unavailable.json.error.code).toBe('scheduler_unavailable');
      expect(unavailable.headers.get('retry-after')).not.toBeNull();
      await clearSchedulerFaults();

      await schedulerFault({ kind: 'quota', operation: 'CreateSchedule' });
      const quota = await api('POST', '/schedules', { body });
      expect(quota.status).toBe(503);
      expect(quota.json.error.code).toBe('schedule_quota_exceeded');
      expect(quota.headers.get('retry-after')).toBeNull();
      await clearSchedulerFaults();

      await schedulerFault({ kind: 'access_denied', operation: 'CreateSchedule', times: 1 });
      const denied = await api('POST', '/schedules', { body });
      expect(denied.status).toBe(500);
      expect(denied.json.error.code).toBe('scheduler_access_denied');
      // The reason (the IAM message) is for the logs only.
      expect(JSON.stringify(denied.json)).not.toMatch(/not authorized|arn:aws/);
      await (stack as RunningStack).waitForOutput(/schedules request failed \(scheduler_access_denied\)/, 5000);
    } finally {
      await clearSchedulerFaults();
    }
    // Nothing was stored by the refused creates.
    const left = (await api('GET', '/schedules')).json.schedules as { managed_by: string }[];
    expect(left.filter((s) => s.managed_by === 'api')).toEqual([]);
    // The control route checks what it is given.
    expect((await schedulerFault({ kind: 'meteor' })).status).toBe(400);
  }, 30_000);
});

describe('create latency through the local stack', () => {
  test('median of 20 creates (printed; not asserted)', async () => {
    const times: number[] = [];
    const names: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `e2e-latency-${i}`;
      const text = JSON.stringify({ name, at: instant(dueIn(86_400)), request: { conference_name: name } });
      const begin = performance.now();
      const response = await fetch(info().schedulesUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      });
      const answer = await response.text();
      times.push(performance.now() - begin);
      expectMatchesOpenApi('POST', info().schedulesUrl, {
        status: response.status,
        headers: response.headers,
        body: answer,
      });
      expect(response.status).toBe(201);
      names.push(name);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[9] + sorted[10]) / 2;
    process.stdout.write(
      `schedules API: POST /schedules through the local stack: median ${median.toFixed(1)} ms, ` +
        `min ${sorted[0].toFixed(1)} ms, max ${sorted[19].toFixed(1)} ms (20 creates, warm)\n`,
    );
    for (const name of names) expect((await api('DELETE', `/schedules/${name}`)).status).toBe(204);
  }, 60_000);
});

describe("the banner's schedules commands", () => {
  const hasTools =
    spawnSync('bash', ['-c', 'command -v curl && date -u -d "+1 minute" +%s'], { encoding: 'utf8' }).status === 0;

  (hasTools ? test : test.skip)(
    'book a minute from now, list, cancel: each works as printed (bash + curl)',
    async () => {
      const commands = triggerCommands(info());
      const out = (stack as RunningStack).output();
      for (const command of [commands.createSchedule, commands.listSchedules, commands.cancelSchedule]) {
        expect(out).toContain(command);
      }
      const run = (command: string) => {
        const result = spawnSync('bash', ['-c', command], { encoding: 'utf8', timeout: 20_000 });
        expect(result.status).toBe(0);
        return result.stdout;
      };
      const before = Date.now();
      const booked = expectMatchesOpenApi('POST', info().schedulesUrl, {
        status: 201,
        headers: undefined,
        body: run(commands.createSchedule),
      }) as Record<string, any>;
      expect(booked).toMatchObject({ name: 'demo-booking', managed_by: 'api', timezone: 'UTC', enabled: true });
      const ahead = Date.parse(booked.next_fire_time) - before;
      expect(ahead).toBeGreaterThan(58_000);
      expect(ahead).toBeLessThan(62_000);
      const listed = expectMatchesOpenApi('GET', info().schedulesUrl, {
        status: 200,
        headers: undefined,
        body: run(commands.listSchedules),
      }) as { schedules: { name: string }[] };
      expect(listed.schedules.map((s) => s.name)).toContain('demo-booking');
      expect(run(commands.cancelSchedule)).toBe(''); // 204
      expect((await api('GET', '/schedules/demo-booking')).status).toBe(404);
    },
    30_000,
  );
});

describe('Ctrl-C', () => {
  test('stops everything, the Scheduler stand-in included: exit 0, no port left; nothing printed leaks', async () => {
    const running = stack as RunningStack;
    const result = await running.stop('SIGINT');
    stopped = true;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(await openPorts(Object.values(running.info.ports))).toEqual([]);
    expect(scanForLeaks(running.output(), 'local stack output')).toEqual([]);
  }, 30_000);
});
