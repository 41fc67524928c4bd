import type { Logger } from '@aws-lambda-powertools/logger';
import type { VoxconfConfig } from './config.js';
import type { CredentialsProvider, GetCredentialsOptions, VoximplantCredentials } from './credentials.js';
import {
  CredentialsError,
  catalogEntry,
  isRetriedInInvocation,
  toVoxconfError,
  UpstreamError,
  type VoxconfError,
} from './errors.js';
import type { ConferenceMetrics } from './observability.js';
import { nextDelayMs, sleep as realSleep } from './retry.js';
import type { TokenSigner } from './token.js';
import { type ConferenceRequest, validateStartableRequest } from './validation.js';
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
  /** `preconnect` is optional: without it the warm-up only prepares the token. */
  readonly client: Pick<VoximplantClient, 'startConference'> & Partial<Pick<VoximplantClient, 'preconnect'>>;
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
  /** Told once how the start went, success or failure (outcome events use it). */
  readonly onSettled?: ((report: StartReport) => void) | undefined;
}

/** What one start did, whatever its outcome: the request's identity when it was valid, and its cost. */
export interface StartReport {
  readonly conferenceName: string | undefined;
  readonly ruleId: number | undefined;
  /** StartConference attempts made (0 when the request was refused before any). */
  readonly attempts: number;
  readonly durationMs: number;
}

interface AttemptKey {
  readonly credentials: VoximplantCredentials;
  /** When the credentials were in hand: a fetch completed after this already refreshed them. */
  readonly obtainedAt: number;
}

type AttemptOutcome =
  | { readonly ok: true; readonly response: StartConferenceResponse }
  | { readonly ok: false; readonly error: VoxconfError; readonly key: AttemptKey | undefined };

/** The warm-up's two parts, each settling on its own (neither rejects). */
export interface WarmUpWork {
  /** Credentials read, key imported, token signed (all cached for the first request). */
  readonly token: Promise<PromiseSettledResult<void>>;
  /** The connection to Voximplant opened; `undefined` when the client cannot pre-open one. */
  readonly connection: Promise<PromiseSettledResult<void>> | undefined;
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

  /**
   * Gets ready for the first request without sending one: reads the key from Secrets Manager, imports
   * it and signs the token (cached, as a request would), and opens the connection to Voximplant, all
   * concurrently. Never sends a StartConference; each part settles on its own and never rejects.
   * `signal` abandons the read and the connection still pending (the token's CPU work just finishes).
   */
  warmUp(options: { readonly signal?: AbortSignal } = {}): WarmUpWork {
    const { credentials, signer, client } = this.deps;
    const { signal } = options;
    const settled = (work: Promise<unknown>): Promise<PromiseSettledResult<void>> =>
      work.then(
        () => ({ status: 'fulfilled', value: undefined }),
        (reason: unknown) => ({ status: 'rejected', reason }),
      );
    const token = settled(
      (async () => {
        await signer.token(await credentials.get({ signal }));
      })(),
    );
    return { token, connection: client.preconnect ? settled(client.preconnect(signal)) : undefined };
  }

  /** Checks a request from any trigger against the shared schema and the allow-list; calls nothing. */
  validate(input: unknown): ConferenceRequest {
    const { defaultRuleId, allowedRuleIds } = this.deps.config;
    return validateStartableRequest(input, { defaultRuleId, allowedRuleIds });
  }

  async start(input: unknown, options: StartOptions = {}): Promise<ConferenceResult> {
    const started = this.now();
    const log = options.logger ?? this.deps.logger;
    const tally = { attempts: 0 };
    let request: ConferenceRequest | undefined;
    const settle = () =>
      options.onSettled?.({
        conferenceName: request?.conference_name,
        ruleId: request?.rule_id,
        attempts: tally.attempts,
        durationMs: this.now() - started,
      });
    try {
      request = this.validate(input);
      const response = await this.call(request, options, tally);
      settle();
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
      log?.[catalogEntry(error.code).logLevel]('conference not started', {
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
      settle();
      throw error;
    }
  }

  /**
   * Attempts until one succeeds, a failure is not retried in the invocation (not retryable, or a
   * credentials failure the SDK already retried), or attempts or time run out. A refused
   * token gets one fresh read of the key and one more try, which does not count as an attempt.
   */
  private async call(
    request: ConferenceRequest,
    options: StartOptions,
    tally: { attempts: number },
  ): Promise<StartConferenceResponse> {
    const log = options.logger ?? this.deps.logger;
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    let refresh: GetCredentialsOptions | undefined;
    let keyRefreshed = false;
    let mayHaveStarted = false;
    for (let attempt = 1; ; ) {
      tally.attempts += 1;
      const outcome = await this.attempt(request, deadline, refresh);
      if (outcome.ok) return outcome.response;
      const { error, key } = outcome;
      // An earlier attempt that may have reached Voximplant leaves the conference possibly running.
      mayHaveStarted ||= error.outcome === 'unknown';
      if (mayHaveStarted) error.outcome = 'unknown';
      // A forced read that failed is asked for again on the next attempt.
      if (key) refresh = undefined;
      if (error.voximplantCode === AUTHORIZATION_FAILED && key && !keyRefreshed) {
        // The key may have been rotated in Secrets Manager: read it again and sign anew, once.
        keyRefreshed = true;
        refresh = { forceRefresh: true, ifFetchedBefore: key.obtainedAt };
        this.deps.signer.invalidate(key.credentials);
        this.metrics.credentialsRefreshed();
        log?.warn('Voximplant refused the token; refreshing credentials', {
          conference_name: request.conference_name,
          voximplant_code: AUTHORIZATION_FAILED,
          key_version: key.credentials.versionId,
        });
        continue;
      }
      const delay = isRetriedInInvocation(error) ? this.retryDelay(attempt, error, deadline) : undefined;
      if (delay === undefined) throw error;
      this.metrics.retry();
      log?.info('retrying StartConference', {
        conference_name: request.conference_name,
        attempt,
        delay_ms: delay,
        error_code: error.code,
        voximplant_code: error.voximplantCode,
      });
      await this.sleep(delay);
      attempt += 1;
    }
  }

  /** One StartConference: credentials, token, request. A failure says which key it used, if it got one. */
  private async attempt(
    request: ConferenceRequest,
    deadline: number,
    refresh: GetCredentialsOptions | undefined,
  ): Promise<AttemptOutcome> {
    const { config, credentials, signer, client } = this.deps;
    let key: AttemptKey | undefined;
    try {
      const used = await this.beforeDeadline(credentials.get(refresh), deadline);
      key = { credentials: used, obtainedAt: this.now() };
      const token = await signer.token(used);
      const timeoutMs = Math.min(config.requestTimeoutMs, deadline - this.now());
      if (timeoutMs < Math.min(MIN_ATTEMPT_MS, config.requestTimeoutMs)) {
        throw new UpstreamError('voximplant_timeout', 'No time was left for a request to Voximplant.');
      }
      const sent = this.now();
      try {
        return { ok: true, response: await client.startConference(request, token, { timeoutMs }) };
      } finally {
        this.metrics.upstreamLatency(this.now() - sent);
      }
    } catch (thrown) {
      const error = toVoxconfError(thrown);
      if (error.voximplantCode !== undefined) this.metrics.voximplantError(error.voximplantCode);
      return { ok: false, error, key };
    }
  }

  private retryDelay(attempt: number, error: VoxconfError, deadline: number): number | undefined {
    const { config } = this.deps;
    return nextDelayMs({
      policy: {
        maxAttempts: config.maxAttempts,
        baseDelayMs: config.retryBaseDelayMs,
        maxDelayMs: config.retryMaxDelayMs,
      },
      attempt,
      retryAfterSeconds: error.retryAfterSeconds,
      remainingMs: deadline - this.now(),
      minAttemptMs: MIN_ATTEMPT_MS,
      random: this.deps.random,
    });
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
