/** How much each phase runs: the full bench (under two minutes) and the --quick CI smoke (a few iterations). */

export interface Plan {
  /** Fresh processes per client for the cold start (voxconf http, floor, official SDK). */
  readonly coldRuns: number;
  /** Fresh processes for the queue and schedule functions' cold starts. */
  readonly coldOtherRuns: number;
  /** Fresh processes loading the official SDK from node_modules instead of a bundle (information only). */
  readonly coldPeerUnbundledRuns: number;
  /** Warm at 20 ms: rounds x calls per client per round. */
  readonly warm20: { readonly warmup: number; readonly rounds: number; readonly block: number };
  /** Warm at 0 ms: rounds x calls per client per round. */
  readonly warm0: { readonly warmup: number; readonly rounds: number; readonly block: number };
  /** Invocations served by one process for the peak RSS figure. */
  readonly memoryInvocations: number;
  /** Batch of 10 vs 1 record at 50 ms: rounds (each one batch of 10 and one single record). */
  readonly batchRounds: number;
  /** The batch of 10 vs 1 record again, with outcome events: rounds (0: not measured). */
  readonly batchEventsRounds: number;
  /** Queue function, 1 record, outcome events on vs off (two copies in one process), 0 ms latency. */
  readonly publish: { readonly warmup: number; readonly rounds: number; readonly block: number };
  /** The same pair at 0 RTT (information: the publish's own work apart from the round trip). */
  readonly publishZero: boolean;
  /** http function, registry on vs off (two copies in one process), 0 ms latency, DynamoDB at the AWS RTT. */
  readonly registry: { readonly warmup: number; readonly rounds: number; readonly block: number };
  /** The same pair at 0 RTT (information: the write's own work apart from the round trip). */
  readonly registryZero: boolean;
  /** Warm at 20 ms with the registry on (DynamoDB at the AWS RTT), against the floor and the registry off. */
  readonly registryWarm20: boolean;
  /** Fresh processes whose first invocation is a batch of 10 (GetSecretValue / signing counts under concurrency). */
  readonly coldBatchRuns: number;
  /** Credentials TTL check: one invocation every intervalMs for durationMs with a 1 s TTL. */
  readonly ttl: { readonly intervalMs: number; readonly durationMs: number };
  /** Cold processes per client at the realistic profile (and voxconf at 0 RTT on the same path). */
  readonly coldDistantRuns: number;
  /** Cold processes per client at the far profile (information). */
  readonly coldFarRuns: number;
  /** Processes that initialize, are frozen, then invoked; and the warm invocations after the first. */
  readonly freeze: { readonly runs: number; readonly warmInvocations: number };
  /** Fresh processes per package importing it alone (0: not measured). */
  readonly importCostRuns: number;
  /** Whether to repeat the main figures on the other Node (Node 22, for information; the primary is 24). */
  readonly secondaryNode: boolean;
}

export const FULL: Plan = {
  coldRuns: 20,
  coldOtherRuns: 5,
  coldPeerUnbundledRuns: 5,
  warm20: { warmup: 10, rounds: 12, block: 10 },
  warm0: { warmup: 50, rounds: 30, block: 40 },
  memoryInvocations: 1000,
  batchRounds: 15,
  batchEventsRounds: 15,
  publish: { warmup: 10, rounds: 20, block: 10 },
  publishZero: true,
  registry: { warmup: 10, rounds: 20, block: 10 },
  registryZero: true,
  registryWarm20: true,
  coldBatchRuns: 3,
  ttl: { intervalMs: 100, durationMs: 2300 },
  coldDistantRuns: 15,
  coldFarRuns: 5,
  freeze: { runs: 8, warmInvocations: 5 },
  importCostRuns: 5,
  secondaryNode: true,
};

export const QUICK: Plan = {
  coldRuns: 3,
  coldOtherRuns: 1,
  coldPeerUnbundledRuns: 0,
  warm20: { warmup: 3, rounds: 3, block: 5 },
  warm0: { warmup: 10, rounds: 4, block: 25 },
  memoryInvocations: 200,
  batchRounds: 3,
  batchEventsRounds: 3,
  publish: { warmup: 3, rounds: 3, block: 5 },
  publishZero: false,
  registry: { warmup: 3, rounds: 3, block: 5 },
  registryZero: false,
  registryWarm20: true,
  coldBatchRuns: 1,
  ttl: { intervalMs: 100, durationMs: 1300 },
  coldDistantRuns: 2,
  coldFarRuns: 0,
  freeze: { runs: 1, warmInvocations: 3 },
  importCostRuns: 1,
  secondaryNode: false,
};

/** Secondary Node: the same phases, fewer runs. */
export const SECONDARY: Plan = {
  coldRuns: 10,
  coldOtherRuns: 0,
  coldPeerUnbundledRuns: 0,
  warm20: { warmup: 10, rounds: 6, block: 10 },
  warm0: { warmup: 50, rounds: 10, block: 50 },
  memoryInvocations: 1000,
  batchRounds: 8,
  batchEventsRounds: 8,
  publish: { warmup: 10, rounds: 8, block: 10 },
  publishZero: true,
  registry: { warmup: 10, rounds: 8, block: 10 },
  registryZero: true,
  registryWarm20: false,
  coldBatchRuns: 0,
  ttl: { intervalMs: 100, durationMs: 0 },
  coldDistantRuns: 5,
  coldFarRuns: 0,
  freeze: { runs: 3, warmInvocations: 5 },
  importCostRuns: 0,
  secondaryNode: false,
};

/** Emulated Voximplant latencies (ms). */
export const LATENCY = { warm: 20, batch: 50 } as const;

/** The targets from the issue. */
export const TARGETS = {
  warm20Ratio: 1.05,
  warm0AddedMs: 0.3,
  batchRatio: 1.5,
  /** What publishing the outcome event adds to one start: at most one AWS round trip plus this. */
  publishAddedBeyondRttMs: 1,
  /** What the registry write adds to one start: at most one AWS round trip plus this. */
  registryAddedBeyondRttMs: 1,
  coldRatio: 2,
  memoryRatio: 1.5,
  bundleKiB: 450,
  /** Cold at the realistic profile: at most this much more than the same at 0 RTT, besides one round trip. */
  distantAddedBeyondRttMs: 10,
  /** Cold at the realistic profile against the official SDK at the same profile. */
  distantVsPeerRatio: 0.75,
  /** Init, freeze, invoke: the first invocation against a warm one. */
  freezeFirstRatio: 1.3,
} as const;

/** Per child process. */
export const CHILD_TIMEOUT_MS = 60_000;
