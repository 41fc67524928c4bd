/**
 * The Voximplant emulator's StartConference over real HTTP: URL forms, parameter encodings (including the
 * official Node SDK's chunked multipart), routing and validation errors, sessions joined by name.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  buildMultipart,
  type CallOptions,
  type CreatedAccount,
  callEmulator,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';
import { send } from '../../local/voximplant-emulator/test-client.js';

let emu: VoximplantEmulator;
let account: CreatedAccount;
let otherAccount: CreatedAccount;
let ruleWithoutScenario: number;

beforeAll(async () => {
  emu = await startEmulator();
  account = emu.createAccount({ ruleCount: 2 });
  otherAccount = emu.createAccount();
  ruleWithoutScenario = emu.addRule(account.accountId, { scenario: false });
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
});

type Params = Record<string, string> | [string, string][];

async function call(params: Params, options: CallOptions = {}) {
  const token = await signToken(account.credentials);
  const response = await callEmulator(emu.origin, params, { token, ...options });
  return { ...response, body: JSON.parse(response.text) as Record<string, unknown> };
}

const rule = () => String(account.ruleId);
const errorOf = (code: number, msg: string) => ({ error: { msg, code } });

describe('success answer', () => {
  test('has the documented shape, with media URLs on the emulator port', async () => {
    const response = await call({ conference_name: 'shape', rule_id: rule() });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(Object.keys(response.body).sort()).toEqual([
      'call_session_history_id',
      'media_session_access_secure_url',
      'media_session_access_url',
      'result',
    ]);
    expect(response.body.result).toBe(1);
    expect(response.body.media_session_access_url).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${emu.port}/media/[^/]+$`),
    );
    // Without TLS the "secure" URL uses the http origin, so that it can be requested locally.
    expect(response.body.media_session_access_secure_url).toBe(response.body.media_session_access_url);
    expect(Number.isSafeInteger(response.body.call_session_history_id)).toBe(true);
  });

  test('the media session URL answers while the session runs and 404 once it ended', async () => {
    const { body } = await call({ conference_name: 'media', rule_id: rule() });
    const mediaUrl = String(body.media_session_access_url);
    expect((await fetch(mediaUrl, { method: 'POST', body: 'hello' })).status).toBe(200);
    expect(emu.conferences()[0].mediaRequests).toBe(1);
    emu.endConference(account.accountId, 'media');
    expect((await fetch(mediaUrl)).status).toBe(404);
  });
});

describe('URL forms', () => {
  const cases: [string, string, CallOptions['method'], boolean][] = [
    ['/platform_api/StartConference', 'POST', 'POST', false],
    ['/platform_api/StartConference/', 'POST', 'POST', false],
    ['/platform_api/StartConference', 'GET', 'GET', false],
    ['/platform_api', 'POST with cmd', 'POST', true],
    ['/platform_api/', 'POST with cmd', 'POST', true],
    ['/platform_api', 'GET with cmd', 'GET', true],
  ];
  test.each(cases)('%s (%s) starts a conference', async (path, _label, method, withCmd) => {
    const params: Record<string, string> = { conference_name: `url ${path} ${method}`, rule_id: rule() };
    if (withCmd) params.cmd = 'StartConference';
    const response = await call(params, { path, method });
    expect(response.body.result).toBe(1);
    const [record] = emu.requests();
    expect(record).toMatchObject({ method, command: 'StartConference', outcome: 'success', status: 200 });
  });
});

describe('parameter encodings', () => {
  const tricky = 'demo room/ü&= 🎉 +%20';
  test.each(['query', 'urlencoded', 'multipart', 'multipart-chunked'] as const)(
    '%s delivers UTF-8 values intact',
    async (encoding) => {
      const response = await call(
        { conference_name: tricky, rule_id: rule(), script_custom_data: '{"a":"ü/&= x","e":"🎉"}' },
        { encoding },
      );
      expect(response.body.result).toBe(1);
      const [conference] = emu.conferences();
      expect(conference.name).toBe(tricky);
      expect(conference.calls[0].script_custom_data).toBe('{"a":"ü/&= x","e":"🎉"}');
      expect(emu.requests()[0].bodyKind).toBe(
        encoding === 'query' ? 'none' : encoding === 'urlencoded' ? 'urlencoded' : 'multipart',
      );
    },
  );

  test('chunked multipart exactly as the official Node SDK sends it, split into 1-byte chunks', async () => {
    const boundary = '--------------------------573936012428167957858019';
    const form = buildMultipart(
      [
        ['cmd', 'StartConference'],
        ['conference_name', 'demo room/ü&='],
        ['rule_id', rule()],
        ['script_custom_data', 'a b/c&d=e ü 🎉'],
      ],
      boundary,
    );
    // The SDK writes raw UTF-8 in the parts: ü is c3 bc on the wire.
    expect(form.body.includes(Buffer.from('64656d6f20726f6f6d2fc3bc263d', 'hex'))).toBe(true);
    const pieces = [...form.body].map((byte) => Buffer.from([byte]));
    const token = await signToken(account.credentials);
    const response = await send(
      new URL('/platform_api', emu.origin),
      'POST',
      {
        accept: 'application/json, text/plain, */*',
        'content-type': form.contentType,
        authorization: `Bearer ${token}`,
        'user-agent': 'axios/0.21.4',
      },
      pieces,
    );
    expect(JSON.parse(response.text).result).toBe(1);
    const [record] = emu.requests();
    expect(record.transferEncoding).toBe('chunked');
    expect(record.bodyBytes).toBe(form.body.length);
    expect(record.params).toEqual({
      cmd: 'StartConference',
      conference_name: 'demo room/ü&=',
      rule_id: rule(),
      script_custom_data: 'a b/c&d=e ü 🎉',
    });
  });

  test('multipart with a quoted boundary, a preamble, transport padding and an empty value', async () => {
    const boundary = 'b:c d?e';
    const body = Buffer.from(
      'this preamble is ignored\r\n' +
        `--${boundary}  \r\nContent-Disposition: form-data; name="conference_name"\r\n\r\nquoted\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="rule_id"\r\n\r\n${rule()}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="script_custom_data"\r\n\r\n\r\n` +
        `--${boundary}--\r\nepilogue`,
    );
    const token = await signToken(account.credentials);
    const response = await send(
      new URL('/platform_api/StartConference', emu.origin),
      'POST',
      { 'content-type': `multipart/form-data; boundary="${boundary}"`, authorization: `Bearer ${token}` },
      [body],
    );
    expect(JSON.parse(response.text).result).toBe(1);
    expect(emu.requests()[0].params).toEqual({ conference_name: 'quoted', rule_id: rule(), script_custom_data: '' });
  });

  test('a body parameter overrides the same name in the query', async () => {
    const response = await call(
      { conference_name: 'from body', rule_id: rule() },
      { path: '/platform_api/StartConference?conference_name=from%20query' },
    );
    expect(response.body.result).toBe(1);
    expect(emu.conferences()[0].name).toBe('from body');
  });

  test('a JSON body is ignored, as in the documented curl examples (params in the query)', async () => {
    const token = await signToken(account.credentials);
    const response = await send(
      new URL(`/platform_api/StartConference?conference_name=curl&rule_id=${rule()}`, emu.origin),
      'POST',
      { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      [Buffer.from('{"conference_name":"ignored"}')],
    );
    expect(JSON.parse(response.text).result).toBe(1);
    expect(emu.conferences()[0].name).toBe('curl');
    expect(emu.requests()[0].bodyKind).toBe('ignored');
  });

  test('a multipart body without its closing boundary is refused with 101', async () => {
    const token = await signToken(account.credentials);
    const response = await send(
      new URL('/platform_api/StartConference', emu.origin),
      'POST',
      { 'content-type': 'multipart/form-data; boundary=xyz', authorization: `Bearer ${token}` },
      [Buffer.from(`--xyz\r\nContent-Disposition: form-data; name="conference_name"\r\n\r\nx\r\n`)],
    );
    expect(JSON.parse(response.text)).toEqual(errorOf(101, 'Invalid arguments'));
    expect(emu.requests()[0].bodyKind).toBe('malformed');
    expect(emu.conferences()).toEqual([]);
  });
});

describe('routing errors', () => {
  test('102 when the bare path has no cmd', async () => {
    for (const path of ['/platform_api', '/platform_api/']) {
      const response = await call({ conference_name: 'x', rule_id: rule() }, { path });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(errorOf(102, "Missing 'cmd' parameter"));
    }
  });

  test('103 for another method, in the path or in cmd', async () => {
    const unknown: { path: string; params: Record<string, string> }[] = [
      { path: '/platform_api/GetAccountInfo', params: {} },
      { path: '/platform_api/StartConference/extra', params: {} },
      { path: '/platform_api', params: { cmd: 'StartConferences' } },
      { path: '/platform_api', params: { cmd: 'startconference' } },
    ];
    for (const { path, params } of unknown) {
      const response = await call({ ...params, conference_name: 'x', rule_id: rule() }, { path });
      expect(response.body).toEqual(errorOf(103, 'Unknown command'));
    }
    expect(emu.conferences()).toEqual([]);
  });

  test('other paths get 404 and other HTTP methods 405', async () => {
    expect((await callEmulator(emu.origin, {}, { path: '/api/StartConference' })).status).toBe(404);
    const put = await callEmulator(emu.origin, { conference_name: 'x', rule_id: rule() }, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
  });
});

describe('validation', () => {
  test('134 when conference_name or rule_id is missing or empty', async () => {
    const incomplete: Record<string, string>[] = [
      { rule_id: rule() },
      { conference_name: '', rule_id: rule() },
      { conference_name: 'x' },
      { conference_name: 'x', rule_id: '' },
    ];
    for (const params of incomplete) {
      expect((await call(params)).body).toEqual(errorOf(134, 'Required parameter is empty'));
    }
  });

  test('conference_name: 49 code points pass, 50 get 270 (code points, not UTF-16 units)', async () => {
    const ok = '🎉'.repeat(49);
    expect((await call({ conference_name: ok, rule_id: rule() })).body.result).toBe(1);
    for (const tooLong of ['a'.repeat(50), '🎉'.repeat(50)]) {
      expect((await call({ conference_name: tooLong, rule_id: rule() })).body).toEqual(
        errorOf(270, "The 'conference_name' parameter length must be less than 50"),
      );
    }
  });

  test('147 for an unknown, foreign or non-numeric rule_id', async () => {
    for (const ruleId of ['999999999', String(otherAccount.ruleId), 'abc', '12x', '-5']) {
      expect((await call({ conference_name: 'x', rule_id: ruleId })).body).toEqual(
        errorOf(147, "The 'rule_id' parameter is invalid"),
      );
    }
  });

  test('375 for a rule without a scenario', async () => {
    expect((await call({ conference_name: 'x', rule_id: String(ruleWithoutScenario) })).body).toEqual(
      errorOf(375, 'No scenario is bound to the rule'),
    );
  });

  test('101 for user_id with user_name or application_id with application_name', async () => {
    const pairs: Record<string, string>[] = [
      { user_id: '1', user_name: 'u' },
      { application_id: '2', application_name: 'app' },
    ];
    for (const pair of pairs) {
      expect((await call({ conference_name: 'x', rule_id: rule(), ...pair })).body).toEqual(
        errorOf(101, 'Invalid arguments'),
      );
    }
    // Each on its own is fine.
    expect(
      (await call({ conference_name: 'x', rule_id: rule(), user_name: 'u', application_id: '2' })).body.result,
    ).toBe(1);
  });

  test('every refusal is recorded with its code and starts no conference', async () => {
    await call({ conference_name: 'x', rule_id: 'abc' });
    expect(emu.requests()[0]).toMatchObject({ outcome: 'api_error', errorCode: 147, status: 200 });
    expect(emu.conferences()).toEqual([]);
    expect(emu.stats().byErrorCode).toEqual({ '147': 1 });
  });
});

describe('sessions joined by name', () => {
  test('the same name returns the same session while it runs; params of every call are kept', async () => {
    const first = await call({ conference_name: 'standup', rule_id: rule(), script_custom_data: 'one' });
    const second = await call({
      conference_name: 'standup',
      rule_id: String(account.ruleIds[1]),
      script_custom_data: 'two',
    });
    expect(second.body).toEqual(first.body);
    const [conference] = emu.conferences();
    expect(conference).toMatchObject({
      name: 'standup',
      accountId: account.accountId,
      ruleId: account.ruleId,
      joinCount: 1,
      active: true,
    });
    expect(conference.calls.map((params) => params.script_custom_data)).toEqual(['one', 'two']);
    expect(emu.requests().map((record) => record.conference?.joined)).toEqual([false, true]);
    expect(emu.stats()).toMatchObject({ conferencesStarted: 1, conferencesJoined: 1 });
  });

  test('other names and other accounts get their own sessions', async () => {
    const a = await call({ conference_name: 'room', rule_id: rule() });
    const b = await call({ conference_name: 'room 2', rule_id: rule() });
    const otherToken = await signToken(otherAccount.credentials);
    const c = JSON.parse(
      (
        await callEmulator(
          emu.origin,
          { conference_name: 'room', rule_id: String(otherAccount.ruleId) },
          { token: otherToken },
        )
      ).text,
    );
    const ids = [a.body.call_session_history_id, b.body.call_session_history_id, c.call_session_history_id];
    expect(new Set(ids).size).toBe(3);
    expect(
      new Set([a.body.media_session_access_url, b.body.media_session_access_url, c.media_session_access_url]).size,
    ).toBe(3);
  });

  test('after endConference the same name starts a new session', async () => {
    const first = await call({ conference_name: 'weekly', rule_id: rule() });
    expect(emu.endConference(account.accountId, 'weekly')).toBe(true);
    expect(emu.endConference(account.accountId, 'weekly')).toBe(false);
    const second = await call({ conference_name: 'weekly', rule_id: rule() });
    expect(second.body.result).toBe(1);
    expect(second.body.call_session_history_id).not.toBe(first.body.call_session_history_id);
    expect(second.body.media_session_access_url).not.toBe(first.body.media_session_access_url);
    const conferences = emu.conferences();
    expect(conferences.map((conference) => conference.active)).toEqual([false, true]);
    expect(conferences[0].endedAt).not.toBeNull();
  });
});

describe('records', () => {
  test('keep claims and a redacted Authorization header, never the token', async () => {
    const token = await signToken(account.credentials);
    await callEmulator(emu.origin, { conference_name: 'x', rule_id: rule(), api_key: 'legacy-secret' }, { token });
    const [record] = emu.requests();
    expect(record.authorization).toBe('Bearer [redacted]');
    expect(record.auth).toMatchObject({
      outcome: 'ok',
      kid: account.keyId,
      iss: account.accountId,
      claimsVerified: true,
    });
    expect(record.params.api_key).toBe('[redacted]');
    const dump = JSON.stringify(emu.requests());
    expect(dump).not.toContain(token.split('.')[2]);
    expect(dump).not.toContain(token.split('.')[1]);
    expect(dump).not.toContain('legacy-secret');
  });

  test('sinceId and limit select records; reset empties them and the counters', async () => {
    for (let i = 0; i < 4; i++) await call({ conference_name: `r${i}`, rule_id: rule() });
    const all = emu.requests();
    expect(all.map((record) => record.id)).toEqual([1, 2, 3, 4].map((n) => all[0].id + n - 1));
    expect(emu.requests({ sinceId: all[1].id }).map((record) => record.params.conference_name)).toEqual(['r2', 'r3']);
    expect(emu.requests({ limit: 1 })[0].params.conference_name).toBe('r3');
    expect(emu.stats()).toMatchObject({ requests: 4, byOutcome: { success: 4 }, byStatus: { '200': 4 } });
    emu.reset();
    expect(emu.requests()).toEqual([]);
    expect(emu.conferences()).toEqual([]);
    expect(emu.stats().requests).toBe(0);
    // Accounts survive a plain reset.
    expect((await call({ conference_name: 'after reset', rule_id: rule() })).body.result).toBe(1);
  });
});

describe('body size cap', () => {
  let small: VoximplantEmulator;
  beforeAll(async () => {
    small = await startEmulator({ maxBodyBytes: 2048 });
  });
  afterAll(async () => {
    await small.close();
  });

  test('413 past the cap, with or without Content-Length', async () => {
    const big = { conference_name: 'x', rule_id: '1', script_custom_data: 'x'.repeat(4096) };
    const declared = await callEmulator(small.origin, big, { encoding: 'urlencoded' });
    expect(declared.status).toBe(413);
    const chunked = await callEmulator(small.origin, big, { encoding: 'multipart-chunked', chunkSize: 512 });
    expect(chunked.status).toBe(413);
    expect(small.requests().map((record) => record.outcome)).toEqual(['body_too_large', 'body_too_large']);
    // Just under the cap is fine (and reaches auth).
    const fits = await callEmulator(small.origin, {
      conference_name: 'x',
      rule_id: '1',
      script_custom_data: 'x'.repeat(1500),
    });
    expect(JSON.parse(fits.text)).toEqual(errorOf(100, 'Authorization failed'));
  });
});
