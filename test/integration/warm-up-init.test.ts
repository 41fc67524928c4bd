/**
 * functions/http.ts at init (its module load): the warm-up reads the secret, imports the key, signs the
 * token and pre-opens the connection to Voximplant, and sends no StartConference; the first invocation then
 * reuses all of it. Counted on the stand-ins: GetSecretValue calls, signings (test/helpers/signings.ts),
 * the emulator's connections and requests. Each test file has its own module registry, so the import below
 * is this file's cold start.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Captured } from '../helpers/capture.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import type { CoreFixture } from '../helpers/fixture.js';

// Powertools reads its level when lib/ is first imported: set it before anything loads lib/.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const { captureOutput } = await import('../helpers/capture.js');
const { SECRET_NAME, startCoreFixture } = await import('../helpers/fixture.js');
const { countSignings } = await import('../helpers/signings.js');

let fx: CoreFixture;
let handler: (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let signings: () => number;
let initOutput: Captured;
const saved = { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' };

beforeAll(async () => {
  fx = await startCoreFixture();
  Object.assign(process.env, fx.env);
  fx.secrets.clearCalls();
  signings = countSignings();
  initOutput = captureOutput();
  try {
    ({ handler } = (await import('../../functions/http.js')) as never);
  } finally {
    initOutput.restore();
  }
});
afterAll(async () => {
  process.env = saved;
  await fx.close();
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('init of the http function', () => {
  it('reads the secret once, signs once and opens the connection, without a StartConference or a log line', async () => {
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(signings()).toBe(1);
    await until(() => fx.emulator.connections().length > 0);
    expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 0, closedAt: null })]);
    expect(fx.emulator.requests()).toEqual([]);
    expect(initOutput.text()).toBe('');
  });

  it('the first invocation reuses the key, the token and the connection', async () => {
    const body = JSON.stringify({ conference_name: 'warm-first', rule_id: fx.account.ruleId });
    const response = await handler(httpEvent(body), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(signings()).toBe(1);
    expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
    expect(fx.emulator.requests().map((r) => r.outcome)).toEqual(['success']);
  });
});
