/**
 * EventBridge Scheduler expressions, evaluated locally in the entry's time zone:
 *
 *   cron(minutes hours day-of-month month day-of-week year)   AWS's six fields; day-of-week 1-7 = SUN-SAT
 *   rate(n minute|minutes|hour|hours|day|days)                 every n units from the start (no StartDate: at once)
 *   at(yyyy-mm-ddThh:mm:ss)                                    once, local time of the time zone
 *
 * cron and at go through croner: `0 <AWS fields>` is a 7-part croner pattern (seconds first, year last) with
 * Quartz weekday numbering (alternativeWeekdays: 1 = Sunday, as AWS) and `?` as "any". croner also knows
 * L, W and # as AWS does, and numeric step starts such as 0/15 (sloppyRanges).
 */
import { Cron } from 'croner';

export interface CompiledSchedule {
  readonly kind: 'cron' | 'rate' | 'at';
  /** The first fire time strictly after `after`, or undefined when there is none (an `at` in the past). */
  next(after: Date): Date | undefined;
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const AT = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/;
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export class ScheduleExpressionError extends Error {
  constructor(expression: string, reason: string) {
    super(`"${expression}": ${reason}`);
    this.name = 'ScheduleExpressionError';
  }
}

/** The croner pattern for an AWS cron expression's six fields. */
export function cronerPattern(fields: readonly string[]): string {
  if (fields.length !== 6) throw new Error(`AWS cron has 6 fields, got ${fields.length}`);
  return `0 ${fields.join(' ')}`;
}

/**
 * @param anchor when the schedule was created (the stack's start): rate() counts from it.
 */
export function compileSchedule(expression: string, timezone: string, anchor: Date): CompiledSchedule {
  const text = expression.trim();
  if (text.startsWith('cron(') && text.endsWith(')')) {
    const fields = text.slice(5, -1).trim().split(/\s+/);
    let cron: Cron;
    try {
      cron = new Cron(cronerPattern(fields), {
        timezone,
        paused: true,
        mode: '7-part',
        alternativeWeekdays: true,
        sloppyRanges: true,
      });
    } catch (error) {
      throw new ScheduleExpressionError(text, error instanceof Error ? error.message : String(error));
    }
    return { kind: 'cron', next: (after) => cron.nextRun(after) ?? undefined };
  }
  const rate = RATE.exec(text);
  if (rate) {
    const period = Number(rate[1]) * UNIT_MS[rate[2].replace(/s$/, '')];
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
      once = new Cron(at[1], { timezone, paused: true });
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
