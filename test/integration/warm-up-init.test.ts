/**
 * functions/http.ts at init (its module load): the warm-up reads the secret, imports the key, signs the
 * token and pre-opens the connection to Voximplant, and sends no StartConference; the first invocation then
 * reuses all of it. Counted on the stand-ins: GetSecretValue calls, signings (test/helpers/signings.ts),
 * the emulator's connections and requests. Each test file has its own module registry, so the import below
 * is this file's cold start.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ColdFunction } from '../helpers/cold-function.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';

// Powertools reads its level when lib/ is first imported: set it before anything loads lib/.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const { expectWarmedUpAtInit, loadColdFunction } = await import('../helpers/cold-function.js');
const { SECRET_NAME } = await import('../helpers/fixture.js');

type Handler = (event: unknown, context: unknown) => Promise<APIGatewayProxyStructuredResultV2>;
let cold: ColdFunction<Handler>;
beforeAll(async () => {
  cold = await loadColdFunction<Handler>(() => import('../../functions/http.js'));
});
afterAll(async () => {
  await cold.fx.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

describe('init of the http function', () => {
  it('reads the secret once, signs once and opens the connection, without a StartConference or a log line', async () => {
    await expectWarmedUpAtInit(cold);
  });

  it('the first invocation reuses the key, the token and the connection', async () => {
    const { fx } = cold;
    const body = JSON.stringify({ conference_name: 'warm-first', rule_id: fx.account.ruleId });
    const response = await cold.handler(httpEvent(body), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(cold.signings()).toBe(1);
    expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
    expect(fx.emulator.requests().map((r) => r.outcome)).toEqual(['success']);
  });
});
