/**
 * The local stack's pure pieces: schedule expressions, SQS records and batch answers as Lambda reads them,
 * serverless-offline output filtering, settings, banner commands.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, test } from '@jest/globals';
import { shellQuote, triggerCommands } from '../../local/banner.js';
import { formatOfflineLine } from '../../local/offline-output.js';
import { compileSchedule, cronerPattern, formatInZone, schedulerTime } from '../../local/schedule-expression.js';
import { loadSettings, REAL_API_URL, SettingsError } from '../../local/settings.js';
import { readBatchResponse, toSqsRecord } from '../../local/sqs-event.js';
import { describePutEvents, type StackInfo } from '../../local/stack.js';
import { ROOT } from '../helpers/local-stack.js';

const anchor = new Date('2026-11-26T03:00:00Z'); // a Thursday

function runs(expression: string, timezone: string, count: number, from = anchor): string[] {
  const schedule = compileSchedule(expression, timezone, anchor);
  const out: string[] = [];
  let at: Date | undefined = from;
  for (let i = 0; i < count; i++) {
    at = schedule.next(at);
    if (!at) break;
    out.push(at.toISOString());
  }
  return out;
}

describe('schedule expressions', () => {
  test('AWS cron fields become a 7-part croner pattern with seconds first', () => {
    expect(cronerPattern(['0', '9', '?', '*', 'MON-FRI', '*'])).toBe('0 0 9 ? * MON-FRI *');
    expect(() => cronerPattern(['0', '9', '?', '*', 'MON-FRI'])).toThrow(/6 fields/);
  });

  test('weekdays at 09:00 Berlin (CET, UTC+1 in winter), names and AWS numbers (2-6 = MON-FRI) alike', () => {
    const expected = ['2026-11-26T08:00:00.000Z', '2026-11-27T08:00:00.000Z', '2026-11-30T08:00:00.000Z'];
    expect(runs('cron(0 9 ? * MON-FRI *)', 'Europe/Berlin', 3)).toEqual(expected);
    expect(runs('cron(0 9 ? * 2-6 *)', 'Europe/Berlin', 3)).toEqual(expected);
  });

  test('AWS day-of-week 1 is Sunday', () => {
    expect(runs('cron(0 12 ? * 1 *)', 'UTC', 1)).toEqual(['2026-11-29T12:00:00.000Z']);
  });

  test('nth weekday, last weekday, last day of month, year, numeric step start', () => {
    expect(runs('cron(30 15 ? * MON#1 *)', 'America/New_York', 2)).toEqual([
      '2026-12-07T20:30:00.000Z',
      '2027-01-04T20:30:00.000Z',
    ]);
    expect(runs('cron(0 12 ? * 6L *)', 'UTC', 2)).toEqual(['2026-11-27T12:00:00.000Z', '2026-12-25T12:00:00.000Z']);
    expect(runs('cron(0 12 L * ? 2027)', 'UTC', 2)).toEqual(['2027-01-31T12:00:00.000Z', '2027-02-28T12:00:00.000Z']);
    expect(runs('cron(0/15 * * * ? *)', 'UTC', 2)).toEqual(['2026-11-26T03:15:00.000Z', '2026-11-26T03:30:00.000Z']);
  });

  test("daylight saving time is the time zone's: 09:00 Berlin is 07:00 UTC in summer", () => {
    expect(runs('cron(0 9 ? * MON *)', 'Europe/Berlin', 1, new Date('2027-06-01T00:00:00Z'))).toEqual([
      '2027-06-07T07:00:00.000Z',
    ]);
  });

  test('rate() runs at the start and every period after (no StartDate), at() is local time of its zone and fires once', () => {
    const justBefore = new Date(anchor.getTime() - 1);
    expect(runs('rate(5 minutes)', 'UTC', 3, justBefore)).toEqual([
      '2026-11-26T03:00:00.000Z',
      '2026-11-26T03:05:00.000Z',
      '2026-11-26T03:10:00.000Z',
    ]);
    expect(runs('rate(1 day)', 'UTC', 1)).toEqual(['2026-11-27T03:00:00.000Z']);
    expect(runs('at(2030-01-15T14:00:00)', 'Europe/Berlin', 3)).toEqual(['2030-01-15T13:00:00.000Z']);
    expect(runs('at(2020-01-15T14:00:00)', 'Europe/Berlin', 1)).toEqual([]);
  });

  test('an expression croner cannot read is refused with the expression', () => {
    expect(() => compileSchedule('cron(0 9 ? * FOO *)', 'UTC', anchor)).toThrow(/cron\(0 9 \? \* FOO \*\)/);
    expect(() => compileSchedule('every day', 'UTC', anchor)).toThrow(/not a cron/);
  });

  test('scheduled_time is UTC ISO 8601 in whole seconds; local display names the zone', () => {
    expect(schedulerTime(new Date('2026-11-26T08:00:00.789Z'))).toBe('2026-11-26T08:00:00Z');
    expect(formatInZone(new Date('2026-11-26T08:00:00Z'), 'Europe/Berlin')).toBe('2026-11-26 09:00 Europe/Berlin');
  });
});

describe('SQS records as Lambda delivers them', () => {
  const message: Message = {
    MessageId: 'm-1',
    ReceiptHandle: 'rh-1',
    Body: '{"conference_name":"a"}',
    MD5OfBody: 'md5body',
    MD5OfMessageAttributes: 'md5attrs',
    Attributes: {
      ApproximateReceiveCount: '2',
      SentTimestamp: '1700000000000',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '1700000000100',
    },
    MessageAttributes: {
      trace: { DataType: 'String', StringValue: 'abc' },
      blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2, 3]) },
    },
  };

  test('has the fields and shapes of a real SQSRecord', () => {
    expect(toSqsRecord(message, { queueArn: 'arn:aws:sqs:us-east-1:000000000000:q', region: 'us-east-1' })).toEqual({
      messageId: 'm-1',
      receiptHandle: 'rh-1',
      body: '{"conference_name":"a"}',
      attributes: message.Attributes,
      messageAttributes: {
        trace: { stringValue: 'abc', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: 'AQID', stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5body',
      md5OfMessageAttributes: 'md5attrs',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
      awsRegion: 'us-east-1',
    });
  });

  test('batch answers are read the way Lambda reads them with ReportBatchItemFailures', () => {
    const ids = ['a', 'b', 'c'];
    for (const allGood of [undefined, null, '', {}, { batchItemFailures: [] }, { batchItemFailures: null }]) {
      expect(readBatchResponse(allGood, ids)).toEqual({ kind: 'partial', failed: new Set() });
    }
    expect(readBatchResponse({ batchItemFailures: [{ itemIdentifier: 'b' }] }, ids)).toEqual({
      kind: 'partial',
      failed: new Set(['b']),
    });
    for (const unreadable of [
      'ok',
      [1],
      { batchItemFailures: 'b' },
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: 'zz' }] },
      { batchItemFailures: [{}] },
    ]) {
      expect(readBatchResponse(unreadable, ids).kind).toBe('batch_failure');
    }
  });
});

describe('serverless offline output', () => {
  const log = (fields: Record<string, unknown>) =>
    JSON.stringify({ level: 'INFO', service: 'voxconf', function_name: 'voxconf-local-queue', ...fields });

  test('a started conference is one line, from named fields only (never a URL)', () => {
    const line = log({
      message: 'conference started',
      conference_name: 'demo',
      rule_id: 5,
      call_session_history_id: 42,
      latency_ms: 12,
      media_session_access_url: 'http://secret/media/x',
    });
    expect(formatOfflineLine(line, false)).toEqual({
      source: 'queue',
      message: 'conference "demo" started (rule 5, call_session_history_id 42, 12 ms)',
    });
    expect(JSON.stringify(formatOfflineLine(line, false))).not.toContain('secret');
  });

  test('failures and dead-letters are shown; metrics, debug and offline chatter are not', () => {
    expect(
      formatOfflineLine(
        log({
          level: 'WARN',
          message: 'conference not started',
          conference_name: 'x',
          error_code: 'voximplant_unavailable',
          retryable: true,
        }),
        false,
      )?.message,
    ).toBe('conference "x" not started: voximplant_unavailable, retryable');
    expect(
      formatOfflineLine(
        log({
          level: 'WARN',
          message: 'message sent to the dead-letter queue',
          correlation_id: 'm-1',
          error_code: 'invalid_request',
        }),
        false,
      )?.message,
    ).toBe('message m-1 sent to the dead-letter queue (invalid_request)');
    expect(formatOfflineLine('{"_aws":{"Timestamp":1},"Retries":1}', false)).toBeUndefined();
    expect(formatOfflineLine(log({ level: 'DEBUG', message: 'attempt' }), false)).toBeUndefined();
    expect(formatOfflineLine('(λ: http) RequestId: 1  Duration: 3 ms  Billed Duration: 3 ms', false)).toBeUndefined();
    expect(formatOfflineLine('POST /conferences (λ: http)', false)).toBeUndefined();
    expect(formatOfflineLine('✖ Bundle error', false)).toEqual({ source: 'offline', message: '✖ Bundle error' });
  });

  test("the schedules function's lines show as schedules, its audit lines one each", () => {
    const audit = (fields: Record<string, unknown>) =>
      formatOfflineLine(log({ function_name: 'voxconf-local-schedules', audit: true, ...fields }), false);
    expect(
      audit({ level: 'INFO', message: 'schedule created', schedule_name: 'consult-1', caller: 'anonymous' }),
    ).toEqual({ source: 'schedules', message: 'schedule "consult-1" created (caller anonymous)' });
    expect(
      audit({
        level: 'INFO',
        message: 'schedule not created',
        schedule_name: 'weekday-standup',
        caller: 'anonymous',
        error_code: 'schedule_exists',
        field: 'name',
      })?.message,
    ).toBe('schedule "weekday-standup" not created: schedule_exists (field name) (caller anonymous)');
    expect(
      formatOfflineLine(
        log({
          function_name: 'voxconf-local-schedules',
          level: 'WARN',
          message: 'schedules request failed',
          error_code: 'scheduler_throttled',
        }),
        false,
      ),
    ).toEqual({ source: 'schedules', message: 'WARN schedules request failed (scheduler_throttled)' });
    expect(
      formatOfflineLine(log({ function_name: 'voxconf-local-schedule', level: 'ERROR', message: 'x' }), false)?.source,
    ).toBe('schedule');
  });

  test("the lifecycle function's audit lines: one per end and command, never the command's args", () => {
    const line = (fields: Record<string, unknown>) =>
      formatOfflineLine(log({ function_name: 'voxconf-local-lifecycle', level: 'INFO', ...fields }), false);
    const audit = { audit: true, conference_name: 'demo', caller: 'anonymous', caller_type: 'local' };
    expect(line({ ...audit, message: 'conference ended', action: 'end', outcome: 'done' })).toEqual({
      source: 'lifecycle',
      message: 'conference "demo" ended (caller anonymous)',
    });
    expect(
      line({
        ...audit,
        message: 'conference not ended',
        action: 'end',
        outcome: 'refused',
        error_code: 'not_supported',
      })?.message,
    ).toBe('conference "demo" not ended: not_supported (caller anonymous)');
    const sent = line({
      ...audit,
      message: 'conference command sent',
      action: 'command',
      command: 'mute',
      args: { secret: 'do-not-print' },
      outcome: 'done',
      session_status: 200,
    });
    expect(sent?.message).toBe('conference "demo" command "mute" sent (session answered 200) (caller anonymous)');
    expect(JSON.stringify(sent)).not.toContain('do-not-print');
    expect(
      line({ message: 'conference recorded ended', conference_name: 'demo', end_reason: 'session_gone' })?.message,
    ).toBe('conference "demo" recorded ended (session_gone)');
  });

  test('verbose forwards every line as it is (colours removed)', () => {
    expect(formatOfflineLine('\x1b[32mPOST /conferences (λ: http)\x1b[39m', true)).toEqual({
      source: 'offline',
      message: 'POST /conferences (λ: http)',
    });
  });
});

describe('settings', () => {
  test('defaults: a block of ports from 47800, emulator mode, short local queue settings', () => {
    const settings = loadSettings({}, '/repo');
    expect(settings.ports).toEqual({
      http: 47800,
      lambda: 47801,
      emulator: 47802,
      secretsManager: 47803,
      sqs: 47804,
      control: 47805,
      eventBridge: 47806,
      scheduler: 47807,
      dynamoDb: 47808,
    });
    expect(settings).toMatchObject({
      latencyMs: 50,
      visibilityTimeoutSeconds: 5,
      maxReceiveCount: 3,
      real: undefined,
      apiUrl: undefined,
      schedulesAutoFire: true,
      schedulesFile: '/repo/infra/schedules.yml',
      referenceScenarioRuleIds: [],
      emptySessionMs: 60_000,
      sessionGraceMs: 30_000,
    });
  });

  test("the emulator's session timings can be shortened; reference rules are declared only for a real account", () => {
    expect(loadSettings({ VOXCONF_EMPTY_SESSION_MS: '3000', VOXCONF_SESSION_GRACE_MS: '0' }, '/r')).toMatchObject({
      emptySessionMs: 3000,
      sessionGraceMs: 0,
    });
    expect(() => loadSettings({ VOXCONF_EMPTY_SESSION_MS: '3s' }, '/r')).toThrow(/VOXCONF_EMPTY_SESSION_MS/);
    // Checked before anything starts, naming the variable (not the stage parameter it becomes).
    expect(() => loadSettings({ VOXCONF_LOG_LEVEL: 'loud' }, '/r')).toThrow(/VOXCONF_LOG_LEVEL must be one of/);
    expect(loadSettings({ VOXCONF_LOG_LEVEL: 'debug' }, '/r').logLevel).toBe('DEBUG');
    expect(() => loadSettings({ VOXIMPLANT_ALLOWED_RULE_IDS: '5,abc' }, '/r')).toThrow(
      /VOXIMPLANT_ALLOWED_RULE_IDS .*got "abc"/,
    );
    expect(loadSettings({ VOXIMPLANT_ALLOWED_RULE_IDS: '7, 5;7' }, '/r').allowedRuleIds).toEqual([7, 5]);
    expect(() => loadSettings({ VOXCONF_SCHEDULES_FILE: 'no/such.yml' }, '/r')).toThrow(
      /VOXCONF_SCHEDULES_FILE names no file: \/r\/no\/such\.yml/,
    );
    expect(() => loadSettings({ VOXCONF_EMPTY_SESSION_MS: '10' }, '/r')).toThrow(/between 100 and/);
    expect(() => loadSettings({ VOXCONF_REFERENCE_SCENARIO_RULE_IDS: '5' }, '/r')).toThrow(
      /VOXCONF_REFERENCE_SCENARIO_RULE_IDS is for a real Voximplant account/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'voxconf-settings-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(file, JSON.stringify({ account_id: 1, key_id: 'k', private_key: '-----BEGIN PRIVATE KEY-----\nx' }));
    try {
      const real = (env: Record<string, string>) => loadSettings({ VOXIMPLANT_CREDENTIALS_FILE: file, ...env }, '/r');
      expect(real({}).referenceScenarioRuleIds).toEqual([]);
      expect(real({ VOXCONF_REFERENCE_SCENARIO_RULE_IDS: '12, 34;12' }).referenceScenarioRuleIds).toEqual([12, 34]);
      expect(() => real({ VOXCONF_REFERENCE_SCENARIO_RULE_IDS: '12,x' })).toThrow(/positive integer rule ids, got "x"/);
      expect(() => real({ VOXCONF_EMPTY_SESSION_MS: '1000' })).toThrow(/VOXCONF_EMPTY_SESSION_MS .*no emulator/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the local scheduler retries a failed invocation as serverless.yml's Lambda does: not at all by default", () => {
    const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
    const deployed = yml.match(/^ {2}schedule:\n(?: {4}.*\n|\s*\n)*? {4}maximumRetryAttempts: (\d+)$/m);
    expect(deployed?.[1]).toBeDefined();
    expect(loadSettings({}, '/r').scheduleRetryDelaysSeconds).toHaveLength(Number(deployed?.[1]));
    expect(loadSettings({ VOXCONF_SCHEDULE_RETRY_DELAYS_SECONDS: '5,10' }, '/r').scheduleRetryDelaysSeconds).toEqual([
      5, 10,
    ]);
    expect(() => loadSettings({ VOXCONF_SCHEDULE_RETRY_DELAYS_SECONDS: '1,2,3' }, '/r')).toThrow(/at most 2/);
  });

  test('ports move as a block or one by one, and must differ', () => {
    expect(loadSettings({ VOXCONF_PORT_BASE: '50000', VOXCONF_SQS_PORT: '9324' }, '/r').ports).toMatchObject({
      http: 50000,
      control: 50005,
      eventBridge: 50006,
      scheduler: 50007,
      dynamoDb: 50008,
      sqs: 9324,
    });
    expect(() => loadSettings({ VOXCONF_CONTROL_PORT: '47800' }, '/r')).toThrow(
      /VOXCONF_CONTROL_PORT is 47800, already the port of the HTTP API/,
    );
    expect(() => loadSettings({ VOXCONF_SCHEDULER_PORT: '47806' }, '/r')).toThrow(
      /VOXCONF_SCHEDULER_PORT is 47806, already the port of the EventBridge stand-in/,
    );
    expect(loadSettings({ VOXCONF_SCHEDULER_PORT: '9000' }, '/r').ports.scheduler).toBe(9000);
    expect(() => loadSettings({ VOXCONF_LATENCY_MS: 'fast' }, '/r')).toThrow(SettingsError);
  });

  test('VOXCONF_CORS_ALLOWED_ORIGINS: none by default; exact origins only', () => {
    expect(loadSettings({}, '/r').corsOrigins).toEqual([]);
    expect(
      loadSettings({ VOXCONF_CORS_ALLOWED_ORIGINS: 'https://app.example, http://localhost:5173' }, '/r').corsOrigins,
    ).toEqual(['https://app.example', 'http://localhost:5173']);
    for (const bad of ['*', 'https://app.example/', 'app.example', 'https://app.example/path', 'file:///x']) {
      expect(() => loadSettings({ VOXCONF_CORS_ALLOWED_ORIGINS: bad }, '/r')).toThrow(/VOXCONF_CORS_ALLOWED_ORIGINS/);
    }
  });

  test('VOXIMPLANT_CREDENTIALS_FILE: the real API by default, no automatic schedules; VOXIMPLANT_API_URL alone is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxconf-settings-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(
      file,
      JSON.stringify({
        account_id: 1,
        account_email: 'a@b',
        key_id: 'k',
        private_key: '-----BEGIN PRIVATE KEY-----\nx',
      }),
    );
    try {
      const settings = loadSettings({ VOXIMPLANT_CREDENTIALS_FILE: file }, '/r');
      expect(settings.apiUrl).toBe(REAL_API_URL);
      expect(settings.real).toMatchObject({ accountId: 1, keyId: 'k', credentialsFile: file });
      expect(settings.schedulesAutoFire).toBe(false);
      expect(loadSettings({ VOXIMPLANT_CREDENTIALS_FILE: file, VOXCONF_SCHEDULES: 'on' }, '/r').schedulesAutoFire).toBe(
        true,
      );
      expect(
        loadSettings(
          { VOXIMPLANT_CREDENTIALS_FILE: file, VOXIMPLANT_API_URL: 'http://127.0.0.1:1/platform_api/' },
          '/r',
        ).apiUrl,
      ).toBe('http://127.0.0.1:1/platform_api');
      writeFileSync(file, JSON.stringify({ account_id: 1 }));
      expect(() => loadSettings({ VOXIMPLANT_CREDENTIALS_FILE: file }, '/r')).toThrow(
        /missing or invalid: key_id, private_key/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadSettings({ VOXIMPLANT_API_URL: REAL_API_URL }, '/r')).toThrow(
      /VOXIMPLANT_CREDENTIALS_FILE is not/,
    );
  });
});

describe('banner commands', () => {
  const info = {
    conferencesUrl: 'http://127.0.0.1:1/conferences',
    schedulesUrl: 'http://127.0.0.1:1/schedules',
    sqsEndpoint: 'http://127.0.0.1:5',
    queueUrl: 'http://127.0.0.1:5/000000000000/q',
    controlUrl: 'http://127.0.0.1:6',
    emulator: { controlUrl: 'http://127.0.0.1:3/_emulator', ruleId: 77 },
    referenceScenarioRuleIds: [77],
    defaultRuleId: 77,
    schedules: [
      { name: 'off', enabled: false },
      { name: 'on-one', enabled: true },
    ],
  } as unknown as StackInfo;

  test('quote safely for sh and name the enabled schedule', () => {
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    const commands = triggerCommands(info);
    expect(commands.http).toBe(
      `curl -sS -X POST http://127.0.0.1:1/conferences -H 'content-type: application/json' -d '{"conference_name":"demo","rule_id":77}'`,
    );
    expect(commands.enqueue).toContain(`--data-urlencode 'MessageBody={"conference_name":"from-queue","rule_id":77}'`);
    expect(commands.fireSchedule).toBe('curl -sS -X POST http://127.0.0.1:6/schedules/on-one/fire');
    expect(commands.events).toBe('curl -sS http://127.0.0.1:6/events');
    expect(commands.failedEvents).toBe(`curl -sS 'http://127.0.0.1:6/events?detail_type=Conference%20Start%20Failed'`);
  });

  test('the schedules commands: book a minute from now (the shell computes the time), list, cancel', () => {
    const commands = triggerCommands(info);
    expect(commands.listSchedules).toBe('curl -sS http://127.0.0.1:1/schedules');
    expect(commands.cancelSchedule).toBe('curl -sS -X DELETE http://127.0.0.1:1/schedules/demo-booking');
    expect(commands.createSchedule).toBe(
      `curl -sS -X POST http://127.0.0.1:1/schedules -H 'content-type: application/json' ` +
        `-d '{"name":"demo-booking","at":"'"$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)"'",` +
        `"request":{"conference_name":"demo-booking","rule_id":77}}'`,
    );
    // As bash and sh expand it: curl gets one JSON body whose `at` is a minute ahead, in UTC with Z.
    for (const shell of ['bash', 'sh']) {
      const before = Date.now();
      const run = spawnSync(shell, ['-c', `curl() { printf '%s\n' "$@"; }; ${commands.createSchedule}`], {
        encoding: 'utf8',
      });
      expect(run.status).toBe(0);
      const args = run.stdout.trimEnd().split('\n');
      const body = JSON.parse(args[args.indexOf('-d') + 1] as string) as { at: string };
      expect(body).toEqual({
        name: 'demo-booking',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        request: { conference_name: 'demo-booking', rule_id: 77 },
      });
      const ahead = Date.parse(body.at) - before;
      expect(ahead).toBeGreaterThan(58_000);
      expect(ahead).toBeLessThan(62_000);
    }
  });

  test('the lifecycle commands follow "demo": status, a command, the active list, the end', () => {
    const commands = triggerCommands(info);
    expect(commands.addParticipant).toBe(
      `curl -sS -X POST http://127.0.0.1:3/_emulator/conferences/demo/participants -H 'content-type: application/json' -d '{"displayName":"Ada"}'`,
    );
    expect(commands.conferenceStatus).toBe('curl -sS http://127.0.0.1:1/conferences/demo');
    expect(commands.conferenceCommand).toBe(
      `curl -sS -X POST http://127.0.0.1:1/conferences/demo/commands -H 'content-type: application/json' -d '{"command":"status"}'`,
    );
    expect(commands.activeConferences).toBe(`curl -sS 'http://127.0.0.1:1/conferences?status=active'`);
    expect(commands.endConference).toBe('curl -sS -X DELETE http://127.0.0.1:1/conferences/demo');
  });

  test('without an emulator or a default rule, the rule is a visible placeholder', () => {
    const commands = triggerCommands({ ...info, emulator: null, defaultRuleId: null } as unknown as StackInfo);
    expect(commands.http).toContain('"rule_id":REPLACE_WITH_YOUR_RULE_ID');
    expect(commands.emulatorConferences).toBeUndefined();
    expect(commands.addParticipant).toBeUndefined();
  });
});

describe('the stack log line of a PutEvents call', () => {
  const call = {
    action: 'PutEvents',
    time: 0,
    status: 200,
    entries: 3,
    failedEntryCount: 0,
    results: ['ok', 'ok', 'ok'],
    detailTypes: ['Conference Started', 'Conference Start Failed', 'Conference Started'],
    buses: ['voxconf-local', 'voxconf-local', 'voxconf-local'],
  };

  test('says what was published where, what was refused and why, and what AWS would drop', () => {
    expect(describePutEvents(call)).toBe('PutEvents: 2 Conference Started, 1 Conference Start Failed on voxconf-local');
    expect(
      describePutEvents({
        ...call,
        failedEntryCount: 1,
        results: ['InternalFailure', 'ok', 'dropped'],
        fault: 'fail_entries',
        buses: ['voxconf-local', 'voxconf-local', 'nope'],
      }),
    ).toBe(
      'PutEvents: 1 Conference Start Failed on voxconf-local; 1 for bus "nope", which does not exist: accepted and ' +
        'dropped, as AWS does; 1 refused (InternalFailure) (fault)',
    );
    expect(
      describePutEvents({ ...call, status: 400, errorType: 'ThrottlingException', results: [], fault: 'throttle' }),
    ).toBe('PutEvents (3 entries) → 400 ThrottlingException (fault)');
  });
});
