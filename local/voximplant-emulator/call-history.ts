/**
 * GetCallHistory for the sessions the emulator ran (lifecycle-api.md A.3; field names as the official Go
 * client v2.7.0 `CallSessionInfoType` / `GetCallHistoryReturn` and the Node client spell them).
 *
 * Decisions (Voximplant does not document them; each is an assumption):
 * - a **running session is not listed**: only ended ones, with `duration` and `finish_reason` (a legacy page
 *   says sessions appear "only after a session is terminated");
 * - `from_date`/`to_date` select on the session's `start_date`, both ends inclusive, to the second;
 * - `to_date` before `from_date` is 123 `Invalid date range`; a date not `YYYY-MM-DD HH:mm:ss` is 111;
 *   a malformed or too long `call_session_history_id` list is 150; other bad values are 101;
 * - only UTC is served: `timezone` `UTC`, `Etc/UTC` or `auto` (the account's zone, which is UTC here;
 *   answered as `Etc/UTC`), default `auto`; any other zone is 101;
 * - `count` defaults to 20, `with_total_count` to true (false leaves `total_count` out), `desc_order` to false;
 * - `calls` is always `[]` (the emulator models participants, not calls), and `log_file_url` points at
 *   `/logs/<session id>.txt` on the emulator, which answers 404.
 */
import type { RuleContext } from './accounts.js';
import type { Session } from './conferences.js';

export const CALL_HISTORY_CODES = {
  invalidArguments: 101,
  invalidDateFormat: 111,
  invalidDateRange: 123,
  requiredIsEmpty: 134,
  invalidCallSessionHistoryId: 150,
} as const;

const MAX_IDS = 1000;
const MAX_COUNT = 1000;
const MAX_OFFSET = 10_000;
const DEFAULT_COUNT = 20;
const ACCOUNT_ZONE = 'Etc/UTC';
const UTC_ZONES = new Set(['UTC', 'Etc/UTC']);

/** One CallSessionInfoType as GetCallHistory answers it. */
export interface CallSessionInfo {
  readonly call_session_history_id: number;
  readonly account_id: number;
  readonly application_id: number;
  readonly application_name: string;
  readonly rule_name: string;
  readonly start_date: string;
  readonly duration: number;
  readonly finish_reason: string;
  readonly initiator_address: string;
  readonly media_server_address: string;
  readonly log_file_url: string;
  readonly custom_data?: string;
  readonly calls: readonly never[];
}

export interface CallHistoryAnswer {
  readonly result: readonly CallSessionInfo[];
  readonly total_count?: number;
  readonly count: number;
  readonly timezone: string;
}

export type CallHistoryOutcome =
  | { readonly ok: true; readonly body: CallHistoryAnswer }
  | { readonly ok: false; readonly code: number };

interface Query {
  readonly from: number;
  readonly to: number;
  readonly timezone: string;
  readonly ids: ReadonlySet<number> | undefined;
  readonly count: number;
  readonly offset: number;
  readonly desc: boolean;
  readonly withTotal: boolean;
}

/**
 * @param sessions the account's sessions, oldest first
 * @param origin the emulator's origin, for `log_file_url`
 */
export function getCallHistory(
  params: Readonly<Record<string, string>>,
  sessions: readonly Session[],
  origin: string,
): CallHistoryOutcome {
  const query = parseQuery(params);
  if (typeof query === 'number') return { ok: false, code: query };

  const selected = sessions.filter(
    (session) =>
      session.endedAt !== null &&
      wholeSecond(session.createdAt) >= query.from &&
      wholeSecond(session.createdAt) <= query.to &&
      (query.ids === undefined || session.callSessionHistoryIds.some((id) => query.ids?.has(id))),
  );
  const ordered = query.desc ? [...selected].reverse() : selected;
  const page = ordered.slice(query.offset, query.offset + query.count).map((session) => info(session, origin));
  return {
    ok: true,
    body: {
      result: page,
      ...(query.withTotal ? { total_count: selected.length } : {}),
      count: page.length,
      timezone: query.timezone,
    },
  };
}

function parseQuery(params: Readonly<Record<string, string>>): Query | number {
  const C = CALL_HISTORY_CODES;
  const fromText = params.from_date;
  const toText = params.to_date;
  if (!present(fromText) || !present(toText)) return C.requiredIsEmpty;
  const from = parseDate(fromText);
  const to = parseDate(toText);
  if (from === undefined || to === undefined) return C.invalidDateFormat;
  if (to < from) return C.invalidDateRange;

  const zone = params.timezone;
  let timezone = ACCOUNT_ZONE;
  if (present(zone) && zone !== 'auto') {
    if (!UTC_ZONES.has(zone)) return C.invalidArguments;
    timezone = zone;
  }

  let ids: Set<number> | undefined;
  if (present(params.call_session_history_id)) {
    const parts = params.call_session_history_id.split(';');
    if (parts.length > MAX_IDS || parts.some((part) => !/^[0-9]{1,15}$/.test(part))) {
      return C.invalidCallSessionHistoryId;
    }
    ids = new Set(parts.map(Number));
  }

  const count = integer(params.count, DEFAULT_COUNT, MAX_COUNT);
  const offset = integer(params.offset, 0, MAX_OFFSET);
  const desc = flag(params.desc_order, false);
  const withTotal = flag(params.with_total_count, true);
  if (count === undefined || offset === undefined || desc === undefined || withTotal === undefined) {
    return C.invalidArguments;
  }
  return { from, to, timezone, ids, count, offset, desc, withTotal };
}

function info(session: Session, origin: string): CallSessionInfo {
  const rule: RuleContext = session.rule;
  const customData = session.calls[0]?.script_custom_data;
  return {
    call_session_history_id: session.callSessionHistoryIds[0],
    account_id: session.accountId,
    application_id: rule.applicationId,
    application_name: rule.applicationName,
    rule_name: rule.ruleName,
    start_date: formatDate(session.createdAt),
    duration: Math.round(((session.endedAt as number) - session.createdAt) / 1000),
    finish_reason: session.finishReason ?? 'Normal termination',
    initiator_address: '127.0.0.1',
    media_server_address: '127.0.0.1',
    log_file_url: `${origin}/logs/${encodeURIComponent(session.sessionId)}.txt`,
    ...(present(customData) ? { custom_data: customData } : {}),
    calls: [],
  };
}

/** `YYYY-MM-DD HH:mm:ss` (UTC) to epoch ms; undefined unless it is a real date and time in that exact form. */
export function parseDate(text: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2026-02-30 over into March: a date that does not round-trip does not exist.
  return formatDate(ms) === text ? ms : undefined;
}

/** Epoch ms to `YYYY-MM-DD HH:mm:ss` in UTC. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function present(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function integer(raw: string | undefined, fallback: number, max: number): number | undefined {
  if (!present(raw)) return fallback;
  if (!/^[0-9]{1,6}$/.test(raw)) return undefined;
  const value = Number(raw);
  return value <= max ? value : undefined;
}

/** The SDKs send booleans as `true`/`false` (Go, Node) or `1`/`0` (PHP forms). */
function flag(raw: string | undefined, fallback: boolean): boolean | undefined {
  if (!present(raw)) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  return undefined;
}
