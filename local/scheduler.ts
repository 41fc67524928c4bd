/**
 * A local stand-in for EventBridge Scheduler and the schedule function's asynchronous invocation, reading the
 * same infra/schedules.yml that deploys (parsed and checked by infra/schedules.cjs, as at package time).
 *
 * Each enabled entry fires at its times in its time zone with exactly the input the deployed schedules pass
 * (infra/schedules.cjs scheduleInput, with Scheduler's placeholders filled in):
 *   {"request": {...}, "scheduled_time": "<ISO time, UTC, whole seconds>", "execution_id": "<uuid>",
 *    "schedule_name": "<name>", "correlation_id": "<the entry's, if any>"}
 * `fire(name)` fires one now (disabled ones too: asked for by name).
 *
 * Like Lambda's asynchronous invocation (serverless.yml: maximumRetryAttempts 0, onFailure destination the
 * dead-letter queue): a run whose invocation fails (a crash or a timeout: the function retries and dead-letters
 * its own failures) is retried `retryDelaysSeconds.length` times (none by default, as deployed), then a
 * Lambda-style on-failure record with the original payload goes to the dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { relative } from 'node:path';
import { describeFunctionError, type InvokeResult } from './lambda-invoke.js';
import type { LogSink } from './log.js';
import { type CompiledSchedule, compileSchedule, formatInZone, schedulerTime } from './schedule-expression.js';

export interface ScheduleEntry {
  readonly name: string;
  readonly description?: string;
  readonly schedule: string;
  readonly timezone: string;
  readonly enabled?: boolean;
  readonly correlation_id?: string;
  readonly request: Record<string, unknown>;
}

interface SchedulesModule {
  parseSchedules(text: string, options?: { checkRules?: boolean }, fileName?: string): ScheduleEntry[];
  scheduleInput(entry: ScheduleEntry, run: { scheduledTime: string; executionId: string }): ScheduleInvocation;
}

const require = createRequire(import.meta.url);
const schedulesModule = () => require('../infra/schedules.cjs') as SchedulesModule;

/** Parses and checks the file with infra/schedules.cjs (shape only, as for the local stage); throws listing every problem. */
export function loadSchedules(file: string, root: string): ScheduleEntry[] {
  return schedulesModule().parseSchedules(
    readFileSync(file, 'utf8'),
    { checkRules: false },
    relative(root, file) || file,
  );
}

/** The schedule function's input: the wrapper of lib/schedule.ts. */
export interface ScheduleInvocation {
  readonly request: unknown;
  readonly scheduled_time: string;
  readonly execution_id: string;
  readonly schedule_name: string;
  readonly correlation_id?: string;
}

export interface FireResult {
  readonly schedule: string;
  readonly scheduled_time: string;
  readonly execution_id: string;
  /** started / dead_lettered: the function's answer; failed: the invocation failed (retried in the background). */
  readonly outcome: 'started' | 'dead_lettered' | 'failed';
  readonly result?: unknown;
  readonly error?: string;
  readonly retry?: string;
}

export interface ScheduleInfo {
  readonly name: string;
  readonly description: string | undefined;
  readonly schedule: string;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly request: Record<string, unknown>;
  /** ISO time of the next automatic run; null when disabled, not auto-fired, or never again. */
  readonly next_fire_time: string | null;
  readonly next_fire_local: string | null;
}

export interface SchedulerOptions {
  readonly entries: readonly ScheduleEntry[];
  readonly invoke: (event: ScheduleInvocation) => Promise<InvokeResult>;
  /** Where Lambda's on-failure destination puts a run whose retries are exhausted (the DLQ). */
  readonly sendOnFailureRecord: (body: string) => Promise<void>;
  readonly functionArn: string;
  readonly autoFire: boolean;
  readonly retryDelaysSeconds: readonly number[];
  readonly log: LogSink;
  readonly now?: () => Date;
}

export interface Scheduler {
  list(): ScheduleInfo[];
  has(name: string): boolean;
  /** Fires now; resolves with the first invocation's outcome (retries continue in the background). */
  fire(name: string): Promise<FireResult>;
  stop(): Promise<void>;
}

/** setTimeout's limit (~24.8 days); later runs are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  const log = (message: string) => options.log('schedule', message);
  const started = now();
  const compiled = new Map<string, CompiledSchedule>();
  for (const entry of options.entries)
    compiled.set(entry.name, compileSchedule(entry.schedule, entry.timezone, started));
  const nextRun = new Map<string, Date | undefined>();
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (!stopped) fn();
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    timers.add(timer);
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  const describeResult = (payload: unknown): { outcome: 'started' | 'dead_lettered'; text: string } => {
    const answer = (payload ?? {}) as {
      outcome?: unknown;
      conference_name?: unknown;
      call_session_history_id?: unknown;
      error_code?: unknown;
    };
    if (answer.outcome === 'dead_lettered') {
      return {
        outcome: 'dead_lettered',
        text: `not started, sent to the dead-letter queue (${String(answer.error_code)})`,
      };
    }
    return {
      outcome: 'started',
      text: `started conference ${JSON.stringify(answer.conference_name)} (call_session_history_id ${String(answer.call_session_history_id)})`,
    };
  };

  /** One invocation of a run; `attempt` counts from 1 (Lambda: 1 + maximumRetryAttempts). */
  const attempt = async (
    entry: ScheduleEntry,
    event: ScheduleInvocation,
    number: number,
    how: string,
  ): Promise<FireResult> => {
    const base = { schedule: entry.name, scheduled_time: event.scheduled_time, execution_id: event.execution_id };
    let result: InvokeResult | undefined;
    let failure: string | undefined;
    try {
      result = await options.invoke(event);
      if (result.functionError !== undefined || result.statusCode >= 300) failure = describeFunctionError(result);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const label = `${entry.name} ${how}${number > 1 ? ` (retry ${number - 1} of ${options.retryDelaysSeconds.length})` : ''}`;
    if (failure === undefined) {
      const { outcome, text } = describeResult(result?.payload);
      log(`${label} → ${text}`);
      return { ...base, outcome, result: result?.payload };
    }
    if (stopped) return { ...base, outcome: 'failed', error: failure };
    const delay = options.retryDelaysSeconds[number - 1];
    if (delay !== undefined) {
      log(`${label} → the function failed: ${failure}; Lambda retries the asynchronous invocation in ${delay} s`);
      later(delay * 1000, () => void track(attempt(entry, event, number + 1, how)));
      return { ...base, outcome: 'failed', error: failure, retry: `in ${delay} s` };
    }
    const retries =
      options.retryDelaysSeconds.length === 0 ? 'not retried (maximumRetryAttempts 0)' : 'retries exhausted';
    log(`${label} → the function failed: ${failure}; ${retries}, on-failure record sent to the dead-letter queue`);
    await sendOnFailure(event, number, failure, result).catch((error: unknown) =>
      log(
        `could not send the on-failure record of ${entry.name}: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
    return { ...base, outcome: 'failed', error: failure };
  };

  /** What Lambda's on-failure destination sends for an asynchronous invocation whose retries ran out. */
  const sendOnFailure = (
    event: ScheduleInvocation,
    invokeCount: number,
    failure: string,
    result: InvokeResult | undefined,
  ) =>
    options.sendOnFailureRecord(
      JSON.stringify({
        version: '1.0',
        timestamp: now().toISOString(),
        requestContext: {
          requestId: randomUUID(),
          functionArn: `${options.functionArn}:$LATEST`,
          condition: 'RetriesExhausted',
          approximateInvokeCount: invokeCount,
        },
        requestPayload: event,
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        responsePayload:
          result?.payload && typeof result.payload === 'object'
            ? { errorType: (result.payload as { errorType?: unknown }).errorType ?? 'Error', errorMessage: failure }
            : { errorType: 'Error', errorMessage: failure },
      }),
    );

  const run = (entry: ScheduleEntry, scheduledTime: Date, how: string): Promise<FireResult> =>
    track(
      attempt(
        entry,
        schedulesModule().scheduleInput(entry, {
          scheduledTime: schedulerTime(scheduledTime),
          executionId: randomUUID(),
        }),
        1,
        how,
      ),
    );

  const arm = (entry: ScheduleEntry, after: Date) => {
    const next = compiled.get(entry.name)?.next(after);
    nextRun.set(entry.name, next);
    if (next === undefined) return;
    const wait = () => {
      const remaining = next.getTime() - now().getTime();
      if (remaining > 0) return later(remaining, wait);
      void run(entry, next, 'fired on schedule');
      arm(entry, next);
    };
    later(next.getTime() - now().getTime(), wait);
  };

  if (options.autoFire) {
    // From just before the start, so that a rate() schedule's first run (at the start) is included.
    const before = new Date(started.getTime() - 1);
    for (const entry of options.entries) if (entry.enabled !== false) arm(entry, before);
  }

  const byName = (name: string) => options.entries.find((entry) => entry.name === name);
  return {
    list() {
      return options.entries.map((entry) => {
        const next = nextRun.get(entry.name);
        return {
          name: entry.name,
          description: entry.description,
          schedule: entry.schedule,
          timezone: entry.timezone,
          enabled: entry.enabled !== false,
          request: entry.request,
          next_fire_time: next === undefined ? null : schedulerTime(next),
          next_fire_local: next === undefined ? null : formatInZone(next, entry.timezone),
        };
      });
    },
    has: (name) => byName(name) !== undefined,
    fire(name) {
      const entry = byName(name);
      if (!entry) return Promise.reject(new Error(`no schedule named ${JSON.stringify(name)}`));
      return run(entry, now(), 'fired now');
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
  };
}
