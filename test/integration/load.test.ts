/**
 * Load: 1,000 POST /conferences at concurrency 50 through the HTTP handler in one process (as one Lambda
 * instance would see them, only busier), against the emulator at a realistic latency. It fails only on
 * errors, lost requests, or extra secret fetches and token signings; the timing figures are reported.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { httpEvent, lambdaContext } from '../helpers/events.js';
import { startCoreFixture, SECRET_NAME, type CoreFixture } from '../helpers/fixture.js';

const REQUESTS = Number(process.env.VOXCONF_LOAD_REQUESTS ?? 1_000);
const CONCURRENCY = 50;
const LATENCY_MS = 20;

let fx: CoreFixture;
let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
const saved = { ...process.env };

beforeAll(async () => {
  fx = await startCoreFixture({ emulator: { latencyMs: LATENCY_MS } });
  Object.assign(process.env, fx.env);
  ({ handler } = (await import('../../functions/http.js')) as never);
});
afterAll(async () => {
  process.env = saved;
  await fx.close();
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

it(`serves ${REQUESTS} requests at concurrency ${CONCURRENCY} with no error, one secret fetch and one signing`, async () => {
  fx.secrets.clearCalls();
  fx.emulator.clearRequests();
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const memory: Array<{ at: number; rss: number; heap: number }> = [];
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      // 100 rooms, each started once and joined nine times.
      const event = httpEvent(JSON.stringify({ conference_name: `load-${i % 100}`, rule_id: fx.account.ruleId }));
      const t0 = performance.now();
      const response = await handler(event, lambdaContext(10_000));
      latencies.push(performance.now() - t0);
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      done++;
      if (done % 250 === 0) memory.push({ at: done, rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;

  const sorted = [...latencies].sort((a, b) => a - b);
  const requests = fx.emulator.requests({ limit: REQUESTS * 2 });
  const signings = new Set(requests.map((r) => `${r.auth.kid}/${String(r.auth.iat)}/${String(r.auth.exp)}`)).size;
  const figures = {
    requests: REQUESTS,
    concurrency: CONCURRENCY,
    emulated_latency_ms: LATENCY_MS,
    ok: statuses.get(200) ?? 0,
    errors: REQUESTS - (statuses.get(200) ?? 0),
    requests_per_second: Math.round(REQUESTS / seconds),
    p50_ms: Math.round(percentile(sorted, 50) * 10) / 10,
    p99_ms: Math.round(percentile(sorted, 99) * 10) / 10,
    max_ms: Math.round(sorted.at(-1)! * 10) / 10,
    get_secret_value_calls: fx.secrets.getSecretValueCount(SECRET_NAME),
    jwt_signings: signings,
    upstream_requests: requests.length,
    memory_mib: memory.map((m) => ({ after: m.at, rss: mib(m.rss), heap: mib(m.heap) })),
  };
  console.log(`load test figures: ${JSON.stringify(figures)}`);

  expect(latencies).toHaveLength(REQUESTS);
  expect(Object.fromEntries(statuses)).toEqual({ 200: REQUESTS });
  expect(requests).toHaveLength(REQUESTS);
  expect(figures.get_secret_value_calls).toBe(1);
  expect(figures.jwt_signings).toBe(1);
  expect(fx.emulator.conferences().filter((c) => c.name.startsWith('load-'))).toHaveLength(100);
});
