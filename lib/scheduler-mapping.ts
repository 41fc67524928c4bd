/**
 * A schedule of the API to and from EventBridge Scheduler. The client owns its fields (expression, zone, dates,
 * state, description, request, correlation id); voxconf owns the rest and sends all of it on every create and
 * update (Scheduler's UpdateSchedule resets what it is not sent): the group, the target (the schedule function),
 * the execution role, the wrapper input, no flexible window, the retry policy within the lateness limit, the
 * dead-letter queue, and deletion after the last run.
 *
 * The wrapper input is what infra/schedules.cjs gives the deploy-time schedules, plus the schedule's name, the
 * client's correlation id and the create's idempotency fingerprint (lib/schedule-idempotency.ts):
 *   {"request": {...}, "scheduled_time": "<aws.scheduler.scheduled-time>",
 *    "execution_id": "<aws.scheduler.execution-id>", "schedule_name": "...", "correlation_id"?: "...",
 *    "idempotency_fingerprint"?: "v1...."}
 */
import type {
  CreateScheduleCommandInput,
  GetScheduleCommandOutput,
  ScheduleSummary,
  UpdateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import facts from './facts.json' with { type: 'json' };
import { nextFireTime, type ParsedExpression, parseExpression } from './schedule-expression.js';
import type { ScheduleSpec } from './schedule-request.js';
import { isPlainObject } from './values.js';
import { formatInstant, formatWallTime } from './zoned-time.js';

/** Who changes the schedule: the API (group voxconf-<stage>-api) or a deploy (infra/schedules.yml). */
export type ManagedBy = 'api' | 'deploy';

/** What voxconf sends with every schedule of the API. */
export interface ScheduleTargets {
  readonly targetArn: string;
  readonly roleArn: string;
  readonly deadLetterArn: string;
  /** RetryPolicy.MaximumEventAgeInSeconds: the lateness limit. */
  readonly maxEventAgeSeconds: number;
}

/** A schedule as the API shows it (docs/openapi.yaml, Schedule). */
export interface ScheduleView {
  readonly name: string;
  readonly managed_by: ManagedBy;
  readonly at?: string;
  readonly schedule_expression?: string;
  readonly timezone: string;
  readonly start_date?: string;
  readonly end_date?: string;
  readonly enabled: boolean;
  readonly description?: string;
  readonly correlation_id?: string;
  readonly request: Record<string, unknown>;
  /** ISO 8601 with the zone's offset; null for rate(), a disabled schedule, or one that will not fire again. */
  readonly next_fire_time: string | null;
  readonly created_at?: string;
  readonly updated_at?: string;
}

/** A schedule as GET /schedules lists it (what ListSchedules tells). */
export interface ScheduleSummaryView {
  readonly name: string;
  readonly managed_by: ManagedBy;
  readonly enabled: boolean;
  readonly created_at?: string;
  readonly updated_at?: string;
}

export interface WrapperInput {
  readonly request: Record<string, unknown>;
  readonly scheduled_time: '<aws.scheduler.scheduled-time>';
  readonly execution_id: '<aws.scheduler.execution-id>';
  readonly schedule_name: string;
  readonly correlation_id?: string;
  readonly idempotency_fingerprint?: string;
}

/** The create (and, field for field, the update) of a checked schedule. */
export function toSchedulerInput(
  name: string,
  group: string,
  spec: ScheduleSpec,
  targets: ScheduleTargets,
  fingerprint?: string | undefined,
): CreateScheduleCommandInput & UpdateScheduleCommandInput {
  const wrapper: WrapperInput = {
    request: spec.request,
    scheduled_time: '<aws.scheduler.scheduled-time>',
    execution_id: '<aws.scheduler.execution-id>',
    schedule_name: name,
    ...(spec.correlationId !== undefined ? { correlation_id: spec.correlationId } : {}),
    ...(fingerprint !== undefined ? { idempotency_fingerprint: fingerprint } : {}),
  };
  const once = spec.expression.kind === 'at';
  return {
    Name: name,
    GroupName: group,
    ScheduleExpression: spec.expression.text,
    ScheduleExpressionTimezone: spec.timezone,
    ...(spec.startDate ? { StartDate: spec.startDate } : {}),
    ...(spec.endDate ? { EndDate: spec.endDate } : {}),
    State: spec.enabled ? 'ENABLED' : 'DISABLED',
    ...(spec.description !== undefined ? { Description: spec.description } : {}),
    // OFF: start at the scheduled minute, not somewhere in a window after it.
    FlexibleTimeWindow: { Mode: 'OFF' },
    // A schedule that has nothing left to run goes, instead of counting against the quota.
    ActionAfterCompletion: once || spec.endDate ? 'DELETE' : 'NONE',
    Target: {
      Arn: targets.targetArn,
      RoleArn: targets.roleArn,
      Input: JSON.stringify(wrapper),
      RetryPolicy: {
        MaximumEventAgeInSeconds: targets.maxEventAgeSeconds,
        MaximumRetryAttempts: facts.scheduleDelivery.maximumRetryAttempts,
      },
      DeadLetterConfig: { Arn: targets.deadLetterArn },
    },
  };
}

/** The target's input as JSON; {} when absent or not an object. */
function inputOf(output: Pick<GetScheduleCommandOutput, 'Target'>): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(output.Target?.Input ?? '{}');
    return isPlainObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** The idempotency fingerprint a schedule of the API was created with, if any. */
export function storedFingerprint(output: Pick<GetScheduleCommandOutput, 'Target'>): string | undefined {
  const value = inputOf(output).idempotency_fingerprint;
  return typeof value === 'string' ? value : undefined;
}

const iso = (date: Date | undefined) => (date === undefined ? undefined : date.toISOString());

/** A schedule read from Scheduler (GetSchedule), either group, as the API shows it. */
export function toScheduleView(output: GetScheduleCommandOutput, managedBy: ManagedBy, now: Date): ScheduleView {
  const timezone = output.ScheduleExpressionTimezone ?? 'UTC';
  const input = inputOf(output);
  // The wrapper, or (a schedule made by hand) the bare request.
  const request = isPlainObject(input.request) ? input.request : input;
  const text = output.ScheduleExpression ?? '';
  let parsed: ParsedExpression | undefined;
  try {
    parsed = parseExpression(text);
  } catch {
    parsed = undefined;
  }
  const enabled = output.State !== 'DISABLED';
  const next =
    enabled && parsed
      ? nextFireTime(parsed, timezone, { after: now, startDate: output.StartDate, endDate: output.EndDate })
      : undefined;
  const view: Record<string, unknown> = { name: output.Name ?? '', managed_by: managedBy };
  if (parsed?.kind === 'at') view.at = formatWallTime(parsed.wall);
  else view.schedule_expression = text;
  view.timezone = timezone;
  if (output.StartDate) view.start_date = formatInstant(output.StartDate, timezone);
  if (output.EndDate) view.end_date = formatInstant(output.EndDate, timezone);
  view.enabled = enabled;
  if (output.Description) view.description = output.Description;
  if (typeof input.correlation_id === 'string') view.correlation_id = input.correlation_id;
  view.request = request;
  view.next_fire_time = next ? formatInstant(next, timezone) : null;
  if (output.CreationDate) view.created_at = iso(output.CreationDate);
  if (output.LastModificationDate) view.updated_at = iso(output.LastModificationDate);
  return view as unknown as ScheduleView;
}

/** A ListSchedules entry as GET /schedules lists it. */
export function toSummaryView(summary: ScheduleSummary, managedBy: ManagedBy): ScheduleSummaryView {
  return {
    name: summary.Name ?? '',
    managed_by: managedBy,
    enabled: summary.State !== 'DISABLED',
    ...(summary.CreationDate ? { created_at: summary.CreationDate.toISOString() } : {}),
    ...(summary.LastModificationDate ? { updated_at: summary.LastModificationDate.toISOString() } : {}),
  };
}
