/**
 * functions/http.ts with real API Gateway v2 events, against the emulator and the Secrets Manager stand-in.
 * Every answer is checked against docs/openapi.yaml.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { OutcomeEvent } from '../../lib/outcome-events.js';
import { expectEventsMatchSchemas } from '../helpers/event-schemas.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { type CoreFixture, startCoreFixture } from '../helpers/fixture.js';
import { expectMatchesOpenApi, fromLambdaResult } from '../helpers/openapi.js';

let fx: CoreFixture;
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const saved = { ...process.env };

beforeAll(async () => {
  fx = await startCoreFixture();
  Object.assign(process.env, fx.env, { VOXIMPLANT_ALLOWED_RULE_IDS: fx.account.ruleIds.join(',') });
  ({ handler } = (await import('../../functions/http.js')) as never);
});
afterAll(async () => {
  process.env = saved;
  await fx.close();
});

/** Invokes the handler as API Gateway does; the answer must match docs/openapi.yaml. */
async function invoke(event: ReturnType<typeof httpEvent>, remainingMs = 10_000) {
  const response = await handler(event, lambdaContext(remainingMs));
  const body = expectMatchesOpenApi('POST', event.rawPath, fromLambdaResult(response)) as Record<string, any>;
  return { status: response.statusCode, headers: response.headers ?? {}, body };
}

const post = (body: string | undefined, options: Parameters<typeof httpEvent>[1] = {}) =>
  invoke(httpEvent(body, options));

describe('POST /conferences', () => {
  it('starts a conference for an IAM-authorised caller', async () => {
    const { status, body, headers } = await post(
      JSON.stringify({ conference_name: 'http-1', rule_id: fx.account.ruleId }),
    );
    expect(status).toBe(200);
    expect(headers['cache-control']).toBe('no-store');
    expect(body).toEqual({
      conference_name: 'http-1',
      media_session_access_url: expect.stringMatching(/^http:/),
      // The emulator runs without TLS here: its "secure" URL is http (local/voximplant-emulator/README.md).
      media_session_access_secure_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
      call_session_history_id: expect.any(Number),
    });
  });

  it('joins the same session for a JWT-authorised caller using the same name', async () => {
    const first = await post(JSON.stringify({ conference_name: 'http-join', rule_id: fx.account.ruleId }));
    const second = await post(JSON.stringify({ conference_name: 'http-join', rule_id: fx.account.ruleId }), {
      authorizer: 'jwt',
    });
    expect(second.body).toEqual(first.body);
  });

  it('answers 400 naming the field', async () => {
    const { status, body } = await post(
      JSON.stringify({ conference_name: 'x'.repeat(50), rule_id: fx.account.ruleId }),
    );
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', field: 'conference_name' });
    expect(body.error.details[0]).toMatchObject({ field: 'conference_name', rule: 'max_length' });
  });

  it.each([
    ['a C1 control character (a\\u0085b)', 'a\u0085b', 'control_characters'],
    ['only zero width spaces', '\u200B\u200B', 'invisible_only'],
    ['only a right-to-left override', '\u202E', 'invisible_only'],
    ['a trailing space', 'demo ', 'surrounding_whitespace'],
  ])('answers 400 for a name with %s, before calling Voximplant', async (_, name, rule) => {
    const before = fx.emulator.stats().requests;
    const { status, body } = await post(JSON.stringify({ conference_name: name, rule_id: fx.account.ruleId }));
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_request', field: 'conference_name' });
    expect(body.error.details).toEqual([expect.objectContaining({ field: 'conference_name', rule })]);
    expect(fx.emulator.stats().requests).toBe(before);
  });

  it('answers 400 for unknown fields and lists every problem', async () => {
    const { status, body } = await post(JSON.stringify({ conference_name: '', rule_id: 'one', room: 'x' }));
    expect(status).toBe(400);
    expect(body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'conference_name',
      'room',
      'rule_id',
    ]);
  });

  it('answers 403 for a rule outside the allow-list, before calling Voximplant', async () => {
    const before = fx.emulator.stats().requests;
    const { status, body } = await post(JSON.stringify({ conference_name: 'http-403', rule_id: 424242 }));
    expect(status).toBe(403);
    expect(body.error).toMatchObject({ code: 'rule_not_allowed', field: 'rule_id' });
    expect(fx.emulator.stats().requests).toBe(before);
  });

  it('answers 415 for a body that is not JSON, 422 for malformed JSON, 400 for a missing body, 413 for a huge one', async () => {
    expect((await post('conference_name=x', { contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await post('{"conference_name":', {})).status).toBe(422);
    expect((await post('{"a":1}', { contentType: null })).status).toBe(415);
    const missing = await post(undefined);
    expect(missing.status).toBe(400);
    expect(missing.body.error.field).toBe('body');
    expect((await post(JSON.stringify({ conference_name: 'x', script_custom_data: 'y'.repeat(40_000) }))).status).toBe(
      413,
    );
  });

  it('reads a base64-encoded body', async () => {
    const body = Buffer.from(JSON.stringify({ conference_name: 'http-b64 ü', rule_id: fx.account.ruleId })).toString(
      'base64',
    );
    const { status, body: answer } = await post(body, { isBase64Encoded: true });
    expect(status).toBe(200);
    expect(answer.conference_name).toBe('http-b64 ü');
  });

  it('answers 415 naming the encoding for a gzip body, before calling Voximplant', async () => {
    const before = fx.emulator.stats().requests;
    const gzipped = gzipSync(JSON.stringify({ conference_name: 'http-gzip', rule_id: fx.account.ruleId }));
    const { status, body } = await post(gzipped.toString('base64'), {
      isBase64Encoded: true,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(status).toBe(415);
    expect(body.error).toEqual({
      code: 'unsupported_media_type',
      message: 'Content-Encoding "gzip" is not supported; send the JSON uncompressed.',
    });
    expect(fx.emulator.stats().requests).toBe(before);
    const identity = await post(JSON.stringify({ conference_name: 'http-identity', rule_id: fx.account.ruleId }), {
      headers: { 'content-encoding': 'identity' },
    });
    expect(identity.status).toBe(200);
  });

  it("answers 422 with voximplant_code when Voximplant refuses the request's values", async () => {
    fx.emulator.fault({ type: 'error', code: 375, times: 1 } as never);
    const { status, body } = await post(JSON.stringify({ conference_name: 'http-375', rule_id: fx.account.ruleId }));
    expect(status).toBe(422);
    expect(body.error).toMatchObject({ code: 'voximplant_rejected_request', voximplant_code: 375 });
  });

  it('answers 502 for account errors and 503 with Retry-After when throttled', async () => {
    fx.emulator.fault({ type: 'error', code: 127, times: 1 } as never);
    expect((await post(JSON.stringify({ conference_name: 'http-502', rule_id: fx.account.ruleId }))).status).toBe(502);
    fx.emulator.fault({ type: 'http', status: 429, retryAfter: 30 } as never);
    const throttled = await post(JSON.stringify({ conference_name: 'http-429', rule_id: fx.account.ruleId }));
    fx.emulator.clearFaults();
    expect(throttled.status).toBe(503);
    expect(throttled.headers['retry-after']).toBe('30');
    expect(throttled.body.error.code).toBe('voximplant_throttled');
  });

  it.each([
    ['99999999999999999999999', '30'],
    ['86400', '30'],
    ['Thu, 01 Jan 2099 00:00:00 GMT', '30'],
    ['0', '1'],
    ['soon', '2'],
  ])('passes Retry-After %j on as %s: whole seconds from 1 to 30', async (retryAfter, expected) => {
    fx.emulator.fault({ type: 'http', status: 503, retryAfter } as never);
    const response = await handler(
      httpEvent(JSON.stringify({ conference_name: 'http-retry-after', rule_id: fx.account.ruleId })),
      lambdaContext(3_000),
    );
    fx.emulator.clearFaults();
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe(expected);
  });

  it('answers 504 when Voximplant is slower than the invocation allows', async () => {
    fx.emulator.setLatency(3_000);
    const response = await invoke(
      httpEvent(JSON.stringify({ conference_name: 'http-504', rule_id: fx.account.ruleId })),
      3_500,
    );
    fx.emulator.setLatency(0);
    expect(response.status).toBe(504);
    expect(response.body.error.code).toBe('voximplant_timeout');
    // The request was out: the conference may have started, and the caller is told so.
    expect(response.body.error.outcome).toBe('unknown');
    expect(response.body.error.message).toMatch(/may have started/);
  });

  it('says nothing may have started when Voximplant could not be reached at all', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const { createConferenceService } = await import('../../lib/index.js');
    const service = createConferenceService({
      env: { ...fx.env, VOXIMPLANT_API_URL: `http://127.0.0.1:${port}/platform_api`, VOXIMPLANT_MAX_ATTEMPTS: '1' },
    });
    const error = await service.start({ conference_name: 'http-refused', rule_id: fx.account.ruleId }).catch((e) => e);
    expect(error).toMatchObject({ code: 'voximplant_unreachable', outcome: 'failed' });
  });

  it('refuses an X-Correlation-Id that is not printable ASCII, naming the header, before calling Voximplant', async () => {
    const before = fx.emulator.stats().requests;
    const body = JSON.stringify({ conference_name: 'http-correlation', rule_id: fx.account.ruleId });
    const refused = await post(body, { headers: { 'x-correlation-id': 'line\nbreak' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_request', field: 'X-Correlation-Id' });
    expect(fx.emulator.stats().requests).toBe(before);
    expect((await post(body, { headers: { 'x-correlation-id': 'booking-42' } })).status).toBe(200);
  });
});

describe('outcome events over HTTP (PUBLISH_HTTP_EVENTS)', () => {
  const origin = (id: string) => ({ headers: { 'x-correlation-id': id } });

  it('publishes one final event per answer when the stage turns them on, and none when it does not', async () => {
    const { startFromHttp } = await import('../../lib/http-api.js');
    const events: OutcomeEvent[] = [];
    const publisher = async () => ({ publish: async (batch: readonly OutcomeEvent[]) => void events.push(...batch) });
    const deps = { service: fx.service(), publisher, stage: 'test' };
    const ok = httpEvent(JSON.stringify({ conference_name: 'http-event', rule_id: fx.account.ruleId }), origin('c-1'));
    expect((await startFromHttp(ok, deps)).statusCode).toBe(200);
    fx.emulator.fault({ type: 'error', code: 147, times: 1 } as never);
    const refused = httpEvent(
      JSON.stringify({ conference_name: 'http-event-2', rule_id: fx.account.ruleId }),
      origin('c-2'),
    );
    await expect(startFromHttp(refused, deps)).rejects.toMatchObject({ code: 'voximplant_rejected_request' });
    expectEventsMatchSchemas(events);
    expect(events.map((e) => [e.detailType, e.detail.source, e.detail.correlation_id])).toEqual([
      ['Conference Started', 'http', 'c-1'],
      ['Conference Start Failed', 'http', 'c-2'],
    ]);
    expect(events[0]?.detail.source_id).toBe(ok.requestContext.requestId);
    expect(events[1]?.detail).toMatchObject({ final: true, voximplant_code: 147 });
    // A refused X-Correlation-Id is a final failure too: its event, without the id.
    const badId = httpEvent(
      JSON.stringify({ conference_name: 'http-event-3', rule_id: fx.account.ruleId }),
      origin('x'.repeat(200)),
    );
    await expect(startFromHttp(badId, deps)).rejects.toMatchObject({ field: 'X-Correlation-Id' });
    expect(events[2]).toMatchObject({
      detailType: 'Conference Start Failed',
      detail: { error_code: 'invalid_request', final: true },
    });
    expect(events[2]?.detail).not.toHaveProperty('correlation_id');
    expectEventsMatchSchemas(events);
    // Off (the default): the publisher is never even loaded.
    const { httpOutcomePublisher } = await import('../../lib/http-api.js');
    expect(await httpOutcomePublisher()).toBeUndefined();
  });
});
