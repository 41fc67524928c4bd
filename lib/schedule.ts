import type { ConferenceService, StartOptions, StartReport } from './conference.js';
import type { DeadLetterSink } from './dead-letter.js';
import { isRetryableBy, ScheduleWindowError, toVoxconfError, ValidationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import {
  failedEvent,
  type OutcomeEvent,
  type OutcomePublisher,
  type StartOrigin,
  startedEvent,
} from './outcome-events.js';
import { recordStart, type StartRecorder } from './registry.js';
import { sleep } from './retry.js';
import { validateCorrelationId } from './validation.js';
import { isPlainObject } from './values.js';

/**
 * What EventBridge delivers to the schedule function: a bare request (Scheduler input or a rule's
 * `input`), or the wrapper the generated schedules use:
 *   {"request": {...}, "scheduled_time": "<aws.scheduler.scheduled-time>", "execution_id": "<aws.scheduler.execution-id>"}
 * and the schedules API adds "schedule_name", "correlation_id" and "idempotency_fingerprint".
 */
export interface ScheduledInvocation {
  readonly request: unknown;
  readonly scheduledTime?: Date;
  readonly executionId?: string;
  /** The schedule that fired (infra/schedules.yml or the schedules API). */
  readonly scheduleName?: string;
  readonly correlationId?: string;
}

/**
 * `idempotency_fingerprint`: set by the schedules API on schedules created with an Idempotency-Key
 * (lib/schedule-idempotency.ts); it tells a retried create its first result, and means nothing here.
 */
const WRAPPER_KEYS = new Set([
  'request',
  'scheduled_time',
  'execution_id',
  'schedule_name',
  'correlation_id',
  'idempotency_fingerprint',
]);
const SCHEDULE_NAME = /^[0-9A-Za-z_.-]{1,64}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Reads the event; throws a permanent ValidationError for a shape that carries no request. */
export function parseScheduledEvent(event: unknown): ScheduledInvocation {
  if (isPlainObject(event) && event['detail-type'] === 'Scheduled Event' && 'detail' in event) {
    throw new ValidationError([
      {
        field: 'request',
        rule: 'required',
        message:
          'A bare "Scheduled Event" carries no conference request: set the rule target\'s input to the request or to {"request": {...}}.',
      },
    ]);
  }
  if (!isPlainObject(event) || !Object.hasOwn(event, 'request')) return { request: event };

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
  if (event.idempotency_fingerprint !== undefined && typeof event.idempotency_fingerprint !== 'string') {
    problems.push({
      field: 'idempotency_fingerprint',
      rule: 'type',
      message: 'idempotency_fingerprint must be a string.',
    });
  }
  if (event.execution_id !== undefined && typeof event.execution_id !== 'string') {
    problems.push({ field: 'execution_id', rule: 'type', message: 'execution_id must be a string.' });
  }
  if (
    event.schedule_name !== undefined &&
    (typeof event.schedule_name !== 'string' || !SCHEDULE_NAME.test(event.schedule_name))
  ) {
    problems.push({
      field: 'schedule_name',
      rule: 'schedule_name',
      message: 'schedule_name must be 1 to 64 of letters, digits, "_", "." and "-".',
    });
  }
  let correlationId: string | undefined;
  try {
    correlationId = validateCorrelationId(event.correlation_id);
  } catch (error) {
    if (error instanceof ValidationError) problems.push(...(error.details ?? []));
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    request: event.request,
    ...(scheduledTime ? { scheduledTime } : {}),
    ...(typeof event.execution_id === 'string' ? { executionId: event.execution_id } : {}),
    ...(typeof event.schedule_name === 'string' ? { scheduleName: event.schedule_name } : {}),
    ...(correlationId ? { correlationId } : {}),
  };
}

export interface ScheduleDeps {
  readonly service: Pick<ConferenceService, 'start'>;
  readonly deadLetter: DeadLetterSink;
  readonly maxLatenessSeconds: number;
  /** Scheduler never fires early: an event further ahead than this was not sent by it for now. */
  readonly maxEarlinessSeconds: number;
  /** The final outcome of every run (none while voxconf still tries). */
  readonly publisher?: OutcomePublisher;
  /** Named in outcome events. */
  readonly stage?: string;
  /** The registry (lib/registry.ts); absent when it is off. A failed write never makes the run start again. */
  readonly registry?: StartRecorder | undefined;
  /** A logger whose lines carry this correlation id (the producer's, else the execution id). */
  readonly loggerFor?: (correlationId: string) => StartOptions['logger'];
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
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

/** The shortest start worth another round: less than this and the run is better dead-lettered now. */
const MIN_ROUND_MS = 1_000;

/**
 * The schedule's failure policy, in one place. Started: its event. A permanent failure (including too late or too
 * early): to the DLQ with its reason and a final event. A retryable one: tried again in this invocation, after
 * waits that double (full jitter), as long as the invocation and the lateness limit allow; when they run out, the
 * same as a permanent one. Lambda's own async retries are off (serverless.yml), so the DLQ gets one shape with a
 * reason; only if that send fails is the error thrown, for the on-failure destination to keep the event.
 */
export async function processScheduledEvent(
  event: unknown,
  deps: ScheduleDeps,
  options: StartOptions = {},
): Promise<ScheduleOutcome> {
  const now = deps.now ?? Date.now;
  const started = now();
  let invocation: ScheduledInvocation | undefined;
  let logger = options.logger;
  let attempts = 0;
  const report = (settled?: StartReport): StartReport => ({
    conferenceName: settled?.conferenceName,
    ruleId: settled?.ruleId,
    attempts,
    durationMs: now() - started,
  });
  let last: StartReport | undefined;
  let mayHaveStarted = false;
  const onSettled = (settled: StartReport) => {
    attempts += settled.attempts;
    last = settled;
  };
  try {
    invocation = parseScheduledEvent(event);
    const correlation = invocation.correlationId ?? invocation.executionId;
    if (correlation !== undefined) logger = deps.loggerFor?.(correlation) ?? logger;
    const { scheduledTime } = invocation;
    if (scheduledTime) checkWindow(scheduledTime, now(), deps);
    const lateLimit = scheduledTime ? scheduledTime.getTime() + deps.maxLatenessSeconds * 1000 : Infinity;
    const deadline = Math.min(options.deadline ?? Infinity, lateLimit);
    for (let round = 1; ; round++) {
      try {
        const starting = deps.service.start(invocation.request, { ...options, logger, deadline, onSettled });
        deps.registry?.prepare();
        const result = await starting;
        const origin = originOf(event, invocation);
        await recordStart(deps.registry, { result, origin, ruleId: last?.ruleId }, logger);
        await publish(deps, startedEvent(deps.stage ?? '', origin, report(last), result));
        return {
          outcome: 'started',
          conference_name: result.conference_name,
          call_session_history_id: result.call_session_history_id,
        };
      } catch (thrown) {
        const error = toVoxconfError(thrown);
        // A round that may have reached Voximplant leaves the conference possibly running, whatever came after.
        mayHaveStarted ||= error.outcome === 'unknown';
        const delay = isRetryableBy(error, 'schedule') ? roundDelayMs(round, deps.random) : undefined;
        if (delay === undefined || round >= MAX_ROUNDS || now() + delay + MIN_ROUND_MS > deadline) throw error;
        logger?.info('scheduled conference not started yet; trying again', {
          error_code: error.code,
          round,
          delay_ms: delay,
        });
        await (deps.sleep ?? sleep)(delay);
      }
    }
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    if (mayHaveStarted) error.outcome = 'unknown';
    const failed = failedEvent(deps.stage ?? '', originOf(event, invocation), report(last), error, true);
    try {
      await deps.deadLetter.send(JSON.stringify(event) ?? 'null', error, {
        source: 'schedule',
        ...(invocation?.executionId ? { sourceId: invocation.executionId } : {}),
      });
    } catch (deadLetterError) {
      // Thrown for Lambda's on-failure destination, which keeps the event: voxconf will not try again.
      await publish(deps, failed);
      throw deadLetterError;
    }
    logger?.warn('scheduled conference sent to the dead-letter queue', {
      error_code: error.code,
      outcome: 'dead_lettered',
      start_outcome: error.outcome,
    });
    await publish(deps, failed);
    return { outcome: 'dead_lettered', error_code: error.code };
  }
}

/** Rounds of retryable failures in one invocation, at most (the deadline usually ends them first). */
const MAX_ROUNDS = 6;

/** The wait after round `round`: 2 s doubled per round, at most 30 s, full jitter. */
function roundDelayMs(round: number, random: () => number = Math.random): number {
  const { baseMs, maxMs } = facts.scheduleRetry;
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** (round - 1)));
}

function originOf(event: unknown, invocation: ScheduledInvocation | undefined): StartOrigin {
  const raw = (event ?? {}) as { scheduled_time?: unknown };
  return {
    source: 'schedule',
    sourceId: invocation?.executionId,
    scheduleName: invocation?.scheduleName,
    scheduledTime: invocation?.scheduledTime && typeof raw.scheduled_time === 'string' ? raw.scheduled_time : undefined,
    correlationId: invocation?.correlationId,
  };
}

async function publish(deps: ScheduleDeps, event: OutcomeEvent): Promise<void> {
  await deps.publisher?.publish([event]).catch(() => undefined);
}
