/**
 * Records one successful start in the registry (DynamoDB, infra/resources.yml RegistryTable): a join of the
 * recorded session, or a new session that replaces whatever the name held before. Conditional writes only, so that
 * starts racing for one name (concurrent Lambdas) end with one consistent record:
 *
 *   1. join: UpdateItem SET last_joined_at, join_count + 1, expires_at IF the record is the same, active session;
 *   2. else new: PutItem the whole session record IF the record holds no session or another one (ended or not);
 *   3. else a late join: the record is this very session, recorded ended (a start Voximplant answered while the
 *      session was stopping): UpdateItem SET last_joined_at, join_count + 1 IF so, leaving it ended. An end voxconf
 *      recorded is never undone by a start: the session was stopped or found gone, and its URLs removed;
 *   4. else another writer has just put this very session: back to 1 (at most ROUNDS rounds).
 *
 * "The same session" is one expression, SAME_SESSION (with its status test apart), used by every write, and it says
 * what lib/registry-record.ts isSameSession says (test/integration/registry-writer.test.ts checks both on the same
 * cases).
 * No read first, and no `Item` expected on a failed condition (dynalite sends none, lifecycle-api.md D).
 *
 * Imports the DynamoDB client: loaded lazily, only after a start's request is on its way (lib/registry.ts).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { ConferenceResult } from './conference.js';
import { dynamoDbClient } from './dynamodb.js';
import facts from './facts.json' with { type: 'json' };
import type { StartOrigin } from './outcome-events.js';
import { expiresAt, REGISTRY_KEY, type RegistryRecord, type StartedBy } from './registry-record.js';

/** What one successful start tells the registry. */
export interface RegistryStart {
  readonly result: ConferenceResult;
  readonly origin: StartOrigin;
  /** The rule the start ran (StartReport.ruleId); absent when the account's default rule was used. */
  readonly ruleId: number | undefined;
}

export interface RecordedStart {
  /**
   * `new`: the record now holds this session (join_count 0); `join`: the recorded session's join_count grew;
   * `late_join`: the same, on a session already recorded ended, which stays ended.
   */
  readonly outcome: 'new' | 'join' | 'late_join';
  /** Write rounds it took (1 unless another writer raced it). */
  readonly rounds: number;
}

export interface RegistryWriterOptions {
  readonly tableName: string;
  readonly retention: { readonly activeHours: number; readonly endedDays: number };
  readonly client?: Pick<DynamoDBClient, 'send'>;
  /** Upper bound of the whole write, all rounds and SDK retries included (default facts.registry.writeTimeoutMs). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** Join, new, join again: a session another writer puts between our join and our put is joined on round 2. */
export const ROUNDS = 3;

/**
 * The recorded session is the start's: active, and the same secure media URL or the same call_session_history_id
 * (either is enough; lib/registry-record.ts says why). A comparison with a missing attribute is false in DynamoDB,
 * as `===` with undefined is in isSameSession.
 */
export const SAME_SESSION_ID = '(#secure_url = :secure_url OR #history_id = :history_id)' as const;
export const SAME_SESSION = `#status = :active AND ${SAME_SESSION_ID}` as const;
/** The record holds no session, or another one: a new session may replace it. */
export const OTHER_SESSION = `attribute_not_exists(#name) OR NOT ${SAME_SESSION_ID}` as const;
/** The record is this session, already recorded ended. */
export const ENDED_SESSION = `#status = :ended AND ${SAME_SESSION_ID}` as const;

const NAMES = {
  '#name': REGISTRY_KEY,
  '#status': 'status',
  '#secure_url': 'media_session_access_secure_url',
  '#history_id': 'call_session_history_id',
} as const;

/** The attribute names an expression uses (DynamoDB refuses names an expression does not use). */
const names = (...used: (keyof typeof NAMES)[]): Record<string, string> =>
  Object.fromEntries(used.map((key) => [key, NAMES[key]]));

/** The write failed for good (rounds spent, or the write's time bound): the start stands, the record does not. */
export class RegistryWriteError extends Error {
  constructor(
    message: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RegistryWriteError';
  }
}

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

function startedBy(origin: StartOrigin): StartedBy {
  return {
    source: origin.source,
    ...(origin.sourceId === undefined ? {} : { source_id: origin.sourceId }),
    ...(origin.correlationId === undefined ? {} : { correlation_id: origin.correlationId }),
    ...(origin.scheduleName === undefined ? {} : { schedule_name: origin.scheduleName }),
  };
}

/** The new session's record, exactly RegistryRecord's attributes (nothing of an earlier session survives a put). */
export function sessionRecord(start: RegistryStart, nowMs: number, expires: number): RegistryRecord {
  const { result } = start;
  return {
    conference_name: result.conference_name,
    status: 'active',
    started_at: new Date(nowMs).toISOString(),
    started_by: startedBy(start.origin),
    ...(start.ruleId === undefined ? {} : { rule_id: start.ruleId }),
    call_session_history_id: result.call_session_history_id,
    media_session_access_url: result.media_session_access_url,
    media_session_access_secure_url: result.media_session_access_secure_url,
    join_count: 0,
    expires_at: expires,
  };
}

function toItem(record: RegistryRecord): Record<string, AttributeValue> {
  const by = record.started_by;
  const item: Record<string, AttributeValue> = {
    conference_name: s(record.conference_name),
    status: s(record.status),
    started_at: s(record.started_at),
    started_by: {
      M: Object.fromEntries(Object.entries(by).flatMap(([k, v]) => (v === undefined ? [] : [[k, s(String(v))]]))),
    },
    call_session_history_id: n(record.call_session_history_id),
    join_count: n(record.join_count),
    expires_at: n(record.expires_at),
  };
  if (record.rule_id !== undefined) item.rule_id = n(record.rule_id);
  if (record.media_session_access_url !== undefined) item.media_session_access_url = s(record.media_session_access_url);
  if (record.media_session_access_secure_url !== undefined) {
    item.media_session_access_secure_url = s(record.media_session_access_secure_url);
  }
  return item;
}

export class RegistryWriter {
  private readonly options: RegistryWriterOptions;
  private readonly client: Pick<DynamoDBClient, 'send'>;
  private readonly now: () => number;

  constructor(options: RegistryWriterOptions) {
    this.options = options;
    this.client = options.client ?? dynamoDbClient();
    this.now = options.now ?? Date.now;
  }

  /** Writes the start (see the module comment); throws RegistryWriteError, or the SDK's error, when it could not. */
  async record(start: RegistryStart): Promise<RecordedStart> {
    // One bound for every round and SDK retry: it runs on the caller's time (an HTTP answer, a batch, a schedule).
    const signal = AbortSignal.timeout(this.options.timeoutMs ?? facts.registry.writeTimeoutMs);
    for (let round = 1; round <= ROUNDS; round++) {
      if (await this.join(start, signal)) return { outcome: 'join', rounds: round };
      if (await this.put(start, signal)) return { outcome: 'new', rounds: round };
      if (await this.lateJoin(start, signal)) return { outcome: 'late_join', rounds: round };
    }
    throw new RegistryWriteError(`No consistent write after ${ROUNDS} rounds of join and new session.`, 'contention');
  }

  private values(start: RegistryStart): Record<string, AttributeValue> {
    return {
      ':secure_url': s(start.result.media_session_access_secure_url),
      ':history_id': n(start.result.call_session_history_id),
    };
  }

  private expires(nowMs: number): number {
    return expiresAt('active', nowMs, this.options.retention);
  }

  /** The join; false when the record is not this session (the condition failed). */
  private async join(start: RegistryStart, signal: AbortSignal): Promise<boolean> {
    const nowMs = this.now();
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { [REGISTRY_KEY]: s(start.result.conference_name) },
        UpdateExpression: 'SET last_joined_at = :now, join_count = join_count + :one, expires_at = :expires',
        ConditionExpression: SAME_SESSION,
        ExpressionAttributeNames: names('#status', '#secure_url', '#history_id'),
        ExpressionAttributeValues: {
          ...this.values(start),
          ':active': s('active'),
          ':now': s(new Date(nowMs).toISOString()),
          ':one': n(1),
          ':expires': n(this.expires(nowMs)),
        },
      }),
      signal,
    );
  }

  /**
   * The new session; false when the record already is this session: another writer put it since our join, or it
   * is recorded ended (step 3).
   */
  private async put(start: RegistryStart, signal: AbortSignal): Promise<boolean> {
    const nowMs = this.now();
    return this.conditional(
      new PutItemCommand({
        TableName: this.options.tableName,
        Item: toItem(sessionRecord(start, nowMs, this.expires(nowMs))),
        ConditionExpression: OTHER_SESSION,
        ExpressionAttributeNames: names('#name', '#secure_url', '#history_id'),
        ExpressionAttributeValues: this.values(start),
      }),
      signal,
    );
  }

  /**
   * A start of a session already recorded ended: counted as a join, the record stays ended (and keeps the expiry
   * its end gave it); false when the record is not that.
   */
  private async lateJoin(start: RegistryStart, signal: AbortSignal): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { [REGISTRY_KEY]: s(start.result.conference_name) },
        UpdateExpression: 'SET last_joined_at = :now, join_count = join_count + :one',
        ConditionExpression: ENDED_SESSION,
        ExpressionAttributeNames: names('#status', '#secure_url', '#history_id'),
        ExpressionAttributeValues: {
          ...this.values(start),
          ':ended': s('ended'),
          ':now': s(new Date(this.now()).toISOString()),
          ':one': n(1),
        },
      }),
      signal,
    );
  }

  private async conditional(command: UpdateItemCommand | PutItemCommand, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(command as PutItemCommand, { abortSignal: signal });
      return true;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as Error).name === 'ConditionalCheckFailedException'
      ) {
        return false;
      }
      if (signal.aborted) {
        throw new RegistryWriteError(
          `The registry write took longer than its bound (${this.options.timeoutMs ?? facts.registry.writeTimeoutMs} ms).`,
          'timeout',
          { cause: error },
        );
      }
      throw error;
    }
  }
}
