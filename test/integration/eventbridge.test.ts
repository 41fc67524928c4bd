/** The EventBridge stand-in, driven by the real EventBridgeClient over loopback HTTP. */
import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import facts from '../../lib/facts.json' with { type: 'json' };
import { batchEntries } from '../../lib/outcome-events.js';
import {
  type EventBridgeStandIn,
  PUT_EVENTS_MAX_BYTES,
  PUT_EVENTS_MAX_ENTRIES,
  putEventsEntrySize,
  startEventBridge,
} from '../../local/eventbridge.js';
import { setAwsTestEnv } from '../helpers/aws-env.js';

const BUS = 'voxconf-test';
let eb: EventBridgeStandIn;
let restoreEnv: () => void;
const clients: EventBridgeClient[] = [];

function client(config: EventBridgeClientConfig = {}): EventBridgeClient {
  const created = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: eb.endpoint,
    // One attempt: each fault is seen as the call's answer (a test asks for the SDK's retries by name).
    maxAttempts: 1,
    ...config,
  });
  clients.push(created);
  return created;
}

const entry = (overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  EventBusName: BUS,
  Source: 'voxconf',
  DetailType: 'Conference Started',
  Detail: JSON.stringify({ conference_name: 'a', source: 'queue' }),
  ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  restoreEnv = setAwsTestEnv();
  eb = await startEventBridge({ buses: [BUS] });
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  eb.reset();
});

afterAll(async () => {
  await eb.close();
  restoreEnv();
});

describe('PutEvents', () => {
  it('accepts entries, answers an EventId each, and records them with their bus, Time and parsed Detail', async () => {
    const time = new Date('2026-12-01T10:00:00.250Z');
    const out = await client().send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ DetailType: 'Conference Start Failed', Time: time, Resources: ['arn:aws:sqs:x'] }),
          entry({ EventBusName: undefined }),
          entry({ EventBusName: eb.arnOf(BUS) }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toHaveLength(4);
    for (const result of out.Entries ?? []) expect(result.EventId).toMatch(/^[0-9a-f-]{36}$/);

    const events = eb.events();
    expect(events.map((e) => e.EventId)).toEqual(out.Entries?.map((e) => e.EventId));
    expect(events[0]).toEqual({
      EventId: out.Entries?.[0]?.EventId,
      Time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      EventBusName: BUS,
      Source: 'voxconf',
      DetailType: 'Conference Started',
      Detail: { conference_name: 'a', source: 'queue' },
      Resources: [],
    });
    expect(events[1]).toMatchObject({ Time: time.toISOString(), Resources: ['arn:aws:sqs:x'] });
    expect(events.map((e) => e.EventBusName)).toEqual([BUS, BUS, 'default', BUS]);
    expect(eb.events({ detailType: 'Conference Start Failed' })).toHaveLength(1);
    expect(eb.events({ busName: 'default' })).toHaveLength(1);
  });

  it('refuses 0 or more than 10 entries with a ValidationException (400), recording nothing', async () => {
    for (const count of [0, PUT_EVENTS_MAX_ENTRIES + 1]) {
      const error = await failure(
        client().send(new PutEventsCommand({ Entries: Array.from({ length: count }, () => entry()) })),
      );
      expect(error.name).toBe('ValidationException');
      expect(error.$metadata?.httpStatusCode).toBe(400);
      expect(error.message).toMatch(count === 0 ? /greater than or equal to 1/ : /less than or equal to 10/);
    }
    const ten = await client().send(
      new PutEventsCommand({ Entries: Array.from({ length: PUT_EVENTS_MAX_ENTRIES }, () => entry()) }),
    );
    expect(ten.FailedEntryCount).toBe(0);
    expect(eb.events()).toHaveLength(10);
  });

  it('counts size as AWS does and refuses a call over 256 KB with a ValidationException', async () => {
    const source = 'voxconf';
    const type = 'Conference Started';
    // Time 14 + Source + DetailType + Detail + Resources, in UTF-8 bytes.
    expect(
      putEventsEntrySize({ Source: source, DetailType: type, Detail: '{"a":"é"}', Time: 1, Resources: ['r', 'ñ'] }),
    ).toBe(14 + 7 + 18 + 10 + 1 + 2);
    expect(putEventsEntrySize({ Source: source, DetailType: type, Detail: '{}' })).toBe(7 + 18 + 2);

    const detailOf = (bytes: number) => JSON.stringify({ pad: 'x'.repeat(bytes - 10) });
    const overhead = source.length + type.length;
    const exact = [entry({ Detail: detailOf(PUT_EVENTS_MAX_BYTES / 2 - overhead) })];
    exact.push(entry({ Detail: detailOf(PUT_EVENTS_MAX_BYTES / 2 - overhead) }));
    expect(exact.reduce((sum, e) => sum + putEventsEntrySize(e as Record<string, unknown>), 0)).toBe(
      PUT_EVENTS_MAX_BYTES,
    );
    expect((await client().send(new PutEventsCommand({ Entries: exact }))).FailedEntryCount).toBe(0);

    const over = [
      exact[0] as PutEventsRequestEntry,
      entry({ Detail: detailOf(PUT_EVENTS_MAX_BYTES / 2 - overhead + 1) }),
    ];
    const error = await failure(client().send(new PutEventsCommand({ Entries: over })));
    expect(error.name).toBe('ValidationException');
    expect(error.message).toBe('Total size of the entries in the request is over the limit.');
    expect(eb.events()).toHaveLength(2);
  });

  it("lib's batching (facts.json limits) makes calls the stand-in takes whole", async () => {
    expect(facts.events.maxEntriesPerPut).toBe(PUT_EVENTS_MAX_ENTRIES);
    expect(facts.events.maxBytesPerPut).toBe(PUT_EVENTS_MAX_BYTES);
    const entries = Array.from({ length: 23 }, (_, i) =>
      entry({ Detail: JSON.stringify({ i, pad: 'y'.repeat(40_000) }) }),
    );
    const batches = batchEntries(entries);
    expect(batches.length).toBeGreaterThan(3);
    for (const batch of batches) {
      expect((await client().send(new PutEventsCommand({ Entries: batch }))).FailedEntryCount).toBe(0);
    }
    expect(eb.events().map((e) => e.Detail.i)).toEqual(entries.map((_, i) => i));
  });

  it('reports refused entries in place (ErrorCode, ErrorMessage, FailedEntryCount); the others are accepted', async () => {
    const out = await client().send(
      new PutEventsCommand({
        Entries: [
          entry({ Source: undefined }),
          entry(),
          entry({ DetailType: undefined }),
          entry({ Detail: undefined }),
          entry({ Detail: '[1, 2]' }),
          entry({ Detail: '{"a":' }),
          entry({ Source: 'aws.events' }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(6);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'InvalidArgument',
      'ok',
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'NotAuthorizedForSourceException',
    ]);
    expect(out.Entries?.[0]?.ErrorMessage).toMatch(/Source is a required argument/);
    expect(out.Entries?.[2]?.ErrorMessage).toMatch(/DetailType is a required argument/);
    expect(out.Entries?.[3]?.ErrorMessage).toMatch(/Detail is a required argument/);
    expect(out.Entries?.[1]?.EventId).toBeDefined();
    expect(eb.events()).toHaveLength(1);
  });

  it('a bus that does not exist: accepted and dropped, as AWS does; refused when asked to', async () => {
    const out = await client().send(new PutEventsCommand({ Entries: [entry({ EventBusName: 'nope' }), entry()] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.every((e) => e.EventId)).toBe(true);
    expect(eb.events()).toHaveLength(1);
    expect(eb.dropped().map((e) => e.EventBusName)).toEqual(['nope']);
    expect(eb.calls().at(-1)?.results).toEqual(['dropped', 'ok']);

    const strict = await startEventBridge({ unknownBus: 'error' });
    try {
      const refused = await client({ endpoint: strict.endpoint }).send(
        new PutEventsCommand({ Entries: [entry({ EventBusName: 'nope' })] }),
      );
      expect(refused.FailedEntryCount).toBe(1);
      expect(refused.Entries?.[0]).toEqual({
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: 'Event bus nope does not exist.',
      });
      strict.createBus('nope');
      const accepted = await client({ endpoint: strict.endpoint }).send(
        new PutEventsCommand({ Entries: [entry({ EventBusName: 'nope' })] }),
      );
      expect(accepted.FailedEntryCount).toBe(0);
      expect(strict.buses()).toEqual(['default', 'nope']);
    } finally {
      await strict.close();
    }
  });

  it('refuses unsigned requests and other operations', async () => {
    const unsigned = await fetch(eb.endpoint, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Entries: [entry()] }),
    });
    expect(unsigned.status).toBe(400);
    expect(((await unsigned.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
    const other = await fetch(eb.endpoint, {
      method: 'POST',
      headers: {
        'x-amz-target': 'AWSEvents.ListRules',
        'content-type': 'application/x-amz-json-1.1',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/events/aws4_request',
      },
      body: '{}',
    });
    expect(other.status).toBe(400);
    expect(((await other.json()) as { __type: string }).__type).toBe('UnknownOperationException');
    expect(eb.events()).toEqual([]);
  });
});

describe('faults', () => {
  it('throttle: 400 ThrottlingException for `times` calls, retried by the SDK, then gone', async () => {
    const fault = eb.fault({ kind: 'throttle', times: 2 });
    const error = await failure(client().send(new PutEventsCommand({ Entries: [entry()] })));
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    // The SDK's standard retries get through once the fault is spent.
    const out = await client({ maxAttempts: 3 }).send(new PutEventsCommand({ Entries: [entry()] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(fault.hits()).toBe(2);
    expect(eb.calls().map((c) => c.errorType ?? c.status)).toEqual(['ThrottlingException', 'ThrottlingException', 200]);
    expect(eb.events()).toHaveLength(1);
  });

  it('server_error: 500 InternalException or 503 ServiceUnavailable until cleared', async () => {
    const fault = eb.fault({ kind: 'server_error' });
    const error = await failure(client().send(new PutEventsCommand({ Entries: [entry()] })));
    expect(error.name).toBe('InternalException');
    expect(error.$metadata?.httpStatusCode).toBe(500);
    fault.clear();
    eb.fault({ kind: 'server_error', status: 503, times: 1 });
    const unavailable = await failure(client().send(new PutEventsCommand({ Entries: [entry()] })));
    expect(unavailable.$metadata?.httpStatusCode).toBe(503);
    expect((await client().send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(0);
    expect(eb.events()).toHaveLength(1);
  });

  it('fail_entries: N entries fail with InternalFailure, the call succeeds, the rest are recorded', async () => {
    eb.fault({ kind: 'fail_entries', entries: 1, times: 1 });
    const out = await client().send(new PutEventsCommand({ Entries: [entry(), entry(), entry()] }));
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({
      ErrorCode: 'InternalFailure',
      ErrorMessage: expect.stringMatching(/unknown error/),
    });
    expect(out.Entries?.slice(1).every((e) => e.EventId)).toBe(true);
    expect(eb.events()).toHaveLength(2);
    // Spent: the next call is whole.
    expect((await client().send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(0);

    // Only entries of one DetailType; by default all of them.
    eb.fault({ kind: 'fail_entries', detailType: 'Conference Start Failed', times: 1 });
    const typed = await client().send(
      new PutEventsCommand({
        Entries: [
          entry(),
          entry({ DetailType: 'Conference Start Failed' }),
          entry({ DetailType: 'Conference Start Failed' }),
        ],
      }),
    );
    expect(typed.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'InternalFailure', 'InternalFailure']);
  });

  it('drop: the connection is cut; latency: the answer comes late; forMs: the fault expires', async () => {
    eb.fault({ kind: 'drop', times: 1 });
    const dropped = await failure(client().send(new PutEventsCommand({ Entries: [entry()] })));
    expect(dropped.message).toMatch(/socket hang up|ECONNRESET/i);
    eb.fault({ kind: 'latency', latencyMs: 300, times: 1 });
    const started = Date.now();
    await client().send(new PutEventsCommand({ Entries: [entry()] }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    eb.fault({ kind: 'throttle', forMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await client().send(new PutEventsCommand({ Entries: [entry()] }))).FailedEntryCount).toBe(0);
  });
});
