/**
 * A loopback stand-in for Amazon EventBridge's PutEvents that the real `@aws-sdk/client-eventbridge` reaches
 * through `AWS_ENDPOINT_URL_EVENTBRIDGE` (or the client's `endpoint`): awsJson1_1, `x-amz-target:
 * AWSEvents.PutEvents`, signed requests only (local/aws-json-server.ts).
 *
 * PutEvents answers as AWS documents it (API reference PutEvents / PutEventsResultEntry, user guide "Sending
 * events with PutEvents" and "Calculating PutEvents event entry size"):
 *   - 1 to 10 entries, else 400 ValidationException ("1 validation error detected: ... at 'entries' ...");
 *   - the entries' total size at most `maxRequestBytes` (256 KB), else 400 ValidationException. An entry's size:
 *     14 bytes for Time when given, plus the UTF-8 bytes of Source, DetailType, Detail and each of Resources;
 *   - each entry on its own: refused ones answer `ErrorCode` + `ErrorMessage` in their place of `Entries` and count
 *     in `FailedEntryCount` (the call itself succeeds): a missing Source, DetailType or Detail is InvalidArgument,
 *     a Detail that is not a JSON object is MalformedDetail, an `aws.` Source is NotAuthorizedForSourceException;
 *     an accepted one answers its `EventId`;
 *   - a bus that does not exist: accepted (an EventId) and dropped, as AWS does (aws/aws-sdk#186, aws/aws-cli#9186:
 *     no error, FailedEntryCount 0). Kept in `dropped()` and reported through `onCall`, so that a local
 *     misconfiguration shows. `unknownBus: 'error'` refuses such an entry with ResourceNotFoundException instead.
 *
 * Buses: `default` and those named at start (`buses`) or by `createBus`. EventBusName may be a name or an ARN of
 * this region and account; absent means `default`.
 *
 * In process: every accepted entry is recorded (`events()`, oldest first, with its bus, Time and parsed Detail);
 * faults: a throttled call (400 ThrottlingException), a 5xx (500 InternalException or 503 ServiceUnavailable), a
 * dropped connection, latency, or N entries of a call failed with InternalFailure; for `times` calls, `forMs`, or
 * until cleared.
 *
 *   const eb = await startEventBridge({ buses: ['voxconf-local'] });
 *   process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = eb.endpoint;
 *   eb.fault({ kind: 'fail_entries', entries: 1, times: 1 });
 *   ... eb.events({ detailType: 'Conference Started' }) ...
 *   await eb.close();
 */
import { randomUUID } from 'node:crypto';
import { type AwsJsonRequest, type AwsJsonResult, startAwsJsonServer } from './aws-json-server.js';
import { faultList } from './fault-list.js';

/** PutEvents' limits (API reference; the user guide's quotas). */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
export const DEFAULT_BUS = 'default';

export type EventBridgeFaultKind =
  /** 400 ThrottlingException for the whole call (the SDK retries it). */
  | 'throttle'
  /** 500 InternalException (or `status: 503` ServiceUnavailable) for the whole call (the SDK retries it). */
  | 'server_error'
  /** The call succeeds, but `entries` of its entries (default all) fail with InternalFailure (not recorded). */
  | 'fail_entries'
  /** The socket is destroyed without an answer: `socket hang up` (the SDK retries it). */
  | 'drop'
  /** The normal answer, `latencyMs` late. */
  | 'latency';

export interface EventBridgeFault {
  readonly kind: EventBridgeFaultKind;
  /** Calls affected, then the fault is gone. Default: until cleared. */
  readonly times?: number;
  /** The fault is gone this long after `fault()`. Default: until cleared. */
  readonly forMs?: number;
  /** server_error: 500 (InternalException, default) or 503 (ServiceUnavailable). */
  readonly status?: 500 | 503;
  /** fail_entries: how many entries of a call fail, the first ones (that match `detailType`). Default: all. */
  readonly entries?: number;
  /** Only calls with an entry of this DetailType (fail_entries: only such entries fail). */
  readonly detailType?: string;
  /** latency: the delay (default 1000 ms); other kinds: a delay before the answer (default 0). */
  readonly latencyMs?: number;
}

export interface EventBridgeFaultHandle {
  /** Calls this fault has affected so far. */
  hits(): number;
  clear(): void;
}

/** An accepted entry, as PutEvents received it (Detail parsed). */
export interface RecordedEvent {
  readonly EventId: string;
  /** The entry's Time, or when it arrived: ISO 8601. */
  readonly Time: string;
  /** The bus's name (an ARN given resolves to it; none given: `default`). */
  readonly EventBusName: string;
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: Record<string, unknown>;
  readonly Resources: readonly string[];
}

export interface EventBridgeCall {
  readonly action: string;
  /** Epoch milliseconds when the request arrived. */
  readonly time: number;
  /** HTTP status answered; 0 when the connection was dropped. */
  readonly status: number;
  /** AWS error code of the call, if it failed as a whole. */
  readonly errorType?: string;
  readonly entries: number;
  readonly failedEntryCount: number;
  /** Per entry, in order: `ok` (recorded), `dropped` (unknown bus) or its ErrorCode. */
  readonly results: readonly string[];
  readonly detailTypes: readonly string[];
  /** Buses named by the entries (resolved names), in order. */
  readonly buses: readonly string[];
  readonly fault?: EventBridgeFaultKind;
}

export interface StartEventBridgeOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Used in ARNs. Default us-east-1. */
  readonly region?: string;
  /** Used in ARNs. Default 000000000000. */
  readonly accountId?: string;
  /** Custom buses that exist from the start (`default` always does). */
  readonly buses?: readonly string[];
  /** Entries for a bus that does not exist: accepted and dropped as AWS does (default), or refused. */
  readonly unknownBus?: 'drop' | 'error';
  /** The entries' total size limit of one call. Default 256 KB. */
  readonly maxRequestBytes?: number;
  /** Unsigned requests get MissingAuthenticationTokenException. Default true (the SDK always signs). */
  readonly requireSignature?: boolean;
  /** Told of every call once answered (the stack logs it). */
  readonly onCall?: (call: EventBridgeCall) => void;
}

export interface EventBridgeStandIn {
  /** e.g. `http://127.0.0.1:43125`: the value for AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Creates a custom bus (idempotent); returns its ARN. */
  createBus(name: string): string;
  /** `default` first, then the custom buses. */
  buses(): string[];
  arnOf(busName: string): string;
  /** Accepted entries, oldest first; optionally of one DetailType, Source or bus. */
  events(filter?: { detailType?: string; source?: string; busName?: string }): RecordedEvent[];
  /** Entries accepted for a bus that does not exist (not in `events()`). */
  dropped(): RecordedEvent[];
  clearEvents(): void;
  /** Adds a fault; faults are checked in the order added. */
  fault(fault: EventBridgeFault): EventBridgeFaultHandle;
  clearFaults(): void;
  /** Every request received, oldest first (faulted and rejected ones included). */
  calls(): EventBridgeCall[];
  clearCalls(): void;
  /** Removes events, faults, calls and the custom buses created after start. */
  reset(): void;
  /** Stops the server and closes every connection. Idempotent. */
  close(): Promise<void>;
}

class ValidationException extends Error {}

const BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;

/** An entry's size as EventBridge counts it (user guide, "Calculating PutEvents event entry size"). */
export function putEventsEntrySize(entry: Record<string, unknown>): number {
  const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0);
  let size = entry.Time === undefined || entry.Time === null ? 0 : 14;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  if (Array.isArray(entry.Resources)) for (const resource of entry.Resources) size += bytes(resource);
  return size;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function faultError(fault: EventBridgeFault): { status: number; type: string; message: string } {
  if (fault.kind === 'throttle') return { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
  return fault.status === 503
    ? { status: 503, type: 'ServiceUnavailable', message: 'The request has failed due to a temporary failure.' }
    : { status: 500, type: 'InternalException', message: 'This exception occurs due to unexpected causes.' };
}

type EntryOutcome =
  | { readonly kind: 'ok' | 'dropped'; readonly event: RecordedEvent }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export async function startEventBridge(options: StartEventBridgeOptions = {}): Promise<EventBridgeStandIn> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const maxRequestBytes = options.maxRequestBytes ?? PUT_EVENTS_MAX_BYTES;
  const arnPrefix = `arn:aws:events:${region}:${accountId}:event-bus/`;
  const initialBuses = [...new Set(options.buses ?? [])];
  for (const name of initialBuses) {
    if (!BUS_NAME.test(name) || name === DEFAULT_BUS) throw new Error(`Not a custom event bus name: "${name}"`);
  }
  const buses = new Set<string>([DEFAULT_BUS, ...initialBuses]);
  let recorded: RecordedEvent[] = [];
  let droppedEvents: RecordedEvent[] = [];
  const faults = faultList<EventBridgeFault>();
  let record: EventBridgeCall[] = [];

  /** The bus an entry names: a name, or an ARN of this region and account (another one never exists here). */
  const busOf = (value: unknown): string => {
    if (value === undefined || value === null || value === '') return DEFAULT_BUS;
    const text = String(value);
    if (text.startsWith('arn:')) return text.startsWith(arnPrefix) ? text.slice(arnPrefix.length) : text;
    return text;
  };

  const pickFaults = (detailTypes: readonly string[]) =>
    faults.pick((spec) => spec.detailType === undefined || detailTypes.includes(spec.detailType));

  const checkEntries = (body: Record<string, unknown>): Record<string, unknown>[] => {
    const entries = body.Entries;
    if (!Array.isArray(entries)) {
      throw new ValidationException(
        "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
      );
    }
    if (entries.length < 1 || entries.length > PUT_EVENTS_MAX_ENTRIES) {
      const bound =
        entries.length < 1
          ? 'Member must have length greater than or equal to 1'
          : `Member must have length less than or equal to ${PUT_EVENTS_MAX_ENTRIES}`;
      throw new ValidationException(
        `1 validation error detected: Value '[${entries.length} entries]' at 'entries' failed to satisfy constraint: ${bound}`,
      );
    }
    if (!entries.every(isObject)) {
      throw new ValidationException('1 validation error detected: every member of Entries must be an object');
    }
    const total = entries.reduce((sum: number, entry) => sum + putEventsEntrySize(entry), 0);
    if (total > maxRequestBytes) {
      throw new ValidationException('Total size of the entries in the request is over the limit.');
    }
    return entries;
  };

  const invalid = (field: string, reason: string): EntryOutcome => ({
    kind: 'error',
    code: 'InvalidArgument',
    message: `Parameter ${field} is not valid. Reason: ${reason}`,
  });

  const accept = (entry: Record<string, unknown>, arrived: number): EntryOutcome => {
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      const value = entry[field];
      if (value === undefined || value === null || value === '') {
        return invalid(field, `${field} is a required argument.`);
      }
      if (typeof value !== 'string') return invalid(field, `${field} must be a string.`);
    }
    const source = entry.Source as string;
    if (source.startsWith('aws.')) {
      return { kind: 'error', code: 'NotAuthorizedForSourceException', message: 'Not authorized for the source.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      detail = undefined;
    }
    if (!isObject(detail)) return { kind: 'error', code: 'MalformedDetail', message: 'Detail is malformed.' };
    let time = arrived;
    if (entry.Time !== undefined && entry.Time !== null) {
      // awsJson1_1 sends a timestamp as epoch seconds.
      if (typeof entry.Time !== 'number' || !Number.isFinite(entry.Time)) return invalid('Time', 'Time is invalid.');
      time = Math.round(entry.Time * 1000);
    }
    const resources = entry.Resources;
    if (resources !== undefined && (!Array.isArray(resources) || !resources.every((r) => typeof r === 'string'))) {
      return invalid('Resources', 'Resources must be a list of strings.');
    }
    const busName = busOf(entry.EventBusName);
    const event: RecordedEvent = {
      EventId: randomUUID(),
      Time: new Date(time).toISOString(),
      EventBusName: busName,
      Source: source,
      DetailType: entry.DetailType as string,
      Detail: detail,
      Resources: (resources as string[] | undefined) ?? [],
    };
    if (buses.has(busName)) return { kind: 'ok', event };
    if (options.unknownBus === 'error') {
      return { kind: 'error', code: 'ResourceNotFoundException', message: `Event bus ${busName} does not exist.` };
    }
    return { kind: 'dropped', event };
  };

  const handle = (request: AwsJsonRequest): AwsJsonResult => {
    const { action, body } = request;
    const arrived = Date.now();
    const rawEntries = Array.isArray(body.Entries) ? body.Entries.filter(isObject) : [];
    const detailTypes = rawEntries.map((entry) => (typeof entry.DetailType === 'string' ? entry.DetailType : ''));
    const busNames = rawEntries.map((entry) => busOf(entry.EventBusName));
    const log = (call: Omit<EventBridgeCall, 'action' | 'time' | 'detailTypes' | 'buses' | 'entries'>) => {
      const full: EventBridgeCall = {
        action,
        time: arrived,
        entries: rawEntries.length,
        detailTypes,
        buses: busNames,
        ...call,
      };
      record.push(full);
      options.onCall?.(full);
    };
    const fail = (status: number, type: string, message: string, delayMs: number, fault?: EventBridgeFaultKind) => {
      log({ status, errorType: type, failedEntryCount: 0, results: [], ...(fault ? { fault } : {}) });
      return { kind: 'error' as const, status, type, message, delayMs };
    };

    if (action !== 'PutEvents') {
      return fail(400, 'UnknownOperationException', `The local EventBridge stand-in does not implement ${action}.`, 0);
    }
    const { delayMs, failure, latency } = pickFaults(detailTypes);
    const kind = failure?.kind;
    if (failure && kind === 'drop') {
      log({ status: 0, failedEntryCount: 0, results: [], fault: kind });
      return { kind: 'drop', delayMs };
    }
    if (failure && (kind === 'throttle' || kind === 'server_error')) {
      const error = faultError(failure);
      return fail(error.status, error.type, error.message, delayMs, kind);
    }

    let entries: Record<string, unknown>[];
    try {
      entries = checkEntries(body);
    } catch (error) {
      if (!(error instanceof ValidationException)) throw error;
      return fail(400, 'ValidationException', error.message, delayMs);
    }

    const outcomes = entries.map((entry) => accept(entry, arrived));
    if (failure && kind === 'fail_entries') {
      let left = failure.entries ?? Number.POSITIVE_INFINITY;
      outcomes.forEach((outcome, index) => {
        const type = entries[index]?.DetailType;
        if (left <= 0 || outcome.kind === 'error') return;
        if (failure.detailType !== undefined && type !== failure.detailType) return;
        left -= 1;
        outcomes[index] = {
          kind: 'error',
          code: 'InternalFailure',
          message: 'The request processing has failed because of an unknown error, exception or failure.',
        };
      });
    }
    for (const outcome of outcomes) {
      if (outcome.kind === 'ok') recorded.push(outcome.event);
      else if (outcome.kind === 'dropped') droppedEvents.push(outcome.event);
    }
    const failedEntryCount = outcomes.filter((outcome) => outcome.kind === 'error').length;
    log({
      status: 200,
      failedEntryCount,
      results: outcomes.map((outcome) => (outcome.kind === 'error' ? outcome.code : outcome.kind)),
      ...(kind === 'fail_entries' ? { fault: kind } : latency ? { fault: 'latency' as const } : {}),
    });
    return {
      kind: 'ok',
      delayMs,
      body: {
        FailedEntryCount: failedEntryCount,
        Entries: outcomes.map((outcome) =>
          outcome.kind === 'error'
            ? { ErrorCode: outcome.code, ErrorMessage: outcome.message }
            : { EventId: outcome.event.EventId },
        ),
      },
    };
  };

  const server = await startAwsJsonServer({
    host: options.host,
    port: options.port,
    targetPrefix: 'AWSEvents',
    jsonVersion: '1.1',
    requireSignature: options.requireSignature ?? true,
    handle,
    onRejected: ({ action, status, type }) => {
      const call: EventBridgeCall = {
        action: action ?? '',
        time: Date.now(),
        status,
        errorType: type,
        entries: 0,
        failedEntryCount: 0,
        results: [],
        detailTypes: [],
        buses: [],
      };
      record.push(call);
      options.onCall?.(call);
    },
  });

  const matches = (event: RecordedEvent, filter: { detailType?: string; source?: string; busName?: string }) =>
    (filter.detailType === undefined || event.DetailType === filter.detailType) &&
    (filter.source === undefined || event.Source === filter.source) &&
    (filter.busName === undefined || event.EventBusName === filter.busName);

  return {
    endpoint: server.endpoint,
    port: server.port,
    region,
    accountId,
    createBus(name) {
      if (!BUS_NAME.test(name) || name.startsWith('arn:')) throw new Error(`Not an event bus name: "${name}"`);
      buses.add(name);
      return `${arnPrefix}${name}`;
    },
    buses: () => [...buses],
    arnOf: (busName) => `${arnPrefix}${busName}`,
    events: (filter = {}) => recorded.filter((event) => matches(event, filter)),
    dropped: () => droppedEvents.slice(),
    clearEvents() {
      recorded = [];
      droppedEvents = [];
    },
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    calls: () => record.slice(),
    clearCalls() {
      record = [];
    },
    reset() {
      recorded = [];
      droppedEvents = [];
      faults.clear();
      record = [];
      for (const name of [...buses]) if (name !== DEFAULT_BUS && !initialBuses.includes(name)) buses.delete(name);
    },
    close: () => server.close(),
  };
}
