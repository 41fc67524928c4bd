/**
 * A registry on loopback for tests: dynalite (local/dynamodb.ts) with the table created from the deployed
 * definition (local/registry-table.ts), a real DynamoDB client on it, and plain reads of what was written.
 */
import {
  type AttributeValue,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { RegistryRecord } from '../../lib/registry-record.js';
import { type LocalDynamoDb, startDynamoDb } from '../../local/dynamodb.js';
import { createRegistryTable } from '../../local/registry-table.js';

export interface LocalRegistry {
  readonly ddb: LocalDynamoDb;
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** The record as stored (every attribute), or undefined. */
  get(name: string): Promise<Record<string, unknown> | undefined>;
  /** Stores a record as is (a test's starting state). */
  put(record: Partial<RegistryRecord> & { conference_name: string }): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

export function fromAttribute(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) return fromItem(value.M);
  if (value.L !== undefined) return value.L.map(fromAttribute);
  throw new Error(`attribute type not read here: ${Object.keys(value).join(',')}`);
}

export function fromItem(item: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([key, value]) => [key, fromAttribute(value)]));
}

function toAttribute(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value !== null && typeof value === 'object') {
    return {
      M: Object.fromEntries(
        Object.entries(value).flatMap(([k, v]) => (v === undefined ? [] : [[k, toAttribute(v)]])),
      ) as Record<string, AttributeValue>,
    };
  }
  throw new Error(`value not written here: ${String(value)}`);
}

export async function startLocalRegistry(tableName = 'voxconf-test-conferences'): Promise<LocalRegistry> {
  const ddb = await startDynamoDb();
  await createRegistryTable(ddb.endpoint, { tableName });
  const client = new DynamoDBClient({
    endpoint: ddb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const key = (name: string) => ({ conference_name: { S: name } });
  return {
    ddb,
    tableName,
    client,
    async get(name) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(name), ConsistentRead: true }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    async put(record) {
      const Item = Object.fromEntries(
        Object.entries(record).flatMap(([k, v]) => (v === undefined ? [] : [[k, toAttribute(v)]])),
      ) as Record<string, AttributeValue>;
      await client.send(new PutItemCommand({ TableName: tableName, Item }));
    },
    async remove(name) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(name) }));
    },
    async close() {
      client.destroy();
      await ddb.close();
    },
  };
}
