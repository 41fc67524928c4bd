import type { UpstreamCode, VoximplantApiCode } from './errors.js';

/**
 * How voxconf treats each Voximplant error code (../shared/reference/voximplant-error-codes.tsv).
 * Voximplant documents the codes but not which ones StartConference can return, so the sets
 * below are our reading of the names; a code not listed is a permanent account-side error,
 * which is the safe default (no retry storm, the operator is alerted through the DLQ).
 */

/** Server-side trouble that a later identical request can get past. */
export const TRANSIENT_CODES: ReadonlySet<number> = new Set([
  1, // FATAL_ERROR
  2, // INTERNAL_ERROR
  4, // DB_ERROR
  15, // MEDIA_SERVER_ERROR
  16, // MEDIA_BALANCER_ERROR
  22, // CONFERENCE_BALANCER_ERROR
  23, // CONFERENCE_SERVER_ERROR
  135, // SESSION_TIMEOUT
  251, // CALL_SERVICE_ERROR
  162, // TRY_LATER
  314, // CONCURRENT_RESOURCE_LIMIT_EXCEEDED
  340, // RATE_LIMIT_EXCEED
  416, // RETRY_LATER
  484, // HTTP_REQUEST_REJECTED (probable automatic resend; try again later)
]);

/** The request's own values were refused: the caller has to change the request. */
export const REQUEST_CODES: ReadonlySet<number> = new Set([
  101, // INVALID_ARGUMENTS
  107, // INVALID_APPLICATION_NAME
  116, // INVALID_APPLICATION_ID
  117, // INVALID_USER_ID
  134, // REQUIRED_IS_EMPTY
  147, // INVALID_RULE_ID
  257, // INVALID_REFERENCE_IP
  269, // INVALID_CONFERENCE_NAME
  270, // CONFERENCE_NAME_TOO_LONG
  273, // INVALID_USERNAME
  375, // RULE_NO_SCENARIO_BOUND
  393, // USER_NOT_BOUND_TO_THE_APPLICATION
  492, // FORBIDDEN_PARAMETER
  558, // APPLICATION_NOT_FOUND
]);

/** Voximplant did not accept the token. voxconf refreshes the key once before giving up. */
export const AUTHORIZATION_FAILED = 100;

export function classifyVoximplantCode(code: number): VoximplantApiCode {
  if (code === AUTHORIZATION_FAILED) return 'voximplant_authorization_failed';
  if (TRANSIENT_CODES.has(code)) return 'voximplant_unavailable';
  if (REQUEST_CODES.has(code)) return 'voximplant_rejected_request';
  return 'voximplant_account_error';
}

/** Classification of a non-2xx HTTP status from the Voximplant API. */
export function classifyHttpStatus(status: number): UpstreamCode {
  if (status === 429) return 'voximplant_throttled';
  if (status >= 500 || status === 408) return 'voximplant_unavailable';
  return 'voximplant_http_error';
}
