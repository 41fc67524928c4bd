/** The lifecycle core's pure parts: tokens, views, command bodies, call-history parameters, settings, the event. */
import { describe, expect, test } from '@jest/globals';
import { historyDate, historyOf, historyParams } from '../../lib/call-history.js';
import { conferenceEndedEvent } from '../../lib/conference-ended-event.js';
import { type ConfigurationError, PayloadError, ValidationError } from '../../lib/errors.js';
import facts from '../../lib/facts.json' with { type: 'json' };
import { loadLifecycleConfig } from '../../lib/lifecycle-config.js';
import { participantsOf, summarize, toView, validateCommand } from '../../lib/lifecycle-service.js';
import type { RegistryRecord } from '../../lib/registry-record.js';
import { decodeNextToken, encodeNextToken, fromItem, registryError, toAttribute } from '../../lib/registry-store.js';
import { isAllowedSessionUrl } from '../../lib/session-client.js';
import { validateConferenceName } from '../../lib/validation.js';

const record: RegistryRecord = {
  conference_name: 'room a/b',
  status: 'active',
  started_at: '2026-12-01T10:00:00.000Z',
  started_by: { source: 'queue', source_id: 'm-1' },
  rule_id: 7,
  call_session_history_id: 42,
  media_session_access_url: 'http://media.example/request/1/secret',
  media_session_access_secure_url: 'https://media.example/request/1/secret',
  join_count: 0,
  expires_at: 1_900_000_000,
  last_probed_at: 1_800_000_000_000,
};

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('next_token', () => {
  const key = { conference_name: 'room #1 %', status: 'active' as const, started_at: '2026-12-01T10:00:00.000Z' };

  test('round-trips a key, and only for the status it was given for', () => {
    const token = encodeNextToken(key);
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeNextToken(token, 'active')).toEqual(key);
    expect(thrown(() => decodeNextToken(token, 'ended'))).toBeInstanceOf(ValidationError);
  });

  test.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['an array', Buffer.from('[]').toString('base64url')],
    ['a missing key', Buffer.from(JSON.stringify({ conference_name: 'a', status: 'active' })).toString('base64url')],
    ['an extra key', Buffer.from(JSON.stringify({ ...key, x: 1 })).toString('base64url')],
    ['a bad date', Buffer.from(JSON.stringify({ ...key, started_at: 'yesterday' })).toString('base64url')],
    [
      'another key order (not a token this listing gave)',
      Buffer.from(
        JSON.stringify({ status: 'active', conference_name: key.conference_name, started_at: key.started_at }),
      ).toString('base64url'),
    ],
    ['too long', 'A'.repeat(2000)],
    // A name voxconf never stores (DynamoDB might refuse it: a 500 from the registry): a 400.
    ['a name over 49 characters', encodeNextToken({ ...key, conference_name: 'x'.repeat(60) })],
    ['a name with a control character', encodeNextToken({ ...key, conference_name: 'a\u0000b' })],
    ['a name with surrounding white space', encodeNextToken({ ...key, conference_name: ' room ' })],
  ])('refuses %s, naming next_token', (_what, token) => {
    const error = thrown(() => decodeNextToken(token, 'active')) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe('next_token');
    expect(error.code).toBe('invalid_request');
  });
});

describe('attribute values', () => {
  test('a record round-trips through DynamoDB attribute values', () => {
    const item = toAttribute(record).M ?? {};
    expect(item.started_by).toEqual({ M: { source: { S: 'queue' }, source_id: { S: 'm-1' } } });
    expect(item.call_session_history_id).toEqual({ N: '42' });
    expect(fromItem(item)).toEqual(record);
  });
});

describe('registry errors', () => {
  test.each([
    ['ResourceNotFoundException', 'registry_misconfigured', 500],
    ['AccessDeniedException', 'registry_misconfigured', 500],
    ['ThrottlingException', 'registry_unavailable', 503],
    ['InternalServerError', 'registry_unavailable', 503],
    ['', 'registry_unavailable', 503],
  ])('%s is %s', (name, code) => {
    const error = registryError(Object.assign(new Error('x'), { name }), 'GetItem');
    expect(error.code).toBe(code);
    expect(error.name).toBe('RegistryError');
  });
});

describe('the view', () => {
  test('leaves out expires_at and last_probed_at; shows the URLs while active', () => {
    const view = toView(record, true);
    expect(view).not.toHaveProperty('expires_at');
    expect(view).not.toHaveProperty('last_probed_at');
    expect(view).toMatchObject({
      media_session_access_secure_url: record.media_session_access_secure_url,
      reference_scenario: true,
    });
  });

  test('never shows URLs of an ended record, even if some were left', () => {
    const view = toView({ ...record, status: 'ended', ended_at: '2026-12-01T11:00:00.000Z' }, false);
    expect(view).not.toHaveProperty('media_session_access_url');
    expect(view).not.toHaveProperty('media_session_access_secure_url');
    expect(view.reference_scenario).toBe(false);
  });
});

describe('a status answer', () => {
  test('gives the participants, each field checked', () => {
    expect(
      participantsOf({
        ok: true,
        participant_count: 2,
        participants: [
          { id: 'a', display_name: 'A', joined_at: '2026-12-01T10:00:00Z', extra: 1 },
          { id: 3, display_name: 5 },
          { display_name: 'no id' },
          'junk',
        ],
      }),
    ).toEqual({
      count: 2,
      participants: [{ id: 'a', display_name: 'A', joined_at: '2026-12-01T10:00:00Z' }, { id: '3' }],
    });
    expect(participantsOf({ ok: false })).toEqual({});
    expect(participantsOf('text')).toEqual({});
  });

  test('summarize says what a session answered without its URL', () => {
    expect(
      summarize({ kind: 'answered', status: 200, text: '{"ok":false}', isJson: true, json: { ok: false } }),
    ).toEqual({
      outcome: 'answered',
      status: 200,
      body: { ok: false },
    });
    expect(summarize({ kind: 'answered', status: 500, text: 'oops', isJson: false, json: undefined })).toEqual({
      outcome: 'answered',
      status: 500,
      body: 'oops',
    });
    expect(summarize({ kind: 'timeout' })).toEqual({ outcome: 'timeout' });
  });
});

describe('a command body', () => {
  test('accepts a command with or without args', () => {
    expect(validateCommand({ command: 'mute', args: { who: ['a'] } })).toEqual({
      command: 'mute',
      args: { who: ['a'] },
    });
    expect(validateCommand({ command: 'status' })).toEqual({ command: 'status' });
  });

  test.each([
    ['not an object', 'mute', 'body'],
    ['no command', { args: 1 }, 'command'],
    ['an empty command', { command: '' }, 'command'],
    ['a command with a space', { command: 'a b' }, 'command'],
    ['a command too long', { command: 'x'.repeat(facts.lifecycle.commandNameMaxLength + 1) }, 'command'],
    ['an unknown field', { command: 'a', url: 'x' }, 'url'],
  ])('refuses %s', (_what, body, field) => {
    const error = thrown(() => validateCommand(body)) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe(field);
  });

  test('refuses a body over commandBodyMaxBytes as too large, and takes one at the limit', () => {
    const overhead = JSON.stringify({ command: 'a', args: '' }).length;
    const fits = 'x'.repeat(facts.registry.commandBodyMaxBytes - overhead);
    expect(validateCommand({ command: 'a', args: fits }).args).toBe(fits);
    const error = thrown(() => validateCommand({ command: 'a', args: `${fits}x` })) as PayloadError;
    expect(error).toBeInstanceOf(PayloadError);
    expect(error.code).toBe('body_too_large');
  });
});

describe('names', () => {
  test.each(['a/b', '100%', 'room #1', 'two words', 'ümlaut 🎉'])('takes %s as it is', (name) => {
    expect(validateConferenceName(name)).toBe(name);
  });
  test.each(['', ' lead', 'x'.repeat(50), 'a\u0000b', 5])('refuses %p, naming name', (name) => {
    expect((thrown(() => validateConferenceName(name)) as ValidationError).field).toBe('name');
  });
});

describe('session URLs', () => {
  test.each([
    ['https://media.example/request/1/t', true, true],
    ['http://127.0.0.1:4000/media/1', false, true],
    ['http://localhost/media/1', false, true],
    ['http://[::1]:80/media/1', false, true],
    ['http://127.0.0.1:9001/2018-06-01/runtime/invocation/next', false, true],
    ['http://media.example/request/1/t', false, false],
    ['http://127.0.0.1.example/media', false, false],
    ['ftp://127.0.0.1/x', false, false],
    ['not a url', false, false],
  ])('%s allowed: %s on a deployed stage, %s on the local stage', (url, deployed, local) => {
    expect(isAllowedSessionUrl(url)).toBe(deployed);
    expect(isAllowedSessionUrl(url, true)).toBe(local);
  });
});

describe('call history parameters', () => {
  test('dates in UTC as GetCallHistory takes them, around the session, with its id', () => {
    const now = Date.parse('2026-12-02T00:30:00.000Z');
    expect(historyDate(now)).toBe('2026-12-02 00:30:00');
    expect(historyParams({ call_session_history_id: 42, started_at: '2026-12-01T23:00:00.000Z' }, now)).toEqual({
      from_date: '2026-11-30 23:00:00',
      to_date: '2026-12-02 01:30:00',
      timezone: 'Etc/UTC',
      call_session_history_id: 42,
      count: 1,
    });
  });

  test('finds the session in an answer; not listed is undefined', () => {
    const answer = {
      result: [
        { call_session_history_id: 41, duration: 5 },
        { call_session_history_id: 42, duration: 61, finish_reason: 'Normal termination' },
      ],
    };
    expect(historyOf(answer, 42)).toEqual({ duration: 61, finish_reason: 'Normal termination' });
    expect(historyOf(answer, 43)).toBeUndefined();
    expect(historyOf({ result: [{ call_session_history_id: 42, duration: 'x' }] }, 42)).toEqual({});
  });
});

describe('lifecycle settings', () => {
  test('needs the table; reads the reference rules', () => {
    expect((thrown(() => loadLifecycleConfig({})) as ConfigurationError).variable).toBe('REGISTRY_TABLE_NAME');
    const config = loadLifecycleConfig({ REGISTRY_TABLE_NAME: 't', REFERENCE_SCENARIO_RULE_IDS: '7, 8;9' });
    expect([...config.referenceScenarioRuleIds]).toEqual([7, 8, 9]);
    expect(config.sessionRequestTimeoutMs).toBe(facts.settings.SESSION_REQUEST_TIMEOUT_MS.default);
    expect(loadLifecycleConfig({ REGISTRY_TABLE_NAME: 't' }).referenceScenarioRuleIds.size).toBe(0);
  });

  test.each([
    ['REFERENCE_SCENARIO_RULE_IDS', '7,x'],
    ['REFERENCE_SCENARIO_RULE_IDS', '0'],
    ['SESSION_REQUEST_TIMEOUT_MS', '99999'],
  ])('a bad %s names itself', (variable, value) => {
    const error = thrown(() => loadLifecycleConfig({ REGISTRY_TABLE_NAME: 't', [variable]: value }));
    expect((error as ConfigurationError).variable).toBe(variable);
  });
});

describe('Conference Ended', () => {
  test('carries the session and its end, never a URL', () => {
    const ended = {
      ...record,
      status: 'ended' as const,
      ended_at: '2026-12-01T11:00:00.000Z',
      end_reason: 'stopped' as const,
    };
    const event = conferenceEndedEvent('prod', {
      ...ended,
      duration: 3600,
      finish_reason: 'Normal termination',
    } as never);
    expect(event).toEqual({
      detailType: 'Conference Ended',
      detail: {
        stage: 'prod',
        conference_name: 'room a/b',
        call_session_history_id: 42,
        rule_id: 7,
        started_at: '2026-12-01T10:00:00.000Z',
        ended_at: '2026-12-01T11:00:00.000Z',
        end_reason: 'stopped',
      },
    });
    // Published before GetCallHistory is asked: duration and finish_reason are the record's, never the event's.
    expect(JSON.stringify(event)).not.toContain('media.example');
  });
});

describe('wiring', () => {
  test('builds the service from the environment, failing fast naming a missing variable', async () => {
    const { createLifecycleService } = await import('../../lib/lifecycle-wiring.js');
    const { LifecycleService } = await import('../../lib/lifecycle-service.js');
    const publisher = { publish: async () => undefined };
    const dynamoDb = { send: async () => ({}) };
    const missing = thrown(() =>
      createLifecycleService({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: 's' }, publisher, dynamoDb }),
    );
    expect((missing as ConfigurationError).variable).toBe('REGISTRY_TABLE_NAME');
    const built = createLifecycleService({
      env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: 's', REGISTRY_TABLE_NAME: 't', REFERENCE_SCENARIO_RULE_IDS: '1' },
      publisher,
      dynamoDb,
    });
    expect(built).toBeInstanceOf(LifecycleService);
  });
});
