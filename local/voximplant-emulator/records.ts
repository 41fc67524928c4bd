/**
 * What the emulator saw: one record per API request (bounded ring, arrival order) and counters
 * that keep counting when old records fall out of the ring.
 */
import type { EmulatorStats, RequestQuery, RequestRecord } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type OpenRecord = Mutable<RequestRecord>;
export type RecordStart = Omit<RequestRecord, 'id' | 'receivedAt' | 'outcome' | 'status' | 'durationMs'>;
export type RecordEnd = Partial<Pick<RequestRecord, 'errorCode' | 'dropped' | 'conference' | 'fault'>> &
  Pick<RequestRecord, 'outcome' | 'status'>;

/** Parameters that carry secrets in Voximplant's legacy auth modes. */
const SECRET_PARAMS = new Set([
  'api_key',
  'account_password',
  'admin_user_api_key',
  'admin_user_password',
  'session_id',
]);

export class RequestLog {
  private records: OpenRecord[] = [];
  private nextId = 1;
  private counters = emptyCounters();

  constructor(private readonly maxRecords: number) {}

  begin(start: RecordStart, nowMs: number): OpenRecord {
    const record: OpenRecord = {
      id: this.nextId++,
      receivedAt: new Date(nowMs).toISOString(),
      ...start,
      params: redactParams(start.params),
      outcome: 'pending',
      status: null,
      durationMs: null,
    };
    // Counted on arrival, so a request the client gave up on is counted even before its socket closes.
    this.counters.requests++;
    this.records.push(record);
    if (this.records.length > this.maxRecords) this.records.splice(0, this.records.length - this.maxRecords);
    return record;
  }

  /** Idempotent: the first end wins, so a late 'close' event cannot overwrite a real outcome. */
  finish(record: OpenRecord, end: RecordEnd, nowMs: number): void {
    if (record.outcome !== 'pending') return;
    Object.assign(record, end);
    record.durationMs = nowMs - Date.parse(record.receivedAt);
    const c = this.counters;
    bump(c.byOutcome, end.outcome);
    if (end.status !== null) bump(c.byStatus, String(end.status));
    if (end.errorCode !== undefined && end.errorCode !== null) bump(c.byErrorCode, String(end.errorCode));
    if (record.auth.outcome === 'failed' && record.auth.reason !== undefined) bump(c.authFailures, record.auth.reason);
    if (end.fault) c.faultsApplied++;
    if (end.conference) {
      if (end.conference.joined) c.conferencesJoined++;
      else c.conferencesStarted++;
    }
  }

  /** Parameters are updated once the body has been read (records start before that). */
  setParams(record: OpenRecord, params: Record<string, string>): void {
    record.params = redactParams(params);
  }

  list(query: RequestQuery = {}): RequestRecord[] {
    let selected = this.records;
    if (query.sinceId !== undefined) selected = selected.filter((record) => record.id > (query.sinceId as number));
    if (query.limit !== undefined) selected = selected.slice(Math.max(0, selected.length - query.limit));
    return selected.map((record) => structuredClone(record));
  }

  stats(inFlight: number, peakInFlight: number): EmulatorStats {
    const c = this.counters;
    return {
      requests: c.requests,
      byOutcome: { ...c.byOutcome },
      byStatus: { ...c.byStatus },
      byErrorCode: { ...c.byErrorCode },
      authFailures: { ...c.authFailures },
      faultsApplied: c.faultsApplied,
      conferencesStarted: c.conferencesStarted,
      conferencesJoined: c.conferencesJoined,
      inFlight,
      peakInFlight,
    };
  }

  clearRecords(): void {
    this.records = [];
  }

  reset(): void {
    this.records = [];
    this.counters = emptyCounters();
  }
}

function emptyCounters() {
  return {
    requests: 0,
    byOutcome: {} as Record<string, number>,
    byStatus: {} as Record<string, number>,
    byErrorCode: {} as Record<string, number>,
    authFailures: {} as Record<string, number>,
    faultsApplied: 0,
    conferencesStarted: 0,
    conferencesJoined: 0,
  };
}

function bump(counter: Record<string, number>, key: string): void {
  counter[key] = (counter[key] ?? 0) + 1;
}

function redactParams(params: Readonly<Record<string, string>>): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    Object.defineProperty(copy, name, {
      value: SECRET_PARAMS.has(name) ? '[redacted]' : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}
