/**
 * The lifecycle API at the HTTP level: lib/lifecycle-http.ts around the real LifecycleService
 * (lib/lifecycle.ts createLifecycleService) on a loopback DynamoDB (dynalite, the deployed table definition) and
 * the Voximplant emulator's real sessions (StartConference, media session URLs, GetCallHistory). Every answer is
 * checked against docs/openapi.yaml.
 *
 * Two deliveries of the same request, because they differ in how they decode the path:
 *   - serverless offline (the local stack): a hapi router and serverless-offline's own LambdaProxyIntegrationEventV2,
 *     over real HTTP; the path as sent in rawPath, the parameter decoded once;
 *   - API Gateway's HTTP API: rawPath and pathParameters decoded twice (live captures, hotsock/voker
 *     vokerhttp/testdata/ingress-paths.json: `%252F` arrives as `/`, `%2525` as `%`, `%25d` is refused).
 * Then functions/lifecycle.ts itself, wired from the environment.
 */

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import Hapi from '@hapi/hapi';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SessionNotConfirmedError } from '../../lib/errors.js';
import facts from '../../lib/facts.json' with { type: 'json' };
import { conferenceNameOf, handleLifecycleRequest, type LifecycleHttpDeps } from '../../lib/lifecycle-http.js';
import type { LifecycleService } from '../../lib/lifecycle-service.js';
import { createLifecycleService } from '../../lib/lifecycle-wiring.js';
import type { OutcomeEvent } from '../../lib/outcome-events.js';
import type { RegistryRecord } from '../../lib/registry-record.js';
import { toAttribute } from '../../lib/registry-store.js';
import { VoximplantClient } from '../../lib/voximplant-client.js';
import { type LocalDynamoDb, startDynamoDb } from '../../local/dynamodb.js';
import { createRegistryTable } from '../../local/registry-table.js';
import {
  type CreatedAccount,
  callEmulator,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';
import { setAwsTestEnv } from '../helpers/aws-env.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { expectMatchesOpenApi, fetchDocumented, fromLambdaResult } from '../helpers/openapi.js';

const TABLE = 'voxconf-test-conferences';
/** The names the issue asks to round-trip, and a few more. */
const NAMES = ['a/b', '50% off', '#1 stand-up', 'a b', '🎉 party', 'x?y', '100%AB', 'a/b/commands'];

let dynamo: LocalDynamoDb;
let emu: VoximplantEmulator;
let account: CreatedAccount;
let exampleRule: number;
let client: DynamoDBClient;
let service: LifecycleService;
let offline: Hapi.Server;
let restore: () => void;
const published: OutcomeEvent[] = [];
const logged: { level: string; message: string; extra: unknown }[] = [];

const logger = {
  info: (message: string, extra?: unknown) => void logged.push({ level: 'info', message, extra }),
  warn: (message: string, extra?: unknown) => void logged.push({ level: 'warn', message, extra }),
  error: (message: string, extra?: unknown) => void logged.push({ level: 'error', message, extra }),
};

beforeAll(async () => {
  dynamo = await startDynamoDb();
  await createRegistryTable(dynamo.endpoint, { tableName: TABLE });
  emu = await startEmulator();
  account = emu.createAccount();
  exampleRule = emu.addRule(account.accountId, { scenarioKind: 'example' });
  restore = setAwsTestEnv();
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  service = createLifecycleService({
    config: {
      registryTableName: TABLE,
      referenceScenarioRuleIds: new Set([account.ruleId]),
      sessionRequestTimeoutMs: 1000,
      registryActiveRetentionHours: 48,
      registryEndedRetentionDays: 30,
    },
    env: {
      VOXIMPLANT_CREDENTIALS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:voxconf/test-AbCdEf',
      VOXIMPLANT_API_URL: emu.url,
      // The local stage: the only one on which the session client speaks plain http to loopback (the emulator).
      VOXCONF_STAGE: 'local',
    },
    dynamoDb: client,
    credentials: { get: async () => account.credentials } as never,
    voximplant: new VoximplantClient({ apiUrl: emu.url }),
    publisher: { publish: async (events) => void published.push(...events) },
    logger: logger as never,
    confirmDelayMs: 10,
  });
  offline = await startOffline({ service, logger: logger as never });
}, 30_000);

afterAll(async () => {
  await offline?.stop();
  client?.destroy();
  restore?.();
  await emu?.close();
  await dynamo?.close();
});

// ---- the two deliveries -------------------------------------------------------------------------------------

const ROUTES = [
  ['GET', '/conferences'],
  ['GET', '/conferences/{name}'],
  ['DELETE', '/conferences/{name}'],
  ['POST', '/conferences/{name}/commands'],
] as const;

/** serverless offline's HTTP API path: its hapi router, its event class, the answer as it sends it back. */
async function startOffline(deps: LifecycleHttpDeps): Promise<Hapi.Server> {
  const { default: EventV2 } = (await import(
    '../../node_modules/serverless-offline/src/events/http/lambda-events/LambdaProxyIntegrationEventV2.js' as string
  )) as { default: new (...args: unknown[]) => { create(): APIGatewayProxyEventV2 } };
  const server = Hapi.server({ host: '127.0.0.1', port: 0 });
  for (const [method, path] of ROUTES) {
    server.route({
      method,
      path,
      // As serverless offline configures its routes and reads their bodies (src/events/http/HttpServer.js).
      ...(method === 'GET' ? {} : { options: { payload: { maxBytes: 10 * 1024 * 1024, parse: false } } }),
      handler: async (request, h) => {
        const raw = request.payload as Buffer | null;
        (request as { payload: unknown }).payload = raw ? raw.toString('utf8') : raw;
        const event = new EventV2(request, 'local', `${method} ${path}`, {}).create();
        let result: APIGatewayProxyStructuredResultV2;
        try {
          result = await handleLifecycleRequest(event, deps);
        } catch (error) {
          const { httpErrorResponse } = await import('../../lib/http-api.js');
          result = httpErrorResponse(error);
        }
        const response = h.response(result.body ?? '').code(result.statusCode ?? 200);
        for (const [key, value] of Object.entries(result.headers ?? {})) response.header(key, String(value));
        return response;
      },
    });
  }
  await server.start();
  return server;
}

/** API Gateway's event of the same request: the path decoded twice, rawPath and the parameter alike. */
function gatewayEvent(
  method: string,
  name: string | undefined,
  options: { commands?: boolean; body?: string; query?: Record<string, string>; contentType?: string } = {},
): APIGatewayProxyEventV2 {
  const template = name === undefined ? '/conferences' : `/conferences/{name}${options.commands ? '/commands' : ''}`;
  const rawPath = name === undefined ? '/conferences' : `/conferences/${name}${options.commands ? '/commands' : ''}`;
  const base = httpEvent(options.body, { contentType: options.contentType ?? 'application/json' });
  const routeKey = `${method} ${template}`;
  return {
    ...base,
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(name === undefined ? {} : { pathParameters: { name } }),
    requestContext: { ...base.requestContext, routeKey, http: { ...base.requestContext.http, method, path: rawPath } },
  };
}

/** A request through API Gateway's delivery, its answer checked against the document. */
async function viaGateway(method: string, name: string | undefined, options: Parameters<typeof gatewayEvent>[2] = {}) {
  const event = gatewayEvent(method, name, options);
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await handleLifecycleRequest(event, { service, logger: logger as never });
  } catch (error) {
    const { httpErrorResponse } = await import('../../lib/http-api.js');
    result = httpErrorResponse(error);
  }
  const documentedPath =
    name === undefined ? '/conferences' : `/conferences/${twice(name)}${options.commands ? '/commands' : ''}`;
  const json = expectMatchesOpenApi(method, documentedPath, fromLambdaResult(result)) as any;
  return { status: result.statusCode, headers: result.headers ?? {}, json };
}

const twice = (name: string) => encodeURIComponent(encodeURIComponent(name));
const offlineUrl = (path: string) => `${offline.info.uri}${path}`;

// ---- conferences to look at ---------------------------------------------------------------------------------

interface Started {
  readonly media_session_access_url: string;
  readonly media_session_access_secure_url: string;
  readonly call_session_history_id: number;
}

let clock = Date.parse('2026-12-01T09:00:00.000Z');

/** Starts `name` on the emulator and records it in the registry as the start path does. */
async function started(name: string, ruleId = account.ruleId): Promise<Started> {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(ruleId) },
    { token: await signToken(account.credentials) },
  );
  const body = JSON.parse(response.text) as Started & { result?: number };
  if (body.result !== 1) throw new Error(`StartConference failed: ${response.text}`);
  clock += 1000;
  const record: RegistryRecord = {
    conference_name: name,
    status: 'active',
    started_at: new Date(clock).toISOString(),
    started_by: { source: 'http', source_id: `req-${clock}` },
    rule_id: ruleId,
    call_session_history_id: body.call_session_history_id,
    media_session_access_url: body.media_session_access_url,
    media_session_access_secure_url: body.media_session_access_secure_url,
    join_count: 0,
    expires_at: Math.floor(Date.now() / 1000) + 3600,
  };
  await client.send(new PutItemCommand({ TableName: TABLE, Item: toAttribute(record).M ?? {} }));
  return body;
}

// ---- names in the path --------------------------------------------------------------------------------------

describe('a name in the path round-trips', () => {
  beforeAll(async () => {
    for (const name of NAMES) await started(name);
  });

  test.each(NAMES)('%s: encoded twice, through serverless offline and through API Gateway', async (name) => {
    const local = await fetchDocumented(offlineUrl(`/conferences/${twice(name)}`), { method: 'GET' });
    expect(local.status).toBe(200);
    expect(local.headers.get('cache-control')).toBe('no-store');
    expect(local.json.conference_name).toBe(name);
    const aws = await viaGateway('GET', name);
    expect(aws.status).toBe(200);
    expect(aws.headers['cache-control']).toBe('no-store');
    expect(aws.json.conference_name).toBe(name);
    expect(aws.json.media_session_access_secure_url).toBe(local.json.media_session_access_secure_url);
  });

  test.each(['#1 stand-up', 'a b', '🎉 party'])('%s: encoded once, too (no "/" and no "%")', async (name) => {
    const local = await fetchDocumented(offlineUrl(`/conferences/${encodeURIComponent(name)}`), { method: 'GET' });
    expect([local.status, local.json.conference_name]).toEqual([200, name]);
  });

  test('a "%" encoded once is refused as API Gateway refuses it; a "/" encoded once works locally only', async () => {
    const percent = await fetchDocumented(offlineUrl(`/conferences/${encodeURIComponent('50% off')}`), {
      method: 'GET',
    });
    expect(percent.status).toBe(400);
    expect(percent.json.error).toMatchObject({ field: 'name', details: [{ rule: 'percent_encoding' }] });
    // hapi (serverless offline) routes on the path as sent; API Gateway would answer 404 before voxconf runs.
    const slash = await fetchDocumented(offlineUrl(`/conferences/${encodeURIComponent('a/b')}`), { method: 'GET' });
    expect([slash.status, slash.json.conference_name]).toEqual([200, 'a/b']);
  });

  test('a "?" encoded once is refused, never read as the name before it (it would act on another conference)', async () => {
    await started('team');
    await started('team?x');
    // API Gateway decodes `team%3Fx` and cuts the path at the `?`: `team` with the query `x`.
    const aws = await viaGateway('DELETE', 'team', { query: { x: '' } });
    expect(aws.status).toBe(400);
    expect(aws.json.error).toMatchObject({ field: 'name', details: [{ rule: 'query' }] });
    const local = await fetchDocumented(offlineUrl('/conferences/team?x'), { method: 'GET' });
    expect(local.status).toBe(400);
    expect(local.json.error).toMatchObject({ field: 'name', details: [{ rule: 'query' }] });
    // Encoded twice it is the name, both ways; and `team` was never touched.
    expect((await viaGateway('GET', 'team?x')).json.conference_name).toBe('team?x');
    const twiceLocal = await fetchDocumented(offlineUrl(`/conferences/${twice('team?x')}`), { method: 'GET' });
    expect([twiceLocal.status, twiceLocal.json.conference_name]).toEqual([200, 'team?x']);
    expect((await viaGateway('GET', 'team')).json.status).toBe('active');
  });

  test('a name ending in /commands is a name: the command route strips one /commands only', async () => {
    const answer = await fetchDocumented(offlineUrl(`/conferences/${twice('a/b/commands')}/commands`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'status' }),
    });
    expect(answer.status).toBe(200);
    expect(answer.json.body).toMatchObject({ ok: true, conference_name: 'a/b/commands' });
    const aws = await viaGateway('POST', 'a/b/commands', {
      commands: true,
      body: JSON.stringify({ command: 'status' }),
    });
    expect(aws.json.body).toMatchObject({ ok: true, conference_name: 'a/b/commands' });
  });

  test.each([
    ['a trailing space', 'a%2520', 'surrounding_whitespace'],
    ['a control character', 'a%2501b', 'control_characters'],
    ['50 characters', 'x'.repeat(50), 'max_length'],
    ['not UTF-8', '%25E0%25A4', 'percent_encoding'],
  ])('%s is refused with 400 naming name', async (_what, encoded, rule) => {
    const answer = await fetchDocumented(offlineUrl(`/conferences/${encoded}`), { method: 'GET' });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'invalid_request', field: 'name', details: [{ rule }] });
  });

  test('unknown: 404 conference_not_found, both ways', async () => {
    const local = await fetchDocumented(offlineUrl(`/conferences/${twice('nobody/here')}`), { method: 'GET' });
    expect([local.status, local.json.error.code]).toEqual([404, 'conference_not_found']);
    const aws = await viaGateway('DELETE', 'nobody/here');
    expect([aws.status, aws.json.error.code]).toEqual([404, 'conference_not_found']);
  });

  test('conferenceNameOf: API Gateway decoded, offline decoded once more, a catch-all route from rawPath', () => {
    expect(conferenceNameOf({ rawPath: '/conferences/a/b', pathParameters: { name: 'a/b' } })).toBe('a/b');
    expect(conferenceNameOf({ rawPath: '/conferences/a%252Fb', pathParameters: { name: 'a%2Fb' } })).toBe('a/b');
    expect(conferenceNameOf({ rawPath: '/conferences/50%2525%2520off/commands' }, true)).toBe('50% off');
    expect(() => conferenceNameOf({ rawPath: '/conferences/' })).toThrow(/name is required/);
  });
});

// ---- the listing ------------------------------------------------------------------------------------------------

describe('GET /conferences', () => {
  test('active by default, newest first, a page at a time with next_token', async () => {
    await started('list-1');
    await started('list-2');
    const first = await fetchDocumented(offlineUrl('/conferences?limit=1'), { method: 'GET' });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.json.conferences.map((c: { conference_name: string }) => c.conference_name)).toEqual(['list-2']);
    expect(first.json.conferences[0]).not.toHaveProperty('media_session_access_secure_url');
    const second = await fetchDocumented(
      offlineUrl(`/conferences?status=active&limit=1&next_token=${encodeURIComponent(first.json.next_token)}`),
      { method: 'GET' },
    );
    expect(second.json.conferences.map((c: { conference_name: string }) => c.conference_name)).toEqual(['list-1']);
    const all = await viaGateway('GET', undefined, { query: { limit: String(facts.registry.listMaxLimit) } });
    expect(all.json.conferences.length).toBeGreaterThanOrEqual(NAMES.length + 2);
    expect(all.json.conferences.every((c: { status: string }) => c.status === 'active')).toBe(true);
  });

  test.each([
    [{ state: 'active' }, 'state', 'unknown_field'],
    [{ status: 'running' }, 'status', 'enum'],
    [{ limit: '0' }, 'limit', 'range'],
    [{ limit: String(facts.registry.listMaxLimit + 1) }, 'limit', 'range'],
    [{ limit: 'ten' }, 'limit', 'range'],
    [{ next_token: 'not-a-token' }, 'next_token', undefined],
  ])('%j is refused with 400 naming %s', async (query, field, rule) => {
    const answer = await viaGateway('GET', undefined, { query: query as Record<string, string> });
    expect(answer.status).toBe(400);
    expect(answer.json.error.field).toBe(field);
    if (rule !== undefined) expect(answer.json.error.details[0].rule).toBe(rule);
  });
});

// ---- end and commands ---------------------------------------------------------------------------------------

describe('DELETE /conferences/{name} and commands', () => {
  test('a reference session: status, then DELETE 204, then ended without URLs, 409 on both', async () => {
    const name = 'end me/now';
    await started(name);
    const status = await fetchDocumented(offlineUrl(`/conferences/${twice(name)}/commands`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ command: 'status' }),
    });
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ status: 200, body: { ok: true, command: 'status', conference_name: name } });

    const ended = await fetch(offlineUrl(`/conferences/${twice(name)}`), { method: 'DELETE' });
    const text = await ended.text();
    expectMatchesOpenApi('DELETE', `/conferences/${twice(name)}`, {
      status: ended.status,
      headers: ended.headers,
      body: text,
    });
    expect([ended.status, text, ended.headers.get('cache-control')]).toEqual([204, '', 'no-store']);

    const after = await viaGateway('GET', name);
    expect(after.json).toMatchObject({ status: 'ended', end_reason: 'stopped', ended_by: expect.any(String) });
    expect(after.json).not.toHaveProperty('media_session_access_url');
    expect(after.json).not.toHaveProperty('media_session_access_secure_url');
    const again = await viaGateway('DELETE', name);
    expect([again.status, again.json.error.code]).toEqual([409, 'conference_ended']);
    const command = await viaGateway('POST', name, { commands: true, body: JSON.stringify({ command: 'status' }) });
    expect([command.status, command.json.error.code]).toEqual([409, 'conference_ended']);

    const event = published.find((e) => e.detail.conference_name === name);
    expect(event?.detail).toMatchObject({ stage: 'local', end_reason: 'stopped' });
    expectEventsMatchSchemas(published);
    // The audit lines name the caller (serverless offline has no authorizer: anonymous), never the URL.
    const audit = JSON.stringify(logged.filter((line) => JSON.stringify(line).includes(name)));
    expect(audit).toContain('anonymous');
    expect(audit).not.toContain('/media/');
  });

  test('another rule: never ended by voxconf (409 not_supported), never asked its status', async () => {
    const name = 'example room';
    await started(name, exampleRule);
    const end = await viaGateway('DELETE', name);
    expect([end.status, end.json.error.code]).toEqual([409, 'not_supported']);
    const view = await viaGateway('GET', name);
    expect(view.json).toMatchObject({ status: 'active', reference_scenario: false });
    expect(view.json).not.toHaveProperty('session');
  });

  test('command bodies: at most 16 KiB, JSON only, command and args only, no stop for a reference rule', async () => {
    const name = 'commands room';
    await started(name);
    const post = (body: string, contentType = 'application/json') =>
      viaGateway('POST', name, { commands: true, body, contentType });
    const max = facts.registry.commandBodyMaxBytes;
    const tooLarge = await post(JSON.stringify({ command: 'x', args: 'a'.repeat(max) }));
    expect([tooLarge.status, tooLarge.json.error.code]).toEqual([413, 'body_too_large']);
    expect(tooLarge.json.error.message).toContain(String(max));
    expect((await post('{"command":"status"}', 'text/plain')).json.error.code).toBe('unsupported_media_type');
    expect((await post('{"command":')).json.error.code).toBe('malformed_json');
    const unknown = await post(JSON.stringify({ command: 'status', room: 1 }));
    expect([unknown.status, unknown.json.error.field]).toEqual([400, 'room']);
    const stop = await post(JSON.stringify({ command: 'stop' }));
    expect([stop.status, stop.json.error.field]).toEqual([400, 'command']);
    const empty = await post(JSON.stringify({ command: '' }));
    expect([empty.status, empty.json.error.field]).toEqual([400, 'command']);
    const hook = await post(JSON.stringify({ command: 'mute', args: { who: 1 } }));
    expect(hook.status).toBe(200);
    expect(hook.json).toMatchObject({ status: 200, body: { ok: false, command: 'mute', error: 'unknown_command' } });
  });
});

// ---- what only the edge decides -------------------------------------------------------------------------------

describe('the edge', () => {
  test('a stop the session did not confirm: 502 with what it answered, never its URL', async () => {
    const summary = { outcome: 'answered' as const, status: 200, body: { ok: false, error: 'unknown_command' } };
    const refusing: LifecycleHttpDeps['service'] = {
      get: async () => Promise.reject(new Error('unused')),
      list: async () => Promise.reject(new Error('unused')),
      command: async () => Promise.reject(new Error('unused')),
      end: async () => Promise.reject(new SessionNotConfirmedError('The session answered ok:false.', summary)),
    };
    const warned: unknown[] = [];
    const result = await handleLifecycleRequest(gatewayEvent('DELETE', 'x'), {
      service: refusing,
      logger: { warn: (...args: unknown[]) => void warned.push(args), error: () => undefined } as never,
    });
    const body = expectMatchesOpenApi('DELETE', '/conferences/x', fromLambdaResult(result)) as any;
    expect(body.error).toMatchObject({ code: 'session_not_confirmed', session: summary });
    expect(result.headers).toMatchObject({ 'cache-control': 'no-store' });
    expect(JSON.stringify(warned)).toContain('session_not_confirmed');
  });

  test('functions/lifecycle.ts: wired from the environment, answers GET through the middy edge', async () => {
    await started('handler room');
    const undo = setAwsTestEnv({
      extra: {
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        REGISTRY_TABLE_NAME: TABLE,
        REFERENCE_SCENARIO_RULE_IDS: String(account.ruleId),
        SESSION_REQUEST_TIMEOUT_MS: '1000',
        REGISTRY_ACTIVE_RETENTION_HOURS: '48',
        REGISTRY_ENDED_RETENTION_DAYS: '30',
        VOXIMPLANT_CREDENTIALS_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:voxconf/test-AbCdEf',
        VOXIMPLANT_API_URL: emu.url,
        EVENT_BUS_NAME: undefined,
      },
    });
    try {
      const { handler } = (await import('../../functions/lifecycle.js')) as {
        handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
      };
      const context = lambdaContext(10_000, 'voxconf-test-lifecycle');
      const ok = await handler(gatewayEvent('GET', 'handler room'), context);
      const view = expectMatchesOpenApi('GET', '/conferences/handler%2520room', fromLambdaResult(ok)) as any;
      expect(view).toMatchObject({ conference_name: 'handler room', reference_scenario: true });
      expect(view.session).toMatchObject({ reachable: true });
      const bad = await handler(gatewayEvent('GET', undefined, { query: { nope: '1' } }), context);
      expect(expectMatchesOpenApi('GET', '/conferences', fromLambdaResult(bad))).toMatchObject({
        error: { code: 'invalid_request', field: 'nope' },
      });
    } finally {
      undo();
    }
  });
});
