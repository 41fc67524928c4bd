/**
 * The figures as rows (metric | voxconf | baseline | ratio | target | met?), printed as a table and saved
 * as JSON with the raw series, so any two runs can be compared.
 */

import type { BatchResults } from './batch.js';
import type { ColdKey, ColdResults, ColdSeries } from './cold.js';
import { LATENCY, TARGETS } from './config.js';
import type { NodeInfo } from './context.js';
import { FREEZE_MS, type FreezeSeries } from './freeze.js';
import type { ImportCost } from './import-cost.js';
import type { RegistryResults } from './registry.js';
import type { FunctionSize } from './size.js';
import { PROFILES } from './stack.js';
import { KiB, MiB, median, pairedDifference, pairedRatio, round, type Summary, summarize } from './stats.js';
import { runsOf, type WarmProcessResult, type WarmResults } from './warm.js';

export interface NodeRun {
  readonly node: NodeInfo;
  readonly cold: ColdResults;
  readonly warm: WarmResults;
  readonly batch: BatchResults;
  /** The registry write per start and at 20 ms (absent in runs saved before it). */
  readonly registry?: RegistryResults | undefined;
  /** Init, freeze, invoke (undefined without HTTPS or with no runs). */
  readonly freeze?: FreezeSeries | undefined;
  /** Each package imported alone (primary Node only). */
  readonly importCost?: ImportCost | undefined;
  readonly durationMs: number;
}

export interface Cell {
  readonly median: number;
  readonly min?: number;
  readonly max?: number;
  readonly n?: number;
}

export interface Row {
  readonly id: string;
  readonly node: string;
  readonly section:
    | 'cold'
    | 'distance'
    | 'freeze'
    | 'warm'
    | 'batch'
    | 'events'
    | 'registry'
    | 'memory'
    | 'size'
    | 'import'
    | 'counts'
    | 'peer';
  readonly metric: string;
  readonly unit: string;
  readonly voxconf: Cell;
  readonly baselineName?: string;
  readonly baseline?: Cell;
  readonly ratio?: Cell;
  /** What the ratio/value is held against, e.g. "<= 1.05x". Empty: information only. */
  readonly target?: string;
  /** undefined: information only. */
  readonly met?: boolean;
  readonly note?: string;
}

const cell = (s: Summary, scale = 1): Cell => ({
  median: round(s.median / scale),
  min: round(s.min / scale),
  max: round(s.max / scale),
  n: s.n,
});
const single = (value: number): Cell => ({ median: round(value) });

function coldRows(nodeLabel: string, cold: ColdResults): Row[] {
  const rows: Row[] = [];
  const v = cold.series.voxconf;
  const f = cold.series.floor;
  if (!v || !f) return rows;
  const pair = (
    id: string,
    metric: string,
    pick: (s: ColdSeries) => number[],
    target: number | undefined,
    note?: string,
  ): Row => {
    const ratio = pairedRatio(pick(v), pick(f));
    const value = ratio.median;
    return {
      id,
      node: nodeLabel,
      section: 'cold',
      metric,
      unit: 'ms',
      voxconf: cell(summarize(pick(v))),
      baselineName: 'floor',
      baseline: cell(summarize(pick(f))),
      ratio: cell(ratio),
      ...(target !== undefined ? { target: `<= ${target}x`, met: value <= target } : {}),
      ...(note ? { note } : {}),
    };
  };
  rows.push(
    pair(
      'cold.processToAnswer',
      'cold start: process start -> first answer',
      (s) => s.sinceProcessStartMs,
      TARGETS.coldRatio,
      "includes Node's own bootstrap (the same for both)",
    ),
    pair(
      'cold.importPlusInvoke',
      'cold start: import + first invocation (bootstrap excluded)',
      (s) => s.totalMs,
      TARGETS.coldRatio,
      'the stricter reading of the cold target',
    ),
    pair(
      'cold.import',
      'cold: import of the bundle, its init included',
      (s) => s.importMs,
      undefined,
      'voxconf: the warm-up at init reads the secret, signs and connects; floor: loading node:https/node:crypto + its module',
    ),
    pair(
      'cold.firstInvocation',
      'cold: first invocation (floor: GetSecretValue, key import, sign, StartConference; voxconf: what init left)',
      (s) => s.invokeMs,
      undefined,
    ),
  );
  const rss = pairedRatio(v.peakRssBytes, f.peakRssBytes);
  const rssValue = rss.median;
  rows.push({
    id: 'cold.peakRss',
    node: nodeLabel,
    section: 'cold',
    metric: 'cold: peak RSS after the first invocation',
    unit: 'MiB',
    voxconf: cell(summarize(v.peakRssBytes), MiB),
    baselineName: 'floor',
    baseline: cell(summarize(f.peakRssBytes), MiB),
    ratio: cell(rss),
    target: `<= ${TARGETS.memoryRatio}x`,
    met: rssValue <= TARGETS.memoryRatio,
  });
  for (const other of ['queue', 'schedule'] as const) {
    const s = cold.series[other];
    if (!s || s.totalMs.length === 0) continue;
    const paired = pairedRatio(s.sinceProcessStartMs, f.sinceProcessStartMs);
    const value = paired.median;
    rows.push({
      id: `cold.${other}.processToAnswer`,
      node: nodeLabel,
      section: 'cold',
      metric: `cold start, ${other} function: process start -> first answer`,
      unit: 'ms',
      voxconf: cell(summarize(s.sinceProcessStartMs)),
      baselineName: 'floor',
      baseline: cell(summarize(f.sinceProcessStartMs)),
      ratio: cell(paired),
      target: `<= ${TARGETS.coldRatio}x`,
      met: value <= TARGETS.coldRatio,
      note: `outcome events on (EventBridge client loaded, first PutEvents in the answer); import ${round(median(s.importMs), 1)} ms + first invocation ${round(median(s.invokeMs), 1)} ms`,
    });
  }
  const lifecycle = cold.series.lifecycle;
  if (lifecycle?.sinceProcessStartMs.length) {
    rows.push({
      id: 'cold.lifecycle.processToAnswer',
      node: nodeLabel,
      section: 'cold',
      metric:
        'cold start, lifecycle API (GET /conferences?status=active, DynamoDB on loopback): process start -> first answer',
      unit: 'ms',
      voxconf: cell(summarize(lifecycle.sinceProcessStartMs)),
      note: `information; import ${round(median(lifecycle.importMs), 1)} ms + first invocation ${round(median(lifecycle.invokeMs), 1)} ms (a Query of the status index)`,
    });
  }
  const api = cold.series.schedules;
  if (api?.sinceProcessStartMs.length) {
    rows.push({
      id: 'cold.schedules.processToAnswer',
      node: nodeLabel,
      section: 'cold',
      metric: 'cold start, schedules API (GET /schedules, Scheduler stand-in): process start -> first answer',
      unit: 'ms',
      voxconf: cell(summarize(api.sinceProcessStartMs)),
      note: `information; import ${round(median(api.importMs), 1)} ms + first invocation ${round(median(api.invokeMs), 1)} ms (ListSchedules on both groups, no init warm-up)`,
    });
  }
  return rows;
}

/** Outcome events: the batch with PutEvents after the starts, and what a publish adds to one start. */
function eventsRows(nodeLabel: string, batch: BatchResults): Row[] {
  const rows: Row[] = [];
  const rtt = (result: WarmProcessResult) => result.eventsRttMs ?? 0;
  const events = batch.events;
  if (events) {
    const b10 = runsOf(events, 'voxconf-batch10');
    const b1 = runsOf(events, 'voxconf-batch1');
    if (b10.length && b1.length) {
      const paired = pairedRatio(b10, b1);
      rows.push({
        id: 'events.batch.10vs1',
        node: nodeLabel,
        section: 'events',
        metric: `SQS batch of 10 vs 1 record with outcome events, ${LATENCY.batch} ms latency (${events.transport}; PutEvents at AWS ${rtt(events)} ms RTT)`,
        unit: 'ms',
        voxconf: cell(summarize(b10)),
        baselineName: '1 record',
        baseline: cell(summarize(b1)),
        ratio: cell(paired),
        target: `<= ${TARGETS.batchRatio}x`,
        met: paired.median <= TARGETS.batchRatio,
        note: 'one PutEvents per invocation (10 entries vs 1), after the starts',
      });
    }
  }
  const publish = batch.publish;
  if (publish) {
    rows.push(
      ...addedOverRoundTrip({
        nodeLabel,
        id: 'events.publish.added',
        metric: `outcome event publish: queue function, 1 record, events on vs off, 0 ms latency (${publish.transport}; PutEvents at AWS ${rtt(publish)} ms RTT): per invocation`,
        result: publish,
        zero: batch.publishZero,
        on: 'voxconf-batch1',
        off: 'voxconf-batch1-quiet',
        offLabel: 'events off',
        rttMs: rtt(publish),
        beyondRttMs: TARGETS.publishAddedBeyondRttMs,
        section: 'events',
      }),
    );
  }
  return rows;
}

/** The package the registry's writer loads lazily (bench/import-cost.ts measures it alone). */
const REGISTRY_CLIENT_PACKAGE = '@aws-sdk/client-dynamodb';

/**
 * The registry (lib/registry.ts): what its write adds to one start (target: one AWS round trip + 1 ms, as the
 * outcome-event publish), the warm start with it on at 20 ms, and the cold start: the StartConference request must
 * leave no later with the registry on than off (the DynamoDB client loads after it), held to half the time the
 * client takes to import alone, so that loading it first would miss the target.
 */
export function registryRows(
  nodeLabel: string,
  registry: RegistryResults | undefined,
  cold: ColdResults,
  importCost: ImportCost | undefined,
): Row[] {
  const rows: Row[] = [];
  const rtt = (result: WarmProcessResult) => result.registryRttMs ?? 0;
  const on = 'voxconf-registry';
  const write = registry?.write;
  if (write) {
    const zero = registry.writeZero;
    const ops = write.registryOperations ?? {};
    const connections =
      write.registryConnections === undefined ? '' : ` over ${write.registryConnections} connection(s)`;
    rows.push(
      ...addedOverRoundTrip({
        nodeLabel,
        id: 'registry.write.added',
        metric: `registry write: http function, registry on vs off, 0 ms latency (${write.transport}; DynamoDB at AWS ${rtt(write)} ms RTT): per invocation`,
        result: write,
        zero,
        on,
        off: 'voxconf',
        offLabel: 'registry off',
        rttMs: rtt(write),
        beyondRttMs: TARGETS.registryAddedBeyondRttMs,
        section: 'registry',
        note: `; DynamoDB got ${ops.UpdateItem ?? 0} UpdateItem + ${ops.PutItem ?? 0} PutItem (checked: one per start, the first start's join failing and putting the record)${connections}`,
      }),
    );
    if (zero) {
      rows.push(
        ...warmPair(
          nodeLabel,
          'registry.write.added0',
          `registry write at 0 RTT (same path: proxy, TLS; information): registry on vs off, per invocation`,
          zero,
          on,
          'voxconf',
          'registry off',
          {},
          'registry',
        ),
      );
    }
  }
  const warm20 = registry?.warm20;
  if (warm20) {
    const floorMedian = median(runsOf(warm20, 'floor'));
    const allowed = (TARGETS.warm20Ratio - 1) * floorMedian + rtt(warm20) + TARGETS.registryAddedBeyondRttMs;
    const off = pairedDifference(runsOf(warm20, on), runsOf(warm20, 'voxconf'));
    for (const row of warmPair(
      nodeLabel,
      'registry.warm.20ms',
      `warm with the registry on, ${LATENCY.warm} ms latency (${warm20.transport}; DynamoDB at AWS ${rtt(warm20)} ms RTT): per invocation`,
      warm20,
      on,
      'floor',
      'floor',
      {
        addedMs: round(allowed, 3),
        label: `<= ${TARGETS.warm20Ratio}x floor + 1 AWS RTT + ${TARGETS.registryAddedBeyondRttMs} ms (+${round(allowed, 2)} ms)`,
      },
      'registry',
    )) {
      rows.push({
        ...row,
        note: `${row.note ?? ''}; vs the registry off in the same process +${round(off.median, 3)} ms${warm20.registryConnections === undefined ? '' : `; ${warm20.registryConnections} connection(s) to DynamoDB`}`,
      });
    }
  }
  const v = cold.series.voxconf;
  const r = cold.series['voxconf-registry'];
  if (v?.requestMs.length && r?.requestMs.length) {
    const added = pairedDifference(r.requestMs, v.requestMs);
    const client = importCost?.packages.find((p) => p.name === REGISTRY_CLIENT_PACKAGE);
    const clientMs = client?.importMs.length ? median(client.importMs) : undefined;
    const allowed = clientMs === undefined ? undefined : clientMs / 2;
    rows.push({
      id: 'registry.cold.toRequest',
      node: nodeLabel,
      section: 'registry',
      metric: 'cold start, http with the registry on vs off: process start -> StartConference at Voximplant',
      unit: 'ms',
      voxconf: cell(summarize(r.requestMs)),
      baselineName: 'registry off',
      baseline: cell(summarize(v.requestMs)),
      ratio: cell(pairedRatio(r.requestMs, v.requestMs)),
      ...(allowed === undefined
        ? {}
        : {
            target: `<= +${round(allowed, 1)} ms (half of ${REGISTRY_CLIENT_PACKAGE} imported alone)`,
            met: added.median <= allowed,
          }),
      note: `added ${round(added.median, 2)} ms (paired; ${round(added.min, 1)} to ${round(added.max, 1)}); the DynamoDB client must load after the request is sent${clientMs === undefined ? '' : `, loading it first would add ~${round(clientMs, 1)} ms`}; init (import) ${round(median(r.importMs), 1)} ms on vs ${round(median(v.importMs), 1)} ms off`,
    });
    const answer = pairedDifference(r.sinceProcessStartMs, v.sinceProcessStartMs);
    rows.push({
      id: 'registry.cold.processToAnswer',
      node: nodeLabel,
      section: 'registry',
      metric: 'cold start, http with the registry on vs off: process start -> first answer (DynamoDB on loopback)',
      unit: 'ms',
      voxconf: cell(summarize(r.sinceProcessStartMs)),
      baselineName: 'registry off',
      baseline: cell(summarize(v.sinceProcessStartMs)),
      ratio: cell(pairedRatio(r.sinceProcessStartMs, v.sinceProcessStartMs)),
      note: `information: +${round(answer.median, 1)} ms, the client's load and the first write (UpdateItem, then PutItem of the new record) after Voximplant's answer`,
    });
  }
  return rows;
}

const profileLabel = (profile: 'realistic' | 'far') =>
  `Voximplant ${PROFILES[profile].voximplant} ms, AWS ${PROFILES[profile].aws} ms RTT`;

/**
 * What one side of a pair adds over the other (a publish, a registry write), held to one AWS round trip plus
 * `beyondRttMs`; the same pair at 0 RTT on the same path (`zero`) tells its own work from the round trip.
 */
function addedOverRoundTrip(pair: {
  nodeLabel: string;
  id: string;
  metric: string;
  result: WarmProcessResult;
  zero: WarmProcessResult | undefined;
  on: string;
  off: string;
  offLabel: string;
  rttMs: number;
  beyondRttMs: number;
  section: Row['section'];
  note?: string;
}): Row[] {
  const allowed = pair.rttMs + pair.beyondRttMs;
  const added = (result: WarmProcessResult) => pairedDifference(runsOf(result, pair.on), runsOf(result, pair.off));
  const zero = pair.zero ? added(pair.zero) : undefined;
  const own =
    zero && Number.isFinite(zero.median)
      ? `; at 0 RTT (same path) +${round(zero.median, 3)} ms, so the ${pair.rttMs} ms round trip took ~${round(added(pair.result).median - zero.median, 2)} ms through the proxy`
      : '';
  return warmPair(
    pair.nodeLabel,
    pair.id,
    pair.metric,
    pair.result,
    pair.on,
    pair.off,
    pair.offLabel,
    { addedMs: round(allowed, 3), label: `<= +${round(allowed, 3)} ms (1 AWS RTT + ${pair.beyondRttMs})` },
    pair.section,
  ).map((row) => ({ ...row, note: `${row.note ?? ''}${own}${pair.note ?? ''}` }));
}

/** Cold start at a network distance (through the latency proxies), and init-freeze-invoke. */
function distanceRows(nodeLabel: string, cold: ColdResults, freeze: FreezeSeries | undefined): Row[] {
  const rows: Row[] = [];
  const at = (key: ColdKey) => cold.series[key];
  const real = at('voxconf@realistic');
  const pair = (
    id: string,
    metric: string,
    a: ColdSeries,
    b: ColdSeries,
    baselineName: string,
    extra: Partial<Row> = {},
  ): Row => ({
    id,
    node: nodeLabel,
    section: 'distance',
    metric,
    unit: 'ms',
    voxconf: cell(summarize(a.sinceProcessStartMs)),
    baselineName,
    baseline: cell(summarize(b.sinceProcessStartMs)),
    ratio: cell(pairedRatio(a.sinceProcessStartMs, b.sinceProcessStartMs)),
    ...extra,
  });
  const zero = at('voxconf@zero');
  if (real && zero && real.sinceProcessStartMs.length) {
    const added = pairedDifference(real.sinceProcessStartMs, zero.sinceProcessStartMs);
    const allowed = PROFILES.realistic.voximplant + TARGETS.distantAddedBeyondRttMs;
    rows.push(
      pair(
        'distance.cold.vsZero',
        `cold start at the realistic profile (${profileLabel('realistic')}): process start -> first answer, vs voxconf at 0 RTT`,
        real,
        zero,
        'voxconf, 0 RTT',
        {
          target: `<= +${allowed} ms (1 RTT + ${TARGETS.distantAddedBeyondRttMs})`,
          met: added.median <= allowed,
          note: `added ${round(added.median, 1)} ms (paired; ${round(added.min, 1)} to ${round(added.max, 1)}); 0 RTT on the same path (proxies, Secrets Manager over HTTPS); init ${round(median(real.importMs), 1)} ms + first invocation ${round(median(real.invokeMs), 1)} ms`,
        },
      ),
    );
  }
  const peer = at('peer@realistic');
  if (real && peer?.sinceProcessStartMs.length) {
    const ratio = pairedRatio(real.sinceProcessStartMs, peer.sinceProcessStartMs);
    rows.push(
      pair(
        'distance.cold.vsPeer',
        'cold start at the realistic profile vs official SDK: process start -> first answer',
        real,
        peer,
        'official SDK',
        {
          target: `<= ${TARGETS.distantVsPeerRatio}x`,
          met: ratio.median <= TARGETS.distantVsPeerRatio,
          note: 'the SDK reads credentials.json from a file; voxconf also fetches it from Secrets Manager',
        },
      ),
    );
  }
  const floor = at('floor@realistic');
  if (real && floor?.sinceProcessStartMs.length) {
    rows.push(
      pair(
        'distance.cold.vsFloor',
        'cold start at the realistic profile vs the floor: process start -> first answer',
        real,
        floor,
        'floor',
        { note: 'the floor is sequential: GetSecretValue, sign, then connect to Voximplant and POST' },
      ),
    );
  }
  const far = at('voxconf@far');
  for (const [other, name] of [
    ['floor@far', 'floor'],
    ['peer@far', 'official SDK'],
  ] as const) {
    const base = at(other);
    if (far && base?.sinceProcessStartMs.length) {
      rows.push(
        pair(
          `distance.far.vs${name === 'floor' ? 'Floor' : 'Peer'}`,
          `cold start at the far profile (${profileLabel('far')}) vs ${name}: process start -> first answer`,
          far,
          base,
          name,
        ),
      );
    }
  }
  if (real?.apiConnections.length) {
    const most = Math.max(...real.apiConnections);
    rows.push({
      id: 'distance.cold.connections',
      node: nodeLabel,
      section: 'counts',
      metric: `connections to Voximplant per cold start at the realistic profile (max over ${real.apiConnections.length})`,
      unit: 'calls',
      voxconf: single(most),
      note: 'opened at init, then used by the first POST',
    });
  }
  if (freeze?.firstMs.length) {
    const ratio = pairedRatio(freeze.firstMs, freeze.warmMs);
    rows.push({
      id: 'freeze.firstVsWarm',
      node: nodeLabel,
      section: 'freeze',
      metric: `init, freeze ${FREEZE_MS / 1000} s (SIGSTOP), invoke: the first invocation vs a warm one, realistic profile`,
      unit: 'ms',
      voxconf: cell(summarize(freeze.firstMs)),
      baselineName: 'warm invocation',
      baseline: cell(summarize(freeze.warmMs)),
      ratio: cell(ratio),
      target: `<= ${TARGETS.freezeFirstRatio}x`,
      met: ratio.median <= TARGETS.freezeFirstRatio,
      note: `init (import with the warm-up) ${round(median(freeze.initMs), 1)} ms; ${freeze.firstMs.length} processes, GetSecretValue ${Math.max(...freeze.getSecretValue)}, signings ${Math.max(...freeze.signings)}, connections ${Math.max(...freeze.apiConnections)} per process`,
    });
  }
  return rows;
}

function importRows(nodeLabel: string, cost: ImportCost | undefined): Row[] {
  if (!cost) return [];
  const rows: Row[] = [];
  const empty = cost.baselineMs.length ? median(cost.baselineMs) : undefined;
  for (const entry of cost.packages) {
    rows.push({
      id: `import.${entry.name}`,
      node: nodeLabel,
      section: 'import',
      metric: `import alone: ${entry.name}`,
      unit: 'ms',
      voxconf: cell(summarize(entry.importMs)),
      note: `${round(entry.bytes / KiB, 1)} KiB bundled alone; in ${entry.functions.join(', ')}; ${entry.names.join(', ')}${empty === undefined ? '' : `; an empty bundle takes ${round(empty, 2)} ms`}`,
    });
  }
  return rows;
}

function warmPair(
  nodeLabel: string,
  id: string,
  metric: string,
  result: WarmProcessResult,
  a: string,
  b: string,
  baselineName: string,
  target: { ratio?: number; addedMs?: number; below?: boolean; label?: string },
  section: Row['section'] = 'warm',
): Row[] {
  const ra = runsOf(result, a);
  const rb = runsOf(result, b);
  if (ra.length === 0 || rb.length === 0) return [];
  const ratioRuns = pairedRatio(ra, rb);
  const diffRuns = pairedDifference(ra, rb);
  // Paired: round i of voxconf against round i of the baseline, run back to back in the same process.
  const value = ratioRuns.median;
  const added = diffRuns.median;
  const rows: Row[] = [];
  const base = {
    node: nodeLabel,
    section,
    unit: 'ms',
    voxconf: cell(summarize(ra)),
    baselineName,
    baseline: cell(summarize(rb)),
    ratio: cell(ratioRuns),
  };
  if (target.addedMs !== undefined) {
    rows.push({
      ...base,
      id,
      metric,
      target: target.label ?? `<= +${target.addedMs} ms`,
      met: added <= target.addedMs,
      note: `added ${round(added, 3)} ms per invocation (median of ${diffRuns.n} paired rounds; ${round(diffRuns.min, 3)} to ${round(diffRuns.max, 3)})`,
    });
  } else if (target.ratio !== undefined) {
    rows.push({
      ...base,
      id,
      metric,
      target: `<= ${target.ratio}x`,
      met: value <= target.ratio,
      note: `added ${round(added, 3)} ms per invocation`,
    });
  } else if (target.below) {
    rows.push({
      ...base,
      id,
      metric,
      target: '< 1x (faster)',
      met: value < 1,
      note: `${round(-added, 3)} ms faster per invocation`,
    });
  } else {
    rows.push({ ...base, id, metric, note: `added ${round(added, 3)} ms per invocation` });
  }
  return rows;
}

function countRow(
  nodeLabel: string,
  id: string,
  metric: string,
  value: number,
  expected: string,
  met: boolean | undefined,
  note?: string,
): Row {
  return {
    id,
    node: nodeLabel,
    section: 'counts',
    metric,
    unit: 'calls',
    voxconf: single(value),
    target: expected,
    ...(met !== undefined ? { met } : {}),
    ...(note ? { note } : {}),
  };
}

/** `registry-writer 44.3, event-bus 21.1, ...` (KiB), the chunk's module name without function prefix and hash. */
function lazyChunkList(size: FunctionSize): string {
  return [...size.lazyFiles]
    .sort((a, b) => b.bytes - a.bytes)
    .map((file) => {
      const base = file.name.slice(file.name.lastIndexOf('/') + 1);
      const module = base.replace(new RegExp(`^${size.function}\\.`), '').replace(/-[A-Z0-9]{8}\.mjs$/, '');
      return `${module} ${round(file.bytes / KiB, 1)}`;
    })
    .join(', ');
}

export function buildRows(run: NodeRun, sizes: FunctionSize[] | undefined): Row[] {
  const n = `node ${run.node.version}`;
  const rows: Row[] = [];
  rows.push(...coldRows(n, run.cold));
  const distance = distanceRows(n, run.cold, run.freeze);
  rows.push(...distance.filter((row) => row.section !== 'counts'));
  const { warm20, warm0, warm0Http, memory, ttl } = run.warm;
  rows.push(
    ...warmPair(
      n,
      'warm.20ms',
      `warm, ${LATENCY.warm} ms latency (${warm20.transport}): per invocation`,
      warm20,
      'voxconf',
      'floor',
      'floor',
      { ratio: TARGETS.warm20Ratio },
    ),
    ...warmPair(
      n,
      'warm.0ms',
      `warm, 0 ms latency (${warm0.transport}): per invocation`,
      warm0,
      'voxconf',
      'floor',
      'floor',
      { addedMs: TARGETS.warm0AddedMs },
    ),
  );
  if (warm0Http) {
    rows.push(
      ...warmPair(
        n,
        'warm.0ms.http',
        'warm, 0 ms latency (http, no TLS): per invocation',
        warm0Http,
        'voxconf',
        'floor',
        'floor',
        { addedMs: TARGETS.warm0AddedMs },
      ),
    );
  }
  // Batch
  const b10 = runsOf(run.batch.warm, 'voxconf-batch10');
  const b1 = runsOf(run.batch.warm, 'voxconf-batch1');
  if (b10.length && b1.length) {
    const paired = pairedRatio(b10, b1);
    const value = paired.median;
    rows.push({
      id: 'batch.10vs1',
      node: n,
      section: 'batch',
      metric: `SQS batch of 10 vs 1 record, ${LATENCY.batch} ms latency (${run.batch.warm.transport})`,
      unit: 'ms',
      voxconf: cell(summarize(b10)),
      baselineName: '1 record',
      baseline: cell(summarize(b1)),
      ratio: cell(paired),
      target: `<= ${TARGETS.batchRatio}x`,
      met: value <= TARGETS.batchRatio,
      note: '10 records one after another would be ~10x',
    });
  }
  rows.push(...eventsRows(n, run.batch));
  rows.push(...registryRows(n, run.registry, run.cold, run.importCost));
  // Memory
  if (memory.voxconf && memory.floor) {
    const value = memory.voxconf.peakRssBytes / memory.floor.peakRssBytes;
    const invocations = memory.voxconf.samples.voxconf?.length ?? 0;
    rows.push({
      id: 'memory.peakRss',
      node: n,
      section: 'memory',
      metric: `peak RSS of a process serving ${invocations} invocations`,
      unit: 'MiB',
      voxconf: single(memory.voxconf.peakRssBytes / MiB),
      baselineName: 'floor',
      baseline: single(memory.floor.peakRssBytes / MiB),
      ratio: single(value),
      target: `<= ${TARGETS.memoryRatio}x`,
      met: value <= TARGETS.memoryRatio,
      note: `separate processes, 0 ms latency; per invocation ${round(median(memory.voxconf.samples.voxconf ?? []), 3)} ms vs ${round(median(memory.floor.samples.floor ?? []), 3)} ms`,
    });
    if (memory.peer) {
      rows.push({
        id: 'peer.memory.peakRss',
        node: n,
        section: 'peer',
        metric: `peak RSS serving ${invocations} invocations, vs official SDK`,
        unit: 'MiB',
        voxconf: single(memory.voxconf.peakRssBytes / MiB),
        baselineName: 'official SDK',
        baseline: single(memory.peer.peakRssBytes / MiB),
        ratio: single(memory.voxconf.peakRssBytes / memory.peer.peakRssBytes),
      });
    }
  }
  // Sizes (same for every Node: only with the primary)
  for (const size of sizes ?? []) {
    rows.push({
      id: `size.${size.function}`,
      node: n,
      section: 'size',
      metric: `bundle ${size.function} minified, loaded at import: main + ${size.startFiles - 1} chunks (gzip ${round(size.gzipBytes / KiB, 1)} KiB, zip ${round(size.zipBytes / KiB, 1)} KiB)`,
      unit: 'KiB',
      voxconf: single(size.startBytes / KiB),
      target: `<= ${TARGETS.bundleKiB} KiB`,
      met: size.startBytes <= TARGETS.bundleKiB * KiB,
      note:
        `main file ${round(size.mainBytes / KiB, 1)} KiB` +
        // A start function's entry: what is evaluated before connect-early opens the connection to Voximplant.
        (size.firstBytes < size.startBytes
          ? `, ${round(size.firstBytes / KiB, 1)} KiB in ${size.firstFiles} files before the connection starts`
          : '') +
        '; loaded on first use: ' +
        (size.lazyFiles.length
          ? `${round(size.lazyBytes / KiB, 1)} KiB in ${size.lazyFiles.length} chunks (${lazyChunkList(size)})`
          : 'nothing'),
    });
    const unused = size.packages.filter((p) => p.unusedReason);
    rows.push({
      id: `size.${size.function}.unused`,
      node: n,
      section: 'size',
      metric: `bundle ${size.function} (every file): bytes of packages it does not use`,
      unit: 'KiB',
      voxconf: single(size.unusedBytes / KiB),
      target: '0 (nothing unused)',
      met: size.unusedBytes === 0,
      note: unused.length
        ? `${unused.map((p) => `${p.name} ${round(p.bytes / KiB, 1)}`).join(', ')}${size.metafileIdentical ? '' : ' (approximate: metafile build differs from the package)'}`
        : undefined,
    });
  }
  rows.push(...importRows(n, run.importCost));
  // Counts
  rows.push(...distance.filter((row) => row.section === 'counts'));
  const v = run.cold.series.voxconf;
  if (v) {
    const gsv = Math.max(...v.getSecretValue);
    const sig = Math.max(...v.signings);
    rows.push(
      countRow(
        n,
        'counts.cold.getSecretValue',
        `GetSecretValue per cold start (max over ${v.getSecretValue.length} processes)`,
        gsv,
        '1',
        gsv === 1 && Math.min(...v.getSecretValue) === 1,
      ),
      countRow(
        n,
        'counts.cold.signings',
        `JWT signings per cold start (max over ${v.signings.length} processes)`,
        sig,
        '1',
        sig === 1 && Math.min(...v.signings) === 1,
      ),
    );
  }
  const cold10 = run.batch.cold10;
  if (cold10?.getSecretValue.length) {
    const gsv = Math.max(...cold10.getSecretValue);
    const sig = Math.max(...cold10.signings);
    rows.push(
      countRow(
        n,
        'counts.coldBatch.getSecretValue',
        'GetSecretValue, cold start on a batch of 10 records',
        gsv,
        '1',
        gsv === 1,
      ),
      countRow(
        n,
        'counts.coldBatch.signings',
        'JWT signings, cold start on a batch of 10 records',
        sig,
        '1',
        sig === 1,
      ),
    );
  }
  for (const [label, result] of [
    [`warm ${LATENCY.warm} ms`, warm20],
    ['warm 0 ms', warm0],
    ['memory', memory.voxconf],
  ] as const) {
    if (!result?.counts.voxconf) continue;
    const c = result.counts.voxconf;
    rows.push(
      countRow(
        n,
        `counts.${result.label}.getSecretValue`,
        `GetSecretValue over a warm process (${label}, ${c.requests} invocations)`,
        c.getSecretValue,
        '1 (TTL 300 s not reached)',
        c.getSecretValue === 1,
      ),
      countRow(
        n,
        `counts.${result.label}.signings`,
        `JWT signings over a warm process (${label}, ${c.requests} invocations)`,
        c.signings,
        '1 (token lifetime 600 s not reached)',
        c.signings === 1,
      ),
    );
  }
  if (ttl?.counts.voxconf) {
    const c = ttl.counts.voxconf;
    const windows = Math.ceil(ttl.durationMs / (ttl.ttlSeconds * 1000));
    const gsvMet = c.getSecretValue >= windows && c.getSecretValue <= windows + 1;
    rows.push(
      countRow(
        n,
        'counts.ttl.getSecretValue',
        `GetSecretValue with a ${ttl.ttlSeconds} s TTL over ${ttl.durationMs} ms (${c.requests} invocations)`,
        c.getSecretValue,
        `${windows}-${windows + 1} (one per TTL)`,
        gsvMet,
      ),
      countRow(
        n,
        'counts.ttl.signings',
        `JWT signings with a ${ttl.ttlSeconds} s credentials TTL over ${ttl.durationMs} ms`,
        c.signings,
        '1 (one per token lifetime)',
        c.signings === 1,
        c.signings > 1 ? 'a credentials refresh re-signs even when the key is unchanged' : undefined,
      ),
    );
  }
  // Peer: the official SDK
  const peer = run.cold.series.peer;
  if (v && peer) {
    for (const [id, metric, pick] of [
      [
        'peer.cold.processToAnswer',
        'cold start vs official SDK: process start -> first answer',
        (s: ColdSeries) => s.sinceProcessStartMs,
      ],
      [
        'peer.cold.importPlusInvoke',
        'cold start vs official SDK: import + first invocation',
        (s: ColdSeries) => s.totalMs,
      ],
    ] as const) {
      const paired = pairedRatio(pick(v), pick(peer));
      const value = paired.median;
      rows.push({
        id,
        node: n,
        section: 'peer',
        metric,
        unit: 'ms',
        voxconf: cell(summarize(pick(v))),
        baselineName: 'official SDK',
        baseline: cell(summarize(pick(peer))),
        ratio: cell(paired),
        target: '< 1x (faster)',
        met: value < 1,
        note: 'the SDK reads credentials.json from a file; voxconf also fetches it from Secrets Manager',
      });
    }
    const unbundled = run.cold.series['peer-unbundled'];
    if (unbundled?.totalMs.length) {
      rows.push({
        id: 'peer.cold.unbundled',
        node: n,
        section: 'peer',
        metric: 'cold start vs official SDK from node_modules (not bundled): process start -> answer',
        unit: 'ms',
        voxconf: cell(summarize(v.sinceProcessStartMs)),
        baselineName: 'official SDK (node_modules)',
        baseline: cell(summarize(unbundled.sinceProcessStartMs)),
        ratio: single(median(v.sinceProcessStartMs) / median(unbundled.sinceProcessStartMs)),
      });
    }
  }
  if (warm20.samples.peer) {
    rows.push(
      ...warmPair(
        n,
        'peer.warm.20ms',
        `warm vs official SDK, ${LATENCY.warm} ms latency: per invocation`,
        warm20,
        'voxconf',
        'peer',
        'official SDK',
        { below: true },
        'peer',
      ),
    );
  }
  if (warm0.samples.peer) {
    rows.push(
      ...warmPair(
        n,
        'peer.warm.0ms',
        'warm vs official SDK, 0 ms latency: per invocation',
        warm0,
        'voxconf',
        'peer',
        'official SDK',
        { below: true },
        'peer',
      ),
    );
  }
  return rows;
}

const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));

function digitsFor(unit: string, value: number): number {
  if (unit === 'calls') return 0;
  if (unit === 'ms' && Math.abs(value) < 10) return 2;
  return 1;
}

export function formatCell(c: Cell | undefined, unit: string, withRange = true): string {
  if (!c) return '';
  const d = digitsFor(unit, c.median);
  const main = fmt(c.median, d);
  if (!withRange || c.min === undefined || c.max === undefined || c.min === c.max) return main;
  return `${main} (${fmt(c.min, d)}-${fmt(c.max, d)})`;
}

function formatRatio(c: Cell | undefined): string {
  if (!c) return '';
  return c.min !== undefined && c.max !== undefined && c.min !== c.max
    ? `${c.median.toFixed(2)}x (${c.min.toFixed(2)}-${c.max.toFixed(2)})`
    : `${c.median.toFixed(2)}x`;
}

const metLabel = (row: Row) => (row.met === undefined ? '' : row.met ? 'yes' : 'NO');

function rowCells(row: Row): string[] {
  return [
    `${row.metric} [${row.unit}]`,
    formatCell(row.voxconf, row.unit),
    row.baseline ? `${formatCell(row.baseline, row.unit)} ${row.baselineName ?? ''}`.trim() : '',
    formatRatio(row.ratio),
    row.target ?? '',
    metLabel(row),
  ];
}

const HEADER = ['metric', 'voxconf: median (min-max)', 'baseline', 'ratio', 'target', 'met?'];

/** A plain-text table for the terminal. */
export function renderTable(rows: Row[]): string {
  const cells = [HEADER, ...rows.map(rowCells)];
  const widths = HEADER.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  const out: string[] = [];
  let section = '';
  out.push(line(HEADER), widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of rows) {
    const key = `${row.node} ${row.section}`;
    if (key !== section) {
      section = key;
      out.push(`-- ${row.section} (${row.node})`);
    }
    out.push(line(rowCells(row)));
    if (row.note) out.push(`     ${row.note}`);
  }
  return out.join('\n');
}

/** The same rows as Markdown (docs/performance.md, README): one table per Node, a bold row per section. */
export function renderMarkdown(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  const nodes = [...new Set(rows.map((row) => row.node))];
  nodes.forEach((node, index) => {
    if (out.length) out.push('');
    out.push(`#### ${node.replace(/^node /, 'Node ')}${index === 0 ? '' : ' (information: fewer runs)'}`, '');
    out.push(`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`);
    let section = '';
    for (const row of rows.filter((r) => r.node === node)) {
      if (row.section !== section) {
        section = row.section;
        out.push(`| **${section}** | | | | | |`);
      }
      const cells = rowCells(row).map(esc);
      cells[0] = `${cells[0]}${row.note ? `<br><sub>${esc(row.note)}</sub>` : ''}`;
      out.push(`| ${cells.join(' | ')} |`);
    }
  });
  return out.join('\n');
}
