/**
 * One Lambda-like process for the load test: imports a deployed bundle and invokes its handler
 * REQUESTS times, CONCURRENCY at a time, with API Gateway v2 events; prints one JSON line of figures.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const { BUNDLE, REQUESTS = '1000', CONCURRENCY = '50', RULE_ID } = process.env;
const requests = Number(REQUESTS);
const concurrency = Number(CONCURRENCY);
const { handler } = await import(pathToFileURL(BUNDLE).href);

function event(name) {
  const body = JSON.stringify({ conference_name: name, rule_id: Number(RULE_ID) });
  return {
    version: '2.0',
    routeKey: 'POST /conferences',
    rawPath: '/conferences',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    requestContext: {
      http: { method: 'POST', path: '/conferences', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'load' },
      requestId: randomUUID(),
      routeKey: 'POST /conferences',
      stage: '$default',
      authorizer: {
        iam: { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/backend/load' },
      },
    },
    body,
    isBase64Encoded: false,
  };
}

function context() {
  const deadline = Date.now() + 10_000;
  return {
    awsRequestId: randomUUID(),
    functionName: 'voxconf-load-http',
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

const latencies = [];
const statuses = {};
const memory = [];
let next = 0;
let done = 0;
const started = performance.now();
async function worker() {
  while (next < requests) {
    const i = next++;
    const t0 = performance.now();
    const response = await handler(event(`load-${i % 100}`), context());
    latencies.push(performance.now() - t0);
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    if (++done % 250 === 0)
      memory.push({
        after: done,
        rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
        heapMiB: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
      });
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const at = (p) => +latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
process.stdout.write(
  `LOAD_RESULT ${JSON.stringify({
    completed: latencies.length,
    statuses,
    requestsPerSecond: Math.round(requests / seconds),
    p50: at(50),
    p99: at(99),
    max: +latencies.at(-1).toFixed(1),
    memory,
    peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  })}\n`,
);
