/**
 * node --import tsx bench/what-if.ts [--runs N] [--node <path>]   (default: Node 24, the Lambda runtime, as the bench)
 *
 * Measures alternatives to what deploys (docs/performance.md, "Fixes, measured"): the http function is
 * rebuilt from functions/http.ts with the deployed esbuild settings (which include A, builtins via require(),
 * and B, credentials from the environment) plus, cumulatively,
 *   C  + node:crypto instead of jose       (simulated: bench/what-if/jose-node-crypto.ts aliased for jose)
 *   D  + GetSecretValue without the SDK    (simulated: bench/what-if/secrets-manager-minimal.ts)
 * and each is cold-started in fresh processes, interleaved with the deployed bundle and the floor, against
 * the same loopback emulator (HTTPS) and Secrets Manager stand-in, and the official SDK (bundled, as in the
 * bench). Every run must succeed with one GetSecretValue and one signing. Prints bundle size, cold figures
 * and their ratios to the floor.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureNode, FUNCTIONS_NODE_MAJOR, nodeVersion } from '../scripts/node-runtime.mjs';
import {
  type Bundles,
  esbuildOptionsFromServerless,
  FUNCTIONS,
  type FunctionName,
  prepareBundles,
  ROOT,
} from './bundles.js';
import { type ColdSeries, coldRun, emptySeries } from './cold.js';
import type { BenchContext, NodeInfo } from './context.js';
import { buildPeerBundle } from './peer.js';
import { startStack } from './stack.js';
import { KiB, MiB, median } from './stats.js';

const here = path.join(ROOT, 'bench', 'what-if');

/** Alternatives to what deploys (which already has A, builtins via require(), and B, credentials from the environment). */
const VARIANTS: { id: string; label: string; options: () => Record<string, unknown> }[] = [
  {
    id: 'C',
    label: '+ node:crypto instead of jose (simulated)',
    options: () => ({ alias: { ...deployedAlias(), jose: path.join(here, 'jose-node-crypto.ts') } }),
  },
  {
    id: 'D',
    label: '+ GetSecretValue without the AWS SDK (simulated)',
    options: () => ({
      alias: {
        ...deployedAlias(),
        jose: path.join(here, 'jose-node-crypto.ts'),
        '@aws-sdk/client-secrets-manager': path.join(here, 'secrets-manager-minimal.ts'),
      },
    }),
  },
];

function deployedAlias(): Record<string, string> {
  return (esbuildOptionsFromServerless().alias as Record<string, string> | undefined) ?? {};
}

/** Variants measured on the http function. */
const HTTP_VARIANTS = ['C', 'D'];
/** Variants measured on the queue function too (C and D do not change what it loads at start): none left. */
const QUEUE_VARIANTS: string[] = [];

async function build(fn: FunctionName, extra: Record<string, unknown>, outdir: string): Promise<string> {
  const esbuild = await import('esbuild');
  await esbuild.build({
    ...esbuildOptionsFromServerless(),
    ...extra,
    entryPoints: [path.join(ROOT, 'functions', `${fn}.ts`)],
    outdir,
    write: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  return path.join(outdir, `${fn}.mjs`);
}

const empty = (): ColdSeries => emptySeries();

async function main() {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 0) || 12;
  const nodeArg = args.includes('--node') ? args[args.indexOf('--node') + 1] : undefined;
  const log = (line: string) => console.log(`what-if: ${line}`);
  const { bin, version } = nodeArg
    ? { bin: path.resolve(nodeArg), version: nodeVersion(path.resolve(nodeArg)) ?? 'unknown' }
    : await ensureNode(FUNCTIONS_NODE_MAJOR, { root: ROOT, log });
  const node: NodeInfo = { bin, version, role: 'primary' };
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'voxconf-what-if-'));
  const bundles = await prepareBundles({ workDir, log });
  const stack = await startStack(workDir, log);
  const peer = stack.https ? await buildPeerBundle(workDir) : undefined;
  try {
    const files: Record<string, Record<FunctionName, string>> = {
      deployed: Object.fromEntries(FUNCTIONS.map((fn) => [fn, bundles.functions[fn]!.file])) as Record<
        FunctionName,
        string
      >,
    };
    for (const v of VARIANTS) {
      const out = path.join(workDir, `variant-${v.id}`);
      files[v.id] = {} as Record<FunctionName, string>;
      for (const fn of FUNCTIONS) files[v.id]![fn] = await build(fn, v.options(), out);
    }
    const ids = ['deployed', ...HTTP_VARIANTS];
    const queueIds = ['deployed', ...QUEUE_VARIANTS].map((id) => `queue:${id}`);
    const extras = peer ? ['floor', 'peer'] : ['floor'];
    const series: Record<string, ColdSeries> = Object.fromEntries(
      [...ids, ...queueIds, ...extras].map((id) => [id, empty()]),
    );
    const ctxFor = (id: string): BenchContext => {
      const [fn, variant] = id.startsWith('queue:') ? (['queue', id.slice(6)] as const) : (['http', id] as const);
      const functions = { ...bundles.functions, [fn]: { ...bundles.functions[fn], file: files[variant]![fn] } };
      return {
        node,
        stack,
        bundles: { ...bundles, functions } as Bundles,
        peerBundle: peer?.file,
        workDir,
        log: () => {},
      };
    };
    const runOne = (id: string, i: number) =>
      id === 'floor' || id === 'peer'
        ? coldRun(ctxFor('deployed'), id, i, series[id]!)
        : coldRun(ctxFor(id), id.startsWith('queue:') ? 'queue' : 'voxconf', i, series[id]!);
    const order = [...extras, ...ids, ...queueIds];
    log(`${runs} cold runs each on Node ${version}, interleaved: ${order.join(', ')}`);
    for (const id of order) await runOne(id, -1); // each works; warms the file cache
    for (const s of Object.values(series)) for (const list of Object.values(s)) (list as number[]).length = 0;
    for (let i = 0; i < runs; i++) {
      for (let k = 0; k < order.length; k++) await runOne(order[(i + k) % order.length]!, i);
    }
    const f = series.floor!;
    const fp = median(f.sinceProcessStartMs);
    const fw = median(f.totalMs);
    const rows = [
      [
        'variant',
        'http KiB (gzip)',
        'queue KiB',
        'schedule KiB',
        'import ms',
        '1st inv. ms',
        'import+inv. ms',
        'x floor',
        'start->answer ms',
        'x floor',
        'peak RSS MiB',
        'x floor',
      ],
    ];
    rows.push([
      'floor',
      '',
      '',
      '',
      median(f.importMs).toFixed(1),
      median(f.invokeMs).toFixed(1),
      fw.toFixed(1),
      '1.00',
      fp.toFixed(1),
      '1.00',
      (median(f.peakRssBytes) / MiB).toFixed(1),
      '1.00',
    ]);
    for (const id of [...(peer ? ['peer'] : []), ...ids, ...queueIds]) {
      const s = series[id]!;
      if (id === 'peer') {
        rows.push([
          `official SDK (bundled, ${(peer!.bytes / KiB).toFixed(1)} KiB)`,
          '',
          '',
          '',
          median(s.importMs).toFixed(1),
          median(s.invokeMs).toFixed(1),
          median(s.totalMs).toFixed(1),
          (median(s.totalMs) / fw).toFixed(2),
          median(s.sinceProcessStartMs).toFixed(1),
          (median(s.sinceProcessStartMs) / fp).toFixed(2),
          (median(s.peakRssBytes) / MiB).toFixed(1),
          (median(s.peakRssBytes) / median(f.peakRssBytes)).toFixed(2),
        ]);
        continue;
      }
      const variant = id.replace(/^queue:/, '');
      const size = (fn: FunctionName) => readFileSync(files[variant]![fn]).length;
      const name = variant === 'deployed' ? 'deployed' : `${variant} ${VARIANTS.find((v) => v.id === variant)!.label}`;
      const label = id.startsWith('queue:') ? `queue fn: ${name}` : name;
      rows.push([
        label,
        `${(size('http') / KiB).toFixed(1)} (${(gzipSync(readFileSync(files[variant]!.http), { level: 9 }).length / KiB).toFixed(1)})`,
        (size('queue') / KiB).toFixed(1),
        (size('schedule') / KiB).toFixed(1),
        median(s.importMs).toFixed(1),
        median(s.invokeMs).toFixed(1),
        median(s.totalMs).toFixed(1),
        (median(s.totalMs) / fw).toFixed(2),
        median(s.sinceProcessStartMs).toFixed(1),
        (median(s.sinceProcessStartMs) / fp).toFixed(2),
        (median(s.peakRssBytes) / MiB).toFixed(1),
        (median(s.peakRssBytes) / median(f.peakRssBytes)).toFixed(2),
      ]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | '));
  } finally {
    await stack.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`what-if: FAILED: ${(error as Error).stack ?? String(error)}`);
  process.exit(1);
});
