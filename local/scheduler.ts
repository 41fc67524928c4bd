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
 * With `api`, it also fires the schedules the schedules API keeps in the EventBridge Scheduler stand-in
 * (local/scheduler-api.ts, group voxconf-local-api) at their times, to the second (Scheduler's own precision is a
 * minute), in their zones: armed when created, re-armed when updated, disarmed when deleted (`onChange`). Each run
 * sends what Scheduler would (the stand-in's `eventFor`: the schedule's wrapper input with the scheduled time and
 * an execution id filled in) through the same invocation as the entries above, and then tells the stand-in it ran
 * (`afterRun`), which deletes a one-time schedule (ActionAfterCompletion DELETE). A rate() counts from its start
 * date or its creation (its first run is then). `fire(name, group)` fires one now, with now as its scheduled time.
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
import type { SchedulerChange, SchedulerStandIn, StoredSchedule } from './scheduler-api.js';
import { SCHEDULE_GROUP } from './settings.js';

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
  readonly group: string;
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
  /** Its Scheduler group: voxconf-local (infra/schedules.yml) or the schedules API's. */
  readonly group: string;
  readonly managed_by: 'deploy' | 'api';
  readonly description: string | undefined;
  readonly schedule: string;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly request: Record<string, unknown>;
  /** ISO time of the next automatic run; null when disabled, not auto-fired, or never again. */
  readonly next_fire_time: string | null;
  readonly next_fire_local: string | null;
}

/** The schedules API's schedules, kept in the EventBridge Scheduler stand-in. */
export interface ApiSchedules {
  readonly standIn: Pick<SchedulerStandIn, 'schedules' | 'schedule' | 'onChange' | 'nextRun' | 'eventFor' | 'afterRun'>;
  /** The groups whose schedules fire from the stand-in (voxconf-local-api). */
  readonly groups: readonly string[];
}

export interface SchedulerOptions {
  readonly entries: readonly ScheduleEntry[];
  /** The group `entries` are deployed to (default voxconf-local). */
  readonly entriesGroup?: string;
  readonly api?: ApiSchedules;
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
  /** infra/schedules.yml's entries, then the API's schedules. */
  list(): ScheduleInfo[];
  /** The groups it fires: the entries' group first. */
  groups(): string[];
  /** `group` defaults to the entries' group. */
  has(name: string, group?: string): boolean;
  /**
   * Fires now, with now as the scheduled time; resolves with the first invocation's outcome (retries continue in
   * the background). `group` defaults to the entries' group.
   */
  fire(name: string, group?: string): Promise<FireResult>;
  stop(): Promise<void>;
}

/** Where a run goes and how it is named in the log. */
interface RunTarget {
  readonly name: string;
  readonly group: string;
  readonly label: string;
}

/** setTimeout's limit (~24.8 days); later runs are re-armed. */
const MAX_TIMER_MS = 2_147_483_647;

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  const log = (message: string) => options.log('schedule', message);
  const entriesGroup = options.entriesGroup ?? SCHEDULE_GROUP;
  const api = options.api;
  const apiGroups = new Set(api?.groups ?? []);
  const started = now();
  const compiled = new Map<string, CompiledSchedule>();
  for (const entry of options.entries)
    compiled.set(entry.name, compileSchedule(entry.schedule, entry.timezone, started));
  const nextRun = new Map<string, Date | undefined>();
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<unknown>>();
  let stopped = false;

  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        if (!stopped) fn();
      },
      Math.min(Math.max(ms, 0), MAX_TIMER_MS),
    );
    timers.add(timer);
    return timer;
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
    target: RunTarget,
    event: ScheduleInvocation,
    number: number,
    how: string,
  ): Promise<FireResult> => {
    const base = {
      schedule: target.name,
      group: target.group,
      scheduled_time: event.scheduled_time,
      execution_id: event.execution_id,
    };
    let result: InvokeResult | undefined;
    let failure: string | undefined;
    try {
      result = await options.invoke(event);
      if (result.functionError !== undefined || result.statusCode >= 300) failure = describeFunctionError(result);
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const label = `${target.label} ${how}${number > 1 ? ` (retry ${number - 1} of ${options.retryDelaysSeconds.length})` : ''}`;
    if (failure === undefined) {
      const { outcome, text } = describeResult(result?.payload);
      log(`${label} → ${text}`);
      return { ...base, outcome, result: result?.payload };
    }
    if (stopped) return { ...base, outcome: 'failed', error: failure };
    const delay = options.retryDelaysSeconds[number - 1];
    if (delay !== undefined) {
      log(`${label} → the function failed: ${failure}; Lambda retries the asynchronous invocation in ${delay} s`);
      later(delay * 1000, () => void track(attempt(target, event, number + 1, how)));
      return { ...base, outcome: 'failed', error: failure, retry: `in ${delay} s` };
    }
    const retries =
      options.retryDelaysSeconds.length === 0 ? 'not retried (maximumRetryAttempts 0)' : 'retries exhausted';
    log(`${label} → the function failed: ${failure}; ${retries}, on-failure record sent to the dead-letter queue`);
    await sendOnFailure(event, number, failure, result).catch((error: unknown) =>
      log(
        `could not send the on-failure record of ${target.label}: ${error instanceof Error ? error.message : String(error)}`,
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
        { name: entry.name, group: entriesGroup, label: entry.name },
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

  // The schedules API's schedules, from the stand-in: one timer each, re-armed on every change.
  interface Armed {
    readonly next: Date;
    timer: NodeJS.Timeout | undefined;
  }
  const armed = new Map<string, Armed>();
  const keyOf = (group: string, name: string) => `${group}/${name}`;
  const disarm = (key: string) => {
    const record = armed.get(key);
    if (record?.timer !== undefined) {
      clearTimeout(record.timer);
      timers.delete(record.timer);
    }
    armed.delete(key);
  };

  /** One run of an API schedule: Scheduler's input for it, invoked as every run is; then Scheduler's clean-up. */
  const runApi = (schedule: StoredSchedule, scheduledTime: Date, how: string): Promise<FireResult> => {
    const standIn = (api as ApiSchedules).standIn;
    const { event } = standIn.eventFor(schedule, scheduledTime);
    const label = keyOf(schedule.GroupName, schedule.Name);
    const result = track(
      attempt({ name: schedule.Name, group: schedule.GroupName, label }, event as ScheduleInvocation, 1, how),
    );
    // Scheduler's run ends when Lambda has the event (an asynchronous invocation): a one-time schedule goes then.
    if (standIn.afterRun(schedule.GroupName, schedule.Name, scheduledTime)) {
      log(`${label} deleted after its last run (ActionAfterCompletion DELETE)`);
    }
    return result;
  };

  const armApi = (schedule: StoredSchedule, after: Date) => {
    const key = keyOf(schedule.GroupName, schedule.Name);
    disarm(key);
    if (!options.autoFire || api === undefined) return;
    const next = api.standIn.nextRun(schedule, after);
    if (next === undefined) return;
    const record: Armed = { next, timer: undefined };
    armed.set(key, record);
    const wait = () => {
      if (armed.get(key) !== record) return;
      const remaining = next.getTime() - now().getTime();
      if (remaining > 0) {
        record.timer = later(remaining, wait);
        return;
      }
      armed.delete(key);
      const current = api.standIn.schedule(schedule.GroupName, schedule.Name);
      if (current === undefined) return;
      // The next run first: if this run deletes the schedule, the deletion disarms it again.
      armApi(current, next);
      void runApi(current, next, 'fired on schedule');
    };
    record.timer = later(next.getTime() - now().getTime(), wait);
  };

  const describeChange = (change: SchedulerChange): string => {
    const label = keyOf(change.schedule.GroupName, change.schedule.Name);
    if (change.type === 'deleted') {
      return `${label} deleted${change.reason === 'api' ? ' (cancelled)' : change.reason ? ` (${change.reason})` : ''}`;
    }
    const zone = change.schedule.ScheduleExpressionTimezone ?? 'UTC';
    const next = armed.get(label)?.next;
    const when =
      change.schedule.State !== 'ENABLED'
        ? 'disabled'
        : !options.autoFire
          ? 'not fired automatically (VOXCONF_SCHEDULES=off)'
          : next
            ? `next ${formatInZone(next, zone)}`
            : 'no future run';
    return `${label} ${change.type}: ${change.schedule.ScheduleExpression} ${zone}, ${when}`;
  };

  const unsubscribe = api?.standIn.onChange((change) => {
    if (stopped || !apiGroups.has(change.schedule.GroupName)) return;
    if (change.type === 'deleted') {
      disarm(keyOf(change.schedule.GroupName, change.schedule.Name));
      // Its own run's deletion is logged by the run.
      if (change.reason !== 'completed') log(describeChange(change));
      return;
    }
    // From just before the change: a rate() runs first at its creation (or start date).
    const changed = change.schedule.LastModificationDate.getTime();
    armApi(change.schedule, new Date(Math.min(changed, now().getTime()) - 1));
    log(describeChange(change));
  });
  if (api)
    for (const group of apiGroups) for (const schedule of api.standIn.schedules(group)) armApi(schedule, started);

  const requestOf = (schedule: StoredSchedule): Record<string, unknown> => {
    try {
      const input = JSON.parse(schedule.Target.Input ?? '{}') as { request?: unknown };
      return input.request !== null && typeof input.request === 'object'
        ? (input.request as Record<string, unknown>)
        : {};
    } catch {
      return {};
    }
  };
  const apiSchedule = (group: string, name: string) =>
    apiGroups.has(group) ? api?.standIn.schedule(group, name) : undefined;

  if (options.autoFire) {
    // From just before the start, so that a rate() schedule's first run (at the start) is included.
    const before = new Date(started.getTime() - 1);
    for (const entry of options.entries) if (entry.enabled !== false) arm(entry, before);
  }

  const byName = (name: string) => options.entries.find((entry) => entry.name === name);
  return {
    list() {
      const deployed: ScheduleInfo[] = options.entries.map((entry) => {
        const next = nextRun.get(entry.name);
        return {
          name: entry.name,
          group: entriesGroup,
          managed_by: 'deploy',
          description: entry.description,
          schedule: entry.schedule,
          timezone: entry.timezone,
          enabled: entry.enabled !== false,
          request: entry.request,
          next_fire_time: next === undefined ? null : schedulerTime(next),
          next_fire_local: next === undefined ? null : formatInZone(next, entry.timezone),
        };
      });
      const made: ScheduleInfo[] = [...apiGroups].flatMap((group) =>
        (api?.standIn.schedules(group) ?? []).map((schedule) => {
          const zone = schedule.ScheduleExpressionTimezone ?? 'UTC';
          const next = armed.get(keyOf(group, schedule.Name))?.next;
          return {
            name: schedule.Name,
            group,
            managed_by: 'api',
            description: schedule.Description,
            schedule: schedule.ScheduleExpression,
            timezone: zone,
            enabled: schedule.State === 'ENABLED',
            request: requestOf(schedule),
            next_fire_time: next === undefined ? null : schedulerTime(next),
            next_fire_local: next === undefined ? null : formatInZone(next, zone),
          };
        }),
      );
      return [...deployed, ...made];
    },
    groups: () => [entriesGroup, ...apiGroups],
    has: (name, group = entriesGroup) =>
      group === entriesGroup ? byName(name) !== undefined : apiSchedule(group, name) !== undefined,
    fire(name, group = entriesGroup) {
      if (group === entriesGroup) {
        const entry = byName(name);
        if (!entry) return Promise.reject(new Error(`no schedule named ${JSON.stringify(name)}`));
        return run(entry, now(), 'fired now');
      }
      const schedule = apiSchedule(group, name);
      if (!schedule) return Promise.reject(new Error(`no schedule named ${JSON.stringify(name)} in group ${group}`));
      return runApi(schedule, now(), 'fired now');
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      armed.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.allSettled([...inFlight]);
    },
  };
}
