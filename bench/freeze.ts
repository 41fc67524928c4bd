/**
 * Init, freeze, invoke, as Lambda does with proactive initialization or provisioned concurrency: a fresh
 * process loads the http function (its init, the warm-up included) at the realistic profile, is frozen with
 * SIGSTOP for a second, as Lambda freezes a sandbox between init and its first request, is thawed and
 * invoked: the first invocation, then a few warm ones in the same process, each timed. The first should be
 * nearly as fast as a warm one: the key, the token and the connection were ready before it came.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runChild } from './child.js';
import { CHILD_TIMEOUT_MS, type Plan } from './config.js';
import { type BenchContext, BenchError, httpEventFor } from './context.js';
import { mark, tally } from './stack.js';

/** How long the process stays frozen between its init and its first invocation. */
export const FREEZE_MS = 1_000;

interface FreezeChildResult {
  initMs: number;
  firstMs: number;
  warmMs: number[];
  peakRssBytes: number;
  node: string;
}

export interface FreezeSeries {
  /** Import of the bundle, the function's init (warm-up) included. */
  readonly initMs: number[];
  readonly firstMs: number[];
  /** Median of each process's warm invocations. */
  readonly warmMs: number[];
  readonly getSecretValue: number[];
  readonly signings: number[];
  /** Connections each process opened to Voximplant (1: the pre-opened one served every request). */
  readonly apiConnections: number[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export async function runFreeze(ctx: BenchContext, plan: Plan): Promise<FreezeSeries | undefined> {
  const distant = ctx.stack.distant;
  if (!distant || plan.freeze.runs === 0) return undefined;
  ctx.log(`  init, freeze ${FREEZE_MS} ms, invoke: ${plan.freeze.runs} processes at the realistic profile`);
  const series: FreezeSeries = {
    initMs: [],
    firstMs: [],
    warmMs: [],
    getSecretValue: [],
    signings: [],
    apiConnections: [],
  };
  const endpoint = distant.endpoint;
  const account = endpoint.accounts.voxconf;
  for (let i = 0; i < plan.freeze.runs; i++) {
    distant.setProfile('realistic');
    const since = mark(endpoint.emulator);
    const secretsBefore = ctx.stack.secrets.getSecretValueCount(account.secretName);
    const connectionsBefore = distant.apiConnections();
    const label = `freeze #${i + 1} (${ctx.node.version})`;
    const run = await runChild<FreezeChildResult>({
      node: ctx.node.bin,
      script: 'freeze.mjs',
      spec: {
        handlerKind: 'http',
        module: ctx.bundles.functions.http.file,
        event: httpEventFor(account, `bench freeze ${i + 1}`),
        functionName: 'voxconf-bench-http',
        timeoutMs: ctx.stack.settings.http.timeoutSeconds * 1000,
        warmInvocations: plan.freeze.warmInvocations,
      },
      env: ctx.stack.lambdaEnv('http', endpoint, {
        VOXIMPLANT_API_URL: distant.apiUrl,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: distant.secretsEndpoint,
      }),
      workDir: ctx.workDir,
      timeoutMs: CHILD_TIMEOUT_MS,
      label,
      async onReady(child) {
        if (!child.kill('SIGSTOP')) throw new BenchError(`${label}: could not stop the child`);
        await sleep(FREEZE_MS);
        child.kill('SIGCONT');
        child.stdin!.end('invoke\n');
      },
    });
    const expected = 1 + plan.freeze.warmInvocations;
    const seen = tally(endpoint.emulator, since, account);
    if (seen.requests !== expected || seen.successes !== expected) {
      throw new BenchError(
        `${label}: expected ${expected} successful StartConference, emulator saw ${JSON.stringify(seen)}`,
      );
    }
    const r = run.result;
    series.initMs.push(r.initMs);
    series.firstMs.push(r.firstMs);
    series.warmMs.push(median(r.warmMs));
    series.getSecretValue.push(ctx.stack.secrets.getSecretValueCount(account.secretName) - secretsBefore);
    series.signings.push(seen.signings);
    series.apiConnections.push(distant.apiConnections() - connectionsBefore);
  }
  return series;
}
