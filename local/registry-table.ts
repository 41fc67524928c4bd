/**
 * The registry table, created locally from the one definition the stack deploys: `RegistryTable` in
 * infra/resources.yml. Its key schema, attributes and indexes are read from there (never written a second time);
 * what the local server (dynalite) lacks is skipped and said so: TTL (`TimeToLiveSpecification`), point-in-time
 * recovery and the encryption settings are deploy-time properties of the table, not part of CreateTable here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import YAML from 'yaml';

const ROOT = join(import.meta.dirname, '..');

/** Deploy-time properties the local server does not take; the stack sets them (infra/resources.yml). */
export const SKIPPED_LOCALLY = [
  'TimeToLiveSpecification',
  'PointInTimeRecoverySpecification',
  'SSESpecification',
] as const;

interface TableProperties {
  readonly TableName: string;
  readonly BillingMode: string;
  readonly AttributeDefinitions: CreateTableCommandInput['AttributeDefinitions'];
  readonly KeySchema: CreateTableCommandInput['KeySchema'];
  readonly GlobalSecondaryIndexes?: CreateTableCommandInput['GlobalSecondaryIndexes'];
  readonly [other: string]: unknown;
}

/** The RegistryTable resource's Properties, as deployed (the table name resolved for `service` and `stage`). */
export function registryTableDefinition(
  options: { service?: string; stage?: string; root?: string } = {},
): TableProperties {
  // The Serverless variables of the definition, replaced as osls would (literal text, not template strings).
  const SERVICE_VARIABLE = ['$', '{self:service}'].join('');
  const STAGE_VARIABLE = ['$', '{sls:stage}'].join('');
  const text = readFileSync(join(options.root ?? ROOT, 'infra', 'resources.yml'), 'utf8')
    .replaceAll(SERVICE_VARIABLE, options.service ?? 'voxconf')
    .replaceAll(STAGE_VARIABLE, options.stage ?? 'local');
  const doc = YAML.parse(text, { logLevel: 'silent' }) as {
    Resources?: { RegistryTable?: { Type?: string; Properties?: TableProperties } };
  };
  const resource = doc.Resources?.RegistryTable;
  if (resource?.Type !== 'AWS::DynamoDB::Table' || resource.Properties === undefined) {
    throw new Error('infra/resources.yml has no RegistryTable of type AWS::DynamoDB::Table');
  }
  return resource.Properties;
}

/** The CreateTable input for that definition, less what the local server lacks (SKIPPED_LOCALLY). */
export function createTableInput(definition: TableProperties, tableName?: string): CreateTableCommandInput {
  const { TableName, BillingMode, AttributeDefinitions, KeySchema, GlobalSecondaryIndexes } = definition;
  return {
    TableName: tableName ?? TableName,
    BillingMode: BillingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
    AttributeDefinitions,
    KeySchema,
    ...(GlobalSecondaryIndexes === undefined ? {} : { GlobalSecondaryIndexes }),
  };
}

/** Creates the registry table on a local DynamoDB endpoint; answers its name. */
export async function createRegistryTable(
  endpoint: string,
  options: { tableName?: string; stage?: string } = {},
): Promise<string> {
  const definition = registryTableDefinition({ stage: options.stage ?? 'local' });
  const input = createTableInput(definition, options.tableName);
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await client.send(new CreateTableCommand(input));
  } finally {
    client.destroy();
  }
  return input.TableName as string;
}
