/**
 * functions/http.ts on a cold start while Secrets Manager throttles: init's warm-up reads once and gives up
 * (not fatal), the first invocation reads once more, answers a 503 to try again, and the next one recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { type CoreFixture, SECRET_NAME, startCoreFixture } from '../helpers/fixture.js';

let fx: CoreFixture;
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
const saved = { ...process.env };

beforeAll(async () => {
  fx = await startCoreFixture();
  Object.assign(process.env, fx.env);
  fx.secrets.fault({ kind: 'throttle' });
  ({ handler } = (await import('../../functions/http.js')) as never);
});
afterAll(async () => {
  process.env = saved;
  await fx.close();
});

describe('POST /conferences while Secrets Manager throttles', () => {
  it('answers 503 credentials_unavailable with Retry-After: 2 after one GetSecretValue, then recovers', async () => {
    // Init's warm-up read once, was throttled, and left it to the first invocation.
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    fx.secrets.clearCalls();
    const body = JSON.stringify({ conference_name: 'http-throttled-secret', rule_id: fx.account.ruleId });
    const started = Date.now();
    const response = await handler(httpEvent(body), lambdaContext(10_000));
    const elapsed = Date.now() - started;
    console.log(`throttled secret, HTTP: ${fx.secrets.getSecretValueCount(SECRET_NAME)} GetSecretValue, ${elapsed} ms`);
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('2');
    expect(JSON.parse(String(response.body)).error.code).toBe('credentials_unavailable');
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(fx.emulator.stats().requests).toBe(0);

    fx.secrets.clearFaults();
    const retried = await handler(httpEvent(body), lambdaContext(10_000));
    expect(retried.statusCode).toBe(200);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(2);
  });
});
