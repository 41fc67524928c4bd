/** A misconfigured function answers 500 with a generic body, and its log names the variable. */
import { afterAll, expect, it } from '@jest/globals';
import { captureOutput } from '../helpers/capture.js';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { expectMatchesOpenApi, fromLambdaResult } from '../helpers/openapi.js';

// Powertools reads its level when lib/ is first imported: set it before.
const saved = { ...process.env };
Object.assign(process.env, {
  POWERTOOLS_LOG_LEVEL: 'INFO',
  VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/test',
  VOXIMPLANT_API_URL: 'not a url',
});
const { handler } = (await import('../../functions/http.js')) as unknown as {
  handler: (
    event: unknown,
    context: unknown,
  ) => Promise<{ statusCode: number; body: string; headers?: Record<string, string> }>;
};
afterAll(() => {
  process.env = saved;
});

it('answers 500 configuration_error without internals, and logs which variable is wrong', async () => {
  const output = captureOutput();
  let response: { statusCode: number; body: string; headers?: Record<string, string> };
  try {
    response = await handler(httpEvent(JSON.stringify({ conference_name: 'a', rule_id: 1 })), lambdaContext());
  } finally {
    output.restore();
  }
  expect(response.statusCode).toBe(500);
  expect(expectMatchesOpenApi('POST', '/conferences', fromLambdaResult(response))).toEqual({
    error: { code: 'configuration_error', message: 'The service is misconfigured.' },
  });
  const errors = output.json().filter((line) => line.level === 'ERROR');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ message: 'request failed', error_code: 'configuration_error' });
  expect(String(errors[0]!.error_message)).toContain('VOXIMPLANT_API_URL');
});
