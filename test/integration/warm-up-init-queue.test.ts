/**
 * functions/queue.ts at init: the same warm-up as the http function (warm-up-init.test.ts), its own cold
 * start in this file: one GetSecretValue, one signing, the connection open, no StartConference, no log line.
 */
import { afterAll, beforeAll, it } from '@jest/globals';
import type { ColdFunction } from '../helpers/cold-function.js';

process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
const { expectWarmedUpAtInit, loadColdFunction } = await import('../helpers/cold-function.js');

let cold: ColdFunction<unknown>;
beforeAll(async () => {
  cold = await loadColdFunction(() => import('../../functions/queue.js'));
});
afterAll(async () => {
  await cold.fx.close();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

it('reads the secret once, signs once and opens the connection at init, without a StartConference', async () => {
  await expectWarmedUpAtInit(cold);
});
