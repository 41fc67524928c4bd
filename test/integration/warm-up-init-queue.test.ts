/**
 * functions/queue.ts at init: the same warm-up as the http function (warm-up-init.test.ts), its own cold
 * start in this file: one GetSecretValue, one signing, the connection open, no StartConference, no log line.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ColdFunction } from '../helpers/cold-function.js';

process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const { loadColdFunction } = await import('../helpers/cold-function.js');
const { SECRET_NAME } = await import('../helpers/fixture.js');

let cold: ColdFunction<unknown>;
beforeAll(async () => {
  cold = await loadColdFunction(() => import('../../functions/queue.js'));
});
afterAll(async () => {
  await cold.fx.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

it('reads the secret once, signs once and opens the connection at init, without a StartConference', async () => {
  const { fx } = cold;
  expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
  expect(cold.signings()).toBe(1);
  for (let i = 0; i < 400 && fx.emulator.connections().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 0, closedAt: null })]);
  expect(fx.emulator.requests()).toEqual([]);
  expect(cold.initOutput.text()).toBe('');
});
