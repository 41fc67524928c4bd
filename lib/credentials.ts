import { createPrivateKey } from 'node:crypto';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { type CryptoKey, importPKCS8 } from 'jose';
import { CredentialsError } from './errors.js';

/** The service-account key (credentials.json), checked and with its private key imported once. */
export interface VoximplantCredentials {
  readonly accountId: number;
  readonly accountEmail: string;
  readonly keyId: string;
  /** Imported for RS256 signing; the PEM text is not kept. */
  readonly privateKey: CryptoKey;
  /** Secrets Manager VersionId, so logs can tell which key version was used (never the key). */
  readonly versionId: string | undefined;
}

export interface GetCredentialsOptions {
  readonly forceRefresh?: boolean;
  /**
   * With forceRefresh: when the caller obtained the credentials it found wrong (epoch ms). A fetch
   * completed after that already refreshed them, so a batch that all saw one refused key makes one fetch.
   */
  readonly ifFetchedBefore?: number | undefined;
  /**
   * Abandons the read this call starts, if it starts one (a read already under way is shared and not
   * affected). The warm-up at init passes one: a read still pending when init ends would be frozen with the
   * sandbox, so it is given up and the first invocation reads afresh.
   */
  readonly signal?: AbortSignal | undefined;
}

export interface CredentialsProvider {
  /**
   * Cached credentials, fetched when missing or older than the TTL. `forceRefresh` fetches anew unless
   * another caller already did (see ifFetchedBefore); forced fetches are spaced by
   * MIN_FORCED_REFRESH_INTERVAL_MS, and one asked for sooner waits for the next slot.
   */
  get(options?: GetCredentialsOptions): Promise<VoximplantCredentials>;
}

/**
 * Forced refreshes are spaced at least this far apart: when Voximplant refuses a key that Secrets
 * Manager still holds unchanged, every request would otherwise read the secret again. One asked for
 * sooner is not refused but waits for the next slot, shared by every caller that asks meanwhile: a
 * key replaced in Secrets Manager is used by the next refused request, at most this much later.
 */
export const MIN_FORCED_REFRESH_INTERVAL_MS = 1_000;

export interface SecretsManagerCredentialsOptions {
  readonly secretId: string;
  readonly ttlMs: number;
  readonly client?: Pick<SecretsManagerClient, 'send'>;
  readonly now?: () => number;
  /** How a forced refresh waits for its slot (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** GetSecretValue attempts for a 5xx or a network error (the SDK's retries, the only ones a read gets). */
export const SECRETS_MANAGER_MAX_ATTEMPTS = 3;

/**
 * The SDK's standard retries, except for throttling: retrying a throttled read only adds load on a
 * throttled API (and time before the answer). The caller gets credentials_unavailable with a Retry-After.
 */
export class NoThrottlingRetryStrategy extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(
    ...[token, errorInfo]: Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>
  ): ReturnType<StandardRetryStrategy['refreshRetryTokenForRetry']> {
    // Throwing here makes the SDK give up and throw the request's own error (ThrottlingException).
    if (errorInfo.errorType === 'THROTTLING') throw new Error('A throttled request is not retried.');
    return super.refreshRetryTokenForRetry(token, errorInfo);
  }
}

/** PKCS#8 as Voximplant's control panel downloads it, or PKCS#1 as converting tools often write it. */
const PRIVATE_KEY_PEM = /^-----BEGIN (RSA )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1PRIVATE KEY-----\s*$/;

/** jose imports PKCS#8 only; a PKCS#1 key is re-encoded (same key, other wrapping). */
function asPkcs8(pem: string): string {
  if (!pem.startsWith('-----BEGIN RSA ')) return pem;
  return createPrivateKey({ key: pem, format: 'pem' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Turns a SecretString into credentials, with errors that name the secret and never show its value. */
export async function parseCredentials(
  secretId: string,
  secretString: string | undefined,
  versionId?: string,
): Promise<VoximplantCredentials> {
  const invalid = (why: string, cause?: unknown) =>
    new CredentialsError('credentials_invalid', `Secret "${secretId}" is not a usable credentials.json: ${why}`, {
      cause,
    });
  if (secretString === undefined) throw invalid('it has no SecretString (a SecretBinary secret is not supported).');
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // The parser's message can quote the secret, so it is not kept as the cause.
    throw invalid('its SecretString is not JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalid('its SecretString is not a JSON object.');
  }
  const record = parsed as Record<string, unknown>;
  const { account_id, account_email, key_id, private_key } = record;
  if (typeof account_id !== 'number' || !Number.isSafeInteger(account_id) || account_id < 1) {
    throw invalid('account_id must be a positive integer.');
  }
  if (typeof account_email !== 'string' || account_email === '')
    throw invalid('account_email must be a non-empty string.');
  if (typeof key_id !== 'string' || key_id === '') throw invalid('key_id must be a non-empty string.');
  if (typeof private_key !== 'string' || !PRIVATE_KEY_PEM.test(private_key)) {
    throw invalid(
      'private_key must be a PEM private key, PKCS#8 ("-----BEGIN PRIVATE KEY-----") or PKCS#1 ("-----BEGIN RSA PRIVATE KEY-----").',
    );
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await importPKCS8(asPkcs8(private_key), 'RS256');
  } catch {
    throw invalid('private_key is not an RSA private key that can sign RS256.');
  }
  return { accountId: account_id, accountEmail: account_email, keyId: key_id, privateKey, versionId };
}

function classifyFetchError(secretId: string, error: unknown): CredentialsError {
  const name = (error as { name?: string } | null)?.name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  if (name === 'ResourceNotFoundException') {
    return new CredentialsError('credentials_not_found', `Secret "${secretId}" was not found in Secrets Manager.`, {
      cause: error,
    });
  }
  if (
    name === 'AccessDeniedException' ||
    name === 'UnrecognizedClientException' ||
    name === 'DecryptionFailure' ||
    name === 'InvalidRequestException' ||
    name === 'InvalidParameterException'
  ) {
    return new CredentialsError(
      'credentials_access_denied',
      `Secret "${secretId}" could not be read (${name}): check the function's IAM policy, the KMS key and the secret's state.`,
      { cause: error },
    );
  }
  const why = name === '' ? 'network error' : name + (status === undefined ? '' : `, HTTP ${status}`);
  return new CredentialsError('credentials_unavailable', `Secret "${secretId}" could not be fetched (${why}).`, {
    cause: error,
  });
}

/**
 * Reads credentials.json from Secrets Manager and caches it for `ttlMs`. Concurrent callers share
 * one in-flight GetSecretValue, so a cold start under a batch makes one call, not one per record.
 */
export class SecretsManagerCredentials implements CredentialsProvider {
  private readonly options: SecretsManagerCredentialsOptions;
  private readonly client: Pick<SecretsManagerClient, 'send'>;
  private readonly now: () => number;
  private cached: { value: VoximplantCredentials; fetchedAt: number } | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private inFlight: Promise<VoximplantCredentials> | undefined;
  private lastForcedAt: number | undefined;
  /** The forced refresh waiting for its slot, shared by every caller that asks for one meanwhile. */
  private nextForced: Promise<VoximplantCredentials> | undefined;

  constructor(options: SecretsManagerCredentialsOptions) {
    this.options = options;
    // Bounded per attempt: a hung connection must fail over to the SDK's own retries, not eat the invocation.
    // The SDK is the one layer that retries a read (5xx, network errors); a throttled read is not retried.
    this.client =
      options.client ??
      new SecretsManagerClient({
        maxAttempts: SECRETS_MANAGER_MAX_ATTEMPTS,
        retryStrategy: new NoThrottlingRetryStrategy(SECRETS_MANAGER_MAX_ATTEMPTS),
        requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
      });
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get(options: GetCredentialsOptions = {}): Promise<VoximplantCredentials> {
    if (this.inFlight) return this.inFlight;
    const cached = this.cached;
    const now = this.now();
    if (cached === undefined || now - cached.fetchedAt >= this.options.ttlMs) return this.fetchShared(options.signal);
    if (!options.forceRefresh) return Promise.resolve(cached.value);
    // A fetch completed after the caller obtained the key it found wrong: that fetch was the refresh.
    if (options.ifFetchedBefore !== undefined && cached.fetchedAt > options.ifFetchedBefore) {
      return Promise.resolve(cached.value);
    }
    const wait = this.lastForcedAt === undefined ? 0 : this.lastForcedAt + MIN_FORCED_REFRESH_INTERVAL_MS - now;
    if (wait <= 0) {
      this.lastForcedAt = now;
      return this.fetchShared();
    }
    this.nextForced ??= this.sleep(wait).then(() => {
      this.nextForced = undefined;
      if (this.inFlight) return this.inFlight;
      this.lastForcedAt = this.now();
      return this.fetchShared();
    });
    return this.nextForced;
  }

  /** One GetSecretValue at a time: callers that come while it runs share it. */
  private fetchShared(signal?: AbortSignal): Promise<VoximplantCredentials> {
    const fetching = this.fetch(signal).finally(() => {
      if (this.inFlight === fetching) this.inFlight = undefined;
    });
    this.inFlight = fetching;
    return fetching;
  }

  private async fetch(signal?: AbortSignal): Promise<VoximplantCredentials> {
    const { secretId } = this.options;
    let output: GetSecretValueCommandOutput;
    try {
      const command = new GetSecretValueCommand({ SecretId: secretId });
      output = await (signal ? this.client.send(command, { abortSignal: signal }) : this.client.send(command));
    } catch (error) {
      throw classifyFetchError(secretId, error);
    }
    const previous = this.cached?.value;
    // An unchanged version needs no new parse and key import: keep the imported key.
    const value =
      previous && output.VersionId !== undefined && previous.versionId === output.VersionId
        ? previous
        : await parseCredentials(secretId, output.SecretString, output.VersionId);
    this.cached = { value, fetchedAt: this.now() };
    return value;
  }
}
