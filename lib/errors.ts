/**
 * Every failure voxconf can report, as classes with a stable `code`, a message safe to show,
 * a `cause`, and `retryable`. Whether a code is retryable and which HTTP status it maps to is
 * decided here, in ERROR_CATALOG, and nowhere else.
 */

export type ErrorCode =
  | 'invalid_request'
  | 'malformed_json'
  | 'unsupported_media_type'
  | 'body_too_large'
  | 'rule_not_allowed'
  | 'too_late'
  | 'voximplant_rejected_request'
  | 'voximplant_account_error'
  | 'voximplant_authorization_failed'
  | 'voximplant_unavailable'
  | 'voximplant_throttled'
  | 'voximplant_timeout'
  | 'voximplant_unreachable'
  | 'voximplant_invalid_response'
  | 'voximplant_http_error'
  | 'credentials_unavailable'
  | 'credentials_not_found'
  | 'credentials_access_denied'
  | 'credentials_invalid'
  | 'configuration_error'
  | 'dead_letter_failed'
  | 'internal_error';

interface CatalogEntry {
  /** HTTP status for the HTTP API. */
  readonly status: number;
  /** true: the same request may succeed later, so queue and schedule triggers retry it. */
  readonly retryable: boolean;
  /** The caller sees the error's own message; false: only this generic text (operators read the log). */
  readonly exposeMessage: boolean;
  readonly publicMessage: string;
}

export const ERROR_CATALOG: Readonly<Record<ErrorCode, CatalogEntry>> = {
  invalid_request: { status: 400, retryable: false, exposeMessage: true, publicMessage: 'The request is invalid.' },
  malformed_json: { status: 422, retryable: false, exposeMessage: true, publicMessage: 'The body is not valid JSON.' },
  unsupported_media_type: {
    status: 415,
    retryable: false,
    exposeMessage: true,
    publicMessage: 'The body must be JSON (Content-Type: application/json).',
  },
  body_too_large: { status: 413, retryable: false, exposeMessage: true, publicMessage: 'The body is too large.' },
  rule_not_allowed: {
    status: 403,
    retryable: false,
    exposeMessage: true,
    publicMessage: 'This rule may not be started through voxconf.',
  },
  too_late: {
    status: 422,
    retryable: false,
    exposeMessage: true,
    publicMessage: 'The scheduled conference is too late to start.',
  },
  voximplant_rejected_request: {
    status: 422,
    retryable: false,
    exposeMessage: true,
    publicMessage: 'Voximplant refused the request; change the request and try again.',
  },
  voximplant_account_error: {
    status: 502,
    retryable: false,
    exposeMessage: true,
    publicMessage: 'Voximplant refused the request for a reason of the account.',
  },
  voximplant_authorization_failed: {
    status: 502,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'Voximplant did not accept the service account key.',
  },
  voximplant_unavailable: {
    status: 503,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'Voximplant is temporarily unavailable; try again shortly.',
  },
  voximplant_throttled: {
    status: 503,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'Voximplant is throttling requests; try again shortly.',
  },
  voximplant_timeout: {
    status: 504,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'Voximplant did not answer in time.',
  },
  voximplant_unreachable: {
    status: 503,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'Voximplant could not be reached; try again shortly.',
  },
  voximplant_invalid_response: {
    status: 502,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'Voximplant answered with an unexpected response.',
  },
  voximplant_http_error: {
    status: 502,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'Voximplant answered with an unexpected HTTP status.',
  },
  credentials_unavailable: {
    status: 503,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'The service account key could not be read right now; try again shortly.',
  },
  credentials_not_found: {
    status: 500,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'The service is misconfigured.',
  },
  credentials_access_denied: {
    status: 500,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'The service is misconfigured.',
  },
  credentials_invalid: {
    status: 500,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'The service is misconfigured.',
  },
  configuration_error: {
    status: 500,
    retryable: false,
    exposeMessage: false,
    publicMessage: 'The service is misconfigured.',
  },
  dead_letter_failed: {
    status: 500,
    retryable: true,
    exposeMessage: false,
    publicMessage: 'The message could not be moved to the dead-letter queue.',
  },
  internal_error: { status: 500, retryable: false, exposeMessage: false, publicMessage: 'Internal error.' },
};

export interface VoxconfErrorOptions {
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
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly field?: string;
  readonly details?: readonly FieldProblem[];
  readonly voximplantCode?: number;
  readonly retryAfterSeconds?: number;

  constructor(code: ErrorCode, message: string, options: VoxconfErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = ERROR_CATALOG[code].retryable;
    if (options.field !== undefined) this.field = options.field;
    if (options.details !== undefined) this.details = options.details;
    if (options.voximplantCode !== undefined) this.voximplantCode = options.voximplantCode;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The message a caller may see: the error's own one where safe, the catalog's otherwise. */
  get publicMessage(): string {
    const entry = ERROR_CATALOG[this.code];
    return entry.exposeMessage ? this.message : entry.publicMessage;
  }
}

/** The request broke one or more rules of the schema; `details` lists every problem. */
export class ValidationError extends VoxconfError {
  constructor(details: readonly FieldProblem[], options: { cause?: unknown } = {}) {
    const first = details[0] ?? { field: 'body', rule: 'invalid', message: 'The request is invalid.' };
    const more = details.length > 1 ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''})` : '';
    super('invalid_request', `${first.message}${more}`, { ...options, field: first.field, details });
  }
}

/** The body could not be read as a request: wrong content type, not JSON, too large. */
export class PayloadError extends VoxconfError {
  constructor(
    code: 'malformed_json' | 'unsupported_media_type' | 'body_too_large',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export class RuleNotAllowedError extends VoxconfError {
  constructor(ruleId: number) {
    super('rule_not_allowed', `rule_id ${ruleId} is not in the list of rules this service may start.`, {
      field: 'rule_id',
    });
  }
}

export class TooLateError extends VoxconfError {
  constructor(message: string) {
    super('too_late', message);
  }
}

/** Voximplant answered with `{"error":{code,msg}}` (or `{"errors":[...]}`). */
export class VoximplantApiError extends VoxconfError {
  readonly voximplantMessage: string;
  constructor(
    code: ErrorCode,
    voximplantCode: number,
    voximplantMessage: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(code, `Voximplant error ${voximplantCode}: ${voximplantMessage}`, { ...options, voximplantCode });
    this.voximplantMessage = voximplantMessage;
  }
}

/** Anything else that went wrong talking to Voximplant: HTTP status, timeout, network, bad body. */
export class UpstreamError extends VoxconfError {
  readonly httpStatus?: number;
  constructor(
    code:
      | 'voximplant_unavailable'
      | 'voximplant_throttled'
      | 'voximplant_timeout'
      | 'voximplant_unreachable'
      | 'voximplant_invalid_response'
      | 'voximplant_http_error',
    message: string,
    options: { cause?: unknown; httpStatus?: number; retryAfterSeconds?: number } = {},
  ) {
    super(code, message, options);
    if (options.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }
}

export class CredentialsError extends VoxconfError {
  constructor(
    code: 'credentials_unavailable' | 'credentials_not_found' | 'credentials_access_denied' | 'credentials_invalid',
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export class ConfigurationError extends VoxconfError {
  readonly variable: string;
  constructor(variable: string, message: string, options: { cause?: unknown } = {}) {
    super('configuration_error', `${variable}: ${message}`, options);
    this.variable = variable;
  }
}

export class DeadLetterError extends VoxconfError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('dead_letter_failed', message, options);
  }
}

/** Any thrown value as a VoxconfError; unknown errors become a permanent internal_error. */
export function toVoxconfError(error: unknown): VoxconfError {
  if (error instanceof VoxconfError) return error;
  return new VoxconfError('internal_error', 'Unexpected internal error.', { cause: error });
}
