/**
 * functions/http.ts at init while Secrets Manager throttles: the warm-up's read fails, which is not fatal
 * (the module loads), is logged once at WARN without the key or a token, and sends no StartConference;
 * the connection is pre-opened all the same, and the first invocation reads the secret again and succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import type { Captured } from '../helpers/capture.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import type { CoreFixture } from '../helpers/fixture.js';

// Powertools reads its level when lib/ is first imported: set it before anything loads lib/.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
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
  fx.secrets.fault({ kind: 'throttle', times: 1 });
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

describe('init of the http function while Secrets Manager throttles', () => {
  it('loads anyway, logs the failure once without secrets, and sends no StartConference', () => {
    const lines = initOutput.json().filter((line) => String(line.message).startsWith('warm-up'));
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'warm-up at init incomplete; the first invocation will do the rest',
        token: expect.stringMatching(/^credentials_unavailable: .*ThrottlingException/),
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('connection');
    const text = initOutput.text();
    expect(scanForLeaks(text)).toEqual([]);
    const keyLine = fx.account.credentials.private_key.split('\n')[2]!;
    expect(text).not.toContain(keyLine);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(signings()).toBe(0);
    expect(fx.emulator.requests()).toEqual([]);
  });

  it('the first invocation reads the secret again, signs once, and succeeds on the pre-opened connection', async () => {
    const body = JSON.stringify({ conference_name: 'warm-after-failure', rule_id: fx.account.ruleId });
    const response = await handler(httpEvent(body), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(2);
    expect(signings()).toBe(1);
    expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
  });
});
