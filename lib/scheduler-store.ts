/**
 * The schedules' one store: EventBridge Scheduler itself (no database of voxconf's own). Five calls, each in a
 * named group, and Scheduler's failures turned into voxconf's errors (lib/errors.ts): throttled, unavailable,
 * quota, access denied, refused input. "Not there" is an answer, not an error.
 *
 * Imported only by the schedules function: no other bundle carries the Scheduler client.
 */
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  SchedulerClient,
  type ScheduleSummary,
  UpdateScheduleCommand,
  type UpdateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { ConfigurationError, SchedulerError, type VoxconfError } from './errors.js';
import facts from './facts.json' with { type: 'json' };

export type SchedulerSend = Pick<SchedulerClient, 'send'>;

export interface ListPage {
  readonly schedules: readonly ScheduleSummary[];
  readonly nextToken: string | undefined;
}

/** The calls the schedules API makes, in Scheduler's own shapes. */
export interface ScheduleStore {
  get(group: string, name: string): Promise<GetScheduleCommandOutput | undefined>;
  /** `exists`: the name is taken in that group. */
  create(input: CreateScheduleCommandInput): Promise<'created' | 'exists'>;
  /** `missing`: no such schedule (any more). */
  update(input: UpdateScheduleCommandInput): Promise<'updated' | 'missing'>;
  /** false: there was none. */
  remove(group: string, name: string): Promise<boolean>;
  list(group: string, options: { prefix?: string; maxResults: number; nextToken?: string }): Promise<ListPage>;
}

interface AwsError {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const MESSAGE_MAX = 300;

/** Scheduler's failure as voxconf's error; the operation is named in the message (for the logs). */
export function schedulerFailure(thrown: unknown, operation: string): VoxconfError {
  const error = (thrown ?? {}) as AwsError;
  const name = error.name ?? '';
  const status = error.$metadata?.httpStatusCode;
  const text = String(error.message ?? '').slice(0, MESSAGE_MAX);
  const options = { cause: thrown };
  if (name === 'ThrottlingException' || status === 429) {
    return new SchedulerError('scheduler_throttled', `${operation}: throttled (${text}).`, {
      ...options,
      retryAfterSeconds: facts.schedulesApi.schedulerRetryAfterSeconds,
    });
  }
  if (name === 'ServiceQuotaExceededException' || status === 402) {
    return new SchedulerError(
      'schedule_quota_exceeded',
      `EventBridge Scheduler's quota of schedules is reached (${text}): delete schedules, or ask AWS for more.`,
      options,
    );
  }
  if (name === 'AccessDeniedException' || status === 403) {
    return new SchedulerError('scheduler_access_denied', `${operation}: access denied (${text}).`, options);
  }
  if (name === 'ValidationException') {
    // The text can name roles and targets: the log has it, the caller gets "misconfigured".
    return new SchedulerError(
      'scheduler_rejected',
      `${operation}: EventBridge Scheduler refused it (${text}).`,
      options,
    );
  }
  return new SchedulerError('scheduler_unavailable', `${operation}: ${name || 'failed'} (${text}).`, {
    ...options,
    retryAfterSeconds: facts.schedulesApi.schedulerRetryAfterSeconds,
  });
}

const isNamed = (thrown: unknown, name: string) => (thrown as AwsError | undefined)?.name === name;

export class SchedulerStore implements ScheduleStore {
  private readonly client: SchedulerSend;

  constructor(client: SchedulerSend) {
    this.client = client;
  }

  async get(group: string, name: string): Promise<GetScheduleCommandOutput | undefined> {
    try {
      return await this.client.send(new GetScheduleCommand({ Name: name, GroupName: group }));
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return undefined;
      throw schedulerFailure(error, 'GetSchedule');
    }
  }

  async create(input: CreateScheduleCommandInput): Promise<'created' | 'exists'> {
    try {
      await this.client.send(new CreateScheduleCommand(input));
      return 'created';
    } catch (error) {
      if (isNamed(error, 'ConflictException')) return 'exists';
      if (isNamed(error, 'ResourceNotFoundException')) {
        // The only thing a create can miss is its group: the stack's, so the stack is not what it should be.
        throw new ConfigurationError('SCHEDULES_API_GROUP', `schedule group "${input.GroupName}" does not exist.`, {
          cause: error,
        });
      }
      throw schedulerFailure(error, 'CreateSchedule');
    }
  }

  async update(input: UpdateScheduleCommandInput): Promise<'updated' | 'missing'> {
    try {
      await this.client.send(new UpdateScheduleCommand(input));
      return 'updated';
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return 'missing';
      throw schedulerFailure(error, 'UpdateSchedule');
    }
  }

  async remove(group: string, name: string): Promise<boolean> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: group }));
      return true;
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return false;
      throw schedulerFailure(error, 'DeleteSchedule');
    }
  }

  async list(group: string, options: { prefix?: string; maxResults: number; nextToken?: string }): Promise<ListPage> {
    try {
      const output = await this.client.send(
        new ListSchedulesCommand({
          GroupName: group,
          MaxResults: options.maxResults,
          ...(options.prefix ? { NamePrefix: options.prefix } : {}),
          ...(options.nextToken ? { NextToken: options.nextToken } : {}),
        }),
      );
      // ListSchedules takes Resource "*" in IAM: the group filter is the request's, checked again here.
      const schedules = (output.Schedules ?? []).filter((summary) => summary.GroupName === group);
      return { schedules, nextToken: output.NextToken || undefined };
    } catch (error) {
      if (isNamed(error, 'ResourceNotFoundException')) return { schedules: [], nextToken: undefined };
      throw schedulerFailure(error, 'ListSchedules');
    }
  }
}

let shared: SchedulerStore | undefined;

/**
 * The process's store on its Scheduler client (AWS_ENDPOINT_URL_SCHEDULER points it elsewhere): 3 attempts with
 * the SDK's backoff for throttling and 5xx, bounded timeouts, so an answer comes well inside the function's time.
 */
export function getSchedulerStore(): SchedulerStore {
  shared ??= new SchedulerStore(
    new SchedulerClient({
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true },
    }),
  );
  return shared;
}
