/**
 * voxconf's public entry point: start or join a Voximplant video conference by name.
 *
 *   import { startConference } from './lib/index.js'; // from a function of this repository, as functions/ do
 *   const session = await startConference({ conference_name: 'standup', rule_id: 123 });
 *
 * Configuration comes from the environment (README, "Configuration"); tests and custom setups
 * pass their own dependencies to createConferenceService.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ConferenceResult, ConferenceService, type StartOptions } from './conference.js';
import { getConfig, loadConfig, type VoxconfConfig } from './config.js';
import { type CredentialsProvider, SecretsManagerCredentials } from './credentials.js';
import { type ConferenceMetrics, logger as defaultLogger, powertoolsMetrics } from './observability.js';
import { TokenSigner } from './token.js';
import { VoximplantClient } from './voximplant-client.js';

export interface CreateServiceOptions {
  readonly config?: VoxconfConfig;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly secretsManager?: Pick<SecretsManagerClient, 'send'>;
  readonly credentials?: CredentialsProvider;
  readonly client?: VoximplantClient;
  readonly signer?: TokenSigner;
  readonly logger?: ConstructorParameters<typeof ConferenceService>[0]['logger'];
  readonly metrics?: ConferenceMetrics;
  /** Clock for tokens, caches and deadlines. */
  readonly now?: () => number;
  readonly random?: () => number;
  /** Waits: between attempts, and a forced credentials refresh for its slot (goes with `now`). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Wires the core from configuration; every part can be replaced for tests. */
export function createConferenceService(options: CreateServiceOptions = {}): ConferenceService {
  const config = options.config ?? (options.env ? loadConfig(options.env) : getConfig());
  const metrics = options.metrics ?? powertoolsMetrics;
  const credentials =
    options.credentials ??
    new SecretsManagerCredentials({
      secretId: config.credentialsSecretId,
      ttlMs: config.credentialsTtlMs,
      client: options.secretsManager,
      now: options.now,
      sleep: options.sleep,
    });
  const signer =
    options.signer ??
    new TokenSigner({
      lifetimeSeconds: config.tokenLifetimeSeconds,
      backdateSeconds: config.tokenBackdateSeconds,
      refreshMarginSeconds: config.tokenRefreshMarginSeconds,
      now: options.now,
    });
  const client = options.client ?? new VoximplantClient({ apiUrl: config.apiUrl });
  return new ConferenceService({
    config,
    credentials,
    signer,
    client,
    logger: options.logger ?? defaultLogger,
    metrics,
    now: options.now,
    random: options.random,
    sleep: options.sleep,
  });
}

let shared: ConferenceService | undefined;

/** The process-wide service, built on first use from the environment (config read once). */
export function getConferenceService(): ConferenceService {
  shared ??= createConferenceService();
  return shared;
}

/** Start or join the conference named in `request`; throws a VoxconfError (see `retryable`). */
export function startConference(request: unknown, options?: StartOptions): Promise<ConferenceResult> {
  return getConferenceService().start(request, options);
}

export { type ConferenceResult, ConferenceService, type StartOptions } from './conference.js';
export { getConfig, loadConfig, type VoxconfConfig } from './config.js';
export {
  type CredentialsProvider,
  parseCredentials,
  SecretsManagerCredentials,
  type VoximplantCredentials,
} from './credentials.js';
export * from './errors.js';
export { TokenSigner } from './token.js';
export { type ConferenceRequest, LIMITS, validateConferenceRequest } from './validation.js';
export { type StartConferenceResponse, VoximplantClient } from './voximplant-client.js';
