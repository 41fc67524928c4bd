/**
 * The lifecycle service over real parts: the registry in dynalite (the real DynamoDB client, the table made from
 * the deployed definition), sessions and GetCallHistory in the Voximplant emulator, `Conference Ended` on the
 * EventBridge stand-in; a small loopback server plays the sessions the emulator does not (one that refuses once,
 * one that never answers in time, one that will not confirm a stop). The clock is injected: probe intervals and
 * confirmation delays pass without waiting.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { CallHistory } from '../../lib/call-history.js';
import { type CredentialsProvider, parseCredentials } from '../../lib/credentials.js';
import { VoxconfError } from '../../lib/errors.js';
import { EventBridgePublisher } from '../../lib/event-bus.js';
import facts from '../../lib/facts.json' with { type: 'json' };
import { type Caller, LifecycleService } from '../../lib/lifecycle-service.js';
import type { RegistryRecord } from '../../lib/registry-record.js';
import { fromItem, RegistryStore, toAttribute } from '../../lib/registry-store.js';
import { SessionClient } from '../../lib/session-client.js';
import { TokenSigner } from '../../lib/token.js';
import { VoximplantClient } from '../../lib/voximplant-client.js';
import { type LocalDynamoDb, startDynamoDb } from '../../local/dynamodb.js';
import { type EventBridgeStandIn, startEventBridge } from '../../local/eventbridge.js';
import { createLocalServer } from '../../local/loopback-guard.mjs';
import { createRegistryTable } from '../../local/registry-table.js';
import {
  type CreatedAccount,
  type Credentials,
  callEmulator,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

const BUS = 'voxconf-test';
const TABLE = 'voxconf-test-conferences';
const CALLER: Caller = { type: 'iam', id: 'arn:aws:iam::000000000000:role/ops' };

let ddb: LocalDynamoDb;
let dynamo: DynamoDBClient;
let eb: EventBridgeStandIn;
let events: EventBridgeClient;
let emu: VoximplantEmulator;
let account: CreatedAccount;
let exampleRule: number;
let callsSmsKey: Credentials;
let voximplant: VoximplantClient;
let fake: Server;
let fakeOrigin: string;
let deadPort: number;
const fakeRequests = new Map<string, number>();

let clock = 0;
let logs: { level: string; message: string; data: Record<string, unknown> }[] = [];
/** Keeps what the core logs: the message and its one object of data, as Powertools takes them. */
const record =
  (level: string) =>
  (message: unknown, ...extra: unknown[]): void => {
    logs.push({ level, message: String(message), data: (extra[0] ?? {}) as Record<string, unknown> });
  };
const logger = { info: record('info'), warn: record('warn') };

/**
 * The fake sessions: /reset/<id> resets every connection, /not-found-once/<id> answers 404 first, /slow never
 * answers, /not-ok will not stop.
 */
function fakeSession(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '';
  const seen = (fakeRequests.get(path) ?? 0) + 1;
  fakeRequests.set(path, seen);
  req.resume();
  if (path.startsWith('/reset/')) return void req.socket.destroy();
  if (path.startsWith('/not-found-once/') && seen === 1) {
    res.writeHead(404, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify({ error: 'session_not_found' }));
  }
  if (path === '/slow') return;
  res.writeHead(200, { 'content-type': 'application/json' });
  if (path === '/not-ok') return void res.end(JSON.stringify({ ok: false, command: 'stop', error: 'busy' }));
  res.end(JSON.stringify({ ok: true, command: 'status', participant_count: 0, participants: [] }));
}

beforeAll(async () => {
  ddb = await startDynamoDb();
  await createRegistryTable(ddb.endpoint, { tableName: TABLE });
  dynamo = new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  eb = await startEventBridge({ buses: [BUS] });
  events = new EventBridgeClient({
    endpoint: eb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  emu = await startEmulator();
  account = emu.createAccount();
  exampleRule = emu.addRule(account.accountId, { scenarioKind: 'example' });
  const added = emu.addKey(account.accountId, { role: 'CallsSMS' });
  if (!added.credentials) throw new Error('the emulator made no credentials');
  callsSmsKey = added.credentials;
  voximplant = new VoximplantClient({ apiUrl: emu.url });
  fake = createLocalServer(fakeSession);
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeOrigin = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  const closed = createLocalServer(() => undefined);
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
});

afterAll(async () => {
  dynamo.destroy();
  events.destroy();
  voximplant.close();
  fake.closeAllConnections();
  await new Promise((resolve) => fake.close(resolve));
  await Promise.all([ddb.close(), eb.close(), emu.close()]);
});

beforeEach(() => {
  clock = Date.now();
  logs = [];
  eb.clearEvents();
});

function staticCredentials(credentials: Credentials): CredentialsProvider {
  const parsed = parseCredentials('test', JSON.stringify(credentials));
  return { get: () => parsed };
}

function service(options: { key?: Credentials; timeoutMs?: number; probeIntervalMs?: number } = {}): LifecycleService {
  return new LifecycleService({
    store: new RegistryStore({ client: dynamo, tableName: TABLE, now: () => clock }),
    sessions: new SessionClient({ timeoutMs: options.timeoutMs ?? 1_000, allowLoopbackHttp: true }),
    history: new CallHistory({
      credentials: staticCredentials(options.key ?? account.credentials),
      signer: new TokenSigner({ lifetimeSeconds: 600, backdateSeconds: 10, refreshMarginSeconds: 60 }),
      client: voximplant,
      timeoutMs: 2_000,
      logger,
      now: () => clock,
    }),
    publisher: new EventBridgePublisher({ busName: BUS, client: events }),
    config: {
      referenceScenarioRuleIds: new Set([account.ruleId]),
      registryActiveRetentionHours: 48,
      registryEndedRetentionDays: 30,
    },
    stage: 'test',
    logger,
    now: () => clock,
    // The confirmation delay passes on the injected clock.
    sleep: async (ms) => {
      clock += ms;
    },
    ...(options.probeIntervalMs === undefined ? {} : { probeIntervalMs: options.probeIntervalMs }),
  });
}

interface Started {
  readonly media_session_access_url: string;
  readonly media_session_access_secure_url: string;
  readonly call_session_history_id: number;
}

async function startSession(name: string, ruleId = account.ruleId): Promise<Started> {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(ruleId) },
    { token: await signToken(account.credentials) },
  );
  const body = JSON.parse(response.text);
  if (body.result !== 1) throw new Error(`StartConference failed: ${response.text}`);
  return body as Started;
}

let nextId = 9_000_000;

/** Writes a record as the start path would (lib/registry-writer.ts lands separately). */
async function seed(name: string, overrides: Partial<RegistryRecord> = {}): Promise<RegistryRecord> {
  const record: RegistryRecord = {
    conference_name: name,
    status: 'active',
    started_at: new Date(clock).toISOString(),
    started_by: { source: 'http', source_id: 'req-1' },
    rule_id: account.ruleId,
    call_session_history_id: nextId++,
    media_session_access_url: `${fakeOrigin}/other/${name}`,
    media_session_access_secure_url: `${fakeOrigin}/other/${name}`,
    join_count: 0,
    expires_at: Math.floor(clock / 1000) + 48 * 3600,
    ...overrides,
  };
  await dynamo.send(new PutItemCommand({ TableName: TABLE, Item: toAttribute(record).M }));
  return record;
}

async function seedStarted(name: string, ruleId = account.ruleId): Promise<RegistryRecord> {
  const started = await startSession(name, ruleId);
  return seed(name, { ...started, rule_id: ruleId });
}

async function stored(name: string): Promise<Record<string, unknown> | undefined> {
  const output = await dynamo.send(
    new GetItemCommand({ TableName: TABLE, Key: { conference_name: { S: name } }, ConsistentRead: true }),
  );
  return output.Item === undefined ? undefined : fromItem(output.Item);
}

const session = (name: string) => {
  const found = emu
    .conferences()
    .filter((conference) => conference.name === name)
    .at(-1);
  if (!found) throw new Error(`no session ${name}`);
  return found;
};

async function failure(promise: Promise<unknown>): Promise<VoxconfError & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VoxconfError) return error as VoxconfError & Record<string, unknown>;
    throw error;
  }
  throw new Error('did not fail');
}

const endedEvents = () => eb.events({ detailType: 'Conference Ended' });
/** GetCallHistory requests the emulator received so far. */
const historyCalls = () => emu.requests().filter((request) => request.command === 'GetCallHistory').length;

describe('GET /conferences/{name}', () => {
  test('an unknown name, and an expired record, are not found', async () => {
    expect((await failure(service().get('nobody'))).code).toBe('conference_not_found');
    await seed('expired one', { expires_at: Math.floor(clock / 1000) - 1 });
    expect((await failure(service().get('expired one'))).code).toBe('conference_not_found');
  });

  test('an active reference session is asked its status: participants, URLs, and the record lives on', async () => {
    const record = await seedStarted('probe room');
    emu.addParticipant({ name: 'probe room' }, { id: 'alice', displayName: 'Alice' });
    clock += 3_600_000; // an hour on: the confirmed probe moves expires_at on from here
    const view = await service().get('probe room');
    expect(view).toMatchObject({
      conference_name: 'probe room',
      status: 'active',
      reference_scenario: true,
      media_session_access_secure_url: record.media_session_access_secure_url,
      session: { reachable: true, participant_count: 1, participants: [{ id: 'alice', display_name: 'Alice' }] },
    });
    expect(view).not.toHaveProperty('expires_at');
    expect(session('probe room').mediaRequests).toBe(1);
    expect((await stored('probe room'))?.expires_at).toBe(Math.floor(clock / 1000) + 48 * 3600);
  });

  test('at most one probe per conference per probe interval, across service instances', async () => {
    await seedStarted('rate room');
    const [a, b] = [service(), service()];
    await a.get('rate room');
    clock += 5_000;
    expect((await b.get('rate room')).session).toMatchObject({ reachable: false, reason: 'rate_limited' });
    expect(session('rate room').mediaRequests).toBe(1);
    clock += facts.registry.probeIntervalSeconds * 1000;
    expect((await b.get('rate room')).session).toMatchObject({ reachable: true });
    expect(session('rate room').mediaRequests).toBe(2);
  });

  test('404 once, then answered on the second try: the conference stays active', async () => {
    await seed('blip room', { media_session_access_secure_url: `${fakeOrigin}/not-found-once/blip` });
    const view = await service().get('blip room');
    expect(view).toMatchObject({ status: 'active', session: { reachable: true } });
    expect(fakeRequests.get('/not-found-once/blip')).toBe(2);
    expect((await stored('blip room'))?.status).toBe('active');
    expect(endedEvents()).toHaveLength(0);
  });

  test('a reset connection is not a refusal: asked once, still active, URLs kept', async () => {
    await seed('reset room', { media_session_access_secure_url: `${fakeOrigin}/reset/room` });
    const view = await service().get('reset room');
    expect(view).toMatchObject({ status: 'active', session: { reachable: false, reason: 'error' } });
    expect(fakeRequests.get('/reset/room')).toBe(1);
    expect(await stored('reset room')).toMatchObject({
      status: 'active',
      media_session_access_secure_url: `${fakeOrigin}/reset/room`,
    });
    expect(endedEvents()).toHaveLength(0);
  });

  test('404 twice: ended once, URLs removed, one event, even with concurrent readers', async () => {
    const record = await seedStarted('gone room');
    emu.endConference(account.accountId, 'gone room');
    // Three Lambdas at once, with no probe interval between them: each may probe, one records the end.
    const views = await Promise.all([0, 1, 2].map(() => service({ probeIntervalMs: 0 }).get('gone room')));
    for (const view of views) {
      expect(view).toMatchObject({ status: 'ended', end_reason: 'session_gone' });
      expect(view).not.toHaveProperty('media_session_access_secure_url');
    }
    const item = await stored('gone room');
    expect(item).toMatchObject({
      status: 'ended',
      end_reason: 'session_gone',
      finish_reason: 'Normal termination',
      duration: expect.any(Number),
    });
    expect(item).not.toHaveProperty('media_session_access_url');
    expect(item).not.toHaveProperty('media_session_access_secure_url');
    expect(item?.expires_at).toBe(Math.floor(Date.parse(String(item?.ended_at)) / 1000) + 30 * 86400);
    const published = endedEvents();
    expect(published).toHaveLength(1);
    expect(published[0]?.Detail).toMatchObject({
      stage: 'test',
      conference_name: 'gone room',
      call_session_history_id: record.call_session_history_id,
      rule_id: account.ruleId,
      end_reason: 'session_gone',
    });
    expect(published[0]?.Detail).not.toHaveProperty('finish_reason');
    expect(JSON.stringify(published)).not.toContain('/media/');
  });

  test('refused twice: ended as gone', async () => {
    await seed('dead room', { media_session_access_secure_url: `http://127.0.0.1:${deadPort}/media/x` });
    expect(await service().get('dead room')).toMatchObject({ status: 'ended', end_reason: 'session_gone' });
    expect(endedEvents()).toHaveLength(1);
  });

  test('a timeout never ends a conference', async () => {
    await seed('slow room', { media_session_access_secure_url: `${fakeOrigin}/slow` });
    const svc = service({ timeoutMs: 150 });
    for (let round = 0; round < 2; round++) {
      expect(await svc.get('slow room')).toMatchObject({
        status: 'active',
        session: { reachable: false, reason: 'timeout' },
      });
      clock += facts.registry.probeIntervalSeconds * 1000;
    }
    expect((await stored('slow room'))?.status).toBe('active');
    expect(endedEvents()).toHaveLength(0);
  });

  test('a rule not declared as the reference scenario is never probed', async () => {
    const record = await seedStarted('example room', exampleRule);
    const view = await service().get('example room');
    expect(view).toMatchObject({ status: 'active', reference_scenario: false });
    expect(view).not.toHaveProperty('session');
    expect(view.media_session_access_secure_url).toBe(record.media_session_access_secure_url);
    expect(session('example room')).toMatchObject({ active: true, mediaRequests: 0 });
  });
});

describe('DELETE /conferences/{name}', () => {
  test('stops the session, records it ended by the caller, publishes the end, writes the audit line', async () => {
    const record = await seedStarted('end room');
    await service().end('end room', CALLER);
    expect(session('end room')).toMatchObject({ active: false, endCause: 'stop' });
    const item = await stored('end room');
    expect(item).toMatchObject({
      status: 'ended',
      end_reason: 'stopped',
      ended_by: CALLER.id,
      finish_reason: 'Normal termination',
    });
    expect(item).not.toHaveProperty('media_session_access_secure_url');
    expect(endedEvents().map((event) => event.Detail)).toEqual([
      expect.objectContaining({ conference_name: 'end room', end_reason: 'stopped' }),
    ]);
    const audit = logs.filter((line) => line.data.audit === true);
    expect(audit).toEqual([
      expect.objectContaining({
        message: 'conference ended',
        data: expect.objectContaining({
          action: 'end',
          outcome: 'done',
          caller: CALLER.id,
          conference_name: 'end room',
        }),
      }),
    ]);
    expect(JSON.stringify(logs)).not.toContain(record.media_session_access_secure_url as string);

    expect((await failure(service().end('end room', CALLER))).code).toBe('conference_ended');
    expect(endedEvents()).toHaveLength(1);
  });

  test('unknown: 404; another rule: not_supported, and the session is never asked', async () => {
    expect((await failure(service().end('nobody', CALLER))).code).toBe('conference_not_found');
    await seedStarted('example end', exampleRule);
    const error = await failure(service().end('example end', CALLER));
    expect(error.code).toBe('not_supported');
    expect(session('example end')).toMatchObject({ active: true, mediaRequests: 0 });
    expect(logs.filter((line) => line.data.audit === true).map((line) => line.data.outcome)).toEqual([
      'refused',
      'refused',
    ]);
  });

  test('a session already gone (404 twice) is recorded ended: 204', async () => {
    await seedStarted('already gone');
    emu.endConference(account.accountId, 'already gone');
    await service().end('already gone', CALLER);
    expect(await stored('already gone')).toMatchObject({ status: 'ended', end_reason: 'session_gone' });
  });

  test('a stop not confirmed, or not answered in time: session_not_confirmed with what it answered', async () => {
    await seed('stubborn', { media_session_access_secure_url: `${fakeOrigin}/not-ok` });
    const refused = await failure(service().end('stubborn', CALLER));
    expect(refused.code).toBe('session_not_confirmed');
    expect(refused.session).toEqual({
      outcome: 'answered',
      status: 200,
      body: { ok: false, command: 'stop', error: 'busy' },
    });
    await seed('slow end', { media_session_access_secure_url: `${fakeOrigin}/slow` });
    const late = await failure(service({ timeoutMs: 150 }).end('slow end', CALLER));
    expect(late.code).toBe('session_not_confirmed');
    expect(late.session).toEqual({ outcome: 'timeout' });
    expect((await stored('stubborn'))?.status).toBe('active');
    expect((await stored('slow end'))?.status).toBe('active');
  });

  test('a key whose role may not read call history: ended all the same, without duration, logged at info', async () => {
    await seedStarted('sms key room');
    await service({ key: callsSmsKey }).end('sms key room', CALLER);
    const item = await stored('sms key room');
    expect(item).toMatchObject({ status: 'ended', end_reason: 'stopped' });
    expect(item).not.toHaveProperty('duration');
    expect(endedEvents()[0]?.Detail).not.toHaveProperty('duration');
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'call history not read: the key may not call GetCallHistory' }),
    );
  });

  test('history not read at the end is read by a later GET, once per probe interval, then kept', async () => {
    await seedStarted('late history room');
    await service({ key: callsSmsKey }).end('late history room', CALLER);
    expect(await stored('late history room')).not.toHaveProperty('duration');
    // A GET right after, by a key that may read call history: asks, records, shows.
    const reader = service();
    const view = await reader.get('late history room');
    expect(view).toMatchObject({ status: 'ended', finish_reason: 'Normal termination', duration: expect.any(Number) });
    expect(await stored('late history room')).toMatchObject({ finish_reason: 'Normal termination' });
    // Kept: the next GET reads the record only (no slot to claim: the record has its history).
    const again = await reader.get('late history room');
    expect(again).toMatchObject({ finish_reason: 'Normal termination' });
    // Still one event for the end, published before any history was asked.
    expect(endedEvents().filter((e) => e.Detail.conference_name === 'late history room')).toHaveLength(1);
  });

  test('an ended record without history: at most one GetCallHistory per probe interval across GETs', async () => {
    await seedStarted('throttled history room');
    await service({ key: callsSmsKey }).end('throttled history room', CALLER);
    const before = historyCalls();
    // A key that may not read call history: the first GET asks (and is refused), the next ones within the
    // interval do not claim the slot.
    await service({ key: callsSmsKey }).get('throttled history room');
    await service({ key: callsSmsKey }).get('throttled history room');
    expect(historyCalls() - before).toBe(1);
    clock += facts.registry.probeIntervalSeconds * 1000;
    await service().get('throttled history room');
    expect(historyCalls() - before).toBe(2);
    expect(await stored('throttled history room')).toMatchObject({ finish_reason: 'Normal termination' });
  });
});

describe('POST /conferences/{name}/commands', () => {
  test('forwards a command and gives back the scenario status and body', async () => {
    await seedStarted('command room');
    emu.setCommandHook('mute', { result: { muted: ['alice'] } });
    const answer = await service().command('command room', { command: 'mute', args: { who: 'alice' } }, CALLER);
    expect(answer).toEqual({ status: 200, body: { ok: true, command: 'mute', result: { muted: ['alice'] } } });
    const audit = logs.find((line) => line.data.audit === true);
    expect(audit?.data).toMatchObject({ action: 'command', command: 'mute', caller: CALLER.id, session_status: 200 });
    expect(JSON.stringify(logs)).not.toContain('alice');
  });

  test('an answer over 16 KiB is session_answer_too_large', async () => {
    await seedStarted('big answer');
    emu.setCommandHook('dump', { result: 'x'.repeat(facts.registry.sessionAnswerMaxBytes) });
    expect((await failure(service().command('big answer', { command: 'dump' }, CALLER))).code).toBe(
      'session_answer_too_large',
    );
  });

  test('stop is DELETE for a reference rule; forwarded as sent for another rule', async () => {
    await seedStarted('command stop');
    const refused = await failure(service().command('command stop', { command: 'stop' }, CALLER));
    expect([refused.code, refused.field]).toEqual(['invalid_request', 'command']);
    expect(session('command stop').mediaRequests).toBe(0);

    await seedStarted('example command', exampleRule);
    // Voximplant's example scenario answers any request with an empty 200 and ends.
    expect(await service().command('example command', { command: 'anything' }, CALLER)).toEqual({
      status: 200,
      body: '',
    });
    expect(session('example command')).toMatchObject({ active: false, mediaRequests: 1 });
  });

  test('a session gone twice is recorded ended: conference_ended; an ended one is conference_ended', async () => {
    await seedStarted('command gone');
    emu.endConference(account.accountId, 'command gone');
    expect((await failure(service().command('command gone', { command: 'mute' }, CALLER))).code).toBe(
      'conference_ended',
    );
    expect(await stored('command gone')).toMatchObject({ status: 'ended', end_reason: 'session_gone' });
    expect(endedEvents()).toHaveLength(1);
    expect((await failure(service().command('command gone', { command: 'mute' }, CALLER))).code).toBe(
      'conference_ended',
    );
    expect(endedEvents()).toHaveLength(1);
  });

  test('a timeout is session_timeout, and ends nothing', async () => {
    await seed('slow command', { media_session_access_secure_url: `${fakeOrigin}/slow` });
    expect((await failure(service({ timeoutMs: 150 }).command('slow command', { command: 'x' }, CALLER))).code).toBe(
      'session_timeout',
    );
    expect((await stored('slow command'))?.status).toBe('active');
  });
});

describe('GET /conferences?status=', () => {
  test('pages newest first with next_token; expired records left out; a bad token names next_token', async () => {
    const base = Date.parse('2030-01-01T00:00:00.000Z');
    for (let i = 0; i < 7; i++) {
      await seed(`list ${i}`, {
        status: 'ended',
        started_at: new Date(base + i * 60_000).toISOString(),
        ended_at: new Date(base + i * 60_000 + 1).toISOString(),
      });
    }
    await seed('list expired', {
      status: 'ended',
      started_at: new Date(base + 3 * 60_000 + 30_000).toISOString(),
      expires_at: Math.floor(clock / 1000) - 10,
    });
    const svc = service();
    const names: string[][] = [];
    let token: string | undefined;
    do {
      const page = await svc.list({ status: 'ended', limit: 3, nextToken: token });
      names.push(page.conferences.map((view) => view.conference_name).filter((name) => name.startsWith('list ')));
      for (const view of page.conferences) expect(view).not.toHaveProperty('media_session_access_secure_url');
      token = page.next_token;
    } while (token !== undefined && names.length < 10);
    // Ended records of the other tests sort before 2030 and come after these.
    expect(names.flat().slice(0, 7)).toEqual(['list 6', 'list 5', 'list 4', 'list 3', 'list 2', 'list 1', 'list 0']);
    expect(names.slice(0, 3).map((page) => page.length)).toEqual([3, 3, 1]);
    expect(names.flat()).not.toContain('list expired');

    const bad = await failure(svc.list({ status: 'ended', limit: 3, nextToken: 'bm90LWEtdG9rZW4' }));
    expect([bad.code, bad.field]).toEqual(['invalid_request', 'next_token']);
    const first = await svc.list({ status: 'ended', limit: 3 });
    const crossed = await failure(svc.list({ status: 'active', limit: 3, nextToken: first.next_token }));
    expect(crossed.field).toBe('next_token');
    expect((await failure(svc.list({ status: 'ended', limit: 0 }))).field).toBe('limit');
  });
});
