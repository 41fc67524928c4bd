/**
 * Warm runs in one process: each client (a bundled handler, the floor, the official SDK) is loaded and
 * warmed up, then called in rounds; in every round each client makes `block` calls back to back, and the
 * order of the clients rotates from round to round so that neither always goes first. Every call is timed
 * on its own. With `paced`, the first client alone is called every `intervalMs` for `durationMs` (cache TTL
 * checks). Writes per-call times and the peak RSS to spec.resultFile, then exits. A client with `env` is
 * imported with those variables set ('' for none) and the rest of the process's environment: a bundle reads
 * its settings once, at import, so two copies of one bundle can run in one process with different settings.
 *
 *   node bench/children/warm.mjs <spec.json>
 */
import { checkHandlerAnswer, cloneEvent, lambdaContext, now, peakRssBytes, readSpec, writeResult } from './harness.mjs';

const { pathToFileURL } = process.getBuiltinModule('node:url');
const spec = readSpec();
const modules = new Map();
const load = async (file, env = {}) => {
  if (!modules.has(file)) {
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    try {
      modules.set(file, await import(pathToFileURL(file).href));
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  }
  return modules.get(file);
};

/** Each client as { name, call(): Promise<void> } with its untimed preparation done outside call. */
async function makeClient(c) {
  const mod = await load(c.module, c.env);
  if (c.kind === 'voxconf') {
    return {
      name: c.name,
      prepare: () => ({
        event: cloneEvent(c.event, c.handlerKind),
        context: lambdaContext(c.functionName, c.timeoutMs),
      }),
      call: async ({ event, context }) => checkHandlerAnswer(c.handlerKind, await mod.handler(event, context)),
    };
  }
  if (c.kind === 'floor') {
    const client = mod.createFloorClient(c.floor);
    const { token } = await client.firstCall(c.params);
    return { name: c.name, prepare: () => undefined, call: () => client.startConference(token, c.params) };
  }
  if (c.kind === 'peer') {
    const client = await mod.createPeerClient(c.peer);
    return { name: c.name, prepare: () => undefined, call: () => mod.startConference(client, c.peer.request) };
  }
  throw new Error(`unknown client kind ${c.kind}`);
}

const clients = [];
for (const c of spec.clients) clients.push(await makeClient(c));
const samples = Object.fromEntries(clients.map((c) => [c.name, []]));
const roundMedians = Object.fromEntries(clients.map((c) => [c.name, []]));

const timed = async (client) => {
  const input = client.prepare();
  const t0 = now();
  await client.call(input);
  return now() - t0;
};
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// Warm-up: connections opened, code optimised a little, caches filled. Not timed.
for (let i = 0; i < (spec.warmup ?? 0); i++) for (const client of clients) await timed(client);

const started = now();
if (spec.paced) {
  const [client] = clients;
  const { intervalMs, durationMs } = spec.paced;
  const begin = now();
  for (let i = 0; now() - begin < durationMs; i++) {
    samples[client.name].push(await timed(client));
    const next = begin + (i + 1) * intervalMs;
    const wait = next - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
} else {
  for (let round = 0; round < spec.rounds; round++) {
    const order = clients.map((_, i) => clients[(i + round) % clients.length]);
    for (const client of order) {
      const block = [];
      for (let i = 0; i < spec.block; i++) block.push(await timed(client));
      samples[client.name].push(...block);
      roundMedians[client.name].push(median(block));
    }
  }
}
const elapsedMs = now() - started;
const memory = process.memoryUsage();

writeResult(spec, {
  samples,
  roundMedians,
  elapsedMs,
  peakRssBytes: peakRssBytes(),
  rssBytes: memory.rss,
  heapUsedBytes: memory.heapUsed,
  node: process.version,
});
process.exit(0);
