/**
 * functions/http.ts at init while Secrets Manager throttles: the warm-up's read fails, which is not fatal
 * (the module loads), is logged once at WARN without the key or a token, and sends no StartConference;
 * the connection is pre-opened all the same, and the first invocation reads the secret again and succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import type { ColdFunction } from '../helpers/cold-function.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';

// Powertools reads its level when lib/ is first imported: set it before anything loads lib/.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
const { loadColdFunction } = await import('../helpers/cold-function.js');
const { SECRET_NAME } = await import('../helpers/fixture.js');

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let cold: ColdFunction<Handler>;
beforeAll(async () => {
  cold = await loadColdFunction<Handler>(
    () => import('../../functions/http.js'),
    (fx) => fx.secrets.fault({ kind: 'throttle', times: 1 }),
  );
});
afterAll(async () => {
  await cold.fx.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

describe('init of the http function while Secrets Manager throttles', () => {
  it('loads anyway, logs the failure once without secrets, and sends no StartConference', () => {
    const { fx, initOutput } = cold;
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
    expect(cold.signings()).toBe(0);
    expect(fx.emulator.requests()).toEqual([]);
  });

  it('the first invocation reads the secret again, signs once, and succeeds on the pre-opened connection', async () => {
    const { fx } = cold;
    const body = JSON.stringify({ conference_name: 'warm-after-failure', rule_id: fx.account.ruleId });
    const response = await cold.handler(httpEvent(body), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(2);
    expect(cold.signings()).toBe(1);
    expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
  });
});
