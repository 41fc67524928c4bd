import type { ConferenceService, StartOptions } from './conference.js';
import type { DeadLetterSink } from './dead-letter.js';
import { isRetryableBy, ScheduleWindowError, toVoxconfError, ValidationError } from './errors.js';

/**
 * What EventBridge delivers to the schedule function: a bare request (Scheduler input or a rule's
 * `input`), or the wrapper the generated schedules use:
 *   {"request": {...}, "scheduled_time": "<aws.scheduler.scheduled-time>", "execution_id": "<aws.scheduler.execution-id>"}
 */
export interface ScheduledInvocation {
  readonly request: unknown;
  readonly scheduledTime?: Date;
  readonly executionId?: string;
}

const WRAPPER_KEYS = new Set(['request', 'scheduled_time', 'execution_id']);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads the event; throws a permanent ValidationError for a shape that carries no request. */
export function parseScheduledEvent(event: unknown): ScheduledInvocation {
  if (isObject(event) && event['detail-type'] === 'Scheduled Event' && 'detail' in event) {
    throw new ValidationError([
      {
        field: 'request',
        rule: 'required',
        message:
          'A bare "Scheduled Event" carries no conference request: set the rule target\'s input to the request or to {"request": {...}}.',
      },
    ]);
  }
  if (!isObject(event) || !Object.hasOwn(event, 'request')) return { request: event };

  const problems = Object.keys(event)
    .filter((key) => !WRAPPER_KEYS.has(key))
    .map((key) => ({ field: key, rule: 'unknown_field', message: `${key} is not a field of the schedule wrapper.` }));
  let scheduledTime: Date | undefined;
  if (event.scheduled_time !== undefined) {
    // Scheduler's <aws.scheduler.scheduled-time> is ISO 8601 (2026-11-26T09:00:00Z); Date.parse alone accepts "0".
    const parsed =
      typeof event.scheduled_time === 'string' && ISO_8601.test(event.scheduled_time)
        ? new Date(event.scheduled_time)
        : undefined;
    if (parsed === undefined || Number.isNaN(parsed.getTime())) {
      problems.push({
        field: 'scheduled_time',
        rule: 'date_time',
        message: 'scheduled_time must be an ISO 8601 time.',
      });
    } else {
      scheduledTime = parsed;
    }
  }
  if (event.execution_id !== undefined && typeof event.execution_id !== 'string') {
    problems.push({ field: 'execution_id', rule: 'type', message: 'execution_id must be a string.' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    request: event.request,
    ...(scheduledTime ? { scheduledTime } : {}),
    ...(typeof event.execution_id === 'string' ? { executionId: event.execution_id } : {}),
  };
}

export interface ScheduleDeps {
  readonly service: Pick<ConferenceService, 'start'>;
  readonly deadLetter: DeadLetterSink;
  readonly maxLatenessSeconds: number;
  /** Scheduler never fires early: an event further ahead than this was not sent by it for now. */
  readonly maxEarlinessSeconds: number;
  readonly now?: () => number;
}

export type ScheduleOutcome =
  | { readonly outcome: 'started'; readonly conference_name: string; readonly call_session_history_id: number }
  | { readonly outcome: 'dead_lettered'; readonly error_code: string };

/** Refuses a run later than the lateness limit or earlier than the earliness limit. */
function checkWindow(scheduledTime: Date, now: number, deps: ScheduleDeps): void {
  const due = scheduledTime.toISOString();
  const lateSeconds = (now - scheduledTime.getTime()) / 1000;
  if (lateSeconds > deps.maxLatenessSeconds) {
    throw new ScheduleWindowError(
      'too_late',
      `The conference was due at ${due}, ${Math.round(lateSeconds)} s ago; the limit is ${deps.maxLatenessSeconds} s.`,
    );
  }
  if (-lateSeconds > deps.maxEarlinessSeconds) {
    throw new ScheduleWindowError(
      'too_early',
      `The conference is due at ${due}, ${Math.round(-lateSeconds)} s from now; the limit is ${deps.maxEarlinessSeconds} s.`,
    );
  }
}

/**
 * Same policy as the queue: started; permanent failure (including too late) to the DLQ with its
 * reason and not retried; retryable failure (or a failed DLQ send) thrown, so Lambda's async
 * retries apply and its on-failure destination keeps the event if they run out.
 */
export async function processScheduledEvent(
  event: unknown,
  deps: ScheduleDeps,
  options: StartOptions = {},
): Promise<ScheduleOutcome> {
  const now = deps.now ?? Date.now;
  let invocation: ScheduledInvocation | undefined;
  try {
    invocation = parseScheduledEvent(event);
    if (invocation.scheduledTime) checkWindow(invocation.scheduledTime, now(), deps);
    const result = await deps.service.start(invocation.request, options);
    return {
      outcome: 'started',
      conference_name: result.conference_name,
      call_session_history_id: result.call_session_history_id,
    };
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    if (isRetryableBy(error, 'schedule')) throw error;
    const sourceId = invocation?.executionId;
    await deps.deadLetter.send(JSON.stringify(event) ?? 'null', error, {
      source: 'schedule',
      ...(sourceId ? { sourceId } : {}),
    });
    options.logger?.warn('scheduled conference sent to the dead-letter queue', {
      error_code: error.code,
      outcome: 'dead_lettered',
    });
    return { outcome: 'dead_lettered', error_code: error.code };
  }
}
