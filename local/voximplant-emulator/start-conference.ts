/**
 * StartConference's own checks, in the order the emulator applies them. Voximplant documents the
 * parameters but not which code each mistake gets; the mapping follows the error names
 * (voximplant-api.md section 4.4 / section 7) and is an assumption.
 */
import type { RuleInfo } from './types.js';

/** "The name length must be less than 50 symbols"; symbols are counted as Unicode code points. */
export const MAX_CONFERENCE_NAME_LENGTH = 49;

export const CODES = {
  invalidArguments: 101,
  requiredIsEmpty: 134,
  invalidApplicationId: 116,
  invalidUserId: 117,
  invalidRuleId: 147,
  conferenceNameTooLong: 270,
  ruleNoScenario: 375,
} as const;

export type StartConferenceCheck =
  | { readonly ok: true; readonly conferenceName: string; readonly ruleId: number }
  | { readonly ok: false; readonly code: number };

export function checkStartConference(
  params: Readonly<Record<string, string>>,
  accountId: number,
  findRule: (accountId: number, ruleId: number) => RuleInfo | undefined,
): StartConferenceCheck {
  const name = params.conference_name;
  const rawRuleId = params.rule_id;
  if (name === undefined || name === '' || rawRuleId === undefined || rawRuleId === '') {
    return { ok: false, code: CODES.requiredIsEmpty };
  }
  if ([...name].length > MAX_CONFERENCE_NAME_LENGTH) return { ok: false, code: CODES.conferenceNameTooLong };

  // The Python and .NET SDKs refuse these pairs client-side; the server is assumed to as well.
  if (present(params.user_id) && present(params.user_name)) return { ok: false, code: CODES.invalidArguments };
  if (present(params.application_id) && present(params.application_name)) {
    return { ok: false, code: CODES.invalidArguments };
  }
  if (present(params.user_id) && !isId(params.user_id)) return { ok: false, code: CODES.invalidUserId };
  if (present(params.application_id) && !isId(params.application_id)) {
    return { ok: false, code: CODES.invalidApplicationId };
  }

  if (!isId(rawRuleId)) return { ok: false, code: CODES.invalidRuleId };
  const ruleId = Number(rawRuleId);
  const rule = findRule(accountId, ruleId);
  if (!rule) return { ok: false, code: CODES.invalidRuleId };
  if (!rule.scenario) return { ok: false, code: CODES.ruleNoScenario };
  return { ok: true, conferenceName: name, ruleId };
}

export interface StartConferenceSuccess {
  readonly result: 1;
  readonly media_session_access_url: string;
  readonly media_session_access_secure_url: string;
  readonly call_session_history_id: number;
}

export function successBody(session: {
  readonly mediaSessionAccessUrl: string;
  readonly mediaSessionAccessSecureUrl: string;
  readonly callSessionHistoryId: number;
}): StartConferenceSuccess {
  return {
    result: 1,
    media_session_access_url: session.mediaSessionAccessUrl,
    media_session_access_secure_url: session.mediaSessionAccessSecureUrl,
    call_session_history_id: session.callSessionHistoryId,
  };
}

function present(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** A positive decimal integer, as ids travel (`rule_id=123`). */
function isId(value: string): boolean {
  return /^[0-9]{1,15}$/.test(value) && Number(value) > 0;
}
