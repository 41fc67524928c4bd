/**
 * Cold start: fresh Node processes, each importing one client and serving its first request against the
 * loopback emulator and Secrets Manager stand-in. voxconf (the bundled http handler), the floor (node:https +
 * node:crypto only) and the official SDK are interleaved (the order rotates every run), so drift on a busy
 * machine hits all three alike. The queue and schedule functions get a few cold runs of their own, with their
 * outcome events on (EVENT_BUS_NAME set, the EventBridge stand-in answering): the client's load and the first
 * PutEvents are in them. The schedules API gets a few too (GET /schedules against the Scheduler stand-in).
 *
 * The registry: `voxconf-registry`, the http function with the registry on (DynamoDB on loopback), runs in the same
 * rotation as `voxconf` (registry off), so the two pair run by run: the time from process start to the
 * StartConference request at the emulator tells whether the cold start pays for the DynamoDB client before the
 * request is on its way (it must not: lib/registry.ts loads the writer after the request is written). The lifecycle
 * API, when serverless.yml has it, gets a few cold runs of its own (GET /conferences?status=active).
 */

import type { FunctionName } from './bundles.js';
import { runChild } from './child.js';
import { CHILD_TIMEOUT_MS, type Plan } from './config.js';
import {
  type BenchContext,
  BenchError,
  FLOOR_MODULE,
  floorParams,
  httpEventFor,
  lifecycleListEvent,
  PEER_UNBUNDLED_MODULE,
  peerSpec,
  scheduleEventFor,
  schedulesListEvent,
  sqsEventFor,
} from './context.js';
import { expectNoRegistryWrites, expectRegistered } from './registry-check.js';
import { type ClientName, mark, type ProfileName, tally } from './stack.js';

export interface ColdChildResult {
  kind: string;
  importMs: number;
  invokeMs: number;
  totalMs: number;
  bootstrapMs: number;
  sinceProcessStartMs: number;
  peakRssBytes: number;
  /** performance.timeOrigin: when the process started, in ms since the epoch. */
  timeOriginMs: number;
  node: string;
}

export interface ColdSeries {
  readonly importMs: number[];
  readonly invokeMs: number[];
  readonly totalMs: number[];
  readonly sinceProcessStartMs: number[];
  readonly wallMs: number[];
  readonly peakRssBytes: number[];
  /** GetSecretValue calls made by each run (voxconf and floor). */
  readonly getSecretValue: number[];
  /** Distinct tokens each run used. */
  readonly signings: number[];
  /** Log/metric lines each run wrote to stdout. */
  readonly stdoutLines: number[];
  /** Connections each run opened to Voximplant (distant runs only: counted by the proxy). */
  readonly apiConnections: number[];
  /** Process start -> the first StartConference at the emulator (runs that start a conference). */
  readonly requestMs: number[];
}

/** `queue10`: the queue function whose first invocation is a batch of 10 records; `schedules`: the schedules API. */
export type ColdVariant =
  | 'voxconf'
  | 'floor'
  | 'peer'
  | 'peer-unbundled'
  | 'queue'
  | 'queue10'
  | 'schedule'
  | 'schedules'
  | 'voxconf-registry'
  | 'lifecycle';

export const emptySeries = (): ColdSeries => ({
  importMs: [],
  invokeMs: [],
  totalMs: [],
  sinceProcessStartMs: [],
  wallMs: [],
  peakRssBytes: [],
  getSecretValue: [],
  signings: [],
  stdoutLines: [],
  apiConnections: [],
  requestMs: [],
});

/**
 * One cold process of a variant; checks that it made exactly one successful StartConference. With a
 * `profile`, the client reaches the emulator and Secrets Manager (over HTTPS) through the latency proxies.
 */
export async function coldRun(
  ctx: BenchContext,
  variant: ColdVariant,
  index: number,
  series: ColdSeries,
  profile?: ProfileName,
): Promise<void> {
  const endpoint = ctx.stack.main;
  const distant = profile === undefined ? undefined : ctx.stack.distant;
  if (profile !== undefined && !distant) throw new BenchError('distant runs need the HTTPS emulator');
  const name = `bench cold ${variant}`;
  let client: ClientName;
  let spec: Record<string, unknown>;
  let env: Record<string, string>;
  let expectedRequests = 1;
  // Outcome events the run must publish: one per start of the queue and schedule functions.
  let expectedEvents = 0;
  // The registry: the name the run records (registry on), or the names that must have no record (off).
  let registryName: string | undefined;
  let offNames: string[] = [];
  if (variant === 'lifecycle') {
    const bundle = ctx.bundles.functions.lifecycle;
    const settings = ctx.stack.settings.lifecycle;
    if (!bundle || !settings) throw new BenchError('serverless.yml has no lifecycle function');
    client = 'voxconf';
    expectedRequests = 0;
    spec = {
      kind: 'voxconf',
      handlerKind: 'lifecycle',
      module: bundle.file,
      event: lifecycleListEvent(),
      functionName: 'voxconf-bench-lifecycle',
      timeoutMs: settings.timeoutSeconds * 1000,
    };
    env = ctx.stack.lambdaEnv('lifecycle', endpoint);
  } else if (variant === 'schedules') {
    client = 'voxconf';
    expectedRequests = 0;
    spec = {
      kind: 'voxconf',
      handlerKind: 'schedules',
      module: ctx.bundles.functions.schedules.file,
      event: schedulesListEvent(),
      functionName: 'voxconf-bench-schedules',
      timeoutMs: ctx.stack.settings.schedules.timeoutSeconds * 1000,
    };
    env = ctx.stack.lambdaEnv('schedules', endpoint);
  } else if (
    variant === 'voxconf' ||
    variant === 'voxconf-registry' ||
    variant === 'queue' ||
    variant === 'queue10' ||
    variant === 'schedule'
  ) {
    client = 'voxconf';
    const fn: FunctionName =
      variant === 'voxconf' || variant === 'voxconf-registry' ? 'http' : variant === 'queue10' ? 'queue' : variant;
    const account = endpoint.accounts.voxconf;
    if (variant === 'queue10') expectedRequests = 10;
    if (fn !== 'http') expectedEvents = expectedRequests;
    // A new name per registry run (the record is put, not joined: the cold start's own write).
    if (variant === 'voxconf-registry') registryName = `${name} ${ctx.node.version} #${index + 1}${profile ?? ''}`;
    else offNames = fn === 'queue' ? Array.from({ length: expectedRequests }, (_, i) => `${name} ${i + 1}`) : [name];
    const event =
      fn === 'http'
        ? httpEventFor(account, registryName ?? name)
        : fn === 'queue'
          ? sqsEventFor(account, name, expectedRequests)
          : scheduleEventFor(account, name);
    spec = {
      kind: 'voxconf',
      handlerKind: fn,
      module: ctx.bundles.functions[fn].file,
      event,
      functionName: `voxconf-bench-${fn}`,
      timeoutMs: ctx.stack.settings[fn].timeoutSeconds * 1000,
    };
    env = ctx.stack.lambdaEnv(
      fn,
      endpoint,
      distant
        ? {
            VOXIMPLANT_API_URL: distant.apiUrl,
            AWS_ENDPOINT_URL_SECRETS_MANAGER: distant.secretsEndpoint,
            AWS_ENDPOINT_URL_EVENTBRIDGE: distant.eventsEndpoint,
            ...(registryName ? ctx.stack.registryEnv('distant') : {}),
          }
        : registryName
          ? ctx.stack.registryEnv('loopback')
          : {},
    );
  } else if (variant === 'floor') {
    client = 'floor';
    const floor = ctx.stack.floorOptions(endpoint);
    spec = {
      kind: 'floor',
      module: FLOOR_MODULE,
      floor: distant ? { ...floor, apiUrl: distant.apiUrl, secretsEndpoint: distant.secretsEndpoint } : floor,
      params: floorParams(endpoint, name),
    };
    env = ctx.stack.plainEnv();
  } else {
    client = 'peer';
    const module = variant === 'peer' ? ctx.peerBundle : PEER_UNBUNDLED_MODULE;
    if (!module || endpoint.transport !== 'https') throw new BenchError('the official SDK needs the HTTPS emulator');
    const peer = peerSpec(endpoint, name);
    spec = { kind: 'peer', module, peer: distant ? { ...peer, host: distant.apiHost } : peer };
    env = ctx.stack.plainEnv();
    expectedRequests = 1;
  }
  const account = endpoint.accounts[client];
  const since = mark(endpoint.emulator);
  const secretsBefore = ctx.stack.secrets.getSecretValueCount(account.secretName);
  const eventsBefore = ctx.stack.events.events().length;
  if (registryName && (await ctx.stack.registryItem(registryName)))
    throw new BenchError(`cold ${variant} #${index + 1}: the registry already holds "${registryName}"`);
  if (distant && profile) distant.setProfile(profile);
  const connectionsBefore = distant?.apiConnections() ?? 0;
  const run = await runChild<ColdChildResult>({
    node: ctx.node.bin,
    script: 'cold.mjs',
    spec,
    env,
    workDir: ctx.workDir,
    timeoutMs: CHILD_TIMEOUT_MS,
    label: `cold ${variant}${profile ? `@${profile}` : ''} #${index + 1} (${ctx.node.version})`,
  });
  const seen = tally(endpoint.emulator, since, account);
  if (seen.requests !== expectedRequests || seen.successes !== expectedRequests) {
    throw new BenchError(
      `cold ${variant} #${index + 1}: expected ${expectedRequests} successful StartConference, emulator saw ${JSON.stringify(seen)}`,
    );
  }
  const published = ctx.stack.events.events().length - eventsBefore;
  if (published !== expectedEvents) {
    throw new BenchError(
      `cold ${variant} #${index + 1}: expected ${expectedEvents} outcome events, EventBridge got ${published}`,
    );
  }
  const what = `cold ${variant} #${index + 1}`;
  if (registryName) await expectRegistered(ctx.stack, what, registryName, 1, 'http');
  else if (variant === 'lifecycle')
    await expectNoRegistryWrites(ctx.stack, what, [], true); // reads only; a new mark
  else await expectNoRegistryWrites(ctx.stack, what, offNames);
  const r = run.result;
  const received = endpoint.emulator
    .requests({ sinceId: since })
    .filter((record) => record.auth.kid === account.keyId)
    .map((record) => Date.parse(record.receivedAt));
  if (received.length) series.requestMs.push(Math.min(...received) - r.timeOriginMs);
  series.importMs.push(r.importMs);
  series.invokeMs.push(r.invokeMs);
  series.totalMs.push(r.totalMs);
  series.sinceProcessStartMs.push(r.sinceProcessStartMs);
  series.wallMs.push(run.wallMs);
  series.peakRssBytes.push(r.peakRssBytes);
  series.getSecretValue.push(ctx.stack.secrets.getSecretValueCount(account.secretName) - secretsBefore);
  series.signings.push(seen.signings);
  series.stdoutLines.push(run.stdoutLines);
  if (distant) series.apiConnections.push(distant.apiConnections() - connectionsBefore);
}

/** A series key: a variant on loopback, or `<variant>@<profile>` through the latency proxies. */
export type ColdKey = ColdVariant | `${ColdVariant}@${ProfileName}`;

export interface ColdResults {
  readonly series: Partial<Record<ColdKey, ColdSeries>>;
}

export async function runCold(ctx: BenchContext, plan: Plan): Promise<ColdResults> {
  const series: Partial<Record<ColdKey, ColdSeries>> = {};
  const get = (key: ColdKey) => (series[key] ??= emptySeries());
  const main: ColdVariant[] = ctx.peerBundle
    ? ['voxconf', 'floor', 'peer', 'voxconf-registry']
    : ['voxconf', 'floor', 'voxconf-registry'];
  // One untimed process of each first: the OS file cache holds the bundles and node binary from then on.
  for (const variant of main) await coldRun(ctx, variant, -1, emptySeries());
  for (let i = 0; i < plan.coldRuns; i++) {
    for (let k = 0; k < main.length; k++) {
      const variant = main[(i + k) % main.length]!;
      await coldRun(ctx, variant, i, get(variant));
    }
  }
  for (let i = 0; i < plan.coldOtherRuns; i++) {
    await coldRun(ctx, 'queue', i, get('queue'));
    await coldRun(ctx, 'schedule', i, get('schedule'));
    await coldRun(ctx, 'schedules', i, get('schedules'));
    if (ctx.bundles.functions.lifecycle) await coldRun(ctx, 'lifecycle', i, get('lifecycle'));
  }
  if (ctx.peerBundle) {
    for (let i = 0; i < plan.coldPeerUnbundledRuns; i++) await coldRun(ctx, 'peer-unbundled', i, get('peer-unbundled'));
  }
  if (ctx.stack.distant && ctx.peerBundle) {
    // At a network distance: voxconf, the floor and the official SDK at the realistic profile, and voxconf
    // on the same path at 0 RTT (what the distance costs it), in one rotation so that drift hits all alike.
    const rotation: [ColdVariant, ProfileName][] = [
      ['voxconf', 'zero'],
      ['voxconf', 'realistic'],
      ['floor', 'realistic'],
      ['peer', 'realistic'],
    ];
    // No untimed round first: the loopback rounds above already brought the bundles into the file cache.
    if (plan.coldDistantRuns > 0)
      ctx.log(`  cold at the realistic profile: ${plan.coldDistantRuns} processes per client`);
    for (let i = 0; i < plan.coldDistantRuns; i++) {
      for (let k = 0; k < rotation.length; k++) {
        const [variant, profile] = rotation[(i + k) % rotation.length]!;
        await coldRun(ctx, variant, i, get(`${variant}@${profile}`), profile);
      }
    }
    const far: ColdVariant[] = ['voxconf', 'floor', 'peer'];
    for (let i = 0; i < plan.coldFarRuns; i++) {
      for (let k = 0; k < far.length; k++) {
        const variant = far[(i + k) % far.length]!;
        await coldRun(ctx, variant, i, get(`${variant}@far`), 'far');
      }
    }
  }
  return { series };
}
