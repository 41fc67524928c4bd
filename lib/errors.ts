/**
 * Every failure voxconf can report, as classes with a stable `code`, a message safe to show,
 * a `cause`, and `retryable`. How each code is treated is decided here, in ERROR_CATALOG.
 *
 * Each class names itself with a literal: a minified bundle renames classes, and `name` is what
 * Lambda reports as errorType and what the logs and the on-failure record show.
 */

import { retryAfterSeconds } from './retry.js';

/** The triggers that run the core; they may differ on whether they try a failure again. */
export type Trigger = 'http' | 'queue' | 'schedule';

/** Who has to act: the caller (info), someone watching Voximplant (warn), the operator (error). */
export type LogLevel = 'info' | 'warn' | 'error';

interface CatalogEntry {
  /** HTTP status for the HTTP API. */
  readonly status: number;
  /** The same request may succeed later: retried inside the invocation, and by the trigger. */
  readonly retryable: boolean;
  /** Triggers whose own retry (SQS redelivery, Lambda's async retries) decides otherwise. */
  readonly retryableBy?: Readonly<Partial<Record<Trigger, boolean>>>;
  /**
   * false: retryable, but not tried again inside the invocation, because the layer that failed already
   * retried what was worth retrying (the AWS SDK, for Secrets Manager); the trigger and the caller still may.
   */
  readonly retriedInInvocation?: boolean;
  /** The caller sees the error's own message; false: only publicMessage (operators read the log). */
  readonly exposeMessage: boolean;
  readonly logLevel: LogLevel;
  readonly publicMessage: string;
  /** The triggers that can raise it, where not all can (the HTTP API never schedules or dead-letters). */
  readonly raisedBy?: readonly Trigger[];
  /**
   * false: a 503 without `Retry-After` (waiting does not help: someone has to act). Default: every 503 carries
   * one.
   */
  readonly retryAfter?: false;
}

const caller = (status: number, publicMessage: string): CatalogEntry => ({
  status,
  retryable: false,
  exposeMessage: true,
  logLevel: 'info',
  publicMessage,
});
const misconfigured: CatalogEntry = {
  status: 500,
  retryable: false,
  exposeMessage: false,
  logLevel: 'error',
  publicMessage: 'The service is misconfigured.',
};
const upstream = (status: number, retryable: boolean, publicMessage: string): CatalogEntry => ({
  status,
  retryable,
  exposeMessage: false,
  logLevel: 'warn',
  publicMessage,
});

/**
 * Every failure voxconf reports, and per code: HTTP status, whether it is tried again (per trigger where
 * triggers differ), whether its own message may be shown, and the level it is logged at. Decided here only.
 */
export const ERROR_CATALOG = {
  invalid_request: caller(400, 'The request is invalid.'),
  malformed_json: caller(422, 'The body is not valid JSON.'),
  unsupported_media_type: caller(415, 'The body must be JSON (Content-Type: application/json).'),
  body_too_large: caller(413, 'The body is too large.'),
  rule_not_allowed: caller(403, 'This rule may not be started through voxconf.'),
  too_late: { ...caller(422, 'The scheduled conference is too late to start.'), raisedBy: ['schedule'] },
  too_early: { ...caller(422, 'The scheduled conference is too early to start.'), raisedBy: ['schedule'] },
  voximplant_rejected_request: {
    ...caller(422, 'Voximplant refused the request; change the request and try again.'),
    logLevel: 'warn',
  },
  voximplant_account_error: {
    ...caller(502, 'Voximplant refused the request for a reason of the account.'),
    logLevel: 'warn',
  },
  voximplant_authorization_failed: {
    ...upstream(502, false, 'Voximplant did not accept the service account key.'),
    // After one refresh it is an operator's problem that usually passes (a rotation in progress): the HTTP
    // caller is told now; a queued or scheduled start waits for its trigger's redelivery or retry.
    retryableBy: { queue: true, schedule: true },
  },
  voximplant_unavailable: upstream(503, true, 'Voximplant is temporarily unavailable; try again shortly.'),
  voximplant_throttled: upstream(503, true, 'Voximplant is throttling requests; try again shortly.'),
  voximplant_timeout: upstream(
    504,
    true,
    'Voximplant did not answer in time; the conference may have started (starting it again joins it).',
  ),
  voximplant_unreachable: upstream(503, true, 'Voximplant could not be reached; try again shortly.'),
  voximplant_invalid_response: upstream(502, true, 'Voximplant answered with an unexpected response.'),
  voximplant_http_error: upstream(502, false, 'Voximplant answered with an unexpected HTTP status.'),
  credentials_unavailable: {
    ...misconfigured,
    status: 503,
    retryable: true,
    // The SDK retried 5xx and network errors; a throttled read is not retried by anyone within the invocation.
    retriedInInvocation: false,
    publicMessage: 'The service account key could not be read right now; try again shortly.',
  },
  credentials_not_found: misconfigured,
  credentials_access_denied: misconfigured,
  credentials_invalid: misconfigured,
  configuration_error: misconfigured,
  dead_letter_failed: {
    ...misconfigured,
    retryable: true,
    publicMessage: 'The message could not be moved to the dead-letter queue.',
    raisedBy: ['queue', 'schedule'],
  },
  internal_error: { ...misconfigured, publicMessage: 'Internal error.' },
  // The schedules API (functions/schedules.ts): raised over HTTP only, never when a schedule fires.
  schedule_not_found: { ...caller(404, 'No schedule has this name.'), raisedBy: ['http'] },
  schedule_exists: { ...caller(409, 'A schedule with this name exists.'), raisedBy: ['http'] },
  idempotency_key_reused: {
    ...caller(409, 'This Idempotency-Key was used for a different request.'),
    raisedBy: ['http'],
  },
  schedule_managed_by_deploy: {
    ...caller(409, 'This schedule is declared in infra/schedules.yml; change it there and deploy.'),
    raisedBy: ['http'],
  },
  scheduler_throttled: {
    ...upstream(503, true, 'EventBridge Scheduler is throttling requests; try again shortly.'),
    raisedBy: ['http'],
  },
  scheduler_unavailable: {
    ...upstream(503, true, 'EventBridge Scheduler is unavailable; try again shortly.'),
    raisedBy: ['http'],
  },
  schedule_quota_exceeded: {
    // Not retryable: no schedule can be added until some are deleted or the quota (or the cap) is raised.
    ...misconfigured,
    status: 503,
    exposeMessage: true,
    publicMessage: 'No more schedules can be created: the quota is reached.',
    retryAfter: false,
    raisedBy: ['http'],
  },
  scheduler_access_denied: { ...misconfigured, raisedBy: ['http'] },
  // voxconf validates every schedule itself: Scheduler refusing one means voxconf's own mapping or setup is wrong.
  scheduler_rejected: { ...misconfigured, raisedBy: ['http'] },
  // The lifecycle API (functions/lifecycle.ts): raised over HTTP only, never on the start path (a registry write
  // that fails there is logged, never raised).
  conference_not_found: { ...caller(404, 'No conference has this name.'), raisedBy: ['http'] },
  conference_ended: { ...caller(409, 'The conference has ended.'), raisedBy: ['http'] },
  not_supported: {
    ...caller(409, 'voxconf does not do this for a conference whose rule does not run the reference scenario.'),
    raisedBy: ['http'],
  },
  // The session's own answers (lib/session-client.ts): messages say what it answered, never its URL.
  session_not_confirmed: {
    ...upstream(502, false, 'The session did not confirm the stop.'),
    exposeMessage: true,
    raisedBy: ['http'],
  },
  session_answer_too_large: {
    // The scenario's answer is the scenario owner's to change: the caller's side.
    ...caller(502, "The session's answer is too large."),
    raisedBy: ['http'],
  },
  session_unreachable: {
    ...upstream(502, true, 'The session could not be reached; try again shortly.'),
    exposeMessage: true,
    raisedBy: ['http'],
  },
  session_timeout: {
    ...upstream(504, true, 'The session did not answer in time; the command may have run.'),
    exposeMessage: true,
    raisedBy: ['http'],
  },
  registry_unavailable: {
    ...upstream(503, true, 'The conference registry is temporarily unavailable; try again shortly.'),
    raisedBy: ['http'],
  },
  // The table is missing or the function may not use it: a deploy problem.
  registry_misconfigured: { ...misconfigured, raisedBy: ['http'] },
} as const satisfies Readonly<Record<string, CatalogEntry>>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** Codes of an answer Voximplant gave with its own error code. */
export type VoximplantApiCode =
  | 'voximplant_rejected_request'
  | 'voximplant_account_error'
  | 'voximplant_authorization_failed'
  | 'voximplant_unavailable';

/** Codes of the other ways talking to Voximplant fails: HTTP status, timeout, network, bad body. */
export type UpstreamCode =
  | 'voximplant_unavailable'
  | 'voximplant_throttled'
  | 'voximplant_timeout'
  | 'voximplant_unreachable'
  | 'voximplant_invalid_response'
  | 'voximplant_http_error';

/** The catalog entry of a code, typed as the general entry (optional fields included). */
export function catalogEntry(code: ErrorCode): CatalogEntry {
  return ERROR_CATALOG[code];
}

/** Whether a request on this trigger can end in this code. */
export function canRaise(code: ErrorCode, trigger: Trigger): boolean {
  return catalogEntry(code).raisedBy?.includes(trigger) ?? true;
}

/** Whether the core tries the failure again within the invocation (its attempt loop), per the catalog. */
export function isRetriedInInvocation(error: VoxconfError): boolean {
  return error.retryable && (catalogEntry(error.code).retriedInInvocation ?? true);
}

/** Whether this trigger tries the failure again (its own redelivery or retry), per the catalog. */
export function isRetryableBy(error: VoxconfError, trigger: Trigger): boolean {
  return catalogEntry(error.code).retryableBy?.[trigger] ?? error.retryable;
}

/**
 * failed: Voximplant did not start the conference. unknown: the request may have reached it (a timeout or a
 * connection dropped after it was sent), so the conference may be running.
 */
export type Outcome = 'failed' | 'unknown';

export interface VoxconfErrorOptions {
  outcome?: Outcome;
  cause?: unknown;
  field?: string;
  details?: readonly FieldProblem[];
  voximplantCode?: number;
  retryAfterSeconds?: number;
}

export interface FieldProblem {
  /** The request field (the API's own name), or `body` for the request as a whole. */
  readonly field: string;
  /** A stable rule name, e.g. `required`, `max_length`, `unknown_field`. */
  readonly rule: string;
  readonly message: string;
}

export class VoxconfError extends Error {
  override name = 'VoxconfError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly field?: string;
  readonly details?: readonly FieldProblem[];
  readonly voximplantCode?: number;
  /** Whole seconds within RETRY_AFTER_SECONDS (lib/facts.json). */
  readonly retryAfterSeconds?: number;
  /** Set by the service when any attempt may have reached Voximplant, not only the last one. */
  outcome: Outcome;

  constructor(code: ErrorCode, message: string, options: VoxconfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = ERROR_CATALOG[code].retryable;
    this.outcome = options.outcome ?? 'failed';
    if (options.field !== undefined) this.field = options.field;
    if (options.details !== undefined) this.details = options.details;
    if (options.voximplantCode !== undefined) this.voximplantCode = options.voximplantCode;
    // Bounded here, so that no error carries a Retry-After callers cannot use (see retryAfterSeconds).
    const retryAfter = retryAfterSeconds(options.retryAfterSeconds);
    if (retryAfter !== undefined) this.retryAfterSeconds = retryAfter;
  }

  /** The message a caller may see: the error's own one where safe, the catalog's otherwise. */
  get publicMessage(): string {
    const entry = catalogEntry(this.code);
    return entry.exposeMessage ? this.message : entry.publicMessage;
  }
}

/** The request broke one or more rules of the schema; `details` lists every problem. */
export class ValidationError extends VoxconfError {
  override name = 'ValidationError';
  constructor(details: readonly FieldProblem[], options: { cause?: unknown } = {}) {
    const first = details[0] ?? { field: 'body', rule: 'invalid', message: 'The request is invalid.' };
    const more = details.length > 1 ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''})` : '';
    super('invalid_request', `${first.message}${more}`, { ...options, field: first.field, details });
  }
}

/** The body could not be read as a request: wrong content type, not JSON, too large. */
export class PayloadError extends VoxconfError {
  override name = 'PayloadError';
  constructor(
    code: 'malformed_json' | 'unsupported_media_type' | 'body_too_large',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export class RuleNotAllowedError extends VoxconfError {
  override name = 'RuleNotAllowedError';
  constructor(ruleId: number) {
    super('rule_not_allowed', `rule_id ${ruleId} is not in the list of rules this service may start.`, {
      field: 'rule_id',
    });
  }
}

/** A scheduled run outside its window: too late to be of use, or earlier than Scheduler ever fires. */
export class ScheduleWindowError extends VoxconfError {
  override name = 'ScheduleWindowError';
  constructor(code: 'too_late' | 'too_early', message: string) {
    super(code, message);
  }
}

/** Voximplant answered with `{"error":{code,msg}}` (or `{"errors":[...]}`). */
export class VoximplantApiError extends VoxconfError {
  override name = 'VoximplantApiError';
  readonly voximplantMessage: string;
  constructor(
    code: VoximplantApiCode,
    voximplantCode: number,
    voximplantMessage: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(code, `Voximplant error ${voximplantCode}: ${voximplantMessage}`, { ...options, voximplantCode });
    this.voximplantMessage = voximplantMessage;
  }
}

/** A change the schedules API refuses because of the schedule's state: its name, its key, who manages it. */
export class ScheduleConflictError extends VoxconfError {
  override name = 'ScheduleConflictError';
  constructor(
    code: 'schedule_exists' | 'idempotency_key_reused' | 'schedule_managed_by_deploy',
    message: string,
    options: { field?: string } = {},
  ) {
    super(code, message, options);
  }
}

export class ScheduleNotFoundError extends VoxconfError {
  override name = 'ScheduleNotFoundError';
  constructor(name: string) {
    super('schedule_not_found', `No schedule is named "${name}".`, { field: 'name' });
  }
}

/** EventBridge Scheduler failed a call: throttled, unavailable, out of quota, or not allowed. */
export class SchedulerError extends VoxconfError {
  override name = 'SchedulerError';
  constructor(
    code:
      | 'scheduler_throttled'
      | 'scheduler_unavailable'
      | 'schedule_quota_exceeded'
      | 'scheduler_access_denied'
      | 'scheduler_rejected',
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(code, message, options);
  }
}

/** Anything else that went wrong talking to Voximplant: HTTP status, timeout, network, bad body. */
export class UpstreamError extends VoxconfError {
  override name = 'UpstreamError';
  readonly httpStatus?: number;
  constructor(
    code: UpstreamCode,
    message: string,
    options: { cause?: unknown; httpStatus?: number; retryAfterSeconds?: number; outcome?: Outcome } = {},
  ) {
    super(code, message, options);
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }
}

export class CredentialsError extends VoxconfError {
  override name = 'CredentialsError';
  constructor(
    code: 'credentials_unavailable' | 'credentials_not_found' | 'credentials_access_denied' | 'credentials_invalid',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export class ConfigurationError extends VoxconfError {
  override name = 'ConfigurationError';
  readonly variable: string;
  constructor(variable: string, message: string, options: { cause?: unknown } = {}) {
    super('configuration_error', `${variable}: ${message}`, options);
    this.variable = variable;
  }
}

export class DeadLetterError extends VoxconfError {
  override name = 'DeadLetterError';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('dead_letter_failed', message, options);
  }
}

/** The registry has no (unexpired) record of this conference. */
export class ConferenceNotFoundError extends VoxconfError {
  override name = 'ConferenceNotFoundError';
  constructor(conferenceName: string) {
    super('conference_not_found', `No conference is named "${conferenceName}".`, { field: 'name' });
  }
}

/** The conference's session has been recorded ended: there is nothing to end or to send a command to. */
export class ConferenceEndedError extends VoxconfError {
  override name = 'ConferenceEndedError';
  constructor(conferenceName: string) {
    super('conference_ended', `The conference "${conferenceName}" has ended.`, { field: 'name' });
  }
}

/** What voxconf does only for rules that run the reference scenario (ending a session), asked of another rule. */
export class NotSupportedError extends VoxconfError {
  override name = 'NotSupportedError';
  constructor(message: string) {
    super('not_supported', message);
  }
}

/** What a session answered, as an error body may show it (never the session's URL). */
export interface SessionAnswerSummary {
  readonly outcome: 'answered' | 'too_large' | 'timeout' | 'refused' | 'not_found' | 'error';
  /** The HTTP status it answered with. */
  readonly status?: number;
  /** Its body: JSON when it parsed, else the text. */
  readonly body?: unknown;
}

/** The session did not confirm a stop: `session` says what it answered instead. */
export class SessionNotConfirmedError extends VoxconfError {
  override name = 'SessionNotConfirmedError';
  readonly session: SessionAnswerSummary;
  constructor(message: string, session: SessionAnswerSummary) {
    super('session_not_confirmed', message);
    this.session = session;
  }
}

/** A command's answer could not be given: too large, no answer in time, or no answer at all. */
export class SessionError extends VoxconfError {
  override name = 'SessionError';
  constructor(
    code: 'session_answer_too_large' | 'session_unreachable' | 'session_timeout',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** DynamoDB failed a registry read or update (the lifecycle API). */
export class RegistryError extends VoxconfError {
  override name = 'RegistryError';
  constructor(
    code: 'registry_unavailable' | 'registry_misconfigured',
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(code, message, options);
  }
}

/** Any thrown value as a VoxconfError; unknown errors become a permanent internal_error. */
export function toVoxconfError(error: unknown): VoxconfError {
  if (error instanceof VoxconfError) return error;
  return new VoxconfError('internal_error', 'Unexpected internal error.', { cause: error });
}
