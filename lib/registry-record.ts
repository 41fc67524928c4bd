/**
 * One conference in the registry (DynamoDB table RegistryTable, key `conference_name`): what the start path writes
 * (lib/registry-writer.ts) and the lifecycle API reads, reconciles and ends (lib/lifecycle-*.ts). The item's
 * attributes are exactly these fields, so a record read back is this shape.
 *
 * What identifies a session: Voximplant does not document whether a join answers the same
 * `call_session_history_id` or the same media URLs. A start belongs to the recorded session when the record is
 * active and either its secure media URL or its `call_session_history_id` equals the start's (either is enough);
 * otherwise the start is a new session, and the record is replaced. One exception: a start of the session the
 * record already holds as ended (answered while it was stopping) counts as a late join and leaves it ended: an
 * end voxconf recorded is never undone by a start.
 */
import type { Trigger } from './errors.js';
import facts from './facts.json' with { type: 'json' };

export type ConferenceStatus = 'active' | 'ended';

/** Why a session was recorded ended: stopped through DELETE, or found gone (refused or 404, twice). */
export type EndReason = 'stopped' | 'session_gone';

export interface StartedBy {
  readonly source: Trigger;
  /** API request id, SQS message id, Scheduler execution id. */
  readonly source_id?: string;
  readonly correlation_id?: string;
  readonly schedule_name?: string;
}

export interface RegistryRecord {
  readonly conference_name: string;
  readonly status: ConferenceStatus;
  /** ISO 8601 UTC: when voxconf saw the session first. Sort key of the status index (newest first). */
  readonly started_at: string;
  readonly started_by: StartedBy;
  readonly rule_id?: number;
  readonly call_session_history_id: number;
  /** Present while active; removed when the session is recorded ended (they control the session). */
  readonly media_session_access_url?: string;
  readonly media_session_access_secure_url?: string;
  /** Starts of the same session after the first. */
  readonly join_count: number;
  readonly last_joined_at?: string;
  /** DynamoDB TTL, epoch seconds. Expired items stay readable until deleted: every read filters on it. */
  readonly expires_at: number;
  /** Epoch ms of the last status probe (lifecycle): at most one per `probeIntervalSeconds`. */
  readonly last_probed_at?: number;
  readonly ended_at?: string;
  readonly end_reason?: EndReason;
  /** Who ended it through DELETE (the caller's identity), absent when found gone. */
  readonly ended_by?: string;
  /** From GetCallHistory, when the key's role may read call history. */
  readonly duration?: number;
  readonly finish_reason?: string;
}

/** The table's key and the index that lists records by status, newest first. */
export const REGISTRY_KEY = 'conference_name';
export const STATUS_INDEX = facts.registry.statusIndexName;
export const STATUS_INDEX_SORT_KEY = 'started_at';

/** Whether a start's answer is the recorded session (see the module comment). */
export function isSameSession(
  record: Pick<RegistryRecord, 'status' | 'media_session_access_secure_url' | 'call_session_history_id'>,
  start: { readonly media_session_access_secure_url: string; readonly call_session_history_id: number },
): boolean {
  return (
    record.status === 'active' &&
    (record.media_session_access_secure_url === start.media_session_access_secure_url ||
      record.call_session_history_id === start.call_session_history_id)
  );
}

/** Epoch seconds at which a record expires: active ones after their last sign of life, ended ones after the end. */
export function expiresAt(
  status: ConferenceStatus,
  fromMs: number,
  retention: { readonly activeHours: number; readonly endedDays: number },
): number {
  const seconds = status === 'active' ? retention.activeHours * 3600 : retention.endedDays * 86400;
  return Math.floor(fromMs / 1000) + seconds;
}
