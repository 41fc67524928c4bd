import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ConferenceResult, StartReport } from './conference.js';
import type { Trigger, VoxconfError } from './errors.js';
import facts from './facts.json' with { type: 'json' };

/**
 * The final outcome of every start as an EventBridge event (docs/events/*.schema.json), so that whoever enqueued
 * or scheduled a conference learns that it started, or why not. Never the media URLs, a token or a key, nor
 * script_custom_data (it may hold personal data).
 */

export const EVENT_SOURCE = facts.events.source;
export const DETAIL_TYPES = facts.events.detailTypes;

/** Where a start came from: the words the dead-letter queue's `source` attribute uses, and their ids. */
export interface StartOrigin {
  readonly source: Trigger;
  /** SQS message id, Scheduler execution id, API request id. */
  readonly sourceId?: string | undefined;
  readonly scheduleName?: string | undefined;
  /** ISO 8601, as the schedule sent it. */
  readonly scheduledTime?: string | undefined;
  readonly correlationId?: string | undefined;
}

export interface OutcomeEvent {
  readonly detailType: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

function common(stage: string, origin: StartOrigin, report: StartReport): Record<string, unknown> {
  const detail: Record<string, unknown> = { stage, source: origin.source };
  const optional: Record<string, unknown> = {
    conference_name: report.conferenceName,
    rule_id: report.ruleId,
    source_id: origin.sourceId,
    schedule_name: origin.scheduleName,
    scheduled_time: origin.scheduledTime,
    correlation_id: origin.correlationId,
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) detail[key] = value;
  detail.attempts = report.attempts;
  detail.duration_ms = report.durationMs;
  return detail;
}

/** `Conference Started`: the session's history id, never its URLs. */
export function startedEvent(
  stage: string,
  origin: StartOrigin,
  report: StartReport,
  result: Pick<ConferenceResult, 'call_session_history_id'>,
): OutcomeEvent {
  return {
    detailType: DETAIL_TYPES.started,
    detail: { ...common(stage, origin, report), call_session_history_id: result.call_session_history_id },
  };
}

/** `Conference Start Failed`: why, whether it may have started all the same, and whether voxconf tries again. */
export function failedEvent(
  stage: string,
  origin: StartOrigin,
  report: StartReport,
  error: VoxconfError,
  final: boolean,
): OutcomeEvent {
  const detail = common(stage, origin, report);
  detail.error_code = error.code;
  detail.error_message = error.publicMessage.slice(0, facts.events.errorMessageMaxLength);
  if (error.voximplantCode !== undefined) detail.voximplant_code = error.voximplantCode;
  detail.retryable = error.retryable;
  detail.outcome = error.outcome;
  detail.final = final;
  return { detailType: DETAIL_TYPES.failed, detail };
}

/** Publishes outcome events; never throws: publishing must not change a start's outcome. */
export interface OutcomePublisher {
  publish(events: readonly OutcomeEvent[]): Promise<void>;
}

export const NO_PUBLISHER: OutcomePublisher = { publish: async () => undefined };

/** EventBridge counts an entry's size this way (Time is 14 bytes). */
function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return 14 + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
}

/** Entries in PutEvents calls of at most maxEntriesPerPut entries and maxBytesPerPut bytes each. */
export function batchEntries(entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] {
  const batches: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let size = 0;
  for (const entry of entries) {
    const bytes = entrySize(entry);
    if (
      current.length === facts.events.maxEntriesPerPut ||
      (current.length > 0 && size + bytes > facts.events.maxBytesPerPut)
    ) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
