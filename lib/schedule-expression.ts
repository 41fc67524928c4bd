/**
 * EventBridge Scheduler expressions, read as Scheduler reads them and evaluated in the schedule's time zone:
 *
 *   cron(minutes hours day-of-month month day-of-week year)   AWS's six fields; day-of-week 1-7 = SUN-SAT
 *   rate(n minute|minutes|hour|hours|day|days)                 every n units from the start (no StartDate: at once)
 *   at(yyyy-mm-ddThh:mm:ss)                                    once, local time of the time zone
 *
 * cron and at go through croner: `0 <AWS fields>` is a 7-part croner pattern (seconds first, year last) with
 * Quartz weekday numbering (alternativeWeekdays: 1 = Sunday, as AWS) and `?` as "any". croner also knows
 * L, W and # as AWS does, and numeric step starts such as 0/15 (sloppyRanges).
 *
 * Daylight saving time as Scheduler documents it: a cron time the clocks skip (02:30 on the night they go
 * forward) does not run that day; a time that occurs twice (the night they go back) runs once.
 *
 * Used at run time by the schedules API (validation, next_fire_time) and by the local stack's scheduler.
 */
import { Cron } from 'croner';
import { formatWallTime, instantOf, parseDateTime, type WallTime } from './zoned-time.js';

export type ParsedExpression =
  | { readonly kind: 'cron'; readonly text: string; readonly fields: readonly string[] }
  | { readonly kind: 'rate'; readonly text: string; readonly periodMs: number }
  | { readonly kind: 'at'; readonly text: string; readonly wall: WallTime };

export interface CompiledSchedule {
  readonly kind: 'cron' | 'rate' | 'at';
  /** The first fire time strictly after `after`, or undefined when there is none (an `at` in the past). */
  next(after: Date): Date | undefined;
}

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
  /** What is wrong, without the expression (for a message that names the field instead). */
  readonly reason: string;
  constructor(expression: string, reason: string) {
    super(`"${expression}": ${reason}`);
    this.reason = reason;
  }
}

const CRON_FIELD = /^[0-9A-Za-z*?,/#L W-]+$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const AT = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** A run croner moved out of a DST gap is skipped; this bounds the skips in a row (one a day at most). */
const MAX_SKIPS = 8;

/** The croner pattern for an AWS cron expression's six fields. */
export function cronerPattern(fields: readonly string[]): string {
  if (fields.length !== 6) throw new Error(`AWS cron has 6 fields, got ${fields.length}`);
  return `0 ${fields.join(' ')}`;
}

function cronOf(text: string, fields: readonly string[], timezone: string, stopAt?: Date): Cron {
  try {
    return new Cron(cronerPattern(fields), {
      timezone,
      paused: true,
      mode: '7-part',
      alternativeWeekdays: true,
      sloppyRanges: true,
      ...(stopAt ? { stopAt } : {}),
    });
  } catch (error) {
    throw new ScheduleExpressionError(text, error instanceof Error ? error.message : String(error));
  }
}

/**
 * Reads an expression with Scheduler's own rules (six cron fields, exactly one of day-of-month and day-of-week
 * `?`, `rate(1 hour)` but `rate(2 hours)`, `at()` without zone); throws ScheduleExpressionError saying what is
 * wrong.
 */
export function parseExpression(expression: string): ParsedExpression {
  const text = expression.trim();
  if (text.startsWith('cron(')) {
    if (!text.endsWith(')')) throw new ScheduleExpressionError(text, 'missing its closing parenthesis');
    const fields = text.slice(5, -1).trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new ScheduleExpressionError(
        text,
        `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
      );
    }
    const bad = fields.find((field) => !CRON_FIELD.test(field));
    if (bad !== undefined) throw new ScheduleExpressionError(text, `the field "${bad}" is not valid`);
    if ((fields[2] === '?') === (fields[4] === '?')) {
      throw new ScheduleExpressionError(text, 'exactly one of day-of-month (3rd) and day-of-week (5th) must be "?"');
    }
    cronOf(text, fields, 'UTC');
    return { kind: 'cron', text, fields };
  }
  if (text.startsWith('rate(')) {
    const match = RATE.exec(text);
    if (!match) throw new ScheduleExpressionError(text, 'write rate(5 minutes), rate(1 hour) or rate(2 days)');
    const value = Number(match[1]);
    const unit = match[2] as string;
    if (value < 1) throw new ScheduleExpressionError(text, 'the rate must be at least 1');
    const singular = !unit.endsWith('s');
    if (value === 1 && !singular) throw new ScheduleExpressionError(text, `write rate(1 ${unit.slice(0, -1)})`);
    if (value !== 1 && singular) throw new ScheduleExpressionError(text, `write rate(${value} ${unit}s)`);
    return { kind: 'rate', text, periodMs: value * (UNIT_MS[unit.replace(/s$/, '')] as number) };
  }
  if (text.startsWith('at(')) {
    const match = AT.exec(text);
    const parsed = match ? parseDateTime(match[1]) : undefined;
    if (parsed?.kind !== 'local') {
      throw new ScheduleExpressionError(text, 'write at(yyyy-mm-ddThh:mm:ss), a valid local date and time');
    }
    return { kind: 'at', text, wall: parsed.wall };
  }
  throw new ScheduleExpressionError(text, 'not a cron(...), rate(...) or at(...) expression');
}

/** `at(2026-12-08T10:00:00)`. */
export function atExpression(wall: WallTime): string {
  return `at(${formatWallTime(wall)})`;
}

/**
 * The cron runs strictly after `after`, skipping a time croner moved out of a DST gap (it runs such a time at the
 * gap's end; Scheduler does not run it at all).
 */
function nextCronRun(cron: Cron, after: Date): Date | undefined {
  let from = after;
  for (let skips = 0; skips <= MAX_SKIPS; skips++) {
    const run = cron.nextRun(from);
    if (run === null) return undefined;
    if (cron.match(run)) return run;
    from = run;
  }
  return undefined;
}

/**
 * @param anchor when the schedule was created (the stack's start): rate() counts from it.
 */
export function compileSchedule(expression: string, timezone: string, anchor: Date): CompiledSchedule {
  const text = expression.trim();
  if (text.startsWith('cron(') && text.endsWith(')')) {
    const cron = cronOf(text, text.slice(5, -1).trim().split(/\s+/), timezone);
    return { kind: 'cron', next: (after) => nextCronRun(cron, after) };
  }
  const rate = RATE.exec(text);
  if (rate) {
    const period = Number(rate[1]) * (UNIT_MS[(rate[2] as string).replace(/s$/, '')] as number);
    if (!(period > 0)) throw new ScheduleExpressionError(text, 'the rate must be at least 1');
    return {
      kind: 'rate',
      // Scheduler: "If you don't provide a StartDate for a rate-based schedule, your schedule starts invoking the
      // target immediately": runs at anchor, anchor + period, ...
      next(after) {
        const elapsed = after.getTime() - anchor.getTime();
        const periods = elapsed < 0 ? 0 : Math.floor(elapsed / period) + 1;
        return new Date(anchor.getTime() + periods * period);
      },
    };
  }
  const at = AT.exec(text);
  if (at) {
    let once: Cron;
    try {
      // An ISO time without offset is local time of `timezone` for croner, as for Scheduler.
      once = new Cron(at[1] as string, { timezone, paused: true });
    } catch (error) {
      throw new ScheduleExpressionError(text, error instanceof Error ? error.message : String(error));
    }
    const when = once.getOnce();
    return {
      kind: 'at',
      next: (after) => (when !== null && when.getTime() > after.getTime() ? new Date(when.getTime()) : undefined),
    };
  }
  throw new ScheduleExpressionError(text, 'not a cron(...), rate(...) or at(...) expression');
}

export interface FireWindow {
  /** Runs strictly after this instant (usually now). */
  readonly after: Date;
  /** Scheduler's StartDate: no run before it. */
  readonly startDate?: Date | undefined;
  /** Scheduler's EndDate: no run at or after it. */
  readonly endDate?: Date | undefined;
}

/**
 * The next time Scheduler fires the expression in `timezone` within the window: a cron's next run, an `at`'s
 * instant while it is ahead; undefined for rate() (it counts from a creation time Scheduler does not show), and
 * when nothing is left (an `at` in the past, a time the clocks skip, a cron past its end date or last year).
 */
export function nextFireTime(parsed: ParsedExpression, timezone: string, window: FireWindow): Date | undefined {
  if (parsed.kind === 'rate') return undefined;
  if (parsed.kind === 'at') {
    const when = instantOf(parsed.wall, timezone);
    return when !== undefined && when.getTime() > window.after.getTime() ? when : undefined;
  }
  const cron = cronOf(parsed.text, parsed.fields, timezone);
  const from =
    window.startDate && window.startDate.getTime() > window.after.getTime()
      ? new Date(window.startDate.getTime() - 1)
      : window.after;
  const run = nextCronRun(cron, from);
  if (run === undefined || (window.endDate && run.getTime() >= window.endDate.getTime())) return undefined;
  return run;
}

/**
 * The shortest time between two runs: a rate's period; for a cron, the shortest gap among its next `runs` runs
 * from `from` (a cron is the same pattern every hour, day and month, so its shortest gaps show early; the clocks
 * going back can shorten one, and is seen when it falls among them). undefined: fewer than two runs.
 */
export function shortestIntervalMs(
  parsed: ParsedExpression,
  timezone: string,
  from: Date,
  runs: number,
  /** Stop at the first gap shorter than this (it is short enough to refuse). */
  stopBelowMs = 0,
): number | undefined {
  if (parsed.kind === 'rate') return parsed.periodMs;
  if (parsed.kind === 'at') return undefined;
  const cron = cronOf(parsed.text, parsed.fields, timezone);
  let previous = nextCronRun(cron, from);
  let shortest: number | undefined;
  for (let i = 1; i < runs && previous !== undefined; i++) {
    const run = nextCronRun(cron, previous);
    if (run === undefined) break;
    const gap = run.getTime() - previous.getTime();
    if (shortest === undefined || gap < shortest) shortest = gap;
    if (shortest < stopBelowMs) break;
    previous = run;
  }
  return shortest;
}

/** `<aws.scheduler.scheduled-time>`: ISO 8601 in UTC, whole seconds. */
export function schedulerTime(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** e.g. `2026-11-27 09:00 Europe/Berlin`. */
export function formatInZone(date: Date, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  );
  const seconds = parts.second === '00' ? '' : `:${parts.second}`;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}${seconds} ${timezone}`;
}
