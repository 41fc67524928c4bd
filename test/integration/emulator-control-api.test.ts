/**
 * The HTTP control API (`/_emulator/...`), through raw fetch and through connectEmulator, and the
 * standalone CLI in a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  ControlApiError,
  type CreatedAccount,
  type Credentials,
  callEmulator,
  connectEmulator,
  type EmulatorControlClient,
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
  account = await control.createAccount({ ruleCount: 2 });
});

afterAll(async () => {
  await emu.close();
});

beforeEach(async () => {
  await control.reset();
});

async function raw(method: string, path: string, body?: string) {
  const response = await fetch(`${emu.origin}/_emulator${path}`, {
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function start(credentials: Credentials, ruleId: number, name = 'control') {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(ruleId) },
    { token: await signToken(credentials) },
  );
  return JSON.parse(response.text) as Record<string, unknown>;
}

describe('accounts, keys, rules', () => {
  test('POST /accounts returns credentials.json-shaped credentials that work', async () => {
    expect(Object.keys(account.credentials).sort()).toEqual(['account_email', 'account_id', 'key_id', 'private_key']);
    expect(account.credentials.account_id).toBe(account.accountId);
    expect(account.credentials.key_id).toBe(account.keyId);
    expect(account.credentials.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(account.ruleIds).toHaveLength(2);
    expect(await start(account.credentials, account.ruleIds[1])).toMatchObject({ result: 1 });
    const listed = await control.accounts();
    expect(listed.find((info) => info.accountId === account.accountId)).toMatchObject({ keyIds: [account.keyId] });
    expect(JSON.stringify(listed)).not.toContain('PRIVATE KEY');
  });

  test('explicit account id, rule ids and rules without scenario', async () => {
    const created = await control.createAccount({
      accountId: 4242,
      ruleIds: [11, 12],
      withoutScenario: true,
      email: 'ops@example.invalid',
    });
    expect(created).toMatchObject({
      accountId: 4242,
      ruleId: 11,
      ruleIds: [11, 12],
      credentials: { account_email: 'ops@example.invalid' },
    });
    expect(await start(created.credentials, 11)).toEqual({
      error: { msg: 'No scenario is bound to the rule', code: 375 },
    });
    const withScenario = await control.addRule(4242, { ruleId: 13 });
    expect(withScenario).toBe(13);
    expect(await start(created.credentials, 13)).toMatchObject({ result: 1 });
    await expect(control.createAccount({ accountId: 4242 })).rejects.toMatchObject({ status: 400 });
  });

  test('POST /accounts/:id/keys and DELETE /keys/:id rotate keys', async () => {
    const rotated = await control.addKey(account.accountId);
    expect(rotated.credentials?.key_id).toBe(rotated.keyId);
    expect(await start(rotated.credentials!, account.ruleId)).toMatchObject({ result: 1 });
    await control.removeKey(rotated.keyId);
    expect(await start(rotated.credentials!, account.ruleId)).toEqual({
      error: { msg: 'Authorization failed', code: 100 },
    });
    await expect(control.removeKey(rotated.keyId)).rejects.toMatchObject({ status: 404 });
  });

  test('a public key registered by PEM verifies tokens from its private half', async () => {
    const own = await control.addKey(account.accountId, { keyId: 'own-key', publicKey: account.publicKey });
    expect(own).toMatchObject({ keyId: 'own-key' });
    expect(own.credentials).toBeUndefined();
    expect(await start({ ...account.credentials, key_id: 'own-key' }, account.ruleId)).toMatchObject({ result: 1 });
    await control.removeKey('own-key');
  });

  test('unknown account 404, bad input 400', async () => {
    expect((await raw('POST', '/accounts/999/keys', '{}')).status).toBe(404);
    expect((await raw('POST', '/accounts/999/rules', '{}')).status).toBe(404);
    expect((await raw('POST', '/accounts', '{"ruleCount":"two"}')).status).toBe(400);
    expect((await raw('POST', '/accounts', '{"ruleIds":[1,1]}')).status).toBe(400);
    expect((await raw('POST', '/accounts', '{not json')).status).toBe(400);
    expect((await raw('POST', '/accounts', '[1]')).status).toBe(400);
  });
});

describe('faults and latency', () => {
  test('POST /faults sets a fault that applies to the API; GET lists it; DELETE clears it', async () => {
    const set = await raw(
      'POST',
      '/faults',
      JSON.stringify({ type: 'http', status: 503, retryAfter: 2, forMs: 60_000 }),
    );
    expect(set.status).toBe(201);
    expect(set.body).toMatchObject({ spec: { type: 'http', status: 503, retryAfter: 2, forMs: 60_000 }, hits: 0 });
    const api = await callEmulator(emu.origin, { conference_name: 'x', rule_id: '1' });
    expect(api.status).toBe(503);
    expect(api.headers['retry-after']).toBe('2');
    expect((await control.faults())[0]).toMatchObject({ id: set.body.id, hits: 1 });

    expect(await control.clearFaults(String(set.body.id))).toBe(1);
    await expect(control.clearFaults(String(set.body.id))).rejects.toMatchObject({ status: 404 });
    await control.fault({ type: 'drop' });
    await control.fault({ type: 'error', code: 2 });
    expect((await raw('DELETE', '/faults')).body).toEqual({ cleared: 2 });
    expect(await start(account.credentials, account.ruleId)).toMatchObject({ result: 1 });
  });

  test('invalid fault specs get 400 with the reason', async () => {
    const bad = await raw('POST', '/faults', JSON.stringify({ type: 'error', code: 123456 }));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/123456/);
    expect((await raw('POST', '/faults', JSON.stringify({ type: 'latency' }))).status).toBe(400);
    expect(await control.faults()).toEqual([]);
  });

  test('PUT /latency changes the delay; GET reads it', async () => {
    await control.setLatency(120);
    expect((await raw('GET', '/latency')).body).toEqual({ ms: 120 });
    const started = Date.now();
    await start(account.credentials, account.ruleId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect((await raw('PUT', '/latency', '{"ms":-5}')).status).toBe(400);
    expect((await raw('PUT', '/latency', '{}')).status).toBe(400);
    await control.setLatency(0);
    expect((await control.health()).latencyMs).toBe(0);
  });
});

describe('records, conferences, stats, reset', () => {
  test('GET /requests returns records with the token redacted; sinceId/limit; DELETE empties', async () => {
    const token = await signToken(account.credentials);
    for (const name of ['a', 'b', 'c']) {
      await callEmulator(
        emu.origin,
        { conference_name: name, rule_id: String(account.ruleId) },
        { token, encoding: 'multipart' },
      );
    }
    const response = await fetch(`${emu.origin}/_emulator/requests`);
    const text = await response.text();
    for (const part of token.split('.')) expect(text).not.toContain(part);
    const records = JSON.parse(text) as {
      id: number;
      authorization: string;
      auth: { kid: string };
      params: Record<string, string>;
    }[];
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({
      authorization: 'Bearer [redacted]',
      auth: { kid: account.keyId },
      params: { conference_name: 'a' },
    });
    expect((await control.requests({ sinceId: records[0].id })).map((record) => record.params.conference_name)).toEqual(
      ['b', 'c'],
    );
    expect((await control.requests({ limit: 1 }))[0].params.conference_name).toBe('c');
    expect((await raw('GET', '/requests?limit=-1')).status).toBe(400);
    await control.clearRequests();
    expect(await control.requests()).toEqual([]);
  });

  test('GET /conferences and DELETE /conferences/:name end a session so the name starts anew', async () => {
    const name = 'Daily stand-up ü/&';
    const first = await start(account.credentials, account.ruleId, name);
    expect(await start(account.credentials, account.ruleId, name)).toEqual(first);
    const [conference] = await control.conferences();
    expect(conference).toMatchObject({
      name,
      joinCount: 1,
      active: true,
      callSessionHistoryId: first.call_session_history_id,
    });

    expect(await control.endConference(name, account.accountId)).toBe(1);
    await expect(control.endConference(name)).rejects.toBeInstanceOf(ControlApiError);
    const second = await start(account.credentials, account.ruleId, name);
    expect(second.call_session_history_id).not.toBe(first.call_session_history_id);
    expect((await control.conferences({ active: true })).map((info) => info.callSessionHistoryId)).toEqual([
      second.call_session_history_id,
    ]);
    expect(await control.conferences({ active: false })).toHaveLength(1);

    // Without accountId every account's running session of that name ends.
    expect(await control.endConference(name)).toBe(1);
  });

  test('GET /stats counts outcomes; POST /reset keeps accounts unless asked', async () => {
    await start(account.credentials, account.ruleId);
    await callEmulator(emu.origin, { conference_name: 'x', rule_id: '1' });
    const stats = await control.stats();
    expect(stats).toMatchObject({
      requests: 2,
      byOutcome: { success: 1, auth_failed: 1 },
      byErrorCode: { '100': 1 },
      conferencesStarted: 1,
    });

    await control.reset();
    expect((await control.stats()).requests).toBe(0);
    expect(await start(account.credentials, account.ruleId)).toMatchObject({ result: 1 });
  });

  test('reset with accounts: true forgets every key', async () => {
    const separate = await startEmulator();
    try {
      const client = connectEmulator(separate.origin);
      const created = await client.createAccount();
      await client.reset({ accounts: true });
      expect(await client.accounts()).toEqual([]);
      const response = await callEmulator(
        separate.origin,
        { conference_name: 'x', rule_id: String(created.ruleId) },
        { token: await signToken(created.credentials) },
      );
      expect(JSON.parse(response.text).error.code).toBe(100);
      expect(separate.requests()[0].auth.reason).toBe('unknown_kid');
    } finally {
      await separate.close();
    }
  });

  test('health, unknown endpoints and wrong methods', async () => {
    expect(await control.health()).toMatchObject({
      ok: true,
      url: emu.url,
      origin: emu.origin,
      port: emu.port,
      secure: false,
    });
    expect((await raw('GET', '/nope')).status).toBe(404);
    expect((await raw('PUT', '/faults', '{}')).status).toBe(404);
    expect((await raw('GET', '/conferences/x/y')).status).toBe(404);
    // Control calls are not API requests and are not recorded.
    expect(await control.requests()).toEqual([]);
  });
});

describe('CLI', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-cli-test-'));
  });

  afterAll(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('starts with a throwaway account, writes credentials.json with mode 0600, stops on SIGTERM', async () => {
    const credentialsPath = join(dir, 'nested', 'credentials.json');
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/voximplant-emulator/cli.ts',
        '--port',
        '0',
        '--latency',
        '0',
        '--credentials-out',
        credentialsPath,
        '--rule-count',
        '2',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const lines = createInterface({ input: child!.stdout! });
      lines.once('line', (line) => resolve(JSON.parse(line)));
      child!.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
    });
    expect(ready).toMatchObject({ event: 'ready', credentialsPath, ruleIds: [expect.any(Number), expect.any(Number)] });
    expect(String(ready.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/platform_api$/);

    expect(statSync(credentialsPath).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(readFileSync(credentialsPath, 'utf8')) as Credentials;
    expect(credentials).toMatchObject({ account_id: ready.accountId, key_id: ready.keyId });

    const response = await callEmulator(
      String(ready.origin),
      { conference_name: 'from cli', rule_id: String(ready.ruleId) },
      { token: await signToken(credentials) },
    );
    expect(JSON.parse(response.text)).toMatchObject({ result: 1 });

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);
  test('session flags: timeouts, join identity, scenario kind and key role reach the emulator', async () => {
    const credentialsPath = join(dir, 'flags', 'credentials.json');
    const flagged = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/voximplant-emulator/cli.ts',
        '--credentials-out',
        credentialsPath,
        '--empty-session-timeout',
        '50',
        '--grace',
        '20',
        '--join-answers',
        'new-id',
        '--scenario-kind',
        'example',
        '--role',
        'CallsSMS',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    child = flagged;
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const lines = createInterface({ input: flagged.stdout! });
      lines.once('line', (line) => resolve(JSON.parse(line)));
      flagged.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
    });
    expect(ready).toMatchObject({
      role: 'CallsSMS',
      sessionSettings: { emptySessionTimeoutMs: 50, graceMs: 20, joinAnswers: 'new-id' },
    });
    const remote = connectEmulator(String(ready.origin));
    expect(await remote.sessionSettings()).toEqual({ emptySessionTimeoutMs: 50, graceMs: 20, joinAnswers: 'new-id' });
    const [created] = await remote.accounts();
    expect(created.rules.map((rule) => rule.scenarioKind)).toEqual(['example']);
    expect(created.keys).toEqual([{ keyId: ready.keyId, role: 'CallsSMS' }]);

    const exited = new Promise<number | null>((resolve) => flagged.once('exit', (code) => resolve(code)));
    flagged.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 20_000);

  test('a bad session flag fails fast, naming it', async () => {
    const failed = spawn(
      process.execPath,
      ['--import', 'tsx', 'local/voximplant-emulator/cli.ts', '--join-answers', 'maybe'],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    let stderr = '';
    failed.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => failed.once('exit', (exit) => resolve(exit)));
    expect(code).toBe(1);
    expect(stderr).toMatch(/joinAnswers/);
  }, 20_000);
});
