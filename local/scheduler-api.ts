/**
 * A loopback stand-in for EventBridge Scheduler's API that the real `@aws-sdk/client-scheduler` reaches through
 * `AWS_ENDPOINT_URL_SCHEDULER` (or the client's `endpoint`). It stores schedules; it fires nothing itself: the
 * local stack's scheduler does, through the in-process API below (`schedules()`, `onChange()`, `nextRun()`,
 * `eventFor()`, `afterRun()`).
 *
 * Served over HTTP, Scheduler's REST-JSON protocol (../shared/reference/lifecycle-api.md, section B):
 *   POST   /schedules/{Name}                      CreateSchedule        200 {"ScheduleArn"}
 *   GET    /schedules/{Name}?groupName=           GetSchedule           200 every field, dates in epoch seconds
 *   PUT    /schedules/{Name}                      UpdateSchedule        200 {"ScheduleArn"} (a full replace)
 *   DELETE /schedules/{Name}?groupName=&clientToken=   DeleteSchedule   200 {}
 *   GET    /schedules?ScheduleGroup=&NamePrefix=&State=&MaxResults=&NextToken=   ListSchedules
 *   POST/GET/DELETE /schedule-groups/{Name}, GET /schedule-groups      the groups (CreateScheduleGroup, ...)
 * Errors as Scheduler answers them: `x-amzn-errortype` and `{"Message"}`; ValidationException 400,
 * ResourceNotFoundException 404, ConflictException 409 (a taken name), ServiceQuotaExceededException 402,
 * ThrottlingException 429, InternalServerException 500; unsigned requests 403. Faults can be injected.
 *
 *   const scheduler = await startSchedulerApi({ groups: ['voxconf-local', 'voxconf-local-api'] });
 *   process.env.AWS_ENDPOINT_URL_SCHEDULER = scheduler.endpoint;
 *   scheduler.onChange((change) => ...);          // arm, re-arm or disarm a timer
 *   scheduler.fault({ kind: 'throttle', operation: 'CreateSchedule', times: 1 });
 *   await scheduler.close();
 *
 * Every server of the local stack is made with createLocalServer (local/loopback-guard.mjs).
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { compileSchedule, parseExpression, schedulerTime } from '../lib/schedule-expression.js';
import { isTimeZone } from '../lib/zoned-time.js';
import { isLoopbackHost, listen, readRequestBody } from './aws-json-server.js';
import { faultList } from './fault-list.js';
import { createLocalServer } from './loopback-guard.mjs';

export type SchedulerOperation =
  | 'CreateSchedule'
  | 'GetSchedule'
  | 'UpdateSchedule'
  | 'DeleteSchedule'
  | 'ListSchedules'
  | 'CreateScheduleGroup'
  | 'GetScheduleGroup'
  | 'DeleteScheduleGroup'
  | 'ListScheduleGroups';

/** A schedule as stored, in Scheduler's own field names (a copy: changing it changes nothing). */
export interface StoredSchedule {
  readonly Arn: string;
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone?: string;
  readonly StartDate?: Date;
  readonly EndDate?: Date;
  readonly Description?: string;
  readonly State: 'ENABLED' | 'DISABLED';
  readonly KmsKeyArn?: string;
  readonly FlexibleTimeWindow: { readonly Mode: 'OFF' | 'FLEXIBLE'; readonly MaximumWindowInMinutes?: number };
  readonly ActionAfterCompletion: 'NONE' | 'DELETE';
  readonly Target: {
    readonly Arn: string;
    readonly RoleArn: string;
    readonly Input?: string;
    readonly RetryPolicy?: { readonly MaximumEventAgeInSeconds?: number; readonly MaximumRetryAttempts?: number };
    readonly DeadLetterConfig?: { readonly Arn?: string };
    readonly [other: string]: unknown;
  };
  readonly CreationDate: Date;
  readonly LastModificationDate: Date;
}

export interface SchedulerChange {
  readonly type: 'created' | 'updated' | 'deleted';
  /** For `deleted`: the schedule as it was. */
  readonly schedule: StoredSchedule;
  /** Why it was deleted: DeleteSchedule (`api`), its group went (`group`), or it ran its last run (`completed`). */
  readonly reason?: 'api' | 'group' | 'completed' | 'reset';
}

export type SchedulerFaultKind =
  /** 429 ThrottlingException (the SDK retries it). */
  | 'throttle'
  /** 402 ServiceQuotaExceededException. */
  | 'quota'
  /** 500 InternalServerException (the SDK retries it). */
  | 'server_error'
  /** 403 AccessDeniedException (an IAM policy missing). */
  | 'access_denied'
  /** 400 ValidationException whatever the request. */
  | 'validation'
  /** 409 ConflictException whatever the request. */
  | 'conflict'
  /** 404 ResourceNotFoundException even though it exists. */
  | 'not_found'
  /** The socket is destroyed without an answer (the SDK retries it). */
  | 'drop'
  /** The normal answer, `latencyMs` late. */
  | 'latency';

export interface SchedulerFault {
  readonly kind: SchedulerFaultKind;
  /** Requests affected, then the fault is gone. Default: no limit. */
  readonly times?: number;
  /** Only this operation (default: every one). */
  readonly operation?: SchedulerOperation;
  /** Delay for `latency` (default 1000 ms); for other kinds, a delay before the failure (default 0). */
  readonly latencyMs?: number;
}

export interface SchedulerFaultHandle {
  hits(): number;
  clear(): void;
}

export interface SchedulerCall {
  readonly operation: SchedulerOperation | 'Unknown';
  readonly name?: string;
  readonly group?: string;
  readonly time: number;
  /** HTTP status answered; 0 when the connection was dropped. */
  readonly status: number;
  readonly errorType?: string;
  readonly fault?: SchedulerFaultKind;
}

export interface StartSchedulerApiOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Used in ARNs. Default us-east-1. */
  readonly region?: string;
  /** Used in ARNs. Default 000000000000. */
  readonly accountId?: string;
  /** Groups present from the start, besides `default` (Scheduler's own, always there). */
  readonly groups?: readonly string[];
  /** Requests without a SigV4 Authorization header get 403. Default true (the SDK always signs). */
  readonly requireSignature?: boolean;
  /** ServiceQuotaExceededException beyond this many schedules in all (Scheduler's quota per account, Region). */
  readonly maxSchedules?: number;
  readonly now?: () => Date;
}

export interface SchedulerInvocation {
  /** The target's Input with the context attributes filled in, parsed (what a Lambda target receives). */
  readonly event: unknown;
  readonly scheduledTime: string;
  readonly executionId: string;
}

export interface SchedulerStandIn {
  /** e.g. `http://127.0.0.1:43125`: the value for AWS_ENDPOINT_URL_SCHEDULER. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Group names, `default` included. */
  groups(): string[];
  createGroup(name: string): void;
  /** Every schedule (of one group), by group then name. */
  schedules(group?: string): StoredSchedule[];
  schedule(group: string, name: string): StoredSchedule | undefined;
  /** Told of every create, update and delete, through the API or in process. Returns the unsubscribe. */
  onChange(listener: (change: SchedulerChange) => void): () => void;
  /**
   * The next time Scheduler would fire the schedule after `after`: enabled only, in its zone, within its start and
   * end dates, a rate() counted from its StartDate or creation; undefined when none is left.
   */
  nextRun(schedule: StoredSchedule, after: Date): Date | undefined;
  /** What a run at `scheduledTime` delivers to the target: its Input with the context attributes filled in. */
  eventFor(schedule: StoredSchedule, scheduledTime: Date, attempt?: number): SchedulerInvocation;
  /**
   * After a run: a schedule with ActionAfterCompletion DELETE and no run left is deleted (a one-time schedule
   * after its run; a recurring one after the run nearest its EndDate). Returns whether it was.
   */
  afterRun(group: string, name: string, ranAt: Date): boolean;
  /** Deletes one at once (as DeleteSchedule). */
  deleteSchedule(group: string, name: string): boolean;
  fault(fault: SchedulerFault): SchedulerFaultHandle;
  clearFaults(): void;
  /** Every request received, oldest first. */
  calls(): readonly SchedulerCall[];
  clearCalls(): void;
  /** Removes every schedule, the groups given at start excepted, faults and calls. */
  reset(): void;
  /** Stops the server and closes every connection. Idempotent. */
  close(): Promise<void>;
}

class SchedulerApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const validation = (message: string) => new SchedulerApiError('ValidationException', message, 400);
const notFound = (message: string) => new SchedulerApiError('ResourceNotFoundException', message, 404);

const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const CLIENT_TOKEN = /^[a-zA-Z0-9-_]{1,64}$/;
const SQS_ARN = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/;
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:\S+$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:/;
const MAX_BODY_BYTES = 512 * 1024;
/** Scheduler: "The StartDate you specify cannot be earlier than 5 minutes ago." */
const START_DATE_PAST_MS = 5 * 60_000;

function faultError(kind: SchedulerFaultKind, operation: string): SchedulerApiError {
  switch (kind) {
    case 'throttle':
      return new SchedulerApiError('ThrottlingException', 'Rate exceeded', 429);
    case 'quota':
      return new SchedulerApiError(
        'ServiceQuotaExceededException',
        'You have reached the maximum number of schedules allowed in this account and Region.',
        402,
      );
    case 'server_error':
      return new SchedulerApiError(
        'InternalServerException',
        'Unexpected error occurred while processing the request.',
        500,
      );
    case 'access_denied':
      return new SchedulerApiError(
        'AccessDeniedException',
        `User: arn:aws:sts::000000000000:assumed-role/voxconf-local/local is not authorized to perform: scheduler:${operation}`,
        403,
      );
    case 'validation':
      return validation('Injected validation failure.');
    case 'conflict':
      return new SchedulerApiError('ConflictException', 'Injected conflict.', 409);
    default:
      return notFound('Injected: the schedule does not exist.');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalString(body: Record<string, unknown>, field: string, max?: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validation(`${field} must be a string.`);
  if (max !== undefined && value.length > max) {
    throw validation(
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  return value;
}

function optionalDate(body: Record<string, unknown>, field: string): Date | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw validation(`${field} must be a timestamp.`);
  return new Date(Math.round(value * 1000));
}

function integerIn(value: unknown, field: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw validation(`${field} must be an integer from ${min} to ${max}.`);
  }
  return value;
}

const epochSeconds = (date: Date) => date.getTime() / 1000;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function startSchedulerApi(options: StartSchedulerApiOptions = {}): Promise<SchedulerStandIn> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new Error(`Local AWS stand-ins listen on loopback only; "${host}" is not a loopback address.`);
  }
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? (() => new Date());
  const requireSignature = options.requireSignature ?? true;
  const initialGroups = ['default', ...(options.groups ?? [])];
  /** group -> name -> schedule */
  const store = new Map<string, Map<string, StoredSchedule>>();
  /** group/name -> the ClientToken of its create (a retried create with it succeeds again). */
  const createTokens = new Map<string, string>();
  const listeners = new Set<(change: SchedulerChange) => void>();
  const faults = faultList<SchedulerFault>();
  let record: SchedulerCall[] = [];

  const resetGroups = () => {
    store.clear();
    createTokens.clear();
    for (const group of initialGroups) store.set(group, new Map());
  };
  resetGroups();

  const arnOf = (group: string, name: string) => `arn:aws:scheduler:${region}:${accountId}:schedule/${group}/${name}`;
  const emit = (change: SchedulerChange) => {
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the API answers regardless.
      }
    }
  };
  const groupOf = (name: string | undefined): Map<string, StoredSchedule> => {
    const group = name ?? 'default';
    if (!NAME.test(group)) throw validation(`Invalid GroupName ${group}.`);
    const found = store.get(group);
    if (!found) throw notFound(`Schedule group ${group} does not exist.`);
    return found;
  };
  const count = () => [...store.values()].reduce((sum, group) => sum + group.size, 0);

  /** The schedule a Create or Update body describes, checked as Scheduler checks it. */
  const scheduleFrom = (
    name: string,
    body: Record<string, unknown>,
    existing: StoredSchedule | undefined,
  ): StoredSchedule => {
    if (!NAME.test(name)) throw validation(`Invalid Name ${name}: 1-64 of [0-9a-zA-Z-_.].`);
    const group = optionalString(body, 'GroupName') ?? 'default';
    const expression = optionalString(body, 'ScheduleExpression', 256);
    if (expression === undefined) throw validation('ScheduleExpression is required.');
    let kind: string;
    try {
      kind = parseExpression(expression).kind;
    } catch {
      throw validation(`Invalid Schedule Expression ${expression}.`);
    }
    const timezone = optionalString(body, 'ScheduleExpressionTimezone', 50);
    if (timezone !== undefined && !isTimeZone(timezone))
      throw validation(`Invalid ScheduleExpressionTimezone ${timezone}.`);
    const window = body.FlexibleTimeWindow;
    if (!isObject(window)) throw validation('FlexibleTimeWindow is required.');
    if (window.Mode !== 'OFF' && window.Mode !== 'FLEXIBLE')
      throw validation('FlexibleTimeWindow.Mode must be OFF or FLEXIBLE.');
    const maxWindow = integerIn(window.MaximumWindowInMinutes, 'FlexibleTimeWindow.MaximumWindowInMinutes', 1, 1440);
    if (window.Mode === 'FLEXIBLE' && maxWindow === undefined) {
      throw validation('MaximumWindowInMinutes is required when FlexibleTimeWindow.Mode is FLEXIBLE.');
    }
    if (window.Mode === 'OFF' && maxWindow !== undefined) {
      throw validation('MaximumWindowInMinutes must not be set when FlexibleTimeWindow.Mode is OFF.');
    }
    const target = body.Target;
    if (!isObject(target)) throw validation('Target is required.');
    const targetArn = optionalString(target, 'Arn', 1600);
    const roleArn = optionalString(target, 'RoleArn', 1600);
    if (targetArn === undefined || !ARN.test(targetArn)) throw validation('Target.Arn must be an ARN.');
    if (roleArn === undefined || !ARN.test(roleArn)) throw validation('Target.RoleArn must be an ARN.');
    const input = optionalString(target, 'Input', 8192);
    if (input !== undefined) {
      if (input.length < 1) throw validation('Target.Input must have length greater than or equal to 1.');
      if (LAMBDA_ARN.test(targetArn)) {
        try {
          JSON.parse(input);
        } catch {
          throw validation('Target.Input must be well-formed JSON for a Lambda target.');
        }
      }
    }
    if (target.RetryPolicy !== undefined) {
      if (!isObject(target.RetryPolicy)) throw validation('Target.RetryPolicy must be an object.');
      integerIn(target.RetryPolicy.MaximumEventAgeInSeconds, 'RetryPolicy.MaximumEventAgeInSeconds', 60, 86_400);
      integerIn(target.RetryPolicy.MaximumRetryAttempts, 'RetryPolicy.MaximumRetryAttempts', 0, 185);
    }
    if (target.DeadLetterConfig !== undefined) {
      const dlq = isObject(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
      if (dlq !== undefined && (typeof dlq !== 'string' || !SQS_ARN.test(dlq))) {
        throw validation('Target.DeadLetterConfig.Arn must be the ARN of an SQS queue.');
      }
    }
    const state = optionalString(body, 'State') ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw validation('State must be ENABLED or DISABLED.');
    const after = optionalString(body, 'ActionAfterCompletion') ?? 'NONE';
    if (after !== 'NONE' && after !== 'DELETE') throw validation('ActionAfterCompletion must be NONE or DELETE.');
    const description = optionalString(body, 'Description', 512);
    const kmsKeyArn = optionalString(body, 'KmsKeyArn', 2048);
    const clientToken = optionalString(body, 'ClientToken', 64);
    if (clientToken !== undefined && !CLIENT_TOKEN.test(clientToken)) throw validation('Invalid ClientToken.');
    const startDate = optionalDate(body, 'StartDate');
    const endDate = optionalDate(body, 'EndDate');
    if (kind !== 'at') {
      if (startDate && startDate.getTime() < now().getTime() - START_DATE_PAST_MS) {
        throw validation('The StartDate you specify cannot be earlier than 5 minutes ago.');
      }
      if (endDate && endDate.getTime() <= now().getTime()) {
        throw validation('The EndDate you specify cannot be earlier than the current time.');
      }
      if (startDate && endDate && endDate.getTime() <= startDate.getTime()) {
        throw validation('The EndDate you specify cannot be earlier than the StartDate.');
      }
    }
    const time = now();
    const { Arn: _arn, RoleArn: _role, ...otherTarget } = target;
    return {
      Arn: arnOf(group, name),
      Name: name,
      GroupName: group,
      ScheduleExpression: expression,
      ...(timezone !== undefined ? { ScheduleExpressionTimezone: timezone } : {}),
      ...(startDate ? { StartDate: startDate } : {}),
      ...(endDate ? { EndDate: endDate } : {}),
      ...(description !== undefined ? { Description: description } : {}),
      State: state,
      ...(kmsKeyArn !== undefined ? { KmsKeyArn: kmsKeyArn } : {}),
      FlexibleTimeWindow: {
        Mode: window.Mode,
        ...(maxWindow !== undefined ? { MaximumWindowInMinutes: maxWindow } : {}),
      },
      ActionAfterCompletion: after,
      Target: { ...structuredClone(otherTarget), Arn: targetArn, RoleArn: roleArn },
      CreationDate: existing?.CreationDate ?? time,
      LastModificationDate: time,
    };
  };

  const toWire = (schedule: StoredSchedule) => ({
    ...schedule,
    ...(schedule.StartDate ? { StartDate: epochSeconds(schedule.StartDate) } : {}),
    ...(schedule.EndDate ? { EndDate: epochSeconds(schedule.EndDate) } : {}),
    CreationDate: epochSeconds(schedule.CreationDate),
    LastModificationDate: epochSeconds(schedule.LastModificationDate),
  });
  const copy = (schedule: StoredSchedule): StoredSchedule => structuredClone(schedule);

  const removeSchedule = (group: string, name: string, reason: SchedulerChange['reason']): boolean => {
    const schedules = store.get(group);
    const existing = schedules?.get(name);
    if (!schedules || !existing) return false;
    schedules.delete(name);
    createTokens.delete(`${group}/${name}`);
    emit({ type: 'deleted', schedule: copy(existing), reason });
    return true;
  };

  type Handler = (request: {
    name: string | undefined;
    query: URLSearchParams;
    body: Record<string, unknown>;
  }) => unknown;

  const handlers: Record<SchedulerOperation, Handler> = {
    CreateSchedule({ name = '', body }) {
      const group = groupOf(optionalString(body, 'GroupName'));
      const token = optionalString(body, 'ClientToken');
      const existing = group.get(name);
      if (existing) {
        // The SDK keeps one ClientToken across its retries: a create that succeeded but whose answer was lost.
        if (token !== undefined && createTokens.get(`${existing.GroupName}/${name}`) === token) {
          return { ScheduleArn: existing.Arn };
        }
        throw new SchedulerApiError('ConflictException', `Schedule ${name} already exists.`, 409);
      }
      const schedule = scheduleFrom(name, body, undefined);
      if (options.maxSchedules !== undefined && count() >= options.maxSchedules)
        throw faultError('quota', 'CreateSchedule');
      group.set(name, schedule);
      if (token !== undefined) createTokens.set(`${schedule.GroupName}/${name}`, token);
      emit({ type: 'created', schedule: copy(schedule) });
      return { ScheduleArn: schedule.Arn };
    },
    GetSchedule({ name = '', query }) {
      const schedule = groupOf(query.get('groupName') ?? undefined).get(name);
      if (!schedule) throw notFound(`Schedule ${name} does not exist.`);
      return toWire(schedule);
    },
    UpdateSchedule({ name = '', body }) {
      const group = groupOf(optionalString(body, 'GroupName'));
      const existing = group.get(name);
      if (!existing) throw notFound(`Schedule ${name} does not exist.`);
      // A full replace: what the request leaves out is reset (Description, dates, State ENABLED, ...).
      const schedule = scheduleFrom(name, body, existing);
      group.set(name, schedule);
      emit({ type: 'updated', schedule: copy(schedule) });
      return { ScheduleArn: schedule.Arn };
    },
    DeleteSchedule({ name = '', query }) {
      const group = query.get('groupName') ?? 'default';
      const schedules = groupOf(group);
      if (!schedules.has(name)) throw notFound(`Schedule ${name} does not exist.`);
      removeSchedule(group, name, 'api');
      return {};
    },
    ListSchedules({ query }) {
      const group = query.get('ScheduleGroup') ?? undefined;
      const prefix = query.get('NamePrefix') ?? undefined;
      const state = query.get('State') ?? undefined;
      const max = integerIn(
        query.get('MaxResults') === null ? undefined : Number(query.get('MaxResults')),
        'MaxResults',
        1,
        100,
      );
      if (prefix !== undefined && !NAME.test(prefix)) throw validation('Invalid NamePrefix.');
      if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED') throw validation('Invalid State.');
      const groups = group === undefined ? [...store.keys()] : [group];
      if (group !== undefined) groupOf(group);
      const all = groups
        .flatMap((g) => [...(store.get(g)?.values() ?? [])])
        .filter(
          (s) => (prefix === undefined || s.Name.startsWith(prefix)) && (state === undefined || s.State === state),
        )
        .sort((a, b) => (a.GroupName === b.GroupName ? compare(a.Name, b.Name) : compare(a.GroupName, b.GroupName)));
      let offset = 0;
      const token = query.get('NextToken');
      if (token !== null) {
        offset = Number(Buffer.from(token, 'base64url').toString('utf8'));
        if (!Number.isInteger(offset) || offset < 0) throw validation('Invalid NextToken.');
      }
      const size = max ?? 100;
      const page = all.slice(offset, offset + size);
      return {
        Schedules: page.map((s) => ({
          Arn: s.Arn,
          Name: s.Name,
          GroupName: s.GroupName,
          State: s.State,
          CreationDate: epochSeconds(s.CreationDate),
          LastModificationDate: epochSeconds(s.LastModificationDate),
          Target: { Arn: s.Target.Arn },
        })),
        ...(offset + size < all.length ? { NextToken: Buffer.from(String(offset + size)).toString('base64url') } : {}),
      };
    },
    CreateScheduleGroup({ name = '' }) {
      if (!NAME.test(name)) throw validation(`Invalid Name ${name}.`);
      if (store.has(name))
        throw new SchedulerApiError('ConflictException', `Schedule group ${name} already exists.`, 409);
      store.set(name, new Map());
      return { ScheduleGroupArn: `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}` };
    },
    GetScheduleGroup({ name = '' }) {
      groupOf(name);
      return {
        Arn: `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}`,
        Name: name,
        State: 'ACTIVE',
      };
    },
    DeleteScheduleGroup({ name = '' }) {
      const schedules = groupOf(name);
      if (name === 'default') throw validation('The default schedule group cannot be deleted.');
      for (const schedule of [...schedules.keys()]) removeSchedule(name, schedule, 'group');
      store.delete(name);
      return {};
    },
    ListScheduleGroups() {
      return {
        ScheduleGroups: [...store.keys()].sort().map((name) => ({
          Arn: `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}`,
          Name: name,
          State: 'ACTIVE',
        })),
      };
    },
  };

  const route = (method: string, path: string): { operation: SchedulerOperation; name?: string } | undefined => {
    const [, collection, encoded, extra] = path.split('/');
    if (extra !== undefined) return undefined;
    const name = encoded === undefined || encoded === '' ? undefined : decodeURIComponent(encoded);
    if (collection === 'schedules') {
      if (name === undefined) return method === 'GET' ? { operation: 'ListSchedules' } : undefined;
      const operation = (
        { POST: 'CreateSchedule', GET: 'GetSchedule', PUT: 'UpdateSchedule', DELETE: 'DeleteSchedule' } as const
      )[method as 'POST'];
      return operation ? { operation, name } : undefined;
    }
    if (collection === 'schedule-groups') {
      if (name === undefined) return method === 'GET' ? { operation: 'ListScheduleGroups' } : undefined;
      const operation = (
        { POST: 'CreateScheduleGroup', GET: 'GetScheduleGroup', DELETE: 'DeleteScheduleGroup' } as const
      )[method as 'POST'];
      return operation ? { operation, name } : undefined;
    }
    return undefined;
  };

  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || closing) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const send = (res: ServerResponse, status: number, payload: unknown, errorType?: string) => {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
      ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
    });
    res.end(text);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
    const found = route(req.method ?? 'GET', url.pathname);
    const time = Date.now();
    const raw = await readRequestBody(req, MAX_BODY_BYTES).catch(() => undefined);
    const log = (status: number, errorType?: string, fault?: SchedulerFaultKind, body?: Record<string, unknown>) =>
      record.push({
        operation: found?.operation ?? 'Unknown',
        ...(found?.name !== undefined ? { name: found.name } : {}),
        ...(() => {
          const group =
            (typeof body?.GroupName === 'string' ? body.GroupName : undefined) ??
            url.searchParams.get('groupName') ??
            url.searchParams.get('ScheduleGroup') ??
            undefined;
          return group === undefined ? {} : { group };
        })(),
        time,
        status,
        ...(errorType !== undefined ? { errorType } : {}),
        ...(fault !== undefined ? { fault } : {}),
      });
    const fail = (error: SchedulerApiError, fault?: SchedulerFaultKind, body?: Record<string, unknown>) => {
      log(error.status, error.type, fault, body);
      send(res, error.status, { Message: error.message }, error.type);
    };
    if (raw === undefined) return fail(validation('The request body is too large.'));
    if (!found) {
      return fail(
        new SchedulerApiError('UnknownOperationException', `${req.method} ${url.pathname} is not an operation.`, 404),
      );
    }
    const authorization = req.headers.authorization;
    if (requireSignature && !(typeof authorization === 'string' && authorization.startsWith('AWS4-HMAC-SHA256 '))) {
      return fail(new SchedulerApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403));
    }
    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (!isObject(parsed)) throw new Error('not an object');
        body = parsed;
      } catch {
        return fail(new SchedulerApiError('SerializationException', 'The request body is not a JSON object.', 400));
      }
    }
    const { delayMs, failure } = faults.pick(
      (spec) => spec.operation === undefined || spec.operation === found.operation,
    );
    await sleep(delayMs);
    if (closing) return void res.destroy();
    if (failure?.kind === 'drop') {
      log(0, undefined, 'drop', body);
      return void req.socket.destroy();
    }
    if (failure) return fail(faultError(failure.kind, found.operation), failure.kind, body);
    try {
      const result = handlers[found.operation]({ name: found.name, query: url.searchParams, body });
      log(200, undefined, delayMs > 0 ? 'latency' : undefined, body);
      send(res, 200, result);
    } catch (error) {
      if (error instanceof SchedulerApiError) return fail(error, undefined, body);
      fail(new SchedulerApiError('InternalServerException', 'The local stand-in failed.', 500), undefined, body);
    }
  };

  const server = createLocalServer((req, res) => {
    onRequest(req, res).catch(() => {
      if (!res.headersSent) res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 5000;
  const port = await listen(server, host, options.port ?? 0);
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const nextRun = (schedule: StoredSchedule, after: Date): Date | undefined => {
    if (schedule.State !== 'ENABLED') return undefined;
    const zone = schedule.ScheduleExpressionTimezone ?? 'UTC';
    const compiled = compileSchedule(schedule.ScheduleExpression, zone, schedule.StartDate ?? schedule.CreationDate);
    if (compiled.kind === 'at') return compiled.next(after);
    const from =
      schedule.StartDate && schedule.StartDate.getTime() > after.getTime()
        ? new Date(schedule.StartDate.getTime() - 1)
        : after;
    const next = compiled.next(from);
    return next && schedule.EndDate && next.getTime() >= schedule.EndDate.getTime() ? undefined : next;
  };

  let closed: Promise<void> | undefined;
  return {
    endpoint,
    port,
    region,
    accountId,
    groups: () => [...store.keys()].sort(),
    createGroup(name) {
      if (!NAME.test(name)) throw new Error(`Invalid group name ${name}`);
      if (!store.has(name)) store.set(name, new Map());
    },
    schedules(group) {
      const groups = group === undefined ? [...store.keys()].sort() : [group];
      return groups.flatMap((g) =>
        [...(store.get(g)?.values() ?? [])].sort((a, b) => (a.Name < b.Name ? -1 : 1)).map(copy),
      );
    },
    schedule(group, name) {
      const found = store.get(group)?.get(name);
      return found ? copy(found) : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    nextRun,
    eventFor(schedule, scheduledTime, attempt = 1) {
      const executionId = randomUUID();
      const scheduled = schedulerTime(scheduledTime);
      const input = (schedule.Target.Input ?? '{}')
        .replaceAll('<aws.scheduler.scheduled-time>', scheduled)
        .replaceAll('<aws.scheduler.execution-id>', executionId)
        .replaceAll('<aws.scheduler.schedule-arn>', schedule.Arn)
        .replaceAll('<aws.scheduler.attempt-number>', String(attempt));
      let event: unknown;
      try {
        event = JSON.parse(input);
      } catch {
        event = input;
      }
      return { event, scheduledTime: scheduled, executionId };
    },
    afterRun(group, name, ranAt) {
      const schedule = store.get(group)?.get(name);
      if (schedule?.ActionAfterCompletion !== 'DELETE') return false;
      if (nextRun({ ...schedule, State: 'ENABLED' }, ranAt) !== undefined) return false;
      return removeSchedule(group, name, 'completed');
    },
    deleteSchedule: (group, name) => removeSchedule(group, name, 'api'),
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    calls: () => record.slice(),
    clearCalls() {
      record = [];
    },
    reset() {
      for (const [group, schedules] of store)
        for (const name of [...schedules.keys()]) removeSchedule(group, name, 'reset');
      resetGroups();
      faults.clear();
      record = [];
    },
    close() {
      if (closed) return closed;
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
