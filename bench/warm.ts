/**
 * Warm runs: one process per condition, with voxconf's http handler, the floor (a keep-alive node:https POST
 * of the same request) and the official SDK interleaved in rounds, against the same emulator. Conditions:
 * 20 ms emulated latency (HTTPS), zero latency (HTTPS and HTTP). Also: one process per client serving N
 * invocations for the peak RSS, and a 1 s credentials TTL run for the GetSecretValue / signing counts.
 * Every process checks the outcome events the EventBridge stand-in received against what its clients publish, and
 * the registry against what its clients record: nothing at all unless a `voxconf-registry` client is in it.
 */
import { copyBundle } from './bundles.js';
import { runChild } from './child.js';
import { CHILD_TIMEOUT_MS, LATENCY, type Plan } from './config.js';
import {
  type BenchContext,
  BenchError,
  FLOOR_MODULE,
  floorParams,
  httpEventFor,
  peerSpec,
  sqsEventFor,
} from './context.js';
import { expectNoRegistryWrites, expectRegistered } from './registry-check.js';
import { type ClientName, type Endpoint, mark, PROFILES, type ProfileName, tally } from './stack.js';
import { median } from './stats.js';

/**
 * A client of a warm process; `voxconf-batch10` and `voxconf-batch1` are the queue handler (outcome events as
 * the process's `events` option says), `voxconf-batch1-quiet` a second copy of it with no EVENT_BUS_NAME.
 * `voxconf-registry` is a second copy of the http handler with the registry on (REGISTRY_TABLE_NAME), starting a
 * conference of its own name; `voxconf` always runs with the registry off.
 */
export type WarmClient =
  | 'voxconf'
  | 'voxconf-registry'
  | 'floor'
  | 'peer'
  | 'voxconf-batch10'
  | 'voxconf-batch1'
  | 'voxconf-batch1-quiet';

const isQueueClient = (client: WarmClient) => client.startsWith('voxconf-batch');
const recordsPerCall = (client: WarmClient) => (client === 'voxconf-batch10' ? 10 : 1);

export interface WarmChildResult {
  samples: Record<string, number[]>;
  roundMedians: Record<string, number[]>;
  elapsedMs: number;
  peakRssBytes: number;
  rssBytes: number;
  heapUsedBytes: number;
  node: string;
}

export interface ClientCounts {
  /** StartConference requests the emulator received from this client's account. */
  readonly requests: number;
  readonly getSecretValue: number;
  readonly signings: number;
}

export interface WarmProcessResult {
  readonly label: string;
  readonly transport: Endpoint['transport'];
  readonly latencyMs: number;
  /** With outcome events: the round trip PutEvents took through the proxy (0: loopback, no HTTPS). */
  readonly eventsRttMs?: number;
  /** With the registry: the round trip to DynamoDB through the proxy (0: the same path at 0 RTT, or loopback). */
  readonly registryRttMs?: number;
  /** With the registry: DynamoDB operations the process made (checked: one UpdateItem per start + one PutItem). */
  readonly registryOperations?: Readonly<Record<string, number>>;
  /** With the registry through the proxy: connections opened to DynamoDB (keep-alive: 1). */
  readonly registryConnections?: number;
  /** Timed calls per client (ms each). */
  readonly samples: Record<string, number[]>;
  /** Median of each round's block per client (the "runs" of the summary). */
  readonly roundMedians: Record<string, number[]>;
  readonly counts: Partial<Record<ClientName, ClientCounts>>;
  readonly peakRssBytes: number;
  readonly elapsedMs: number;
  readonly wallMs: number;
  readonly stdoutLines: number;
}

const clientAccount = (client: WarmClient): ClientName =>
  client === 'floor' ? 'floor' : client === 'peer' ? 'peer' : 'voxconf';

export async function runWarmProcess(
  ctx: BenchContext,
  options: {
    label: string;
    endpoint: Endpoint;
    latencyMs: number;
    clients: WarmClient[];
    warmup: number;
    rounds: number;
    block: number;
    paced?: { intervalMs: number; durationMs: number };
    extraEnv?: Record<string, string>;
    /**
     * Outcome events of the queue clients: EVENT_BUS_NAME set and PutEvents answered through the latency proxy
     * at this profile's AWS round trip (loopback without HTTPS). Default: off (EVENT_BUS_NAME empty).
     */
    events?: ProfileName;
    /**
     * The registry of the `voxconf-registry` client: DynamoDB through the latency proxy at this profile's AWS round
     * trip (loopback without HTTPS). Required with that client; the other clients never have the registry.
     */
    registry?: ProfileName;
  },
): Promise<WarmProcessResult> {
  const { endpoint } = options;
  const name = `bench warm ${options.label}`;
  // Its own name, new in this bench run: the first start puts the record, every later one joins it.
  const registryName = `${name} registry ${ctx.node.version}`;
  const withRegistry = options.clients.includes('voxconf-registry');
  if (withRegistry !== (options.registry !== undefined))
    throw new BenchError(`warm ${options.label}: the registry option goes with the voxconf-registry client`);
  const fn = options.clients.some(isQueueClient) ? 'queue' : 'http';
  const distant = options.events || options.registry ? ctx.stack.distant : undefined;
  // The DynamoDB endpoint is the process's (the client is made at the first write, after the import); the table
  // name only the registry client's.
  const registryEnv = options.registry ? ctx.stack.registryEnv(distant ? 'distant' : 'loopback') : {};
  const { REGISTRY_TABLE_NAME: registryTable, ...registryProcessEnv } = registryEnv;
  const eventsEnv: Record<string, string> =
    fn !== 'queue'
      ? {}
      : !options.events
        ? { EVENT_BUS_NAME: '' }
        : distant
          ? { AWS_ENDPOINT_URL_EVENTBRIDGE: distant.eventsEndpoint }
          : {};
  const specs = options.clients.map((client) => {
    switch (client) {
      case 'voxconf':
        return {
          name: client,
          kind: 'voxconf',
          handlerKind: 'http',
          module: ctx.bundles.functions.http.file,
          event: httpEventFor(endpoint.accounts.voxconf, name),
          functionName: 'voxconf-bench-http',
          timeoutMs: ctx.stack.settings.http.timeoutSeconds * 1000,
        };
      case 'voxconf-registry': {
        // Another module instance of the http bundle, imported with the table name set.
        const copy = copyBundle(ctx.bundles.functions.http, 'http-registry');
        return {
          name: client,
          kind: 'voxconf',
          handlerKind: 'http',
          module: copy,
          env: { REGISTRY_TABLE_NAME: registryTable },
          event: httpEventFor(endpoint.accounts.voxconf, registryName),
          functionName: 'voxconf-bench-http',
          timeoutMs: ctx.stack.settings.http.timeoutSeconds * 1000,
        };
      }
      case 'voxconf-batch10':
      case 'voxconf-batch1':
        return {
          name: client,
          kind: 'voxconf',
          handlerKind: 'queue',
          module: ctx.bundles.functions.queue.file,
          event: sqsEventFor(endpoint.accounts.voxconf, `${name} ${client}`, recordsPerCall(client)),
          functionName: 'voxconf-bench-queue',
          timeoutMs: ctx.stack.settings.queue.timeoutSeconds * 1000,
        };
      case 'voxconf-batch1-quiet': {
        // Another module instance (its own settings, client and connections), imported without a bus.
        const quiet = copyBundle(ctx.bundles.functions.queue, 'queue-quiet');
        return {
          name: client,
          kind: 'voxconf',
          handlerKind: 'queue',
          module: quiet,
          env: { EVENT_BUS_NAME: '' },
          event: sqsEventFor(endpoint.accounts.voxconf, `${name} ${client}`, 1),
          functionName: 'voxconf-bench-queue',
          timeoutMs: ctx.stack.settings.queue.timeoutSeconds * 1000,
        };
      }
      case 'floor':
        return {
          name: client,
          kind: 'floor',
          module: FLOOR_MODULE,
          floor: ctx.stack.floorOptions(endpoint),
          params: floorParams(endpoint, name),
        };
      case 'peer':
        if (!ctx.peerBundle || endpoint.transport !== 'https')
          throw new BenchError('the official SDK needs the HTTPS emulator');
        return { name: client, kind: 'peer', module: ctx.peerBundle, peer: peerSpec(endpoint, name) };
      default:
        throw new BenchError(`unknown client ${client}`);
    }
  });
  const accounts = [...new Set(options.clients.map(clientAccount))];
  const since = mark(endpoint.emulator);
  const secretsBefore = Object.fromEntries(
    accounts.map((a) => [a, ctx.stack.secrets.getSecretValueCount(endpoint.accounts[a].secretName)]),
  );
  const eventsBefore = ctx.stack.events.events().length;
  if (withRegistry && (await ctx.stack.registryItem(registryName)))
    throw new BenchError(`warm ${options.label}: the registry already holds "${registryName}"`);
  const profile = options.events ?? options.registry;
  if (options.events && options.registry && options.events !== options.registry)
    throw new BenchError(`warm ${options.label}: one profile for the events and the registry`);
  if (distant && profile) distant.setProfile(profile);
  const dynamoDbConnectionsBefore = distant?.dynamoDbConnections() ?? 0;
  endpoint.emulator.setLatency(options.latencyMs);
  let run: Awaited<ReturnType<typeof runChild<WarmChildResult>>>;
  try {
    run = await runChild<WarmChildResult>({
      node: ctx.node.bin,
      script: 'warm.mjs',
      spec: {
        clients: specs,
        warmup: options.warmup,
        rounds: options.rounds,
        block: options.block,
        paced: options.paced,
      },
      env: ctx.stack.lambdaEnv(fn, endpoint, { ...eventsEnv, ...registryProcessEnv, ...options.extraEnv }),
      workDir: ctx.workDir,
      timeoutMs: CHILD_TIMEOUT_MS,
      label: `warm ${options.label} (${ctx.node.version})`,
    });
  } finally {
    endpoint.emulator.setLatency(0);
  }
  const r = run.result;
  const counts: Partial<Record<ClientName, ClientCounts>> = {};
  for (const account of accounts) {
    const seen = tally(endpoint.emulator, since, endpoint.accounts[account]);
    // Calls this account's clients made: warm-up + timed, plus the floor's first (cold-path) call; a batch
    // invocation makes one request per record.
    let expected = 0;
    for (const client of options.clients.filter((c) => clientAccount(c) === account)) {
      const perCall = recordsPerCall(client);
      expected += perCall * ((r.samples[client]?.length ?? 0) + options.warmup) + (client === 'floor' ? 1 : 0);
    }
    if (seen.requests !== expected || seen.successes !== expected) {
      throw new BenchError(
        `warm ${options.label}: ${account} should have made ${expected} successful requests, emulator saw ${JSON.stringify(seen)}`,
      );
    }
    counts[account] = {
      requests: seen.requests,
      getSecretValue:
        ctx.stack.secrets.getSecretValueCount(endpoint.accounts[account].secretName) - secretsBefore[account]!,
      signings: seen.signings,
    };
  }
  // One outcome event per record of the clients that publish; none from http (PUBLISH_HTTP_EVENTS is off).
  let expectedEvents = 0;
  for (const client of options.clients) {
    if (options.events && (client === 'voxconf-batch10' || client === 'voxconf-batch1'))
      expectedEvents += recordsPerCall(client) * ((r.samples[client]?.length ?? 0) + options.warmup);
  }
  const published = ctx.stack.events.events().length - eventsBefore;
  if (published !== expectedEvents) {
    throw new BenchError(
      `warm ${options.label}: expected ${expectedEvents} outcome events, EventBridge got ${published}`,
    );
  }
  // The registry: one record, joined by every start after the first, from the registry client; no write from any
  // other client (the operations since the last check are exactly the registry client's).
  const callsOf = (client: WarmClient) => (r.samples[client]?.length ?? 0) + options.warmup;
  const offNames = options.clients.includes('voxconf') ? [name] : [];
  const registryOperations = withRegistry
    ? await expectRegistered(ctx.stack, `warm ${options.label}`, registryName, callsOf('voxconf-registry'), 'http')
    : undefined;
  await expectNoRegistryWrites(ctx.stack, `warm ${options.label}`, offNames, withRegistry);
  return {
    label: options.label,
    transport: endpoint.transport,
    latencyMs: options.latencyMs,
    ...(options.events ? { eventsRttMs: distant ? PROFILES[options.events].aws : 0 } : {}),
    ...(options.registry
      ? {
          registryRttMs: distant ? PROFILES[options.registry].aws : 0,
          registryOperations,
          ...(distant ? { registryConnections: distant.dynamoDbConnections() - dynamoDbConnectionsBefore } : {}),
        }
      : {}),
    samples: r.samples,
    roundMedians: r.roundMedians,
    counts,
    peakRssBytes: r.peakRssBytes,
    elapsedMs: r.elapsedMs,
    wallMs: run.wallMs,
    stdoutLines: run.stdoutLines,
  };
}

export interface WarmResults {
  readonly warm20: WarmProcessResult;
  readonly warm0: WarmProcessResult;
  /** Zero latency over plain HTTP (no TLS), when the main runs are HTTPS. */
  readonly warm0Http: WarmProcessResult | undefined;
  /** One process per client serving plan.memoryInvocations calls. */
  readonly memory: Partial<Record<'voxconf' | 'floor' | 'peer', WarmProcessResult>>;
  /** 1 s credentials TTL, one invocation every intervalMs. */
  readonly ttl: (WarmProcessResult & { readonly ttlSeconds: number; readonly durationMs: number }) | undefined;
}

export async function runWarm(ctx: BenchContext, plan: Plan): Promise<WarmResults> {
  const main = ctx.stack.main;
  const withPeer: WarmClient[] = ctx.peerBundle ? ['voxconf', 'floor', 'peer'] : ['voxconf', 'floor'];
  ctx.log(`  warm: ${LATENCY.warm} ms latency, ${plan.warm20.rounds} rounds x ${plan.warm20.block} calls per client`);
  const warm20 = await runWarmProcess(ctx, {
    label: `${LATENCY.warm}ms-${main.transport}`,
    endpoint: main,
    latencyMs: LATENCY.warm,
    clients: withPeer,
    ...plan.warm20,
  });
  ctx.log(`  warm: 0 ms latency, ${plan.warm0.rounds} rounds x ${plan.warm0.block} calls per client`);
  const warm0 = await runWarmProcess(ctx, {
    label: `0ms-${main.transport}`,
    endpoint: main,
    latencyMs: 0,
    clients: withPeer,
    ...plan.warm0,
  });
  const warm0Http =
    main.transport === 'https'
      ? await runWarmProcess(ctx, {
          label: '0ms-http',
          endpoint: ctx.stack.http,
          latencyMs: 0,
          clients: ['voxconf', 'floor'],
          ...plan.warm0,
        })
      : undefined;
  ctx.log(`  memory: ${plan.memoryInvocations} invocations per process`);
  const memory: WarmResults['memory'] = {};
  for (const client of withPeer as ('voxconf' | 'floor' | 'peer')[]) {
    memory[client] = await runWarmProcess(ctx, {
      label: `memory-${client}`,
      endpoint: main,
      latencyMs: 0,
      clients: [client],
      warmup: 0,
      rounds: 1,
      block: plan.memoryInvocations,
    });
  }
  let ttl: WarmResults['ttl'];
  if (plan.ttl.durationMs > 0) {
    ctx.log(`  credentials TTL 1 s: one invocation every ${plan.ttl.intervalMs} ms for ${plan.ttl.durationMs} ms`);
    const result = await runWarmProcess(ctx, {
      label: 'ttl-1s',
      endpoint: main,
      latencyMs: 0,
      clients: ['voxconf'],
      warmup: 0,
      rounds: 0,
      block: 0,
      paced: plan.ttl,
      extraEnv: { VOXIMPLANT_CREDENTIALS_TTL_SECONDS: '1' },
    });
    ttl = { ...result, ttlSeconds: 1, durationMs: plan.ttl.durationMs };
  }
  return { warm20, warm0, warm0Http, memory, ttl };
}

/** Per-round medians of a client, or all samples when the run had a single round. */
export function runsOf(result: WarmProcessResult, client: string): number[] {
  const rounds = result.roundMedians[client] ?? [];
  return rounds.length > 1 ? rounds : [median(result.samples[client] ?? [])];
}
