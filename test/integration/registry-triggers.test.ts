/**
 * The three start functions with the registry on (REGISTRY_TABLE_NAME), loaded cold against the emulator, the
 * Secrets Manager stand-in, local SQS and dynalite (the real DynamoDB client through AWS_ENDPOINT_URL_DYNAMODB):
 * every successful start is recorded, concurrent starts of one name give one session and one record, and the
 * registry down changes nothing of a start's outcome (the answer stands, the message is not retried, the schedule
 * not re-run), while the failure is logged without the URLs and counted in RegistryWriteFailures.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda';
import type { RegistryRecorder } from '../../lib/registry.js';
import { type Captured, captureOutput } from '../helpers/capture.js';
import { httpEvent, lambdaContext, schedulerInput, sqsEvent, sqsRecord } from '../helpers/events.js';
import type { TriggerFixture } from '../helpers/fixture.js';
import { type LocalRegistry, startLocalRegistry } from '../helpers/registry.js';

// Powertools reads its level and switches when the logger and metrics are built: before lib/ loads.
Object.assign(process.env, {
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_DISABLED: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'voxconf-test',
  POWERTOOLS_SERVICE_NAME: 'voxconf',
});
const { startTriggerFixture } = await import('../helpers/fixture.js');

type Handler<R> = (event: unknown, context: unknown) => Promise<R>;
let fx: TriggerFixture;
let registry: LocalRegistry;
let http: Handler<APIGatewayProxyStructuredResultV2>;
let queue: Handler<SQSBatchResponse>;
let schedule: Handler<Record<string, unknown>>;
let recorder: RegistryRecorder;
let loadingAtInit: boolean;
let output: Captured;

beforeAll(async () => {
  registry = await startLocalRegistry();
  fx = await startTriggerFixture({
    REGISTRY_TABLE_NAME: registry.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: registry.ddb.endpoint,
    VOXIMPLANT_MAX_ATTEMPTS: '1',
    QUEUE_MAX_RECEIVE_COUNT: '3',
    VOXCONF_STAGE: 'test',
  });
  process.env.REQUEST_QUEUE_URL = fx.sqs.queueUrl;
  ({ handler: http } = (await import('../../functions/http.js')) as never);
  ({ handler: queue } = (await import('../../functions/queue.js')) as never);
  ({ handler: schedule } = (await import('../../functions/schedule.js')) as never);
  const { getStartRecorder } = await import('../../lib/registry.js');
  recorder = getStartRecorder() as RegistryRecorder;
  loadingAtInit = recorder.loading;
}, 30_000);
afterAll(async () => {
  output?.restore();
  await fx.close();
  await registry.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});
beforeEach(() => {
  output?.restore();
  output = captureOutput();
  registry.ddb.clearFaults();
  fx.emulator.clearFaults();
});

const request = (name: string) => ({ conference_name: name, rule_id: fx.account.ruleId });
const post = (name: string) => http(httpEvent(JSON.stringify(request(name))), lambdaContext(10_000));

describe('loading', () => {
  it('the functions load without the registry writer (and so without the DynamoDB client); a start loads it', async () => {
    expect(loadingAtInit).toBe(false);
    const response = await post('reg-first');
    expect(response.statusCode).toBe(200);
    expect(recorder.loading).toBe(true);
  });
});

describe('every trigger records its start', () => {
  it('http: a new session, then a join of it', async () => {
    const first = await post('reg-http');
    const second = await post('reg-http');
    const body = JSON.parse(first.body as string);
    expect(JSON.parse(second.body as string)).toEqual(body);
    expect(await registry.get('reg-http')).toMatchObject({
      status: 'active',
      started_by: { source: 'http', source_id: expect.stringMatching(/^req-/) },
      rule_id: fx.account.ruleId,
      call_session_history_id: body.call_session_history_id,
      media_session_access_secure_url: body.media_session_access_secure_url,
      media_session_access_url: body.media_session_access_url,
      join_count: 1,
      last_joined_at: expect.any(String),
      expires_at: expect.any(Number),
    });
    expect(output.metric('RegistryWriteFailures')).toBe(0);
  });

  it('queue: started_by names the message', async () => {
    const response = await queue(
      sqsEvent([sqsRecord(JSON.stringify(request('reg-queue')), { messageId: 'msg-reg-1' })]),
      lambdaContext(30_000, 'voxconf-test-queue'),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(await registry.get('reg-queue')).toMatchObject({
      status: 'active',
      started_by: { source: 'queue', source_id: 'msg-reg-1' },
      join_count: 0,
    });
  });

  it('schedule: started_by names the execution and the schedule', async () => {
    const event = { ...schedulerInput(request('reg-sched'), new Date(), 'exec-reg'), schedule_name: 'weekly-sync' };
    expect(await schedule(event, lambdaContext(30_000, 'voxconf-test-schedule'))).toMatchObject({ outcome: 'started' });
    expect(await registry.get('reg-sched')).toMatchObject({
      started_by: { source: 'schedule', source_id: 'exec-reg', schedule_name: 'weekly-sync' },
      join_count: 0,
    });
  });
});

describe('concurrent starts of one name', () => {
  it('through the real service against the emulator: one session, one record', async () => {
    const answers = await Promise.all([post('reg-race'), post('reg-race'), post('reg-race')]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    const ids = new Set(answers.map((a) => JSON.parse(a.body as string).call_session_history_id));
    expect(ids.size).toBe(1);
    expect(fx.emulator.conferences().filter((c) => c.name === 'reg-race')).toHaveLength(1);
    expect(await registry.get('reg-race')).toMatchObject({ call_session_history_id: [...ids][0], join_count: 2 });
  });
});

describe('the registry down', () => {
  const expectFailureRecorded = (name: string, secureUrl?: string) => {
    const logged = output
      .json()
      .filter((line) => line.message === 'conference not recorded in the registry; the start stands');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'ERROR', conference_name: name, reason: expect.any(String) });
    expect(output.metric('RegistryWriteFailures')).toBe(1);
    const text = output.text();
    expect(text).not.toContain('/media/');
    if (secureUrl) expect(text).not.toContain(secureUrl);
  };

  it.each(['server_error', 'drop'] as const)(
    'http (%s): still 200 with the session, logged and counted',
    async (kind) => {
      const name = `reg-down-http-${kind}`;
      registry.ddb.fault({ kind });
      const response = await post(name);
      expect(response.statusCode).toBe(200);
      const body = JSON.parse(response.body as string);
      expect(body).toMatchObject({ conference_name: name, call_session_history_id: expect.any(Number) });
      expectFailureRecorded(name, body.media_session_access_secure_url);
      registry.ddb.clearFaults();
      expect(await registry.get(name)).toBeUndefined();
    },
  );

  it('http: a registry slower than the write bound costs at most the bound', async () => {
    const name = 'reg-slow-http';
    registry.ddb.fault({ kind: 'latency', latencyMs: 5_000 });
    const began = Date.now();
    const response = await post(name);
    expect(response.statusCode).toBe(200);
    expect(Date.now() - began).toBeLessThan(3_000);
    expectFailureRecorded(name);
  });

  it('queue: the started message is not retried (no batchItemFailures), one conference', async () => {
    registry.ddb.fault({ kind: 'server_error' });
    const response = await queue(
      sqsEvent([sqsRecord(JSON.stringify(request('reg-down-queue')), { messageId: 'msg-down' })]),
      lambdaContext(30_000, 'voxconf-test-queue'),
    );
    expect(response.batchItemFailures).toEqual([]);
    expect(fx.emulator.conferences().filter((c) => c.name === 'reg-down-queue')).toHaveLength(1);
    expectFailureRecorded('reg-down-queue');
  });

  it('schedule: the run is started once, not re-run nor dead-lettered', async () => {
    registry.ddb.fault({ kind: 'drop' });
    const before = fx.emulator.stats().requests;
    const outcome = await schedule(
      schedulerInput(request('reg-down-sched')),
      lambdaContext(30_000, 'voxconf-test-schedule'),
    );
    expect(outcome).toMatchObject({ outcome: 'started', conference_name: 'reg-down-sched' });
    expect(fx.emulator.stats().requests - before).toBe(1);
    expectFailureRecorded('reg-down-sched');
  });
});
