/**
 * A function module loaded cold in this test file (each test file has its own module registry): the
 * stand-ins are up and the environment set before the import, so that the function's init (its warm-up)
 * runs against them; what init wrote is captured. Import this helper dynamically, after setting
 * POWERTOOLS_LOG_LEVEL: Powertools reads it when lib/ is first loaded.
 */
import { expect } from '@jest/globals';
import { type Captured, captureOutput } from './capture.js';
import { SECRET_NAME, startTriggerFixture, type TriggerFixture } from './fixture.js';
import { countSignings } from './signings.js';

export interface ColdFunction<H> {
  readonly fx: TriggerFixture;
  readonly handler: H;
  /** Signings since just before the import. */
  readonly signings: () => number;
  /** What the module wrote while it loaded. */
  readonly initOutput: Captured;
}

export async function loadColdFunction<H>(
  load: () => Promise<{ handler: unknown }>,
  /** Runs with the stand-ins up, just before the import (e.g. a fault the init should meet). */
  beforeImport: (fx: TriggerFixture) => void = () => undefined,
): Promise<ColdFunction<H>> {
  const fx = await startTriggerFixture();
  fx.secrets.clearCalls();
  beforeImport(fx);
  const signings = countSignings();
  const initOutput = captureOutput();
  let handler: H;
  try {
    ({ handler } = (await load()) as { handler: H });
  } finally {
    initOutput.restore();
  }
  return { fx, handler, signings, initOutput };
}

/**
 * What a conference function's init must have done: one GetSecretValue, one signing, the connection to Voximplant
 * open and unused, no StartConference, nothing written. And in that order: the connection opened before the secret
 * was read, since the function's entry (functions/<fn>.ts) evaluates ./connect-early.js before it imports the
 * handler, whose warm-up reads the secret.
 */
export async function expectWarmedUpAtInit(cold: ColdFunction<unknown>): Promise<void> {
  const { fx } = cold;
  expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
  expect(cold.signings()).toBe(1);
  for (let i = 0; i < 400 && fx.emulator.connections().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  expect(fx.emulator.connections()).toEqual([expect.objectContaining({ requests: 0, closedAt: null })]);
  const [connection] = fx.emulator.connections();
  const read = fx.secrets.calls().find((call) => call.action === 'GetSecretValue');
  expect(Date.parse(connection!.openedAt)).toBeLessThanOrEqual(read!.time);
  expect(fx.emulator.requests()).toEqual([]);
  expect(cold.initOutput.text()).toBe('');
}
