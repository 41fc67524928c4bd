import type { SessionHistory } from './call-history.js';
import { DETAIL_TYPES, type OutcomeEvent } from './outcome-events.js';
import type { RegistryRecord } from './registry-record.js';

/**
 * `Conference Ended` (docs/events/conference-ended.schema.json): published by the one writer whose conditional
 * update recorded the end (lib/lifecycle-service.ts), on the outcome events' bus and conventions. Never the media
 * URLs (they are removed with the end), nor who ended it (the audit log has the caller).
 */
export function conferenceEndedEvent(
  stage: string,
  record: Pick<
    RegistryRecord,
    'conference_name' | 'call_session_history_id' | 'rule_id' | 'started_at' | 'ended_at' | 'end_reason'
  >,
  history?: SessionHistory,
): OutcomeEvent {
  const detail: Record<string, unknown> = {
    stage,
    conference_name: record.conference_name,
    call_session_history_id: record.call_session_history_id,
  };
  if (record.rule_id !== undefined) detail.rule_id = record.rule_id;
  detail.started_at = record.started_at;
  detail.ended_at = record.ended_at;
  detail.end_reason = record.end_reason;
  if (history?.duration !== undefined) detail.duration = history.duration;
  if (history?.finish_reason !== undefined) detail.finish_reason = history.finish_reason;
  return { detailType: DETAIL_TYPES.ended, detail };
}
