/**
 * Batch concurrency: the queue function serving an SQS batch of 10 records versus a single record, with the
 * emulator holding every StartConference for 50 ms. Records run concurrently, so a batch should take little
 * more than one record (one after another would be ~10x). Also a few cold processes whose first invocation
 * is a batch of 10: they must still make one GetSecretValue and sign one token (shared in-flight work).
 */
import { type ColdSeries, coldRun, emptySeries } from './cold.js';
import { LATENCY, type Plan } from './config.js';
import type { BenchContext } from './context.js';
import { runWarmProcess, type WarmProcessResult } from './warm.js';

export interface BatchResults {
  readonly warm: WarmProcessResult;
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
  return { warm, cold10 };
}
