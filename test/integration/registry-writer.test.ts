/**
 * lib/registry-writer.ts with the real DynamoDB client against dynalite (local/dynamodb.ts), the table created from
 * the deployed definition: new sessions, joins (by id, by URL, by both), a new session after an end, concurrent
 * writers of one session, and the one rule of "the same session" (SAME_SESSION in the writes, isSameSession in code)
 * checked on the same cases.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ConferenceResult } from '../../lib/conference.js';
import facts from '../../lib/facts.json' with { type: 'json' };
import type { StartOrigin } from '../../lib/outcome-events.js';
import { isSameSession, type RegistryRecord } from '../../lib/registry-record.js';
import { type RegistryStart, RegistryWriteError, RegistryWriter } from '../../lib/registry-writer.js';
import { type LocalRegistry, startLocalRegistry } from '../helpers/registry.js';

const RETENTION = { activeHours: 48, endedDays: 30 };
let registry: LocalRegistry;
let clock = Date.parse('2026-12-01T10:00:00.000Z');
let sequence = 0;

beforeAll(async () => {
  registry = await startLocalRegistry();
});
afterAll(async () => {
  await registry.close();
});
beforeEach(() => {
  registry.ddb.clearFaults();
});

const writer = (options: { timeoutMs?: number } = {}) =>
  new RegistryWriter({
    tableName: registry.tableName,
    retention: RETENTION,
    client: registry.client,
    now: () => clock,
    ...options,
  });

/** A fresh name per test: the table is shared by the file. */
const uniqueName = (label: string) => `${label}-${++sequence}`;

function session(name: string, id: number, secure = `https://media.example/${id}`): ConferenceResult {
  return {
    conference_name: name,
    call_session_history_id: id,
    media_session_access_secure_url: secure,
    media_session_access_url: secure.replace('https:', 'http:'),
  };
}

const HTTP_ORIGIN: StartOrigin = { source: 'http', sourceId: 'req-1', correlationId: 'booking-42' };
const start = (
  result: ConferenceResult,
  origin: StartOrigin = HTTP_ORIGIN,
  ruleId: number | undefined = 7,
): RegistryStart => ({
  result,
  origin,
  ruleId,
});
const activeExpiry = (ms: number) => Math.floor(ms / 1000) + RETENTION.activeHours * 3600;

describe('a new session', () => {
  it('is written whole: active, started_at/by, rule, id, both URLs, join_count 0, expires_at', async () => {
    const name = uniqueName('new');
    const result = session(name, 1001);
    await expect(writer().record(start(result))).resolves.toEqual({ outcome: 'new', rounds: 1 });
    expect(await registry.get(name)).toEqual({
      conference_name: name,
      status: 'active',
      started_at: new Date(clock).toISOString(),
      started_by: { source: 'http', source_id: 'req-1', correlation_id: 'booking-42' },
      rule_id: 7,
      call_session_history_id: 1001,
      media_session_access_url: result.media_session_access_url,
      media_session_access_secure_url: result.media_session_access_secure_url,
      join_count: 0,
      expires_at: activeExpiry(clock),
    });
  });

  it('from a schedule names the schedule; without a rule id there is no rule_id', async () => {
    const name = uniqueName('sched');
    const origin: StartOrigin = { source: 'schedule', sourceId: 'exec-9', scheduleName: 'daily-standup' };
    await writer().record({ result: session(name, 1002), origin, ruleId: undefined });
    const record = await registry.get(name);
    expect(record?.started_by).toEqual({ source: 'schedule', source_id: 'exec-9', schedule_name: 'daily-standup' });
    expect(record).not.toHaveProperty('rule_id');
  });
});

describe('a join', () => {
  it.each([
    ['the same id and URL', 2001, 'https://media.example/2001'],
    ['a new id with the same URL', 2999, 'https://media.example/2001'],
    ['a new URL with the same id', 2001, 'https://media.example/other'],
  ])('%s: join_count + 1, last_joined_at, expires_at renewed; the session stays as recorded', async (_, id, url) => {
    const name = uniqueName('join');
    const first = session(name, 2001);
    await writer().record(start(first));
    const before = await registry.get(name);
    clock += 60_000;
    const joinedAt = clock;
    await expect(writer().record(start(session(name, id, url), { source: 'queue', sourceId: 'm-1' }))).resolves.toEqual(
      {
        outcome: 'join',
        rounds: 1,
      },
    );
    clock += 60_000;
    await writer().record(start(first));
    expect(await registry.get(name)).toEqual({
      ...before,
      join_count: 2,
      last_joined_at: new Date(clock).toISOString(),
      expires_at: activeExpiry(clock),
    });
    expect(joinedAt).toBeLessThan(clock);
  });
});

describe('a different session', () => {
  it('replaces an active record of another session (new URL and new id): join_count 0, no last_joined_at', async () => {
    const name = uniqueName('other');
    await writer().record(start(session(name, 3001)));
    await writer().record(start(session(name, 3001)));
    const next = session(name, 3002);
    await expect(writer().record(start(next, { source: 'queue', sourceId: 'm-2' }))).resolves.toEqual({
      outcome: 'new',
      rounds: 1,
    });
    const record = await registry.get(name);
    expect(record).toMatchObject({ call_session_history_id: 3002, join_count: 0, started_by: { source: 'queue' } });
    expect(record).not.toHaveProperty('last_joined_at');
  });

  it('after an end (URLs removed, ended_at set): another session starts a new record, nothing of the end kept', async () => {
    const name = uniqueName('ended');
    await registry.put(endedRecord(name, 4001));
    await expect(writer().record(start(session(name, 4002)))).resolves.toEqual({ outcome: 'new', rounds: 1 });
    const record = await registry.get(name);
    expect(record).toMatchObject({ status: 'active', call_session_history_id: 4002, join_count: 0 });
    expect(record?.expires_at).toBe(activeExpiry(clock));
    for (const gone of ['ended_at', 'end_reason', 'ended_by', 'last_joined_at'])
      expect(record).not.toHaveProperty(gone);
  });

  it('a late start of the session recorded ended counts as a join and leaves it ended (no URLs come back)', async () => {
    const name = uniqueName('late');
    await registry.put(endedRecord(name, 4001));
    await expect(writer().record(start(session(name, 4001)))).resolves.toEqual({ outcome: 'late_join', rounds: 1 });
    const record = await registry.get(name);
    expect(record).toMatchObject({
      status: 'ended',
      call_session_history_id: 4001,
      join_count: 4,
      last_joined_at: new Date(clock).toISOString(),
      ended_at: '2026-11-30T11:00:00.000Z',
      end_reason: 'stopped',
      expires_at: 1,
    });
    expect(record).not.toHaveProperty('media_session_access_secure_url');
    expect(record).not.toHaveProperty('media_session_access_url');
  });
});

function endedRecord(name: string, id: number): RegistryRecord {
  return {
    conference_name: name,
    status: 'ended',
    started_at: '2026-11-30T10:00:00.000Z',
    started_by: { source: 'http' },
    call_session_history_id: id,
    join_count: 3,
    ended_at: '2026-11-30T11:00:00.000Z',
    end_reason: 'stopped',
    ended_by: 'arn:aws:iam::123456789012:user/ops',
    expires_at: 1,
  };
}

describe('concurrent writers of one session', () => {
  it.each([2, 3, 5])('%i at once end with one record, join_count = writers - 1, exactly one "new"', async (count) => {
    const name = uniqueName(`race${count}`);
    const result = session(name, 5000 + count);
    const outcomes = await Promise.all(
      Array.from({ length: count }, (_, i) => writer().record(start(result, { source: 'queue', sourceId: `m-${i}` }))),
    );
    expect(outcomes.filter((o) => o.outcome === 'new')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'join')).toHaveLength(count - 1);
    const record = await registry.get(name);
    expect(record).toMatchObject({ status: 'active', call_session_history_id: 5000 + count, join_count: count - 1 });
    expect(record?.expires_at).toBe(activeExpiry(clock));
  });
});

describe('"the same session": the writes and isSameSession agree', () => {
  const started = { media_session_access_secure_url: 'https://media.example/s', call_session_history_id: 600 };
  type Stored = Pick<RegistryRecord, 'status' | 'call_session_history_id'> & {
    media_session_access_secure_url?: string;
  };
  const cases: [string, Stored][] = [
    ['active, same URL and id', { status: 'active', ...started }],
    [
      'active, same URL, other id',
      {
        status: 'active',
        media_session_access_secure_url: started.media_session_access_secure_url,
        call_session_history_id: 601,
      },
    ],
    [
      'active, other URL, same id',
      { status: 'active', media_session_access_secure_url: 'https://media.example/t', call_session_history_id: 600 },
    ],
    [
      'active, other URL and id',
      { status: 'active', media_session_access_secure_url: 'https://media.example/t', call_session_history_id: 601 },
    ],
    ['active, no URL, same id', { status: 'active', call_session_history_id: 600 }],
    ['active, no URL, other id', { status: 'active', call_session_history_id: 601 }],
    ['ended, same id, no URL', { status: 'ended', call_session_history_id: 600 }],
    ['ended, same URL and id', { status: 'ended', ...started }],
    ['ended, other id, no URL', { status: 'ended', call_session_history_id: 601 }],
  ];

  it.each(cases)('%s', async (_, stored) => {
    const name = uniqueName('rule');
    await registry.put({
      conference_name: name,
      started_at: 'x',
      started_by: { source: 'http' },
      join_count: 0,
      expires_at: 1,
      ...stored,
    });
    // An ended record of this session is joined late, never replaced: isSameSession on it as if it were active.
    const expected = isSameSession(stored, started)
      ? 'join'
      : isSameSession({ ...stored, status: 'active' }, started)
        ? 'late_join'
        : 'new';
    const result = { conference_name: name, media_session_access_url: 'http://media.example/s', ...started };
    await expect(writer().record(start(result))).resolves.toEqual({ outcome: expected, rounds: 1 });
    const record = await registry.get(name);
    expect(record?.join_count).toBe(expected === 'new' ? 0 : 1);
    expect(record?.status).toBe(expected === 'late_join' ? 'ended' : 'active');
  });

  it('no record at all: a new session', async () => {
    const name = uniqueName('none');
    await expect(writer().record(start(session(name, 700)))).resolves.toEqual({ outcome: 'new', rounds: 1 });
  });
});

describe('the registry down', () => {
  it('a server error fails the write with the SDK error (its own retry included), and writes nothing', async () => {
    const name = uniqueName('down');
    registry.ddb.fault({ kind: 'server_error' });
    const before = registry.ddb.operations().length;
    await expect(writer().record(start(session(name, 800)))).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(registry.ddb.operations().length - before).toBeGreaterThanOrEqual(1);
    registry.ddb.clearFaults();
    expect(await registry.get(name)).toBeUndefined();
  });

  it('an answer slower than the bound ends the write at the bound (RegistryWriteError timeout)', async () => {
    const name = uniqueName('slow');
    registry.ddb.fault({ kind: 'latency', latencyMs: 2_000 });
    const began = Date.now();
    const error = await writer({ timeoutMs: 300 })
      .record(start(session(name, 900)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryWriteError);
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(Date.now() - began).toBeLessThan(1_000);
  });

  it('the default bound is facts.registry.writeTimeoutMs', () => {
    expect(facts.registry.writeTimeoutMs).toBeGreaterThan(0);
    expect(facts.registry.writeTimeoutMs).toBeLessThanOrEqual(2_000);
  });
});
