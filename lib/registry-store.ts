/**
 * The lifecycle API's reads and conditional updates of the registry (DynamoDB, lib/registry-record.ts). Writes on
 * the start path are lib/registry-writer.ts's. Every read leaves out expired records (expires_at <= now): DynamoDB
 * deletes them only eventually (and dynalite never), so they stay readable until then. Every update is conditional
 * on the record being the same session in the state the caller saw, so that concurrent Lambdas agree: exactly
 * one of them claims a probe slot, or records an end.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  QueryCommand,
  type QueryCommandOutput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { RegistryError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import { badPageToken, decodePageToken, encodePageToken } from './list-query.js';
import {
  type ConferenceStatus,
  type EndReason,
  REGISTRY_KEY,
  type RegistryRecord,
  STATUS_INDEX,
  STATUS_INDEX_SORT_KEY,
} from './registry-record.js';
import { validateConferenceName } from './validation.js';

export interface RegistryStoreOptions {
  readonly client: Pick<DynamoDBClient, 'send'>;
  readonly tableName: string;
  readonly now?: (() => number) | undefined;
}

/** A page of one status's records, newest first. */
export interface RecordPage {
  readonly records: readonly RegistryRecord[];
  /** Where the next page starts; absent on the last page. */
  readonly nextToken?: string;
}

export interface EndUpdate {
  readonly callSessionHistoryId: number;
  readonly endedAt: string;
  readonly endReason: EndReason;
  readonly endedBy?: string | undefined;
  /** Epoch seconds (expiresAt('ended', ...)). */
  readonly expiresAt: number;
}

/** Reads at most this many pages of a query to fill one page of the list (expired records are filtered out). */
const MAX_QUERY_ROUNDS = 5;

// --- Attribute values: the record's plain JSON shapes (strings, numbers, maps) to DynamoDB's and back. ---

export function toAttribute(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  if (typeof value === 'object') {
    const map: Record<string, AttributeValue> = {};
    for (const [key, inner] of Object.entries(value)) if (inner !== undefined) map[key] = toAttribute(inner);
    return { M: map };
  }
  throw new TypeError(`Cannot store a ${typeof value} in the registry.`);
}

export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttribute);
  if (value.M !== undefined) return fromItem(value.M);
  return undefined;
}

export function fromItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) out[key] = fromAttribute(value);
  return out;
}

// --- next_token: the query's LastEvaluatedKey, base64url JSON of its three key values, checked strictly. ---

interface ListKey {
  readonly conference_name: string;
  readonly status: ConferenceStatus;
  readonly started_at: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** Longer than any key the registry holds (a conference name is at most 49 code points). */
const MAX_TOKEN_CHARS = 1024;

/** A name by the rules of conference_name: a token's key goes to DynamoDB, which would refuse others with a 500. */
function isConferenceName(name: string): boolean {
  try {
    validateConferenceName(name);
    return true;
  } catch {
    return false;
  }
}

export function encodeNextToken(key: ListKey): string {
  const { conference_name, status, started_at } = key;
  return encodePageToken({ conference_name, status, started_at });
}

/** The key a next_token stands for; anything but a token this listing (of this status) gave: ValidationError. */
export function decodeNextToken(token: string, status: ConferenceStatus): ListKey {
  const parsed = decodePageToken(token, MAX_TOKEN_CHARS);
  if (
    Object.keys(parsed).length !== 3 ||
    typeof parsed.conference_name !== 'string' ||
    !isConferenceName(parsed.conference_name) ||
    parsed.status !== status ||
    typeof parsed.started_at !== 'string' ||
    !ISO_UTC.test(parsed.started_at)
  ) {
    throw badPageToken();
  }
  const key: ListKey = { conference_name: parsed.conference_name, status, started_at: parsed.started_at };
  // Canonical: the one text this listing would have given for this key.
  if (encodeNextToken(key) !== token) throw badPageToken();
  return key;
}

function keyToAttributes(key: ListKey): Record<string, AttributeValue> {
  return {
    [REGISTRY_KEY]: { S: key.conference_name },
    status: { S: key.status },
    [STATUS_INDEX_SORT_KEY]: { S: key.started_at },
  };
}

function attributesToKey(attributes: Record<string, AttributeValue>): ListKey {
  const plain = fromItem(attributes);
  return {
    conference_name: String(plain[REGISTRY_KEY]),
    status: plain.status as ConferenceStatus,
    started_at: String(plain[STATUS_INDEX_SORT_KEY]),
  };
}

/** A DynamoDB failure as the API reports it: the table or the permission missing is a deploy problem. */
export function registryError(error: unknown, operation: string): RegistryError {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'ResourceNotFoundException' || name === 'AccessDeniedException' || name === 'ValidationException') {
    return new RegistryError('registry_misconfigured', `DynamoDB refused ${operation} (${name}).`, { cause: error });
  }
  const why = name === '' ? 'network error' : name;
  return new RegistryError('registry_unavailable', `DynamoDB failed ${operation} (${why}).`, {
    cause: error,
    retryAfterSeconds: 1,
  });
}

export class RegistryStore {
  private readonly client: Pick<DynamoDBClient, 'send'>;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: RegistryStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** The record (consistent read), or undefined when there is none or it has expired. */
  async get(conferenceName: string): Promise<RegistryRecord | undefined> {
    let output: GetItemCommandOutput;
    try {
      output = await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { [REGISTRY_KEY]: { S: conferenceName } },
          ConsistentRead: true,
        }),
      );
    } catch (error) {
      throw registryError(error, 'GetItem');
    }
    if (output.Item === undefined) return undefined;
    const record = fromItem(output.Item) as unknown as RegistryRecord;
    return record.expires_at > this.nowSeconds() ? record : undefined;
  }

  /**
   * One page of a status's records, newest first (the status index holds no media URLs). A query page can come
   * back short, or empty, when expired records were filtered out of it: a few more are read to fill the page.
   */
  async list(status: ConferenceStatus, limit: number, nextToken?: string): Promise<RecordPage> {
    let startKey = nextToken === undefined ? undefined : keyToAttributes(decodeNextToken(nextToken, status));
    const records: RegistryRecord[] = [];
    for (let round = 0; round < MAX_QUERY_ROUNDS && records.length < limit; round++) {
      let output: QueryCommandOutput;
      try {
        output = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: STATUS_INDEX,
            KeyConditionExpression: '#status = :status',
            FilterExpression: '#expires > :now',
            ExpressionAttributeNames: { '#status': 'status', '#expires': 'expires_at' },
            ExpressionAttributeValues: { ':status': { S: status }, ':now': { N: String(this.nowSeconds()) } },
            ScanIndexForward: false,
            Limit: limit - records.length,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        );
      } catch (error) {
        throw registryError(error, 'Query');
      }
      for (const item of output.Items ?? []) records.push(fromItem(item) as unknown as RegistryRecord);
      startKey = output.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return startKey === undefined ? { records } : { records, nextToken: encodeNextToken(attributesToKey(startKey)) };
  }

  /**
   * Claims the conference's probe slot: at most one status probe per `intervalMs`, whichever Lambda asks. True
   * when this caller may probe now (last_probed_at set to now), false when another probed or claimed it lately,
   * or the record is no longer this active session.
   */
  claimProbe(conferenceName: string, callSessionHistoryId: number, intervalMs: number): Promise<boolean> {
    return this.claimSlot('claim probe', conferenceName, callSessionHistoryId, intervalMs, 'active');
  }

  /**
   * Claims the slot to ask GetCallHistory for an ended record that has neither duration nor finish_reason yet: at
   * most once per `intervalMs`, whichever Lambda asks (the end removed last_probed_at, so the first ask is free).
   */
  claimHistory(conferenceName: string, callSessionHistoryId: number, intervalMs: number): Promise<boolean> {
    return this.claimSlot('claim history', conferenceName, callSessionHistoryId, intervalMs, 'ended', {
      condition: 'attribute_not_exists(#duration) AND attribute_not_exists(#finish)',
      names: { '#duration': 'duration', '#finish': 'finish_reason' },
    });
  }

  /**
   * One conditional claim of the record's last_probed_at (the probe and the history share it: a record is active
   * or ended, never both): set to now if this session's unexpired record, in that status, was not claimed within
   * `intervalMs`, and meets `extra`.
   */
  private claimSlot(
    what: string,
    conferenceName: string,
    callSessionHistoryId: number,
    intervalMs: number,
    status: ConferenceStatus,
    extra?: { readonly condition: string; readonly names: Record<string, string> },
  ): Promise<boolean> {
    const now = this.now();
    return this.update(what, {
      Key: { [REGISTRY_KEY]: { S: conferenceName } },
      UpdateExpression: 'SET #probed = :now',
      ConditionExpression: `#status = :status AND #id = :id AND #expires > :nowSeconds AND ${
        extra === undefined ? '' : `${extra.condition} AND `
      }(attribute_not_exists(#probed) OR #probed <= :due)`,
      ExpressionAttributeNames: {
        '#status': 'status',
        '#id': 'call_session_history_id',
        '#expires': 'expires_at',
        '#probed': 'last_probed_at',
        ...extra?.names,
      },
      ExpressionAttributeValues: {
        ':status': { S: status },
        ':id': { N: String(callSessionHistoryId) },
        ':now': { N: String(now) },
        ':nowSeconds': { N: String(Math.floor(now / 1000)) },
        ':due': { N: String(now - intervalMs) },
      },
    }).then((updated) => updated !== undefined);
  }

  /** A probe found the session alive: its record lives on (expires_at moved on), if it is still that session. */
  renew(conferenceName: string, callSessionHistoryId: number, expiresAt: number): Promise<boolean> {
    return this.update('renew', {
      Key: { [REGISTRY_KEY]: { S: conferenceName } },
      UpdateExpression: 'SET #expires = :expires',
      ConditionExpression: '#status = :active AND #id = :id AND #expires < :expires',
      ExpressionAttributeNames: { '#status': 'status', '#id': 'call_session_history_id', '#expires': 'expires_at' },
      ExpressionAttributeValues: {
        ':active': { S: 'active' },
        ':id': { N: String(callSessionHistoryId) },
        ':expires': { N: String(expiresAt) },
      },
    }).then((updated) => updated !== undefined);
  }

  /**
   * Records the session ended, if the record is still this active session: status, ended_at, end_reason,
   * ended_by, the ended retention, and the media URLs removed. Answers the record as written, or undefined when
   * the condition failed (someone else recorded it first, or a new session replaced it): only the writer that gets
   * a record publishes the end.
   */
  recordEnded(conferenceName: string, end: EndUpdate): Promise<RegistryRecord | undefined> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#id': 'call_session_history_id',
      '#expires': 'expires_at',
      '#endedAt': 'ended_at',
      '#reason': 'end_reason',
      '#url': 'media_session_access_url',
      '#secure': 'media_session_access_secure_url',
      '#probed': 'last_probed_at',
    };
    const values: Record<string, AttributeValue> = {
      ':active': { S: 'active' },
      ':ended': { S: 'ended' },
      ':id': { N: String(end.callSessionHistoryId) },
      ':endedAt': { S: end.endedAt },
      ':reason': { S: end.endReason },
      ':expires': { N: String(end.expiresAt) },
      ':nowSeconds': { N: String(this.nowSeconds()) },
    };
    let set = 'SET #status = :ended, #endedAt = :endedAt, #reason = :reason, #expires = :expires';
    if (end.endedBy !== undefined) {
      names['#by'] = 'ended_by';
      values[':by'] = { S: end.endedBy };
      set += ', #by = :by';
    }
    return this.update('record end', {
      Key: { [REGISTRY_KEY]: { S: conferenceName } },
      UpdateExpression: `${set} REMOVE #url, #secure, #probed`,
      ConditionExpression: '#status = :active AND #id = :id AND #expires > :nowSeconds',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
  }

  /** Adds GetCallHistory's duration and finish reason to an ended session's record (no-op without either). */
  async recordHistory(
    conferenceName: string,
    callSessionHistoryId: number,
    history: { readonly duration?: number | undefined; readonly finish_reason?: string | undefined },
  ): Promise<boolean> {
    const names: Record<string, string> = { '#status': 'status', '#id': 'call_session_history_id' };
    const values: Record<string, AttributeValue> = {
      ':ended': { S: 'ended' },
      ':id': { N: String(callSessionHistoryId) },
    };
    const parts: string[] = [];
    if (history.duration !== undefined) {
      names['#duration'] = 'duration';
      values[':duration'] = { N: String(history.duration) };
      parts.push('#duration = :duration');
    }
    if (history.finish_reason !== undefined) {
      names['#finish'] = 'finish_reason';
      values[':finish'] = { S: history.finish_reason };
      parts.push('#finish = :finish');
    }
    if (parts.length === 0) return false;
    const updated = await this.update('record history', {
      Key: { [REGISTRY_KEY]: { S: conferenceName } },
      UpdateExpression: `SET ${parts.join(', ')}`,
      ConditionExpression: '#status = :ended AND #id = :id',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    return updated !== undefined;
  }

  /** One conditional UpdateItem: the record as written (ALL_NEW) or `{}`; undefined when the condition failed. */
  private async update(
    what: string,
    input: Omit<UpdateItemCommandInput, 'TableName'>,
  ): Promise<RegistryRecord | undefined> {
    try {
      const output = await this.client.send(new UpdateItemCommand({ TableName: this.tableName, ...input }));
      return (output.Attributes === undefined ? {} : fromItem(output.Attributes)) as unknown as RegistryRecord;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as { name?: string })?.name === 'ConditionalCheckFailedException'
      ) {
        return undefined;
      }
      throw registryError(error, `UpdateItem (${what})`);
    }
  }
}

/** The list's page size: the caller's, within facts registry.listMaxLimit; the default otherwise. */
export const LIST_DEFAULT_LIMIT = facts.registry.listDefaultLimit;
export const LIST_MAX_LIMIT = facts.registry.listMaxLimit;
