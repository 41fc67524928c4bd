import type { Logger } from '@aws-lambda-powertools/logger';
import type { VoxconfConfig } from './config.js';
import type { CredentialsProvider, GetCredentialsOptions, VoximplantCredentials } from './credentials.js';
import { CredentialsError, RuleNotAllowedError, toVoxconfError, UpstreamError, type VoxconfError } from './errors.js';
import type { ConferenceMetrics } from './observability.js';
import { nextDelayMs, sleep as realSleep } from './retry.js';
import type { TokenSigner } from './token.js';
import { type ConferenceRequest, validateConferenceRequest } from './validation.js';
import type { StartConferenceResponse, VoximplantClient } from './voximplant-client.js';
import { AUTHORIZATION_FAILED } from './voximplant-codes.js';

/** The answer given to whoever started the conference (the URLs control the session: caller only). */
export interface ConferenceResult extends StartConferenceResponse {
  readonly conference_name: string;
}

export interface ConferenceServiceDeps {
  readonly config: VoxconfConfig;
  readonly credentials: CredentialsProvider;
  readonly signer: Pick<TokenSigner, 'token' | 'invalidate'>;
  readonly client: Pick<VoximplantClient, 'startConference'>;
  readonly logger?: ServiceLogger;
  readonly metrics?: ConferenceMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

type ServiceLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface StartOptions {
  /** Epoch ms by which an answer is due (the invocation's end less a reserve); bounds attempts and waits. */
  readonly deadline?: number | undefined;
  /** A logger carrying this request's correlation id (records of one batch run concurrently). */
  readonly logger?: ServiceLogger | undefined;
}

/** The shortest attempt worth starting: less than this and the caller is better served by an answer now. */
const MIN_ATTEMPT_MS = 250;

const noMetrics: ConferenceMetrics = {
  conferenceStarted() {},
  voximplantError() {},
  failed() {},
  retry() {},
  credentialsRefreshed() {},
  upstreamLatency() {},
};

/**
 * Starts or joins a conference: validate, check the rule allow-list, then call StartConference with
 * retries for retryable failures only, and one credentials refresh when Voximplant refuses the token.
 */
export class ConferenceService {
  private readonly deps: ConferenceServiceDeps;
  private readonly metrics: ConferenceMetrics;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(deps: ConferenceServiceDeps) {
    this.deps = deps;
    this.metrics = deps.metrics ?? noMetrics;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? realSleep;
  }

  /** Checks a request from any trigger against the shared schema and the allow-list; calls nothing. */
  validate(input: unknown): ConferenceRequest {
    const { config } = this.deps;
    const request = validateConferenceRequest(input, { defaultRuleId: config.defaultRuleId });
    if (config.allowedRuleIds && !config.allowedRuleIds.has(request.rule_id)) {
      throw new RuleNotAllowedError(request.rule_id);
    }
    return request;
  }

  async start(input: unknown, options: StartOptions = {}): Promise<ConferenceResult> {
    const started = this.now();
    const log = options.logger ?? this.deps.logger;
    let request: ConferenceRequest | undefined;
    try {
      request = this.validate(input);
      const response = await this.call(request, options);
      this.metrics.conferenceStarted();
      log?.info('conference started', {
        conference_name: request.conference_name,
        rule_id: request.rule_id,
        outcome: 'started',
        call_session_history_id: response.call_session_history_id,
        latency_ms: this.now() - started,
      });
      return { conference_name: request.conference_name, ...response };
    } catch (thrown) {
      const error = toVoxconfError(thrown);
      this.metrics.failed(error.code);
      // The caller's mistakes are routine (info); Voximplant's refusals and outages need watching (warn);
      // the service's own faults need fixing (error).
      const level =
        error.code === 'internal_error' || error.code === 'configuration_error' || error.code.startsWith('credentials')
          ? 'error'
          : error.code.startsWith('voximplant')
            ? 'warn'
            : 'info';
      log?.[level]('conference not started', {
        conference_name: request?.conference_name,
        rule_id: request?.rule_id,
        outcome: 'failed',
        error_code: error.code,
        retryable: error.retryable,
        voximplant_code: error.voximplantCode,
        field: error.field,
        error_message: error.message,
        latency_ms: this.now() - started,
        // The cause is a library or network error: its name and message never carry a secret.
        cause: error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined,
      });
      throw error;
    }
  }

  private async call(request: ConferenceRequest, options: StartOptions): Promise<StartConferenceResponse> {
    const { config, credentials, signer, client } = this.deps;
    const log = options.logger ?? this.deps.logger;
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    const policy = {
      maxAttempts: config.maxAttempts,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
    };
    let refreshed = false;
    let refresh: GetCredentialsOptions | undefined;
    let attempt = 0;
    let creds: VoximplantCredentials | undefined;
    for (;;) {
      attempt += 1;
      let lastError: VoxconfError;
      try {
        creds = await this.beforeDeadline(credentials.get(refresh), deadline);
        refresh = undefined;
        const obtainedAt = this.now();
        const token = await signer.token(creds);
        const timeoutMs = Math.min(config.requestTimeoutMs, deadline - this.now());
        if (timeoutMs < Math.min(MIN_ATTEMPT_MS, config.requestTimeoutMs)) {
          throw new UpstreamError('voximplant_timeout', 'No time was left for a request to Voximplant.');
        }
        const sent = this.now();
        try {
          return await client.startConference(request, token, { timeoutMs });
        } catch (error) {
          if (toVoxconfError(error).voximplantCode === AUTHORIZATION_FAILED) {
            refresh = { forceRefresh: true, ifFetchedBefore: obtainedAt };
          }
          throw error;
        } finally {
          this.metrics.upstreamLatency(this.now() - sent);
        }
      } catch (thrown) {
        lastError = toVoxconfError(thrown);
      }
      if (lastError.voximplantCode !== undefined) this.metrics.voximplantError(lastError.voximplantCode);

      if (lastError.voximplantCode === AUTHORIZATION_FAILED && !refreshed) {
        // The key may have been rotated in Secrets Manager: read it again (next iteration) and sign anew, once.
        refreshed = true;
        attempt -= 1;
        this.metrics.credentialsRefreshed();
        log?.warn('Voximplant refused the token; refreshing credentials', {
          conference_name: request.conference_name,
          voximplant_code: AUTHORIZATION_FAILED,
          key_version: creds?.versionId,
        });
        if (creds) signer.invalidate(creds);
        continue;
      }
      if (!lastError.retryable) throw lastError;
      const delay = nextDelayMs({
        policy,
        attempt,
        retryAfterSeconds: lastError.retryAfterSeconds,
        remainingMs: deadline - this.now(),
        minAttemptMs: MIN_ATTEMPT_MS,
        random: this.deps.random,
      });
      if (delay === undefined) throw lastError;
      this.metrics.retry();
      log?.info('retrying StartConference', {
        conference_name: request.conference_name,
        attempt,
        delay_ms: delay,
        error_code: lastError.code,
        voximplant_code: lastError.voximplantCode,
      });
      await this.sleep(delay);
    }
  }

  /**
   * The credentials, or a retryable error once the deadline passes: a slow Secrets Manager must not
   * keep the invocation past the time its caller is owed an answer. The fetch itself goes on (it
   * is shared and bounded by the SDK's own timeouts) and fills the cache for later requests.
   */
  private async beforeDeadline<T>(pending: Promise<T>, deadline: number): Promise<T> {
    const remaining = deadline - this.now();
    if (!Number.isFinite(remaining)) return pending;
    pending.catch(() => undefined); // if the deadline wins, a later rejection is nobody's to handle
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CredentialsError('credentials_unavailable', 'Secrets Manager did not answer in time.')),
        Math.max(0, remaining),
      );
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
