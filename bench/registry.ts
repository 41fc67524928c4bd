/**
 * The registry (lib/registry.ts: every successful start recorded in DynamoDB when REGISTRY_TABLE_NAME is set) on the
 * warm start path, measured as the outcome-event publish is (bench/batch.ts):
 *
 * - what the write adds to one start: two copies of the http bundle in one process, registry on
 *   (`voxconf-registry`) vs off (`voxconf`), called in alternating rounds at 0 ms Voximplant latency so that only
 *   the write differs, DynamoDB reached through the latency proxy at the realistic profile's AWS round trip (HTTPS,
 *   as AWS); the same pair at 0 RTT on the same path for information (the write's own work);
 * - the warm start with the registry on at 20 ms latency, against the floor (and the registry off, same process).
 *
 * Every process checks the registry afterwards (bench/registry-check.ts): one UpdateItem per start plus the PutItem
 * of the first, and the record joined starts - 1 times. The cold start with the registry on is in bench/cold.ts.
 */
import { LATENCY, type Plan } from './config.js';
import type { BenchContext } from './context.js';
import { runWarmProcess, type WarmClient, type WarmProcessResult } from './warm.js';

export interface RegistryResults {
  /** One start, registry on vs off, 0 ms latency, DynamoDB at the realistic AWS RTT. */
  readonly write: WarmProcessResult;
  /** The same at 0 RTT (information). */
  readonly writeZero?: WarmProcessResult | undefined;
  /** 20 ms latency: registry on, registry off, the floor. */
  readonly warm20?: WarmProcessResult | undefined;
}

export async function runRegistry(ctx: BenchContext, plan: Plan): Promise<RegistryResults> {
  const main = ctx.stack.main;
  ctx.log(
    `  registry: start with the write vs without, ${plan.registry.rounds} rounds x ${plan.registry.block} calls per copy`,
  );
  const pair: WarmClient[] = ['voxconf-registry', 'voxconf'];
  const write = await runWarmProcess(ctx, {
    label: `reg-write-${main.transport}`,
    endpoint: main,
    latencyMs: 0,
    clients: pair,
    ...plan.registry,
    registry: 'realistic',
  });
  // The same at 0 RTT (same path: proxy and TLS front): what the write costs apart from the round trip.
  const writeZero = plan.registryZero
    ? await runWarmProcess(ctx, {
        label: `reg-write0-${main.transport}`,
        endpoint: main,
        latencyMs: 0,
        clients: pair,
        ...plan.registry,
        registry: 'zero',
      })
    : undefined;
  let warm20: WarmProcessResult | undefined;
  if (plan.registryWarm20) {
    ctx.log(`  registry: warm at ${LATENCY.warm} ms latency, registry on vs the floor and registry off`);
    warm20 = await runWarmProcess(ctx, {
      label: `reg-${LATENCY.warm}ms-${main.transport}`,
      endpoint: main,
      latencyMs: LATENCY.warm,
      clients: ['voxconf-registry', 'floor', 'voxconf'],
      ...plan.warm20,
      registry: 'realistic',
    });
  }
  return { write, writeZero, warm20 };
}
