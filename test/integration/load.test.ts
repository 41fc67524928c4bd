/**
 * Load: 1,000 POST /conferences at concurrency 50 through the deployed http bundle in one process (as one
 * Lambda instance would see them, only busier), against the emulator at a realistic latency. It fails only
 * on errors, lost requests, or extra secret fetches and token signings; the timing figures are reported.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { prepareBundles } from '../../bench/bundles.js';
import { type CoreFixture, SECRET_NAME, startCoreFixture } from '../helpers/fixture.js';

const REQUESTS = Number(process.env.VOXCONF_LOAD_REQUESTS ?? 1_000);
const CONCURRENCY = 50;
const LATENCY_MS = 20;

let fx: CoreFixture;
let workDir: string;

beforeAll(async () => {
  fx = await startCoreFixture({ emulator: { latencyMs: LATENCY_MS } });
  workDir = mkdtempSync(path.join(tmpdir(), 'voxconf-load-'));
}, 150_000);
afterAll(async () => {
  rmSync(workDir, { recursive: true, force: true });
  await fx.close();
});

function runChild(bundle: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...fx.env,
      BUNDLE: bundle,
      REQUESTS: String(REQUESTS),
      CONCURRENCY: String(CONCURRENCY),
      RULE_ID: String(fx.account.ruleId),
    };
    delete env.NODE_OPTIONS; // jest's VM flags are not for a Lambda-like process
    const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', 'load', 'load-child.mjs')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      // The bundle's own log lines join the leak scan's capture (npm test), like every test process's.
      if (process.env.VOXCONF_CAPTURE_DIR) process.stdout.write(out);
      const line = out.split('\n').find((l) => l.startsWith('LOAD_RESULT '));
      if (code !== 0 || !line) reject(new Error(`load child exited ${code}:\n${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice('LOAD_RESULT '.length)));
    });
  });
}

it(`serves ${REQUESTS} requests at concurrency ${CONCURRENCY} through the deployed bundle: no error, one secret fetch, one signing`, async () => {
  const bundles = await prepareBundles({ workDir, log: () => undefined });
  fx.secrets.clearCalls();
  fx.emulator.clearRequests();
  const result = await runChild(bundles.functions.http.file);

  const requests = fx.emulator.requests({ limit: REQUESTS * 2 });
  const signings = new Set(requests.map((r) => `${r.auth.kid}/${String(r.auth.iat)}/${String(r.auth.exp)}`)).size;
  const figures = {
    ...result,
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    emulated_latency_ms: LATENCY_MS,
    get_secret_value_calls: fx.secrets.getSecretValueCount(SECRET_NAME),
    jwt_signings: signings,
    upstream_requests: requests.length,
  };
  console.log(`load test figures: ${JSON.stringify(figures)}`);

  expect(result.completed).toBe(REQUESTS);
  expect(result.statuses).toEqual({ 200: REQUESTS });
  expect(requests).toHaveLength(REQUESTS);
  expect(requests.every((r) => r.status === 200 && r.auth.outcome === 'ok')).toBe(true);
  expect(figures.get_secret_value_calls).toBe(1);
  expect(figures.jwt_signings).toBe(1);
  expect(fx.emulator.conferences().filter((c) => c.name.startsWith('load-'))).toHaveLength(100);
}, 150_000);
