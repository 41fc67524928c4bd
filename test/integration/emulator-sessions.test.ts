/**
 * The emulator's sessions after the start, over real HTTP: the media session contract of the reference
 * scenario, Voximplant's example scenario (ends on any request), participants through the control API,
 * sessions ending on their own (empty-session timeout, grace period), join identity modes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  ControlApiError,
  type CreatedAccount,
  callEmulator,
  callMediaSession,
  connectEmulator,
  type EmulatorControlClient,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

let emu: VoximplantEmulator;
let control: EmulatorControlClient;
let account: CreatedAccount;
let exampleRule: number;

beforeAll(async () => {
  emu = await startEmulator();
  control = connectEmulator(emu.origin);
  account = emu.createAccount();
  exampleRule = emu.addRule(account.accountId, { scenarioKind: 'example' });
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
});

interface Started {
  readonly media_session_access_url: string;
  readonly media_session_access_secure_url: string;
  readonly call_session_history_id: number;
}

async function start(name: string, ruleId = account.ruleId, credentials = account.credentials): Promise<Started> {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(ruleId) },
    { token: await signToken(credentials) },
  );
  const body = JSON.parse(response.text);
  if (body.result !== 1) throw new Error(`StartConference failed: ${response.text}`);
  return body as Started;
}

async function media(url: string, body: unknown) {
  const response = await callMediaSession(url, body);
  return { status: response.status, text: response.text, body: response.text === '' ? undefined : JSON.parse(response.text) };
}

/** Waits until the predicate holds (bounded), for ends driven by the emulator's timers. */
async function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(5);
  }
}

const session = (name: string) => {
  const found = emu.conferences().find((conference) => conference.name === name);
  if (!found) throw new Error(`no session ${name}`);
  return found;
};

describe('media session URL of a reference-scenario rule', () => {
  test('without TLS the secure URL is the http one, and it answers status with the participants', async () => {
    const started = await start('status room');
    expect(started.media_session_access_secure_url).toBe(started.media_session_access_url);
    expect(started.media_session_access_secure_url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${emu.port}/media/`));

    const empty = await media(started.media_session_access_secure_url, { command: 'status' });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      ok: true,
      command: 'status',
      conference_name: 'status room',
      started_at: session('status room').createdAt,
      participant_count: 0,
      participants: [],
    });

    const alice = await control.addParticipant({ name: 'status room' }, { id: 'alice', displayName: 'Alice A.' });
    await control.addParticipant({ sessionId: session('status room').sessionId });
    const full = await media(started.media_session_access_secure_url, { command: 'status', args: { verbose: true } });
    expect(full.body).toMatchObject({
      ok: true,
      participant_count: 2,
      participants: [
        { id: 'alice', display_name: 'Alice A.', joined_at: alice.joinedAt },
        { id: 'participant-1', display_name: 'participant-1', joined_at: expect.any(String) },
      ],
    });
    expect(session('status room')).toMatchObject({ mediaRequests: 2, mediaCommands: ['status', 'status'] });
  });

  test('stop answers, then the session has ended: 404 session_not_found, recorded with its end', async () => {
    const started = await start('stop room');
    const stopped = await media(started.media_session_access_secure_url, { command: 'stop' });
    expect(stopped).toMatchObject({ status: 200, body: { ok: true, command: 'stop', stopping: true } });
    const info = session('stop room');
    expect(info).toMatchObject({ active: false, endCause: 'stop', finishReason: 'Normal termination' });
    expect(Date.parse(String(info.endedAt))).toBeGreaterThanOrEqual(Date.parse(info.createdAt));

    const after = await media(started.media_session_access_secure_url, { command: 'status' });
    expect(after).toMatchObject({ status: 404, body: { error: 'session_not_found' } });
    expect(session('stop room').mediaRequests).toBe(1); // the refused request is not counted
    // The name now starts a new session.
    const again = await start('stop room');
    expect(again.media_session_access_url).not.toBe(started.media_session_access_url);
  });

  test('other commands go to the hook: unknown_command without one, the canned answer with one', async () => {
    const { media_session_access_secure_url: url } = await start('hook room');
    expect((await media(url, { command: 'mute', args: { who: 'x' } })).body).toEqual({
      ok: false,
      command: 'mute',
      error: 'unknown_command',
    });
    await control.setCommandHook('mute', { result: { muted: ['x'] } });
    expect((await media(url, { command: 'mute' })).body).toEqual({ ok: true, command: 'mute', result: { muted: ['x'] } });
    await control.setCommandHook('mute', { error: 'no such participant' });
    expect((await media(url, { command: 'mute' })).body).toEqual({
      ok: false,
      command: 'mute',
      error: 'command_failed',
      message: 'no such participant',
    });
    await control.setCommandHook('mute', undefined);
    expect((await media(url, { command: 'mute' })).body).toMatchObject({ error: 'unknown_command' });
    await expect(control.setCommandHook('stop', { result: 1 })).rejects.toMatchObject({ status: 400 });
    expect(session('hook room').active).toBe(true);
  });

  test.each([
    ['not JSON', 'hello'],
    ['an array', '[1]'],
    ['no command', '{"args":{}}'],
    ['a non-string command', '{"command":7}'],
    ['an empty body', ''],
  ])('a body that is %s answers 200 bad_request and the session runs on', async (_label, body) => {
    const { media_session_access_secure_url: url } = await start('bad body');
    const answer = await media(url, body);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: false, error: 'bad_request', message: expect.any(String) });
    expect(session('bad body')).toMatchObject({ active: true, mediaRequests: 1, mediaCommands: [null] });
  });

  test('an unknown session id answers 404 session_not_found', async () => {
    const answer = await media(`${emu.origin}/media/nope.1.1`, { command: 'status' });
    expect(answer).toMatchObject({ status: 404, body: { error: 'session_not_found' } });
  });
});

describe("media session URL of Voximplant's example scenario", () => {
  test('any request answers 200 with an empty body and ends the session', async () => {
    const started = await start('example room', exampleRule);
    expect(session('example room')).toMatchObject({ scenarioKind: 'example', mediaRequests: 0 });
    const answer = await callMediaSession(started.media_session_access_secure_url, { command: 'status' });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(session('example room')).toMatchObject({
      active: false,
      endCause: 'example_request',
      finishReason: 'Normal termination',
      mediaRequests: 1,
    });
    expect((await media(started.media_session_access_secure_url, { command: 'status' })).status).toBe(404);
  });

  test('the control API shows a session that was never probed, and the rule kind', async () => {
    await start('never probed', exampleRule);
    const [listed] = await control.conferences({ active: true });
    expect(listed).toMatchObject({ name: 'never probed', scenarioKind: 'example', mediaRequests: 0, mediaCommands: [] });
    expect((await control.conference(listed.sessionId)).mediaRequests).toBe(0);
    const rules = (await control.accounts()).find((a) => a.accountId === account.accountId)?.rules;
    expect(rules?.map((rule) => rule.scenarioKind)).toEqual(['reference', 'example']);
  });

  test('the kind is settable per rule and per account through the control API', async () => {
    const created = await control.createAccount({ scenarioKind: 'example', ruleCount: 2 });
    const ruleId = await control.addRule(created.accountId, { scenarioKind: 'reference' });
    const rules = (await control.accounts()).find((a) => a.accountId === created.accountId)?.rules;
    expect(rules?.map((rule) => [rule.ruleId, rule.scenarioKind])).toEqual([
      [created.ruleIds[0], 'example'],
      [created.ruleIds[1], 'example'],
      [ruleId, 'reference'],
    ]);
    await expect(control.addRule(created.accountId, { scenarioKind: 'custom' as never })).rejects.toMatchObject({
      status: 400,
    });
  });
});

describe('participants and sessions ending on their own', () => {
  // beforeEach's reset() restores the session settings the emulator started with.
  test('a session nobody joins ends after the empty-session timeout, stamped Normal termination', async () => {
    emu.setSessionSettings({ emptySessionTimeoutMs: 40 });
    const started = await start('nobody');
    expect(session('nobody').active).toBe(true);
    await until(() => !session('nobody').active);
    const info = session('nobody');
    expect(info).toMatchObject({ endCause: 'empty_timeout', finishReason: 'Normal termination' });
    expect(Date.parse(String(info.endedAt)) - Date.parse(info.createdAt)).toBeGreaterThanOrEqual(30);
    expect((await media(started.media_session_access_secure_url, { command: 'status' })).status).toBe(404);
  });

  test('a participant keeps the session; after the last one leaves the reference grace period ends it', async () => {
    await control.setSessionSettings({ emptySessionTimeoutMs: 60, graceMs: 30 });
    await start('graced');
    await control.addParticipant({ name: 'graced' }, { id: 'a' });
    await control.addParticipant({ name: 'graced', accountId: account.accountId }, { id: 'b' });
    await sleep(120); // well past both timeouts: occupied sessions do not end
    expect(session('graced').active).toBe(true);

    await control.removeParticipant({ name: 'graced' }, 'a');
    await sleep(80);
    expect(session('graced')).toMatchObject({ active: true, participants: [{ id: 'b' }] });
    await control.removeParticipant({ sessionId: session('graced').sessionId }, 'b');
    await until(() => !session('graced').active);
    expect(session('graced')).toMatchObject({ endCause: 'grace', finishReason: 'Normal termination', participants: [] });
  });

  test('the example scenario has no grace period: the empty-session timeout ends it after the last leaves', async () => {
    emu.setSessionSettings({ emptySessionTimeoutMs: 80, graceMs: 10 });
    await start('example left', exampleRule);
    emu.addParticipant({ name: 'example left' }, { id: 'x' });
    emu.removeParticipant({ name: 'example left' }, 'x');
    await sleep(40);
    expect(session('example left').active).toBe(true);
    await until(() => !session('example left').active);
    expect(session('example left').endCause).toBe('empty_timeout');
  });

  test('a grace period longer than the empty-session timeout gives way to the timeout', async () => {
    emu.setSessionSettings({ emptySessionTimeoutMs: 30, graceMs: 60_000 });
    await start('long grace');
    emu.addParticipant({ name: 'long grace' });
    emu.removeParticipant({ name: 'long grace' }, 'participant-1');
    await until(() => !session('long grace').active);
    expect(session('long grace').endCause).toBe('empty_timeout');
  });

  test('changing the settings re-arms the timers of running sessions', async () => {
    await start('rearmed'); // default 60 s timeout
    await sleep(20);
    expect(session('rearmed').active).toBe(true);
    expect(await control.setSessionSettings({ emptySessionTimeoutMs: 10 })).toEqual({
      emptySessionTimeoutMs: 10,
      graceMs: 30_000,
      joinAnswers: 'same',
    });
    await until(() => !session('rearmed').active, 500);
    expect(session('rearmed').endCause).toBe('empty_timeout');
  });

  test('participant errors: unknown session, ended session, duplicate id, unknown participant, bad settings', async () => {
    await expect(control.addParticipant({ name: 'nowhere' })).rejects.toMatchObject({ status: 404 });
    await expect(control.addParticipant({ sessionId: 'nope' })).rejects.toMatchObject({ status: 404 });
    await start('errors');
    await control.addParticipant({ name: 'errors' }, { id: 'p' });
    await expect(control.addParticipant({ name: 'errors' }, { id: 'p' })).rejects.toMatchObject({ status: 409 });
    await expect(control.removeParticipant({ name: 'errors' }, 'q')).rejects.toMatchObject({ status: 404 });
    const { sessionId } = session('errors');
    await control.endConference('errors');
    await expect(control.addParticipant({ sessionId })).rejects.toBeInstanceOf(ControlApiError);
    await expect(control.setSessionSettings({ graceMs: -1 })).rejects.toMatchObject({ status: 400 });
    await expect(control.setSessionSettings({ joinAnswers: 'other' as never })).rejects.toMatchObject({ status: 400 });
  });

  test('the same name in two accounts needs the accountId', async () => {
    const other = emu.createAccount();
    await start('shared name');
    await start('shared name', other.ruleId, other.credentials);
    await expect(control.addParticipant({ name: 'shared name' })).rejects.toMatchObject({ status: 409 });
    const added = await control.addParticipant({ name: 'shared name', accountId: other.accountId });
    const sessions = emu.conferences().filter((conference) => conference.name === 'shared name');
    expect(sessions.map((conference) => [conference.accountId, conference.participants.length])).toEqual([
      [account.accountId, 0],
      [other.accountId, 1],
    ]);
    expect(added.id).toBe('participant-1');
  });

  test('endConference through the control API can give a finish reason', async () => {
    await start('admin end');
    expect(await control.endConference('admin end', undefined, { finishReason: 'Terminated administratively' })).toBe(1);
    expect(session('admin end')).toMatchObject({ endCause: 'control', finishReason: 'Terminated administratively' });
    await start('admin end');
    await expect(control.endConference('admin end', undefined, { finishReason: 'Bored' as never })).rejects.toMatchObject(
      { status: 400 },
    );
  });

  test('close() clears the timers: a session due to end stays as it was', async () => {
    const separate = await startEmulator({ emptySessionTimeoutMs: 30, graceMs: 10 });
    const created = separate.createAccount();
    await callEmulator(
      separate.origin,
      { conference_name: 'closing', rule_id: String(created.ruleId) },
      { token: await signToken(created.credentials) },
    );
    await separate.close();
    await sleep(80);
    expect(separate.conferences()[0]).toMatchObject({ active: true, endedAt: null });
  });
});

describe('join identity', () => {
  test("'same' (default) answers the start's call_session_history_id on a join", async () => {
    const first = await start('same id');
    const second = await start('same id');
    expect(second).toEqual(first);
    expect(session('same id')).toMatchObject({ joinCount: 1, callSessionHistoryIds: [first.call_session_history_id] });
  });

  test("'new-id' answers a new id with the same media URLs; the session keeps its first id", async () => {
    await control.setSessionSettings({ joinAnswers: 'new-id' });
    const first = await start('new id');
    const second = await start('new id');
    expect(second.media_session_access_secure_url).toBe(first.media_session_access_secure_url);
    expect(second.call_session_history_id).not.toBe(first.call_session_history_id);
    expect(session('new id')).toMatchObject({
      callSessionHistoryId: first.call_session_history_id,
      callSessionHistoryIds: [first.call_session_history_id, second.call_session_history_id],
    });
    emu.reset();
    expect(emu.sessionSettings().joinAnswers).toBe('same'); // reset restores the start options
  });

  test('the start option sets the mode', async () => {
    const separate = await startEmulator({ joinAnswers: 'new-id', emptySessionTimeoutMs: 5000, graceMs: 100 });
    try {
      expect(separate.sessionSettings()).toEqual({ joinAnswers: 'new-id', emptySessionTimeoutMs: 5000, graceMs: 100 });
      await expect(startEmulator({ joinAnswers: 'both' as never })).rejects.toThrow(/joinAnswers/);
      await expect(startEmulator({ emptySessionTimeoutMs: -5 })).rejects.toThrow(/emptySessionTimeoutMs/);
    } finally {
      await separate.close();
    }
  });
});
