import { ConfigurationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };

/** voxconf's settings, read once from the environment (see the README's configuration table). */
export interface VoxconfConfig {
  /** Secret name or ARN whose SecretString is the credentials.json object. */
  readonly credentialsSecretId: string;
  /** Base URL of the Management API, without a trailing slash. */
  readonly apiUrl: string;
  readonly defaultRuleId: number | undefined;
  /** When set, only these rules may be started. */
  readonly allowedRuleIds: ReadonlySet<number> | undefined;
  /** Upper bound of one StartConference HTTP attempt. */
  readonly requestTimeoutMs: number;
  /** Attempts per request for retryable failures (1 = no retry). */
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** How long a fetched credentials.json is trusted before it is read again. */
  readonly credentialsTtlMs: number;
  /** exp - iat of the signed JWT (Voximplant allows at most 3600). */
  readonly tokenLifetimeSeconds: number;
  /** iat is set this far in the past so that a server clock slightly behind ours accepts it. */
  readonly tokenBackdateSeconds: number;
  /** A cached token is replaced this long before it expires. */
  readonly tokenRefreshMarginSeconds: number;
  /** Dead-letter queue for permanent failures of the queue and schedule triggers. */
  readonly deadLetterQueueUrl: string | undefined;
  /** A scheduled conference later than this past its scheduled time is not started. */
  readonly scheduleMaxLatenessSeconds: number;
  /** A scheduled conference due further ahead than this is not started (Scheduler never fires early). */
  readonly scheduleMaxEarlinessSeconds: number;
  /** The request queue's maxReceiveCount: the last receive dead-letters a retryable failure itself. */
  readonly queueMaxReceiveCount: number;
  /** The first redelivery delay of a retryable queue failure. */
  readonly queueRedeliveryBaseSeconds: number;
  /** The deployment's stage, named in outcome events. */
  readonly stage: string;
  /** The EventBridge bus outcome events go to; unset: none are published. */
  readonly eventBusName: string | undefined;
  /** Whether the HTTP function publishes outcome events too (its caller has the answer already). */
  readonly publishHttpEvents: boolean;
  /** Where the queue function asks SQS to redeliver a message later (ChangeMessageVisibility). */
  readonly requestQueueUrl: string | undefined;
  /** The conference registry's DynamoDB table; unset: starts are not recorded (the registry is off). */
  readonly registryTableName: string | undefined;
  /** An active record expires this long after its last start, join or confirmed probe (DynamoDB TTL). */
  readonly registryActiveRetentionHours: number;
  /** An ended record expires this long after its end. */
  readonly registryEndedRetentionDays: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_API_URL = facts.voximplant.apiUrl;

export type IntegerSetting = keyof typeof facts.settings;

/** A setting's text, trimmed; unset and blank are undefined. */
export function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

/** A whole-number setting, with its default and range from lib/facts.json. */
export function integer(env: Env, name: IntegerSetting): number {
  const { default: fallback, min, max } = facts.settings[name];
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigurationError(name, `must be a whole number, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigurationError(name, `must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function flag(env: Env, name: string): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new ConfigurationError(name, `must be true or false, got "${raw}".`);
}

function ruleId(name: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigurationError(name, `"${raw}" is not a positive integer rule id.`);
  }
  return Number(raw);
}

function url(env: Env, name: string, fallback: string): string {
  const raw = text(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch (cause) {
    throw new ConfigurationError(name, `"${raw}" is not a URL.`, { cause });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigurationError(name, `must be an http(s) URL, got "${parsed.protocol}".`);
  }
  return raw.replace(/\/+$/, '');
}

/** Reads and checks the configuration; throws ConfigurationError naming the first bad variable. */
export function loadConfig(env: Env = process.env): VoxconfConfig {
  const credentialsSecretId = text(env, 'VOXIMPLANT_CREDENTIALS_SECRET_ID');
  if (credentialsSecretId === undefined) {
    throw new ConfigurationError(
      'VOXIMPLANT_CREDENTIALS_SECRET_ID',
      'is required (the Secrets Manager secret that holds credentials.json).',
    );
  }
  const defaultRaw = text(env, 'VOXIMPLANT_DEFAULT_RULE_ID');
  const allowedRaw = text(env, 'VOXIMPLANT_ALLOWED_RULE_IDS');
  const allowedRuleIds =
    allowedRaw === undefined
      ? undefined
      : new Set(
          allowedRaw
            .split(/[\s,;]+/)
            .filter((part) => part !== '')
            .map((part) => ruleId('VOXIMPLANT_ALLOWED_RULE_IDS', part)),
        );
  const defaultRuleId = defaultRaw === undefined ? undefined : ruleId('VOXIMPLANT_DEFAULT_RULE_ID', defaultRaw);
  if (defaultRuleId !== undefined && allowedRuleIds !== undefined && !allowedRuleIds.has(defaultRuleId)) {
    throw new ConfigurationError(
      'VOXIMPLANT_DEFAULT_RULE_ID',
      `${defaultRuleId} is not in VOXIMPLANT_ALLOWED_RULE_IDS.`,
    );
  }
  const tokenLifetimeSeconds = integer(env, 'VOXIMPLANT_TOKEN_LIFETIME_SECONDS');
  const tokenBackdateSeconds = integer(env, 'VOXIMPLANT_TOKEN_BACKDATE_SECONDS');
  const retryBaseDelayMs = integer(env, 'VOXIMPLANT_RETRY_BASE_DELAY_MS');
  const retryMaxDelayMs = integer(env, 'VOXIMPLANT_RETRY_MAX_DELAY_MS');
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw new ConfigurationError('VOXIMPLANT_RETRY_MAX_DELAY_MS', 'must not be below VOXIMPLANT_RETRY_BASE_DELAY_MS.');
  }
  const tokenRefreshMarginSeconds = Math.min(60, Math.floor(tokenLifetimeSeconds / 4));
  // A token must stay usable for a while after signing: iat is back-dated and it is renewed early.
  if (tokenLifetimeSeconds - tokenBackdateSeconds - tokenRefreshMarginSeconds < 30) {
    throw new ConfigurationError(
      'VOXIMPLANT_TOKEN_BACKDATE_SECONDS',
      `${tokenBackdateSeconds} leaves a token signed for ${tokenLifetimeSeconds} s less than 30 s of use; lower it or raise VOXIMPLANT_TOKEN_LIFETIME_SECONDS.`,
    );
  }
  return {
    credentialsSecretId,
    apiUrl: url(env, 'VOXIMPLANT_API_URL', DEFAULT_API_URL),
    defaultRuleId,
    allowedRuleIds,
    requestTimeoutMs: integer(env, 'VOXIMPLANT_REQUEST_TIMEOUT_MS'),
    maxAttempts: integer(env, 'VOXIMPLANT_MAX_ATTEMPTS'),
    retryBaseDelayMs,
    retryMaxDelayMs,
    credentialsTtlMs: integer(env, 'VOXIMPLANT_CREDENTIALS_TTL_SECONDS') * 1000,
    tokenLifetimeSeconds,
    tokenBackdateSeconds,
    tokenRefreshMarginSeconds,
    deadLetterQueueUrl: text(env, 'DEAD_LETTER_QUEUE_URL'),
    scheduleMaxLatenessSeconds: integer(env, 'SCHEDULE_MAX_LATENESS_SECONDS'),
    scheduleMaxEarlinessSeconds: integer(env, 'SCHEDULE_MAX_EARLINESS_SECONDS'),
    queueMaxReceiveCount: integer(env, 'QUEUE_MAX_RECEIVE_COUNT'),
    queueRedeliveryBaseSeconds: integer(env, 'QUEUE_REDELIVERY_BASE_SECONDS'),
    requestQueueUrl: text(env, 'REQUEST_QUEUE_URL'),
    stage: text(env, 'VOXCONF_STAGE') ?? 'local',
    eventBusName: text(env, 'EVENT_BUS_NAME'),
    publishHttpEvents: flag(env, 'PUBLISH_HTTP_EVENTS'),
    registryTableName: text(env, 'REGISTRY_TABLE_NAME'),
    registryActiveRetentionHours: integer(env, 'REGISTRY_ACTIVE_RETENTION_HOURS'),
    registryEndedRetentionDays: integer(env, 'REGISTRY_ENDED_RETENTION_DAYS'),
  };
}

let cached: VoxconfConfig | undefined;

/** The process's configuration, read from process.env on first use and kept (read once). */
export function getConfig(): VoxconfConfig {
  cached ??= loadConfig(process.env);
  return cached;
}
