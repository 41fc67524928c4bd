/**
 * Batch concurrency: the queue function serving an SQS batch of 10 records versus a single record, with the
 * emulator holding every StartConference for 50 ms. Records run concurrently, so a batch should take little
 * more than one record (one after another would be ~10x). Also a few cold processes whose first invocation
 * is a batch of 10: they must still make one GetSecretValue and sign one token (shared in-flight work).
 *
 * Outcome events (EventBridge PutEvents through the latency proxy at the realistic profile's AWS round trip):
 * the batch of 10 vs 1 record again with events on (one PutEvents per invocation, after the starts), and
 * what a publish adds to one start: one record, events on vs off, two copies of the queue bundle in one
 * process called in alternating rounds, at 0 ms Voximplant latency so that only the publish differs.
 */
import { type ColdSeries, coldRun, emptySeries } from './cold.js';
import { LATENCY, type Plan } from './config.js';
import type { BenchContext } from './context.js';
import { runWarmProcess, type WarmProcessResult } from './warm.js';

export interface BatchResults {
  readonly warm: WarmProcessResult;
  /** Batch of 10 vs 1 record with outcome events. */
  readonly events?: WarmProcessResult | undefined;
  /** One record, outcome events on (`voxconf-batch1`) vs off (`voxconf-batch1-quiet`). */
  readonly publish?: WarmProcessResult | undefined;
  /** The same with PutEvents at 0 RTT (information: the publish's own cost). */
  readonly publishZero?: WarmProcessResult | undefined;
  readonly cold10: ColdSeries | undefined;
}

export async function runBatch(ctx: BenchContext, plan: Plan): Promise<BatchResults> {
  ctx.log(`  batch: ${LATENCY.batch} ms latency, ${plan.batchRounds} rounds of (10 records, 1 record)`);
  const warm = await runWarmProcess(ctx, {
    label: `batch-${LATENCY.batch}ms-${ctx.stack.main.transport}`,
    endpoint: ctx.stack.main,
    latencyMs: LATENCY.batch,
    clients: ['voxconf-batch10', 'voxconf-batch1'],
    warmup: 1,
    rounds: plan.batchRounds,
    block: 1,
  });
  let events: WarmProcessResult | undefined;
  let publish: WarmProcessResult | undefined;
  let publishZero: WarmProcessResult | undefined;
  if (plan.batchEventsRounds > 0) {
    ctx.log(`  outcome events: batch of 10 vs 1 record, ${plan.batchEventsRounds} rounds; publish on vs off`);
    events = await runWarmProcess(ctx, {
      label: `ev-batch-${ctx.stack.main.transport}`,
      endpoint: ctx.stack.main,
      latencyMs: LATENCY.batch,
      clients: ['voxconf-batch10', 'voxconf-batch1'],
      warmup: 1,
      rounds: plan.batchEventsRounds,
      block: 1,
      events: 'realistic',
    });
    publish = await runWarmProcess(ctx, {
      label: `ev-pub-${ctx.stack.main.transport}`,
      endpoint: ctx.stack.main,
      latencyMs: 0,
      clients: ['voxconf-batch1', 'voxconf-batch1-quiet'],
      ...plan.publish,
      events: 'realistic',
    });
    // The same at 0 RTT (same path: proxy and TLS front): what the publish costs apart from the round trip.
    if (plan.publishZero)
      publishZero = await runWarmProcess(ctx, {
        label: `ev-pub0-${ctx.stack.main.transport}`,
        endpoint: ctx.stack.main,
        latencyMs: 0,
        clients: ['voxconf-batch1', 'voxconf-batch1-quiet'],
        ...plan.publish,
        events: 'zero',
      });
  }
  let cold10: ColdSeries | undefined;
  if (plan.coldBatchRuns > 0) {
    const series = emptySeries();
    cold10 = series;
    ctx.stack.main.emulator.setLatency(LATENCY.batch);
    try {
      for (let i = 0; i < plan.coldBatchRuns; i++) await coldRun(ctx, 'queue10', i, series);
    } finally {
      ctx.stack.main.emulator.setLatency(0);
    }
  }
  return { warm, events, publish, publishZero, cold10 };
}
