/**
 * Error names in the packaged bundles. The bundles are minified, which renames classes: an error named by
 * its class would reach Lambda's errorType, the logs and the schedule function's on-failure record as a
 * two-letter name. The packaged .mjs runs in its own process, as Lambda runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { extractZip } from '../../scripts/package.mjs';
import { ensurePackaged } from './package-helper.js';

let dir: string;
let closedPort: number;

/** A loopback port nothing listens on: connections to it are refused at once. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const packaged = ensurePackaged('dev', 'dev');
  dir = mkdtempSync(path.join(tmpdir(), 'voxconf-bundle-errors-'));
  // The whole zip, as Lambda unpacks it: the bundle imports its chunks from beside it.
  extractZip(path.join(packaged.dir, 'schedule.zip'), dir);
  closedPort = await refusedPort();
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Invokes the bundled schedule handler once in a fresh process; returns what it threw. */
function thrownBy(env: Record<string, string>): { name: string; code: string; constructorName: string } {
  const script = `
    const { handler } = await import(${JSON.stringify(path.join(dir, 'functions', 'schedule.mjs'))});
    const context = { getRemainingTimeInMillis: () => 3000, awsRequestId: 'r-1', functionName: 'schedule' };
    try {
      await handler({ request: { conference_name: 'names', rule_id: 1 } }, context);
      console.log(JSON.stringify({ name: 'none' }));
    } catch (error) {
      console.log(JSON.stringify({ name: error.name, code: error.code, constructorName: error.constructor.name }));
    }`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
  });
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !last.startsWith('{')) throw new Error(`bundle run failed: ${result.stderr}`);
  return JSON.parse(last);
}

describe('errors thrown by the packaged schedule bundle keep their names', () => {
  test('a missing setting: ConfigurationError', () => {
    const thrown = thrownBy({ DEAD_LETTER_QUEUE_URL: `http://127.0.0.1:${closedPort}/000000000000/dlq` });
    expect(thrown).toMatchObject({ name: 'ConfigurationError', code: 'configuration_error' });
    // Proves the bundle is minified: the class itself lost its name, the error did not.
    expect(thrown.constructorName).not.toBe('ConfigurationError');
  });

  test('Secrets Manager and the dead-letter queue unreachable: thrown for the on-failure destination, DeadLetterError', () => {
    const thrown = thrownBy({
      VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/credentials',
      VOXIMPLANT_API_URL: `http://127.0.0.1:${closedPort}/platform_api`,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${closedPort}`,
      DEAD_LETTER_QUEUE_URL: `http://127.0.0.1:${closedPort}/000000000000/dlq`,
    });
    expect(thrown).toMatchObject({ name: 'DeadLetterError', code: 'dead_letter_failed' });
  });
});
