import { DETAIL_TYPES, type OutcomeEvent } from './outcome-events.js';
import type { RegistryRecord } from './registry-record.js';

/**
 * `Conference Ended` (docs/events/conference-ended.schema.json): published by the one writer whose conditional
 * update recorded the end (lib/lifecycle-service.ts), on the outcome events' bus and conventions. Never the media
 * URLs (they are removed with the end), nor who ended it (the audit log has the caller). Published at once, before
 * GetCallHistory is asked: duration and finish_reason go to the record, later (a session just stopped is often not
 * listed yet).
 */
export function conferenceEndedEvent(
  stage: string,
  record: Pick<
    RegistryRecord,
    'conference_name' | 'call_session_history_id' | 'rule_id' | 'started_at' | 'ended_at' | 'end_reason'
  >,
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
  return { detailType: DETAIL_TYPES.ended, detail };
}
