/**
 * The body of POST /schedules and PUT /schedules/{name}, checked: every problem is collected and thrown as one
 * ValidationError, each naming its field (`at`, `timezone`, `request.conference_name`, ...) and a stable rule.
 * Time rules are the schedule's zone's, daylight saving time included. Nothing is called: the conference request
 * is checked as the schedule function will check it when the schedule fires (schema and rule allow-list).
 */
import type { ConferenceService } from './conference.js';
import { type FieldProblem, RuleNotAllowedError, ValidationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import {
  atExpression,
  nextFireTime,
  type ParsedExpression,
  parseExpression,
  ScheduleExpressionError,
  shortestIntervalMs,
} from './schedule-expression.js';
import { validateCorrelationId } from './validation.js';
import { describe, isPlainObject, printable } from './values.js';
import { type DateTimeInput, instantOf, isTimeZone, parseDateTime, wallTimeAt } from './zoned-time.js';

/** The fields a client owns; PUT replaces all of them (what it leaves out takes its default). */
export const SCHEDULE_FIELDS = [
  'name',
  'at',
  'schedule_expression',
  'timezone',
  'start_date',
  'end_date',
  'enabled',
  'description',
  'correlation_id',
  'request',
] as const;

/** Scheduler's Name: 1-64 of letters, digits, `_`, `.`, `-`. */
export const SCHEDULE_NAME = new RegExp(`^[0-9A-Za-z_.-]{1,${facts.schedulesApi.nameMaxLength}}$`);

/** A checked schedule, ready to be mapped to Scheduler. */
export interface ScheduleSpec {
  /** As given; undefined on a POST that leaves the name to voxconf. */
  readonly name: string | undefined;
  /** `at` as Scheduler's at() (a wall-clock time in `timezone`), or the recurring cron()/rate(). */
  readonly expression: ParsedExpression;
  readonly timezone: string;
  readonly startDate: Date | undefined;
  readonly endDate: Date | undefined;
  readonly enabled: boolean;
  readonly description: string | undefined;
  readonly correlationId: string | undefined;
  /** The conference request exactly as given (it passed the checks; the schedule function reads it as given). */
  readonly request: Record<string, unknown>;
}

export interface ScheduleRequestOptions {
  readonly now: Date;
  readonly horizonDays: number;
  readonly minIntervalMinutes: number;
  /** ConferenceService.validate, or the same checks without the service (validateStartableRequest). */
  readonly validateRequest: ConferenceService['validate'];
  /** PUT: the name in the path; a name in the body must be the same. */
  readonly pathName?: string | undefined;
}

const KNOWN = new Set<string>(SCHEDULE_FIELDS);
const DAY_MS = 86_400_000;

/** The request's own problems, each under `request.<field>` (`request` for the request as a whole). */
function requestProblems(error: unknown): FieldProblem[] {
  if (error instanceof RuleNotAllowedError) {
    return [{ field: 'request.rule_id', rule: 'rule_not_allowed', message: `request.${error.message}` }];
  }
  if (error instanceof ValidationError) {
    return (error.details ?? []).map((detail) => ({
      field: detail.field === 'body' ? 'request' : `request.${detail.field}`,
      rule: detail.rule,
      message:
        detail.field === 'body' ? detail.message.replace(/^The request/, 'request') : `request.${detail.message}`,
    }));
  }
  throw error;
}

/**
 * Checks a schedule body; returns it as a ScheduleSpec or throws one ValidationError listing every problem.
 */
export function validateScheduleRequest(input: unknown, options: ScheduleRequestOptions): ScheduleSpec {
  if (!isPlainObject(input)) {
    throw new ValidationError([
      { field: 'body', rule: 'type', message: `The schedule must be a JSON object, got ${describe(input)}.` },
    ]);
  }
  const problems: FieldProblem[] = [];
  const fail = (field: string, rule: string, message: string): undefined => {
    problems.push({ field, rule, message });
    return undefined;
  };
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) fail(printable(key), 'unknown_field', `${printable(key)} is not a field of a schedule.`);
  }
  const has = (key: (typeof SCHEDULE_FIELDS)[number]) => Object.hasOwn(input, key);
  const now = options.now.getTime();
  const horizonMs = options.horizonDays * DAY_MS;

  // name
  let name: string | undefined;
  if (has('name')) {
    if (typeof input.name !== 'string' || !SCHEDULE_NAME.test(input.name)) {
      fail('name', 'schedule_name', 'name must be 1 to 64 of letters, digits, "_", "." and "-".');
    } else if (options.pathName !== undefined && input.name !== options.pathName) {
      fail('name', 'name_mismatch', `name must be the name in the path ("${options.pathName}") or left out.`);
    } else {
      name = input.name;
    }
  } else {
    name = options.pathName;
  }

  // timezone
  let timezone: string | undefined = 'UTC';
  if (has('timezone')) {
    if (!isTimeZone(input.timezone)) {
      timezone = undefined;
      fail(
        'timezone',
        'time_zone',
        'timezone must be an IANA time zone such as Europe/Berlin, America/New_York or UTC (not an abbreviation or an offset).',
      );
    } else {
      timezone = input.timezone;
    }
  }

  const atText = typeof input.at === 'string' ? input.at : describe(input.at);
  const checkedAt = (instant: Date, parsed: DateTimeInput, zone: string): ParsedExpression | undefined => {
    if (instant.getTime() < now - facts.schedulesApi.atGraceSeconds * 1000) {
      return fail('at', 'past', `at ${atText} is in the past.`);
    }
    if (instant.getTime() > now + horizonMs) {
      return fail('at', 'horizon', `at must be within ${options.horizonDays} days from now.`);
    }
    const wall = parsed.kind === 'instant' ? wallTimeAt(instant, zone) : parsed.wall;
    return parseExpression(atExpression(wall));
  };

  // at | schedule_expression
  let expression: ParsedExpression | undefined;
  if (has('at') && has('schedule_expression')) {
    fail(
      'schedule_expression',
      'mutually_exclusive',
      'Give at (one time) or schedule_expression (recurring), not both.',
    );
  } else if (!has('at') && !has('schedule_expression')) {
    fail('at', 'required', 'Give at (one time) or schedule_expression (recurring: cron(...) or rate(...)).');
  } else if (has('at')) {
    const parsed = parseDateTime(input.at);
    if (parsed === undefined) {
      fail(
        'at',
        'date_time',
        'at must be a date and time such as 2026-12-08T10:00:00 (read in timezone) or 2026-12-08T09:00:00Z.',
      );
    } else if (parsed.kind === 'instant' && has('timezone') && timezone !== undefined && timezone !== 'UTC') {
      fail(
        'timezone',
        'instant_with_zone',
        `at has an offset, so it is an instant: leave timezone out (or set UTC), or write at without an offset to read it in ${timezone}.`,
      );
    } else if (parsed.kind === 'instant') {
      timezone = 'UTC';
      expression = checkedAt(parsed.instant, parsed, 'UTC');
    } else if (timezone !== undefined) {
      const instant = instantOf(parsed.wall, timezone);
      if (instant === undefined) {
        fail(
          'at',
          'nonexistent_time',
          `at ${input.at} does not exist in ${timezone}: the clocks skip it (daylight saving time).`,
        );
      } else {
        expression = checkedAt(instant, parsed, timezone);
      }
    }
  } else if (typeof input.schedule_expression !== 'string') {
    fail(
      'schedule_expression',
      'type',
      `schedule_expression must be a cron(...) or rate(...) expression, got ${describe(input.schedule_expression)}.`,
    );
  } else {
    try {
      const parsed = parseExpression(input.schedule_expression);
      if (parsed.kind === 'at') {
        fail('schedule_expression', 'one_time', 'A one-time schedule is written with at, not schedule_expression.');
      } else {
        expression = parsed;
      }
    } catch (error) {
      if (!(error instanceof ScheduleExpressionError)) throw error;
      fail('schedule_expression', 'schedule_expression', `schedule_expression: ${error.reason}.`);
    }
  }

  // start_date, end_date
  const date = (field: 'start_date' | 'end_date'): Date | undefined => {
    if (!has(field)) return undefined;
    if (has('at'))
      return fail(field, 'one_time', `${field} is for recurring schedules only (Scheduler ignores it with at).`);
    const parsed = parseDateTime(input[field]);
    if (parsed === undefined) {
      return fail(
        field,
        'date_time',
        `${field} must be a date and time such as 2026-12-01T00:00:00 or 2026-12-01T00:00:00Z.`,
      );
    }
    if (parsed.kind === 'instant') return parsed.instant;
    if (timezone === undefined) return undefined;
    return (
      instantOf(parsed.wall, timezone) ??
      fail(
        field,
        'nonexistent_time',
        `${field} does not exist in ${timezone}: the clocks skip it (daylight saving time).`,
      )
    );
  };
  let startDate = date('start_date');
  const endDate = date('end_date');
  if (startDate && startDate.getTime() < now - facts.schedulesApi.startDatePastSeconds * 1000) {
    // Scheduler refuses a StartDate more than 5 minutes ago. A cron's past start bounds nothing any more: it is
    // dropped (a PUT re-sending what GET showed keeps working). A rate counts from its start: that is refused.
    if (expression?.kind === 'rate') {
      fail('start_date', 'past', 'start_date is in the past: a rate() counts from it; leave it out to start now.');
    }
    startDate = undefined;
  }
  if (startDate && startDate.getTime() > now + horizonMs) {
    fail('start_date', 'horizon', `start_date must be within ${options.horizonDays} days from now.`);
  }
  if (endDate && endDate.getTime() <= now) fail('end_date', 'past', 'end_date is in the past.');
  else if (startDate && endDate && endDate.getTime() <= startDate.getTime()) {
    fail('end_date', 'order', 'end_date must be after start_date.');
  }

  // how often, and whether it fires at all
  if (expression && expression.kind !== 'at' && timezone !== undefined) {
    const from = new Date(Math.max(now, startDate?.getTime() ?? 0));
    const minimumMs = options.minIntervalMinutes * 60_000;
    const shortest = shortestIntervalMs(expression, timezone, from, facts.schedulesApi.intervalCheckRuns, minimumMs);
    if (shortest !== undefined && shortest < minimumMs) {
      fail(
        'schedule_expression',
        'min_interval',
        `schedule_expression fires more often than every ${options.minIntervalMinutes} minutes.`,
      );
    } else if (
      expression.kind === 'cron' &&
      nextFireTime(expression, timezone, { after: options.now, startDate, endDate }) === undefined
    ) {
      fail('schedule_expression', 'no_fire_time', 'schedule_expression never fires (again) between its dates.');
    }
  }

  // enabled, description, correlation_id
  let enabled = true;
  if (has('enabled')) {
    if (typeof input.enabled !== 'boolean') fail('enabled', 'type', 'enabled must be true or false.');
    else enabled = input.enabled;
  }
  let description: string | undefined;
  if (has('description')) {
    const max = facts.schedulesApi.descriptionMaxLength;
    if (typeof input.description !== 'string') fail('description', 'type', 'description must be a string.');
    else if (!input.description.isWellFormed())
      fail('description', 'unicode', 'description must be well-formed Unicode.');
    else if (input.description.length > max)
      fail('description', 'max_length', `description must be at most ${max} characters.`);
    else description = input.description;
  }
  let correlationId: string | undefined;
  try {
    correlationId = validateCorrelationId(input.correlation_id);
  } catch (error) {
    problems.push(...requestProblemsOf(error));
  }

  // request
  let request: Record<string, unknown> | undefined;
  if (!has('request')) {
    fail(
      'request',
      'required',
      'request is required: the conference to start ({"conference_name": ..., "rule_id": ...}).',
    );
  } else if (!isPlainObject(input.request)) {
    fail('request', 'type', `request must be a JSON object, got ${describe(input.request)}.`);
  } else {
    try {
      options.validateRequest(input.request);
      request = input.request;
    } catch (error) {
      problems.push(...requestProblems(error));
    }
  }

  if (problems.length > 0 || expression === undefined || timezone === undefined || request === undefined) {
    throw new ValidationError(problems);
  }
  return { name, expression, timezone, startDate, endDate, enabled, description, correlationId, request };
}

function requestProblemsOf(error: unknown): readonly FieldProblem[] {
  if (error instanceof ValidationError) return error.details ?? [];
  throw error;
}
