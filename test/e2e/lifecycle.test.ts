/**
 * End to end: the life of a conference after its start, through the local stack as `npm start` runs it (one stack
 * for the file). Each trigger starts a conference (HTTP API, an SQS message, a schedule fired through the control
 * endpoint); the lifecycle API (serverless offline -> lifecycle function -> dynalite + the emulator's media session
 * URLs + GetCallHistory) looks it up, sends it a command and ends it; the EventBridge stand-in shows
 * `Conference Ended`. Every answer of the HTTP API is checked against docs/openapi.yaml, every event against its
 * schema (docs/events/).
 *
 * Local settings keep it short: the emulator ends a session without participants after EMPTY_SESSION_MS (Voximplant:
 * 60 s), so every conference a test keeps running gets a participant through the emulator's control API right after
 * its start. The lifecycle function's probe interval (10 s, facts registry.probeIntervalSeconds) is the deployed one:
 * only the test of a session ending on its own waits for it.
 */

import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import facts from '../../lib/facts.json' with { type: 'json' };
import type { RecordedEvent } from '../../local/eventbridge.js';
import {
  type ConferenceInfo,
  connectEmulator,
  type EmulatorControlClient,
} from '../../local/voximplant-emulator/index.js';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import { localSqsClient } from '../helpers/dlq.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';
import { eventually, freePortBase, type RunningStack, sleep, startLocalStack } from '../helpers/local-stack.js';
import { fetchDocumented } from '../helpers/openapi.js';

const EMPTY_SESSION_MS = 5_000;
const PROBE_INTERVAL_MS = facts.registry.probeIntervalSeconds * 1000;
const ENDED = facts.events.detailTypes.ended;
const MEDIA_URLS = ['media_session_access_url', 'media_session_access_secure_url'];

let stack: RunningStack | undefined;
let emulator: EmulatorControlClient;
let sqs: SQSClient;
let ruleId: number;
let exampleRuleId: number;

const info = () => (stack as RunningStack).info;

type Answer = { status: number; headers: Headers; json: any };

/** The lifecycle URL of a name: percent-encoded twice, as docs/openapi.yaml tells clients (API Gateway decodes twice). */
const conferenceUrl = (name: string, encode = (n: string) => encodeURIComponent(encodeURIComponent(n))) =>
  `${info().conferencesUrl}/${encode(name)}`;

const start = (body: Record<string, unknown>): Promise<Answer> =>
  fetchDocumented(info().conferencesUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const lookUp = (name: string, url = conferenceUrl(name)): Promise<Answer> => fetchDocumented(url, { method: 'GET' });

const end = (name: string, url = conferenceUrl(name)): Promise<Answer> => fetchDocumented(url, { method: 'DELETE' });

const command = (name: string, body: unknown, url = `${conferenceUrl(name)}/commands`): Promise<Answer> =>
  fetchDocumented(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

const list = (query: string): Promise<Answer> =>
  fetchDocumented(`${info().conferencesUrl}?${query}`, { method: 'GET' });

/** The record, once the trigger's function has written it (it writes after Voximplant answered). */
const recorded = (name: string): Promise<Answer> =>
  eventually(
    async () => {
      const answer = await lookUp(name);
      return answer.status === 200 ? answer : undefined;
    },
    15_000,
    `the registry record of ${name}`,
  );

const sessionsNamed = async (name: string): Promise<ConferenceInfo[]> =>
  (await emulator.conferences()).filter((conference) => conference.name === name);

const sessionNamed = (name: string): Promise<ConferenceInfo> =>
  eventually(async () => (await sessionsNamed(name)).at(-1), 15_000, `the emulator's session of ${name}`);

/** Someone joins, so that the session does not end empty after EMPTY_SESSION_MS. */
async function join(name: string, displayName = 'Ada'): Promise<void> {
  const session = await sessionNamed(name);
  await emulator.addParticipant({ sessionId: session.sessionId }, { displayName });
}

async function endedEvents(): Promise<RecordedEvent[]> {
  const response = await fetch(`${info().controlUrl}/events?detail_type=${encodeURIComponent(ENDED)}`);
  const events = (await response.json()) as RecordedEvent[];
  expectEventsMatchSchemas(events.map((e) => ({ detailType: e.DetailType, detail: e.Detail })));
  return events;
}

const endedEventOf = (name: string) =>
  eventually(
    async () => (await endedEvents()).find((e) => e.Detail.conference_name === name),
    10_000,
    `the ${ENDED} event of ${name}`,
  );

const registryFaults = (method: 'POST' | 'DELETE', body?: unknown) =>
  fetch(`${info().controlUrl}/registry/faults`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  stack = await startLocalStack({
    VOXCONF_PORT_BASE: String(await freePortBase()),
    VOXCONF_LATENCY_MS: '10',
    VOXCONF_EMPTY_SESSION_MS: String(EMPTY_SESSION_MS),
  });
  process.stdout.write(`local stack ready in ${stack.readyMs} ms\n`);
  emulator = connectEmulator(stack.info.emulator?.origin as string);
  ruleId = stack.info.emulator?.ruleId as number;
  exampleRuleId = stack.info.emulator?.exampleRuleId as number;
  sqs = localSqsClient(stack.info.sqsEndpoint);
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  if (stack) await stack.stop('SIGINT').catch(() => stack?.stop('SIGKILL'));
});

describe('the stack declares its rules', () => {
  test('the reference rules are the stage parameter; the example rule is not', () => {
    const emu = info().emulator;
    expect(emu).toMatchObject({ referenceRuleIds: [ruleId], emptySessionMs: EMPTY_SESSION_MS, sessionGraceMs: 30_000 });
    expect(info().referenceScenarioRuleIds).toEqual([ruleId]);
    expect(exampleRuleId).toEqual(expect.any(Number));
    expect(info().referenceScenarioRuleIds).not.toContain(exampleRuleId);
  });
});

describe('each trigger: start, look up, command, end, look up again', () => {
  /** Starts `name` through the trigger; returns what started_by must say. */
  const triggers: Record<'http' | 'queue' | 'schedule', () => Promise<{ name: string; startedBy: object }>> = {
    async http() {
      const name = 'e2e-life-http';
      const started = await start({ conference_name: name, rule_id: ruleId });
      expect(started.status).toBe(200);
      // Each request its own id, as API Gateway gives it (local/offline-http-event.mjs: serverless offline gives
      // every request the same one).
      return { name, startedBy: { source: 'http', source_id: expect.stringMatching(/^[0-9a-f-]{36}$/) } };
    },
    async queue() {
      const name = 'e2e-life-queue';
      const { MessageId } = await sqs.send(
        new SendMessageCommand({
          QueueUrl: info().queueUrl,
          MessageBody: JSON.stringify({ conference_name: name, rule_id: ruleId }),
        }),
      );
      return { name, startedBy: { source: 'queue', source_id: MessageId } };
    },
    async schedule() {
      // infra/schedules.yml's stand-up (the stage's default rule: the emulator's reference rule).
      const response = await fetch(`${info().controlUrl}/schedules/weekday-standup/fire`, { method: 'POST' });
      const fired = (await response.json()) as { outcome: string; execution_id: string };
      expect(fired.outcome).toBe('started');
      return {
        name: 'weekday-standup',
        startedBy: { source: 'schedule', source_id: fired.execution_id, schedule_name: 'weekday-standup' },
      };
    },
  };

  test.each(Object.keys(triggers) as (keyof typeof triggers)[])(
    '%s',
    async (trigger) => {
      const { name, startedBy } = await triggers[trigger]();
      await join(name);

      const active = (await recorded(name)).json;
      expect(active).toMatchObject({
        conference_name: name,
        status: 'active',
        started_by: startedBy,
        rule_id: ruleId,
        join_count: 0,
        reference_scenario: true,
        session: { reachable: true, participant_count: 1, participants: [{ display_name: 'Ada' }] },
      });
      const session = await sessionNamed(name);
      expect(active.call_session_history_id).toBe(session.callSessionHistoryId);
      expect(active.media_session_access_secure_url).toBe(session.mediaSessionAccessSecureUrl);
      expect(active.media_session_access_url).toBe(session.mediaSessionAccessUrl);

      // `status` is the reference scenario's; any other command goes to its handleCommand hook.
      const status = await command(name, { command: 'status' });
      expect(status.status).toBe(200);
      expect(status.json).toEqual({
        status: 200,
        body: expect.objectContaining({ ok: true, command: 'status', conference_name: name, participant_count: 1 }),
      });
      await emulator.setCommandHook('mute', { result: { muted: ['Ada'] } });
      const hooked = await command(name, { command: 'mute', args: { who: 'Ada' } });
      expect(hooked.json).toEqual({ status: 200, body: { ok: true, command: 'mute', result: { muted: ['Ada'] } } });
      // `stop` is DELETE's.
      const stop = await command(name, { command: 'stop' });
      expect(stop.status).toBe(400);
      expect(stop.json.error).toMatchObject({ code: 'invalid_request', field: 'command' });

      const ended = await end(name);
      expect(ended.status).toBe(204);
      expect((await sessionNamed(name)).endCause).toBe('stop');

      const after = (await lookUp(name)).json;
      expect(after).toMatchObject({
        conference_name: name,
        status: 'ended',
        started_by: startedBy,
        end_reason: 'stopped',
        ended_at: expect.any(String),
        finish_reason: 'Normal termination',
      });
      for (const field of MEDIA_URLS) expect(after).not.toHaveProperty(field);
      expect(after).not.toHaveProperty('session');

      const event = await endedEventOf(name);
      expect(event.Detail).toMatchObject({
        stage: 'local',
        conference_name: name,
        call_session_history_id: active.call_session_history_id,
        rule_id: ruleId,
        end_reason: 'stopped',
      });
      expect(JSON.stringify(event)).not.toContain(active.media_session_access_secure_url);

      // Ended: nothing more to end or to send.
      expect((await end(name)).json.error.code).toBe('conference_ended');
      expect((await command(name, { command: 'status' })).json.error.code).toBe('conference_ended');
      // The session saw exactly what the lifecycle sent: the probe, the two commands, the stop.
      expect((await sessionNamed(name)).mediaCommands).toEqual(['status', 'status', 'mute', 'stop']);
    },
    40_000,
  );

  test('an unknown name: 404 conference_not_found', async () => {
    const answer = await lookUp('e2e-never-started');
    expect(answer.status).toBe(404);
    expect(answer.json.error.code).toBe('conference_not_found');
    expect((await end('e2e-never-started')).status).toBe(404);
  }, 20_000);
});

describe('two starts of one name at once', () => {
  test('one session in the emulator, one record with join_count 1', async () => {
    const name = 'e2e-race';
    const [a, b] = await Promise.all([
      start({ conference_name: name, rule_id: ruleId }),
      start({ conference_name: name, rule_id: ruleId }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.json).toEqual(a.json);
    const sessions = await sessionsNamed(name);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ active: true, joinCount: 1 });
    await join(name);
    const record = (await recorded(name)).json;
    expect(record).toMatchObject({
      status: 'active',
      call_session_history_id: a.json.call_session_history_id,
      join_count: 1,
      last_joined_at: expect.any(String),
    });
  }, 20_000);
});

describe('the registry down', () => {
  test('POST /registry/faults is validated', async () => {
    for (const body of [{ kind: 'nope' }, { kind: 'throttle', operation: 'Nope' }, { kind: 'drop', times: 0 }, [1]]) {
      const response = await registryFaults('POST', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toEqual(expect.any(String));
    }
    expect((await fetch(`${info().controlUrl}/registry/faults`)).status).toBe(405);
  });

  test('a start still answers 200 and is not retried; nothing is recorded; cleared, starts are recorded again', async () => {
    const created = await registryFaults('POST', { kind: 'server_error' });
    expect(created.status).toBe(201);
    let cleared = false;
    try {
      const http = await start({ conference_name: 'e2e-down-http', rule_id: ruleId });
      expect(http.status).toBe(200);
      expect(Object.keys(http.json).sort()).toEqual(
        ['call_session_history_id', 'conference_name', ...MEDIA_URLS].sort(),
      );

      await sqs.send(
        new SendMessageCommand({
          QueueUrl: info().queueUrl,
          MessageBody: JSON.stringify({ conference_name: 'e2e-down-queue', rule_id: ruleId }),
        }),
      );
      await sessionNamed('e2e-down-queue');
      // Deleted after the start, not left for redelivery: the queue is empty, in flight included.
      await eventually(
        async () => {
          const { Attributes = {} } = await sqs.send(
            new GetQueueAttributesCommand({
              QueueUrl: info().queueUrl,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          );
          return Attributes.ApproximateNumberOfMessages === '0' &&
            Attributes.ApproximateNumberOfMessagesNotVisible === '0'
            ? true
            : undefined;
        },
        10_000,
        'the queue message to be deleted',
      );
      await (stack as RunningStack).waitForOutput(/ERROR conference not recorded in the registry; the start stands/);

      const faults = (await (await registryFaults('DELETE')).json()) as { cleared: number; hits: number };
      cleared = true;
      // The registry was tried (each start at least once) and failed: the fault answered.
      expect(faults.cleared).toBe(1);
      expect(faults.hits).toBeGreaterThanOrEqual(2);
    } finally {
      if (!cleared) await registryFaults('DELETE');
    }
    // One StartConference each: nothing was retried or re-run because the registry failed.
    const calls = await emulator.requests();
    for (const name of ['e2e-down-http', 'e2e-down-queue']) {
      expect(calls.filter((r) => r.params.conference_name === name && r.outcome === 'success')).toHaveLength(1);
      expect((await lookUp(name)).json.error.code).toBe('conference_not_found');
    }
    const letters = (await (await fetch(`${info().controlUrl}/dead-letters`)).json()) as { body: string }[];
    expect(letters.filter((m) => m.body.includes('e2e-down-'))).toEqual([]);

    // Back to normal.
    expect((await start({ conference_name: 'e2e-after-down', rule_id: ruleId })).status).toBe(200);
    expect((await recorded('e2e-after-down')).json.status).toBe('active');
  }, 40_000);
});

describe("a rule that runs Voximplant's example scenario", () => {
  test('is never probed: the record as stored, DELETE 409 not_supported, the session untouched', async () => {
    const name = 'e2e-example';
    expect((await start({ conference_name: name, rule_id: exampleRuleId })).status).toBe(200);
    await join(name);
    const shown = (await recorded(name)).json;
    expect(shown).toMatchObject({ status: 'active', rule_id: exampleRuleId, reference_scenario: false });
    expect(shown).not.toHaveProperty('session');
    expect(shown.media_session_access_secure_url).toEqual(expect.any(String));
    // Looked up again: still not asked.
    expect((await lookUp(name)).json).not.toHaveProperty('session');

    const refused = await end(name);
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe('not_supported');

    // Any request to its URL would have ended it (the example scenario): it runs, and was asked nothing.
    expect(await sessionNamed(name)).toMatchObject({ active: true, mediaRequests: 0, scenarioKind: 'example' });
    expect((await lookUp(name)).json.status).toBe('active');
  }, 20_000);
});

describe('names with "/", "%", "#" and a space', () => {
  const names = ['e2e a/b', '50% off', '#1 stand-up', 'x/%2F y#?'];

  test.each(names)(
    '%j round-trips: look up, command, end',
    async (name) => {
      expect((await start({ conference_name: name, rule_id: ruleId })).json.conference_name).toBe(name);
      await join(name);
      expect((await recorded(name)).json).toMatchObject({ conference_name: name, status: 'active' });
      const status = await command(name, { command: 'status' });
      expect(status.json.body).toMatchObject({ ok: true, conference_name: name });
      expect((await end(name)).status).toBe(204);
      expect((await lookUp(name)).json).toMatchObject({ conference_name: name, status: 'ended' });
      // Exactly this session, not another name's.
      expect((await sessionsNamed(name)).map((s) => s.endCause)).toEqual(['stop']);
    },
    20_000,
  );

  test('a name without "/" and "%" may be encoded once', async () => {
    const answer = await lookUp('#1 stand-up', conferenceUrl('#1 stand-up', encodeURIComponent));
    expect(answer.json).toMatchObject({ conference_name: '#1 stand-up', status: 'ended' });
  }, 20_000);
});

describe('GET /conferences?status=active', () => {
  test('newest first, a page at a time with next_token; no media URLs in a list', async () => {
    const mine = ['e2e-list-1', 'e2e-list-2', 'e2e-list-3'];
    for (const name of mine) {
      expect((await start({ conference_name: name, rule_id: ruleId })).status).toBe(200);
      await join(name);
      await recorded(name);
    }
    const seen: { conference_name: string; started_at: string; status: string }[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query = `status=active&limit=2${token === undefined ? '' : `&next_token=${encodeURIComponent(token)}`}`;
      const page = await list(query);
      expect(page.status).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.json.conferences.length).toBeLessThanOrEqual(2);
      for (const conference of page.json.conferences) {
        for (const field of MEDIA_URLS) expect(conference).not.toHaveProperty(field);
      }
      seen.push(...page.json.conferences);
      token = page.json.next_token;
      pages++;
    } while (token !== undefined && pages < 50);
    expect(token).toBeUndefined();
    expect(pages).toBeGreaterThanOrEqual(2);
    const names = seen.map((c) => c.conference_name);
    expect(new Set(names).size).toBe(names.length);
    expect(seen.every((c) => c.status === 'active')).toBe(true);
    const times = seen.map((c) => c.started_at);
    expect(times).toEqual([...times].sort().reverse());
    // Newest first: the last started comes first, and the first three are these.
    expect(names.slice(0, 3)).toEqual([...mine].reverse());
    // Ended ones are listed under ended, not here.
    expect(names).not.toContain('e2e-life-http');
    const ended = (await list('status=ended&limit=100')).json.conferences.map(
      (c: { conference_name: string }) => c.conference_name,
    );
    expect(ended).toEqual(expect.arrayContaining(['e2e-life-http', 'e2e-life-queue', 'weekday-standup']));

    const bad = await list('status=active&next_token=not-a-token');
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('next_token');
  }, 30_000);
});

describe('a session that ends on its own', () => {
  test('is recorded ended at the first probe after it ended, never within the probe interval', async () => {
    const name = 'e2e-alone';
    expect((await start({ conference_name: name, rule_id: ruleId })).status).toBe(200);
    // Nobody joins: the emulator ends it after EMPTY_SESSION_MS. The first answer with the record is the probe.
    const first = (await recorded(name)).json;
    const probedAt = Date.now();
    expect(first).toMatchObject({ status: 'active', session: { reachable: true, participant_count: 0 } });

    const session = await eventually(
      async () => {
        const s = await sessionNamed(name);
        return s.active ? undefined : s;
      },
      EMPTY_SESSION_MS + 5_000,
      'the session to end on its own',
    );
    expect(session.endCause).toBe('empty_timeout');
    // Within the probe interval the session is not asked again: the record still says active.
    expect(Date.now() - probedAt).toBeLessThan(PROBE_INTERVAL_MS - 1_000);
    const second = (await lookUp(name)).json;
    expect(second).toMatchObject({ status: 'active', session: { reachable: false, reason: 'rate_limited' } });

    await sleep(Math.max(0, probedAt + PROBE_INTERVAL_MS + 200 - Date.now()));
    const third = (await lookUp(name)).json;
    expect(third).toMatchObject({
      status: 'ended',
      end_reason: 'session_gone',
      finish_reason: 'Normal termination',
      session: { reachable: false },
    });
    for (const field of MEDIA_URLS) expect(third).not.toHaveProperty(field);
    expect((await endedEventOf(name)).Detail).toMatchObject({ conference_name: name, end_reason: 'session_gone' });
  }, 40_000);
});

describe('afterwards', () => {
  test('nothing the stack printed holds a key, a token or a media session URL', () => {
    expect(scanForLeaks((stack as RunningStack).output(), 'local stack output')).toEqual([]);
  });
});
