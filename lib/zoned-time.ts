/**
 * Wall-clock time in an IANA time zone, as EventBridge Scheduler reads it: a zone name check, local date-times
 * to instants (daylight saving time included: a time that does not exist is said so, a time that exists twice is
 * its first occurrence), and instants back to ISO 8601 with the zone's offset. Intl only, no time zone data of
 * our own.
 */
import facts from './facts.json' with { type: 'json' };

/** Area/Location names (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5) and UTC. */
const ZONE_NAME = /^(?:UTC|[A-Za-z]+(?:[_-][A-Za-z]+)*(?:\/[A-Za-z0-9]+(?:[_+-][A-Za-z0-9]+)*){1,2})$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      era: 'short',
    });
    formatters.set(zone, format);
  }
  return format;
}

/**
 * An IANA zone name Scheduler accepts (`ScheduleExpressionTimezone`, at most 50 characters) and this runtime
 * knows: `Europe/Berlin`, `UTC`. Abbreviations (`CET`, `EST`) and offsets (`+01:00`) are not zone names.
 */
export function isTimeZone(name: unknown): name is string {
  if (typeof name !== 'string' || name.length > facts.schedulesApi.timezoneMaxLength || !ZONE_NAME.test(name)) {
    return false;
  }
  try {
    // Intl reads names case-insensitively; Scheduler takes them as written: `europe/berlin` is not a zone.
    const resolved = formatter(name).resolvedOptions().timeZone;
    return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
  } catch {
    return false;
  }
}

/** Calendar fields of a wall-clock time. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The wall-clock time of `instant` in `zone`. */
export function wallTimeAt(instant: Date, zone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(instant)) parts[part.type] = part.value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' || parts.era === 'B' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

const asUtcMs = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

/** The zone's offset from UTC at `instant`, in milliseconds (Berlin in winter: +3,600,000). */
export function offsetMsAt(instant: Date, zone: string): number {
  const whole = new Date(Math.floor(instant.getTime() / 1000) * 1000);
  return asUtcMs(wallTimeAt(whole, zone)) - whole.getTime();
}

/**
 * The instant a wall-clock time in `zone` is: its first occurrence when the clocks go back (the hour that repeats),
 * undefined when the clocks skip it (the hour that does not exist).
 */
export function instantOf(wall: WallTime, zone: string): Date | undefined {
  const local = asUtcMs(wall);
  const day = 86_400_000;
  // Offsets a day either side: no zone changes its offset twice within two days.
  const candidates = [...new Set([offsetMsAt(new Date(local - day), zone), offsetMsAt(new Date(local + day), zone)])]
    .map((offset) => local - offset)
    .filter((ms) => asUtcMs(wallTimeAt(new Date(ms), zone)) === local)
    .sort((a, b) => a - b);
  return candidates.length === 0 ? undefined : new Date(candidates[0]);
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** `2026-12-08T10:00:00`: a wall-clock time without offset (Scheduler's at() form). */
export function formatWallTime(wall: WallTime): string {
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}`;
}

/** `2026-12-08T10:00:00+01:00`: the instant in `zone`, with that zone's offset then (`+00:00` for UTC). */
export function formatInstant(instant: Date, zone: string): string {
  const whole = new Date(Math.floor(instant.getTime() / 1000) * 1000);
  const offsetMinutes = Math.round(offsetMsAt(whole, zone) / 60_000);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${formatWallTime(wallTimeAt(whole, zone))}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** A date-time as a client writes it: local (no offset), or an instant (`Z` or `±hh:mm`). */
export type DateTimeInput =
  | { readonly kind: 'local'; readonly wall: WallTime }
  | { readonly kind: 'instant'; readonly instant: Date; readonly wall: WallTime };

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * `2026-12-08T10:00[:00]` (local) or the same with `Z` or `+01:00` (an instant); seconds optional, no fractions.
 * undefined when it is neither, or names a day or time that no calendar has (2026-02-30, 24:00).
 */
export function parseDateTime(text: unknown): DateTimeInput | undefined {
  if (typeof text !== 'string') return undefined;
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = match[6] === undefined ? 0 : Number(match[6]);
  const wall: WallTime = { year, month, day, hour, minute, second };
  const check = new Date(asUtcMs(wall));
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    check.getUTCHours() !== hour ||
    check.getUTCMinutes() !== minute ||
    check.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  const offset = match[7];
  if (offset === undefined) return { kind: 'local', wall };
  const offsetMs =
    offset === 'Z'
      ? 0
      : (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;
  if (Math.abs(offsetMs) > 18 * 3_600_000) return undefined;
  return { kind: 'instant', instant: new Date(asUtcMs(wall) - offsetMs), wall };
}
