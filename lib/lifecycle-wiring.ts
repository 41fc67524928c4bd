/**
 * Wires the lifecycle core from configuration (functions/lifecycle.ts uses getLifecycleService()); every part can
 * be replaced for tests. Only the lifecycle function loads this module: the start path's bundles carry neither the
 * session client nor the registry reads.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CallHistory } from './call-history.js';
import { getConfig, loadConfig, type VoxconfConfig } from './config.js';
import { type CredentialsProvider, SecretsManagerCredentials } from './credentials.js';
import { dynamoDbClient } from './dynamodb.js';
import { getOutcomePublisher } from './event-bus.js';
import { getLifecycleConfig, type LifecycleConfig, loadLifecycleConfig } from './lifecycle-config.js';
import { LifecycleService, type LifecycleServiceDeps } from './lifecycle-service.js';
import { logger as defaultLogger } from './observability.js';
import type { OutcomePublisher } from './outcome-events.js';
import { RegistryStore } from './registry-store.js';
import { SessionClient } from './session-client.js';
import { TokenSigner } from './token.js';
import { VoximplantClient } from './voximplant-client.js';

export interface CreateLifecycleOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly config?: LifecycleConfig;
  readonly voxconfConfig?: VoxconfConfig;
  readonly dynamoDb?: Pick<DynamoDBClient, 'send'>;
  readonly secretsManager?: Pick<SecretsManagerClient, 'send'>;
  readonly credentials?: CredentialsProvider;
  readonly voximplant?: VoximplantClient;
  readonly publisher?: OutcomePublisher;
  readonly logger?: LifecycleServiceDeps['logger'];
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly probeIntervalMs?: number;
  readonly confirmDelayMs?: number;
}

export function createLifecycleService(options: CreateLifecycleOptions = {}): LifecycleService {
  const config = options.config ?? (options.env ? loadLifecycleConfig(options.env) : getLifecycleConfig());
  const voxconf = options.voxconfConfig ?? (options.env ? loadConfig(options.env) : getConfig());
  const logger = options.logger ?? defaultLogger;
  const credentials =
    options.credentials ??
    new SecretsManagerCredentials({
      secretId: voxconf.credentialsSecretId,
      ttlMs: voxconf.credentialsTtlMs,
      client: options.secretsManager,
      now: options.now,
      sleep: options.sleep,
    });
  const signer = new TokenSigner({
    lifetimeSeconds: voxconf.tokenLifetimeSeconds,
    backdateSeconds: voxconf.tokenBackdateSeconds,
    refreshMarginSeconds: voxconf.tokenRefreshMarginSeconds,
    now: options.now,
  });
  return new LifecycleService({
    store: new RegistryStore({
      client: options.dynamoDb ?? dynamoDbClient(),
      tableName: config.registryTableName,
      now: options.now,
    }),
    // Plain http to loopback only on the local stage (never packaged or deployed: infra/params.cjs refuses it).
    sessions: new SessionClient({
      timeoutMs: config.sessionRequestTimeoutMs,
      allowLoopbackHttp: voxconf.stage === 'local',
    }),
    history: new CallHistory({
      credentials,
      signer,
      client: options.voximplant ?? new VoximplantClient({ apiUrl: voxconf.apiUrl }),
      timeoutMs: voxconf.requestTimeoutMs,
      logger,
      now: options.now,
    }),
    publisher: options.publisher ?? getOutcomePublisher(),
    config,
    stage: voxconf.stage,
    logger,
    now: options.now,
    sleep: options.sleep,
    probeIntervalMs: options.probeIntervalMs,
    confirmDelayMs: options.confirmDelayMs,
  });
}

let shared: LifecycleService | undefined;

/** The process-wide lifecycle service, built on first use from the environment (config read once). */
export function getLifecycleService(): LifecycleService {
  shared ??= createLifecycleService();
  return shared;
}
