/**
 * The emulator's GetCallHistory over real HTTP (same auth and encodings as StartConference) and the roles of
 * service-account keys: which role may call which method, and the refusal a key without the role gets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  type CallOptions,
  type CreatedAccount,
  type Credentials,
  callEmulator,
  callMediaSession,
  connectEmulator,
  type EmulatorControlClient,
  formatDate,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

let emu: VoximplantEmulator;
let control: EmulatorControlClient;
let account: CreatedAccount;

beforeAll(async () => {
  emu = await startEmulator();
  control = connectEmulator(emu.origin);
  account = emu.createAccount();
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
});

async function api(
  method: 'StartConference' | 'GetCallHistory',
  params: Record<string, string>,
  options: CallOptions & { credentials?: Credentials } = {},
) {
  const token = await signToken(options.credentials ?? account.credentials);
  const response = await callEmulator(emu.origin, params, { token, path: `/platform_api/${method}`, ...options });
  return { status: response.status, body: JSON.parse(response.text) };
}

async function startAndStop(name: string, credentials = account.credentials, ruleId = account.ruleId) {
  const started = await api(
    'StartConference',
    { conference_name: name, rule_id: String(ruleId), script_custom_data: `data of ${name}` },
    { credentials },
  );
  const url = started.body.media_session_access_secure_url as string;
  await callMediaSession(url, { command: 'stop' });
  return started.body.call_session_history_id as number;
}

/** A window around now, wide enough for the whole test. */
const window = () => ({
  from_date: formatDate(Date.now() - 3600_000),
  to_date: formatDate(Date.now() + 3600_000),
});

describe('GetCallHistory', () => {
  test('lists an ended session with the documented fields; a running one is not listed', async () => {
    const ended = await startAndStop('history ended');
    await api('StartConference', { conference_name: 'history running', rule_id: String(account.ruleId) });
    const { status, body } = await api('GetCallHistory', { ...window(), timezone: 'UTC' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ total_count: 1, count: 1, timezone: 'UTC' });
    const [entry] = body.result;
    const info = emu.conferences().find((conference) => conference.name === 'history ended');
    const [application] = emu.accounts().filter((a) => a.accountId === account.accountId);
    expect(entry).toEqual({
      call_session_history_id: ended,
      account_id: account.accountId,
      application_id: application.applicationId,
      application_name: application.applicationName,
      rule_name: `rule-${account.ruleId}`,
      start_date: formatDate(Date.parse(String(info?.createdAt))),
      duration: Math.round((Date.parse(String(info?.endedAt)) - Date.parse(String(info?.createdAt))) / 1000),
      finish_reason: 'Normal termination',
      initiator_address: '127.0.0.1',
      media_server_address: '127.0.0.1',
      log_file_url: expect.stringMatching(new RegExp(`^${emu.origin}/logs/`)),
      custom_data: 'data of history ended',
      calls: [],
    });
    expect(entry.start_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  test.each([
    ['urlencoded', {}],
    ['multipart', {}],
    ['multipart-chunked', {}],
    ['query', {}],
    ['query', { method: 'GET' }],
    ['urlencoded', { path: '/platform_api/', cmd: true }],
  ] as const)('works with the %s encoding %j', async (encoding, extra) => {
    const id = await startAndStop('encodings');
    const params: Record<string, string> = { ...window(), call_session_history_id: String(id) };
    const options: CallOptions = { encoding };
    if ('cmd' in extra) params.cmd = 'GetCallHistory';
    const { body } = await api('GetCallHistory', params, {
      ...options,
      ...('path' in extra ? { path: extra.path } : {}),
      ...('method' in extra ? { method: extra.method } : {}),
    });
    expect(body.result.map((entry: { call_session_history_id: number }) => entry.call_session_history_id)).toEqual([id]);
    expect(emu.requests().at(-1)).toMatchObject({ command: 'GetCallHistory', outcome: 'success' });
  });

  test('filters by id list, pages with count/offset, orders with desc_order, total_count on request', async () => {
    const ids = [];
    for (const name of ['one', 'two', 'three', 'four']) ids.push(await startAndStop(name));
    const list = async (params: Record<string, string>) => (await api('GetCallHistory', { ...window(), ...params })).body;
    const idsOf = (body: { result: { call_session_history_id: number }[] }) =>
      body.result.map((entry) => entry.call_session_history_id);

    expect(idsOf(await list({}))).toEqual(ids);
    expect(idsOf(await list({ desc_order: 'true' }))).toEqual([...ids].reverse());
    expect(idsOf(await list({ call_session_history_id: `${ids[3]};${ids[1]};123` }))).toEqual([ids[1], ids[3]]);
    const page = await list({ count: '2', offset: '1' });
    expect(idsOf(page)).toEqual([ids[1], ids[2]]);
    expect(page).toMatchObject({ count: 2, total_count: 4 });
    const noTotal = await list({ with_total_count: 'false', count: '1' });
    expect(noTotal).not.toHaveProperty('total_count');
    expect(noTotal.count).toBe(1);
  });

  test('the window selects on start_date, inclusive, in the zone answered (auto: Etc/UTC)', async () => {
    const id = await startAndStop('windowed');
    const startDate = formatDate(Date.parse(emu.conferences()[0].createdAt));
    const exact = await api('GetCallHistory', { from_date: startDate, to_date: startDate, timezone: 'auto' });
    expect(exact.body).toMatchObject({ count: 1, timezone: 'Etc/UTC', result: [{ call_session_history_id: id }] });
    const before = await api('GetCallHistory', {
      from_date: '2020-01-01 00:00:00',
      to_date: formatDate(Date.parse(emu.conferences()[0].createdAt) - 1000),
    });
    expect(before.body).toEqual({ result: [], total_count: 0, count: 0, timezone: 'Etc/UTC' });
  });

  test("another account's sessions are not listed", async () => {
    const other = emu.createAccount();
    await startAndStop('mine');
    await startAndStop('theirs', other.credentials, other.ruleId);
    const { body } = await api('GetCallHistory', window(), { credentials: other.credentials });
    expect(body.result.map((entry: { custom_data: string }) => entry.custom_data)).toEqual(['data of theirs']);
  });

  test("under joinAnswers 'new-id' a join's id finds the session, listed under its first id", async () => {
    emu.setSessionSettings({ joinAnswers: 'new-id' });
    const first = await api('StartConference', { conference_name: 'ids', rule_id: String(account.ruleId) });
    const joined = await api('StartConference', { conference_name: 'ids', rule_id: String(account.ruleId) });
    await callMediaSession(joined.body.media_session_access_secure_url, { command: 'stop' });
    const { body } = await api('GetCallHistory', {
      ...window(),
      call_session_history_id: String(joined.body.call_session_history_id),
    });
    expect(body.result.map((entry: { call_session_history_id: number }) => entry.call_session_history_id)).toEqual([
      first.body.call_session_history_id,
    ]);
  });

  /** Overrides of the window; null leaves the parameter out. */
  const errors: [string, Record<string, string | null>, number][] = [
    ['from_date missing', { from_date: null }, 134],
    ['to_date empty', { from_date: '2026-01-01 00:00:00', to_date: '' }, 134],
    ['an ISO date', { from_date: '2026-01-01T00:00:00Z', to_date: '2026-01-02 00:00:00' }, 111],
    ['a date that does not exist', { from_date: '2026-02-30 00:00:00', to_date: '2026-03-02 00:00:00' }, 111],
    ['to before from', { from_date: '2026-01-02 00:00:00', to_date: '2026-01-01 00:00:00' }, 123],
    ['a zone it cannot serve', { timezone: 'Europe/Berlin' }, 101],
    ['a bad id', { call_session_history_id: '12;abc' }, 150],
    ['more than 1000 ids', { call_session_history_id: Array.from({ length: 1001 }, (_, i) => i + 1).join(';') }, 150],
    ['count over 1000', { count: '1001' }, 101],
    ['a negative offset', { offset: '-1' }, 101],
    ['offset over 10000', { offset: '10001' }, 101],
    ['a bad boolean', { desc_order: 'yes' }, 101],
  ];
  test.each(errors)("%s answers its error code in Voximplant's shape", async (_label, overrides, code) => {
    const params: Record<string, string> = window();
    for (const [name, value] of Object.entries(overrides)) {
      if (value === null) delete params[name];
      else params[name] = value;
    }
    const { status, body } = await api('GetCallHistory', params);
    expect(status).toBe(200);
    expect(body).toEqual({ error: { msg: expect.any(String), code } });
    expect(emu.requests().at(-1)).toMatchObject({ outcome: 'api_error', errorCode: code });
  });

  test('without a valid token: 100, as StartConference', async () => {
    const response = await callEmulator(emu.origin, window(), { path: '/platform_api/GetCallHistory' });
    expect(JSON.parse(response.text)).toEqual({ error: { msg: 'Authorization failed', code: 100 } });
  });

  test('a fault scoped to a method leaves the other one alone', async () => {
    emu.fault({ type: 'error', code: 162, method: 'GetCallHistory' });
    expect((await api('GetCallHistory', window())).body.error.code).toBe(162);
    expect((await api('StartConference', { conference_name: 'unfaulted', rule_id: String(account.ruleId) })).body)
      .toMatchObject({ result: 1 });
  });
});

describe('key roles', () => {
  test('keys are Owner by default and the role is listed', async () => {
    expect(account.role).toBe('Owner');
    const listed = emu.accounts().find((a) => a.accountId === account.accountId);
    expect(listed?.keys).toEqual([{ keyId: account.keyId, role: 'Owner' }]);
  });

  test.each([
    ['Owner', true, true],
    ['Admin', true, true],
    ['Developer', true, true],
    ['CallsSMS', true, false],
    ['Supervisor', false, true],
    ['Support', false, true],
  ] as const)('a %s key: may start %s, may read call history %s', async (role, mayStart, mayReadHistory) => {
    const key = emu.addKey(account.accountId, { role });
    const credentials = key.credentials as Credentials;
    const started = await api(
      'StartConference',
      { conference_name: `role ${role}`, rule_id: String(account.ruleId) },
      { credentials },
    );
    const history = await api('GetCallHistory', window(), { credentials });
    const forbidden = { error: { msg: 'Forbidden command', code: 104 } };
    if (mayStart) expect(started.body).toMatchObject({ result: 1 });
    else expect(started.body).toEqual(forbidden);
    if (mayReadHistory) expect(history.body).toMatchObject({ result: [] });
    else expect(history.body).toEqual(forbidden);
    const refused = emu.requests().filter((record) => record.errorCode === 104);
    expect(refused.length).toBe(Number(!mayStart) + Number(!mayReadHistory));
    for (const record of refused) expect(record).toMatchObject({ outcome: 'auth_failed', auth: { outcome: 'ok', role } });
    // A refused start starts nothing.
    expect(emu.conferences().length).toBe(mayStart ? 1 : 0);
  });

  test('roles through the control API: new account, new key, changed role (applies to the next request)', async () => {
    const created = await control.createAccount({ role: 'CallsSMS' });
    expect(created.role).toBe('CallsSMS');
    expect((await api('GetCallHistory', window(), { credentials: created.credentials })).body.error.code).toBe(104);
    await control.setKeyRole(created.keyId, 'Support');
    expect((await api('GetCallHistory', window(), { credentials: created.credentials })).body).toMatchObject({
      result: [],
    });
    const added = await control.addKey(created.accountId, { role: 'Developer' });
    expect(added.role).toBe('Developer');
    await expect(control.addKey(created.accountId, { role: 'Boss' as never })).rejects.toMatchObject({ status: 400 });
    await expect(control.setKeyRole('no-such-key', 'Admin')).rejects.toMatchObject({ status: 404 });
    await expect(control.setKeyRole(created.keyId, 'Boss' as never)).rejects.toMatchObject({ status: 400 });
  });
});
