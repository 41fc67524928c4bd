import { isIP } from 'node:net';
import { type FieldProblem, RuleNotAllowedError, ValidationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import { describe, isPlainObject, printable } from './values.js';

/** A StartConference request, checked, in the API's own field names. */
export interface ConferenceRequest {
  readonly conference_name: string;
  readonly rule_id: number;
  readonly user_id?: number;
  readonly user_name?: string;
  readonly application_id?: number;
  readonly application_name?: string;
  readonly script_custom_data?: string;
  readonly reference_ip?: string;
  readonly server_location?: string;
}

/** Documented limits (README, "Limits"), from lib/facts.json. */
export const LIMITS = {
  /** Voximplant: "The name length must be less than 50 symbols". */
  conferenceNameMaxCodePoints: facts.request.conferenceNameMaxCodePoints,
  /** UTF-8 bytes of script_custom_data after JSON-encoding an object. */
  scriptCustomDataMaxBytes: facts.request.scriptCustomDataMaxBytes,
  /** user_name, application_name, server_location. */
  nameMaxLength: facts.request.nameMaxLength,
} as const;

export type RequestField = keyof ConferenceRequest;

export const REQUEST_FIELDS: readonly string[] = facts.request.fields;

const KNOWN = new Set<string>(REQUEST_FIELDS);

export interface ValidationOptions {
  /** Used when the request has no rule_id. */
  readonly defaultRuleId?: number | undefined;
}

/** Unicode Cc: C0 (U+0000-U+001F), DEL (U+007F) and C1 (U+0080-U+009F). */
const CONTROL = /\p{Cc}/u;
/** Nothing visible: only White_Space and format (Cf) characters, e.g. "\u200B\u200B" or "\u202E". */
const INVISIBLE_ONLY = /^[\p{White_Space}\p{Cf}]+$/u;
/** Leading or trailing White_Space (U+00A0, U+3000, ... too, not only what String#trim removes). */
const SURROUNDING_WHITE_SPACE = /^\p{White_Space}|\p{White_Space}$/u;

class Checker {
  readonly problems: FieldProblem[] = [];

  fail(field: string, rule: string, message: string): undefined {
    this.problems.push({ field, rule, message });
    return undefined;
  }

  positiveInteger(field: string, value: unknown): number | undefined {
    const number = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number)) {
      return this.fail(field, 'type', `${field} must be a positive integer, got ${describe(value)}.`);
    }
    if (number < 1 || !Number.isSafeInteger(number)) {
      return this.fail(field, 'range', `${field} must be a positive integer up to ${Number.MAX_SAFE_INTEGER}.`);
    }
    return number;
  }

  /**
   * A name (conference_name, user_name, application_name, server_location), one rule set for all. Refused,
   * never altered: a name is sent as its exact code points, and callers joining from the Web SDK use it as
   * given, so a trimmed or normalized name would open a different room from theirs.
   */
  string(field: string, value: unknown, maxCodePoints: number): string | undefined {
    if (typeof value !== 'string')
      return this.fail(field, 'type', `${field} must be a string, got ${describe(value)}.`);
    if (!value.isWellFormed()) {
      return this.fail(field, 'unicode', `${field} must be well-formed Unicode (no lone surrogates).`);
    }
    if (value === '') return this.fail(field, 'required', `${field} must not be empty.`);
    // "Less than 50 symbols": we read symbols as code points, so an emoji is one, not two UTF-16 units.
    let codePoints = 0;
    for (const _ of value) if (++codePoints > maxCodePoints) break;
    if (codePoints > maxCodePoints) {
      return this.fail(field, 'max_length', `${field} must be at most ${maxCodePoints} characters.`);
    }
    if (CONTROL.test(value)) {
      return this.fail(field, 'control_characters', `${field} must not contain control characters (C0, DEL, C1).`);
    }
    if (INVISIBLE_ONLY.test(value)) {
      return this.fail(
        field,
        'invisible_only',
        `${field} must contain a visible character, not only white space and format characters.`,
      );
    }
    if (SURROUNDING_WHITE_SPACE.test(value)) {
      return this.fail(field, 'surrounding_whitespace', `${field} must not start or end with white space.`);
    }
    return value;
  }

  customData(value: unknown): string | undefined {
    const field = 'script_custom_data';
    let encoded: string;
    if (typeof value === 'string') {
      encoded = value;
    } else if (value !== null && typeof value === 'object') {
      // Objects are JSON-encoded for the scenario's VoxEngine.customData().
      try {
        encoded = JSON.stringify(value);
      } catch {
        return this.fail(field, 'max_depth', `${field} is nested too deeply to encode.`);
      }
    } else {
      return this.fail(field, 'type', `${field} must be a string or a JSON object, got ${describe(value)}.`);
    }
    if (!encoded.isWellFormed()) {
      return this.fail(field, 'unicode', `${field} must be well-formed Unicode (no lone surrogates).`);
    }
    if (Buffer.byteLength(encoded, 'utf8') > LIMITS.scriptCustomDataMaxBytes) {
      return this.fail(
        field,
        'max_bytes',
        `${field} must be at most ${LIMITS.scriptCustomDataMaxBytes} bytes of UTF-8.`,
      );
    }
    return encoded;
  }

  ip(value: unknown): string | undefined {
    const field = 'reference_ip';
    if (typeof value !== 'string')
      return this.fail(field, 'type', `${field} must be a string, got ${describe(value)}.`);
    if (isIP(value) === 0) return this.fail(field, 'ip_address', `${field} must be an IPv4 or IPv6 address.`);
    return value;
  }
}

/**
 * Checks a request from any trigger against the one schema and returns it typed.
 * Throws ValidationError listing every problem, each naming its field and rule.
 */
export function validateConferenceRequest(input: unknown, options: ValidationOptions = {}): ConferenceRequest {
  if (!isPlainObject(input)) {
    throw new ValidationError([
      { field: 'body', rule: 'type', message: `The request must be a JSON object, got ${describe(input)}.` },
    ]);
  }
  const check = new Checker();
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) check.fail(printable(key), 'unknown_field', `${printable(key)} is not a known field.`);
  }
  const has = (key: string): boolean => Object.hasOwn(input, key);

  const conference_name = has('conference_name')
    ? check.string('conference_name', input.conference_name, LIMITS.conferenceNameMaxCodePoints)
    : check.fail('conference_name', 'required', 'conference_name is required.');

  let rule_id: number | undefined;
  if (has('rule_id')) rule_id = check.positiveInteger('rule_id', input.rule_id);
  else if (options.defaultRuleId !== undefined) rule_id = options.defaultRuleId;
  else check.fail('rule_id', 'required', 'rule_id is required (no default rule is configured).');

  const optional = <T>(key: RequestField, parse: (value: unknown) => T | undefined): T | undefined =>
    has(key) ? parse(input[key]) : undefined;
  const fields = {
    user_id: optional('user_id', (v) => check.positiveInteger('user_id', v)),
    user_name: optional('user_name', (v) => check.string('user_name', v, LIMITS.nameMaxLength)),
    application_id: optional('application_id', (v) => check.positiveInteger('application_id', v)),
    application_name: optional('application_name', (v) => check.string('application_name', v, LIMITS.nameMaxLength)),
    script_custom_data: optional('script_custom_data', (v) => check.customData(v)),
    reference_ip: optional('reference_ip', (v) => check.ip(v)),
    server_location: optional('server_location', (v) => check.string('server_location', v, LIMITS.nameMaxLength)),
  };

  if (has('user_id') && has('user_name')) {
    check.fail('user_name', 'mutually_exclusive', 'Give user_id or user_name, not both.');
  }
  if (has('application_id') && has('application_name')) {
    check.fail('application_name', 'mutually_exclusive', 'Give application_id or application_name, not both.');
  }
  if (check.problems.length > 0 || conference_name === undefined || rule_id === undefined) {
    throw new ValidationError(check.problems);
  }
  const request: ConferenceRequest = { conference_name, rule_id };
  // Absent fields stay absent (not `undefined`): the request is sent and logged as given.
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(request, { [key]: value });
  return request;
}

export interface StartableOptions extends ValidationOptions {
  /** When set, only these rules may be started. */
  readonly allowedRuleIds?: ReadonlySet<number> | undefined;
}

/**
 * A request the service would start: the schema (validateConferenceRequest) and the rule allow-list, the same
 * checks as ConferenceService.validate, without the service (the schedules API checks requests it never starts).
 */
export function validateStartableRequest(input: unknown, options: StartableOptions = {}): ConferenceRequest {
  const request = validateConferenceRequest(input, options);
  if (options.allowedRuleIds && !options.allowedRuleIds.has(request.rule_id)) {
    throw new RuleNotAllowedError(request.rule_id);
  }
  return request;
}

const CORRELATION_ID = new RegExp(`^[\\x21-\\x7e][\\x20-\\x7e]{0,${facts.correlationId.maxLength - 1}}$`);

/**
 * A producer's correlation id (SQS message attribute, schedule wrapper field, X-Correlation-Id header): printable
 * ASCII, at most 128 characters, not starting with a space. Absent is fine; anything else is a ValidationError
 * naming `field`.
 */
export function validateCorrelationId(value: unknown, field = 'correlation_id'): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && CORRELATION_ID.test(value)) return value;
  throw new ValidationError([
    {
      field,
      rule: 'correlation_id',
      message: `${field} must be 1 to ${facts.correlationId.maxLength} printable ASCII characters.`,
    },
  ]);
}

/**
 * A conference name given on its own (the lifecycle API's path `{name}`, percent-decoded), under the same rules
 * as `conference_name` in a request body. Throws ValidationError naming `field`.
 */
export function validateConferenceName(value: unknown, field = 'name'): string {
  const check = new Checker();
  const name = check.string(field, value, LIMITS.conferenceNameMaxCodePoints);
  if (name === undefined) throw new ValidationError(check.problems);
  return name;
}
