/**
 * The loopback world the bench runs against, all in the bench's own process: the Voximplant emulator over
 * HTTPS (certificate made at run time by the openssl CLI, nothing committed) and over HTTP, the Secrets
 * Manager stand-in, local SQS, the EventBridge stand-in (the outcome events of the queue and schedule
 * functions), the Scheduler stand-in (the schedules API) and DynamoDB (dynalite with the registry table made from
 * infra/resources.yml: only the processes that measure the registry get REGISTRY_TABLE_NAME). Each client (voxconf, the floor, the official SDK) has its own account,
 * key and secret, so the emulator's records tell their requests and signings apart.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { parse as parseYaml } from 'yaml';
import { type LocalDynamoDb, startDynamoDb } from '../local/dynamodb.js';
import { type EventBridgeStandIn, startEventBridge } from '../local/eventbridge.js';
import { createRegistryTable } from '../local/registry-table.js';
import { type SchedulerStandIn, startSchedulerApi } from '../local/scheduler-api.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../local/secrets-manager.js';
import { type LocalSqs, startSqs } from '../local/sqs.js';
import {
  type Credentials,
  generateSelfSignedCert,
  type RequestRecord,
  startEmulator,
  type VoximplantEmulator,
} from '../local/voximplant-emulator/index.js';
import { FUNCTIONS, type FunctionName, type OptionalFunctionName, type RequiredFunctionName, ROOT } from './bundles.js';
import { BenchError } from './context.js';
import { type LatencyProxy, startLatencyProxy, startTlsFront } from './latency-proxy.js';

export const CLIENTS = ['voxconf', 'floor', 'peer'] as const;
export type ClientName = (typeof CLIENTS)[number];
export type Transport = 'https' | 'http';

export interface Account {
  readonly client: ClientName;
  readonly accountId: number;
  readonly keyId: string;
  readonly ruleId: number;
  readonly credentials: Credentials;
  /** Secrets Manager secret holding credentials.json. */
  readonly secretName: string;
  /** credentials.json on disk (the official SDK reads a file). */
  readonly credentialsPath: string;
}

export interface Endpoint {
  readonly transport: Transport;
  readonly emulator: VoximplantEmulator;
  readonly accounts: Record<ClientName, Account>;
}

/**
 * Network distances, as round trips added by the latency proxies: `aws` to the AWS stand-ins (Secrets
 * Manager in the same region: a couple of ms), `voximplant` to the emulator (Voximplant's API from an AWS
 * region: tens of ms). `realistic` is the profile of the targets; `far` is for information.
 */
export const PROFILES = {
  zero: { aws: 0, voximplant: 0 },
  realistic: { aws: 2, voximplant: 40 },
  far: { aws: 2, voximplant: 120 },
} as const;
export type ProfileName = keyof typeof PROFILES;

/**
 * The HTTPS emulator and Secrets Manager (behind a TLS front: AWS speaks only HTTPS) seen through latency
 * proxies. The same accounts and secrets as the main endpoint; only the way there differs.
 */
export interface Distant {
  readonly endpoint: Endpoint;
  /** VOXIMPLANT_API_URL through the proxy. */
  readonly apiUrl: string;
  /** `127.0.0.1:<port>` of the emulator's proxy (the official SDK takes a host). */
  readonly apiHost: string;
  /** AWS_ENDPOINT_URL_SECRETS_MANAGER through the proxy (HTTPS). */
  readonly secretsEndpoint: string;
  /** AWS_ENDPOINT_URL_EVENTBRIDGE through a proxy at the same `aws` round trip (HTTPS). */
  readonly eventsEndpoint: string;
  /** AWS_ENDPOINT_URL_DYNAMODB (the registry) through a proxy at the same `aws` round trip (HTTPS). */
  readonly dynamoDbEndpoint: string;
  /** Sets the proxies' round trips for the connections opened from now on. */
  setProfile(profile: ProfileName): void;
  /** Connections the emulator's proxy has accepted so far. */
  apiConnections(): number;
  /** Connections the EventBridge proxy has accepted so far. */
  eventsConnections(): number;
  /** Connections the DynamoDB proxy has accepted so far. */
  dynamoDbConnections(): number;
}

/** What the registry holds for one conference name (the attributes the bench checks). */
export interface RegistryItem {
  readonly status: string;
  readonly joinCount: number;
  readonly callSessionHistoryId: number;
  readonly source: string | undefined;
}

/** A function's deployment settings from serverless.yml (literal values only). */
export interface FunctionSettings {
  /** Lambda runtime, e.g. `nodejs24.x` (AWS_EXECUTION_ENV is `AWS_Lambda_<runtime>`). */
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: Record<string, string>;
}

export interface Stack {
  readonly https: Endpoint | undefined;
  readonly http: Endpoint;
  /** HTTPS when openssl could make a certificate, else HTTP. */
  readonly main: Endpoint;
  readonly secrets: SecretsManagerStandIn;
  readonly sqs: LocalSqs;
  /** PutEvents of the queue and schedule functions (EVENT_BUS_NAME is EVENT_BUS in every function's environment). */
  readonly events: EventBridgeStandIn;
  /** The schedules API's Scheduler (AWS_ENDPOINT_URL_SCHEDULER). */
  readonly scheduler: SchedulerStandIn;
  /** DynamoDB (dynalite) holding REGISTRY_TABLE. */
  readonly dynamoDb: LocalDynamoDb;
  readonly certPath: string | undefined;
  readonly tlsError: string | undefined;
  /** The main endpoint through latency proxies (HTTPS only; undefined without a certificate). */
  readonly distant: Distant | undefined;
  /** Every function of FUNCTIONS (bench/bundles.ts): the required ones always, an optional one when declared. */
  readonly settings: Settings;
  /**
   * The environment Lambda would give function `fn`, pointed at `endpoint`. The registry is off (no
   * REGISTRY_TABLE_NAME) unless `extra` turns it on (registryEnv): every target of the start path is measured
   * without it, and the registry's own rows say what it adds. The lifecycle API always has it (it needs it).
   */
  lambdaEnv(fn: FunctionName, endpoint: Endpoint, extra?: Record<string, string>): Record<string, string>;
  /**
   * The variables that turn the registry on: REGISTRY_TABLE_NAME and the DynamoDB endpoint, on loopback or
   * (`distant`) through the DynamoDB latency proxy.
   */
  registryEnv(via?: 'loopback' | 'distant'): Record<string, string>;
  /** The registry's record of `name` (a consistent read), undefined when there is none. */
  registryItem(name: string): Promise<RegistryItem | undefined>;
  /**
   * DynamoDB operations (X-Amz-Target names) since the last registryItem() read: the orchestrator's GetItem is the
   * mark (the functions' start path never reads). Undefined when the mark has scrolled out of dynalite's record.
   */
  registryOperationsSinceRead(): string[] | undefined;
  /** The environment of a non-handler child (floor, official SDK). */
  plainEnv(): Record<string, string>;
  floorOptions(endpoint: Endpoint): Record<string, string>;
  close(): Promise<void>;
}

/** The bus the functions publish their outcome events to (serverless.yml: the stack's own `voxconf-<stage>`). */
export const EVENT_BUS = 'voxconf-bench';
/** The registry table (serverless.yml names it `voxconf-<stage>-conferences`). */
export const REGISTRY_TABLE = 'voxconf-bench-conferences';
/** The schedules API's two groups: the deployment's (read only) and its own. */
export const SCHEDULE_GROUPS = { deploy: 'voxconf-bench', api: 'voxconf-bench-api' } as const;

export const AWS = {
  region: 'us-east-1',
  accessKeyId: 'ASIABENCHBENCHBENCH0',
  secretAccessKey: 'bench-secret-access-key',
} as const;

/** serverless.yml: each function's timeout, memory and literal environment, plus the provider's. */
export type Settings = Record<RequiredFunctionName, FunctionSettings> &
  Partial<Record<OptionalFunctionName, FunctionSettings>>;

function readSettings(): Settings {
  const doc = parseYaml(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), {
    logLevel: 'silent',
    customTags: ['!GetAtt', '!Ref', '!Sub'].map((tag) => ({ tag, resolve: (value: string) => value })),
  }) as {
    provider?: { runtime?: string; environment?: Record<string, unknown> };
    functions?: Record<
      string,
      { runtime?: string; timeout?: number; memorySize?: number; environment?: Record<string, unknown> }
    >;
  };
  const literal = (env: Record<string, unknown> | undefined) =>
    Object.fromEntries(
      Object.entries(env ?? {})
        .filter(([, value]) => value !== null && value !== undefined && !String(value).includes('${'))
        .map(([key, value]) => [key, String(value)]),
    );
  const provider = literal(doc.provider?.environment);
  const result: Partial<Record<FunctionName, FunctionSettings>> = {};
  for (const fn of FUNCTIONS) {
    const spec = doc.functions?.[fn];
    if (!spec) throw new Error(`serverless.yml has no function "${fn}"`);
    const runtime = spec.runtime ?? doc.provider?.runtime;
    if (!runtime) throw new Error(`serverless.yml gives function "${fn}" no runtime`);
    result[fn] = {
      runtime,
      timeoutSeconds: spec.timeout ?? 6,
      memorySize: spec.memorySize ?? 1024,
      environment: { ...provider, ...literal(spec.environment) },
    };
  }
  return result as Settings;
}

async function makeEndpoint(
  transport: Transport,
  emulator: VoximplantEmulator,
  secrets: SecretsManagerStandIn,
  workDir: string,
): Promise<Endpoint> {
  const accounts = {} as Record<ClientName, Account>;
  for (const client of CLIENTS) {
    const created = emulator.createAccount({ email: `${client}@bench.voxconf.invalid` });
    const secretName = `bench/${transport}/${client}/credentials`;
    secrets.putSecret(secretName, { secretString: JSON.stringify(created.credentials) });
    const credentialsPath = path.join(workDir, `credentials-${transport}-${client}.json`);
    writeFileSync(credentialsPath, JSON.stringify(created.credentials), { mode: 0o600 });
    chmodSync(credentialsPath, 0o600);
    accounts[client] = {
      client,
      accountId: created.accountId,
      keyId: created.keyId,
      ruleId: created.ruleId,
      credentials: created.credentials,
      secretName,
      credentialsPath,
    };
  }
  return { transport, emulator, accounts };
}

/**
 * The emulator's sessions outlive the bench (Voximplant ends an empty one after 60 s): a warm process starting one
 * name again and again joins the same session throughout, so its registry record is joined, never replaced.
 */
const SESSION_LIFETIME_MS = 3_600_000;

export async function startStack(workDir: string, log: (line: string) => void): Promise<Stack> {
  const settings = readSettings();
  const secrets = await startSecretsManager();
  const sqs = await startSqs();
  const events = await startEventBridge({ buses: [EVENT_BUS], unknownBus: 'error' });
  const scheduler = await startSchedulerApi({ groups: [SCHEDULE_GROUPS.deploy, SCHEDULE_GROUPS.api] });
  const dynamoDb = await startDynamoDb();
  await createRegistryTable(dynamoDb.endpoint, { tableName: REGISTRY_TABLE });
  const registryReader = new DynamoDBClient({
    endpoint: dynamoDb.endpoint,
    region: AWS.region,
    credentials: { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey },
  });
  // The first mark the registry checks count from (bench/registry-check.ts).
  await registryReader.send(
    new GetItemCommand({ TableName: REGISTRY_TABLE, Key: { conference_name: { S: 'bench mark' } } }),
  );
  let certPath: string | undefined;
  let tlsError: string | undefined;
  let httpsEmulator: VoximplantEmulator | undefined;
  let tlsPair: { key: string; cert: string } | undefined;
  try {
    const tls = await generateSelfSignedCert();
    certPath = path.join(workDir, 'emulator-cert.pem');
    writeFileSync(certPath, tls.cert);
    httpsEmulator = await startEmulator({ tls, maxRecords: 100_000, emptySessionTimeoutMs: SESSION_LIFETIME_MS });
    tlsPair = tls;
  } catch (error) {
    tlsError = `no HTTPS emulator (openssl: ${(error as Error).message}); HTTP only, official SDK not measured`;
    log(`stack: ${tlsError}`);
  }
  const httpEmulator = await startEmulator({ maxRecords: 100_000, emptySessionTimeoutMs: SESSION_LIFETIME_MS });
  const https = httpsEmulator ? await makeEndpoint('https', httpsEmulator, secrets, workDir) : undefined;
  const http = await makeEndpoint('http', httpEmulator, secrets, workDir);
  const closers: (() => Promise<void>)[] = [];
  let distant: Distant | undefined;
  if (https && tlsPair) {
    const secretsUrl = new URL(secrets.endpoint);
    const front = await startTlsFront({
      target: { host: secretsUrl.hostname, port: Number(secretsUrl.port) },
      key: tlsPair.key,
      cert: tlsPair.cert,
    });
    const apiProxy: LatencyProxy = await startLatencyProxy({
      name: 'voximplant',
      target: { host: https.emulator.host, port: https.emulator.port },
    });
    const awsProxy: LatencyProxy = await startLatencyProxy({
      name: 'aws',
      target: { host: '127.0.0.1', port: front.port },
    });
    const eventsUrl = new URL(events.endpoint);
    const eventsFront = await startTlsFront({
      target: { host: eventsUrl.hostname, port: Number(eventsUrl.port) },
      key: tlsPair.key,
      cert: tlsPair.cert,
    });
    const eventsProxy: LatencyProxy = await startLatencyProxy({
      name: 'aws-eventbridge',
      target: { host: '127.0.0.1', port: eventsFront.port },
    });
    const dynamoDbFront = await startTlsFront({
      target: { host: '127.0.0.1', port: dynamoDb.port },
      key: tlsPair.key,
      cert: tlsPair.cert,
    });
    const dynamoDbProxy: LatencyProxy = await startLatencyProxy({
      name: 'aws-dynamodb',
      target: { host: '127.0.0.1', port: dynamoDbFront.port },
    });
    closers.push(
      () => apiProxy.close(),
      () => awsProxy.close(),
      () => front.close(),
      () => eventsProxy.close(),
      () => eventsFront.close(),
      () => dynamoDbProxy.close(),
      () => dynamoDbFront.close(),
    );
    distant = {
      endpoint: https,
      apiUrl: `https://${apiProxy.authority}/platform_api`,
      apiHost: apiProxy.authority,
      secretsEndpoint: `https://${awsProxy.authority}`,
      eventsEndpoint: `https://${eventsProxy.authority}`,
      dynamoDbEndpoint: `https://${dynamoDbProxy.authority}`,
      setProfile(profile) {
        apiProxy.setRtt(PROFILES[profile].voximplant);
        awsProxy.setRtt(PROFILES[profile].aws);
        eventsProxy.setRtt(PROFILES[profile].aws);
        dynamoDbProxy.setRtt(PROFILES[profile].aws);
      },
      apiConnections: () => apiProxy.connections(),
      eventsConnections: () => eventsProxy.connections(),
      dynamoDbConnections: () => dynamoDbProxy.connections(),
    };
  }
  const missingFile = path.join(workDir, 'no-such-aws-config');

  const base = (): Record<string, string> => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TZ: 'UTC',
    AWS_REGION: AWS.region,
    AWS_DEFAULT_REGION: AWS.region,
    AWS_ACCESS_KEY_ID: AWS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: AWS.secretAccessKey,
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
    AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
    // As in Lambda: no shared config or credentials files, no instance metadata.
    AWS_CONFIG_FILE: missingFile,
    AWS_SHARED_CREDENTIALS_FILE: missingFile,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...(certPath ? { NODE_EXTRA_CA_CERTS: certPath } : {}),
  });

  const registryEnv = (via: 'loopback' | 'distant' = 'loopback'): Record<string, string> => {
    if (via === 'distant' && !distant) throw new BenchError('the distant DynamoDB needs the HTTPS emulator');
    return {
      REGISTRY_TABLE_NAME: REGISTRY_TABLE,
      AWS_ENDPOINT_URL_DYNAMODB: via === 'distant' && distant ? distant.dynamoDbEndpoint : dynamoDb.endpoint,
    };
  };

  return {
    https,
    http,
    main: https ?? http,
    secrets,
    sqs,
    events,
    scheduler,
    dynamoDb,
    certPath,
    tlsError,
    distant,
    settings,
    lambdaEnv(fn, endpoint, extra = {}) {
      const s = settings[fn];
      if (!s) throw new BenchError(`serverless.yml has no function "${fn}"`);
      const name = `voxconf-bench-${fn}`;
      // serverless.yml gives REGISTRY_TABLE_NAME through a variable (dropped above); should it ever be a literal,
      // the start path's targets must still be measured with the registry off.
      const { REGISTRY_TABLE_NAME: _registry, ...environment } = s.environment;
      return {
        ...base(),
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memorySize),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/26/[$LATEST]bench',
        AWS_EXECUTION_ENV: `AWS_Lambda_${s.runtime}`,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...environment,
        VOXIMPLANT_CREDENTIALS_SECRET_ID: endpoint.accounts.voxconf.secretName,
        VOXIMPLANT_API_URL: endpoint.emulator.url,
        VOXIMPLANT_DEFAULT_RULE_ID: '',
        VOXIMPLANT_ALLOWED_RULE_IDS: '',
        DEAD_LETTER_QUEUE_URL: sqs.deadLetterQueueUrl,
        REQUEST_QUEUE_URL: sqs.queueUrl,
        // serverless.yml gives these through infra/params.cjs; the bench does not resolve variables.
        QUEUE_MAX_RECEIVE_COUNT: '5',
        QUEUE_REDELIVERY_BASE_SECONDS: '30',
        SCHEDULE_MAX_LATENESS_SECONDS: '600',
        // serverless.yml gives every function the bus (provider environment); http publishes only with
        // PUBLISH_HTTP_EVENTS (off), queue and schedule publish each final outcome. Empty: no events.
        EVENT_BUS_NAME: EVENT_BUS,
        ...(fn === 'schedules'
          ? {
              SCHEDULES_DEPLOY_GROUP: SCHEDULE_GROUPS.deploy,
              SCHEDULES_API_GROUP: SCHEDULE_GROUPS.api,
              SCHEDULES_TARGET_ARN: `arn:aws:lambda:${AWS.region}:000000000000:function:voxconf-bench-schedule`,
              SCHEDULES_ROLE_ARN: 'arn:aws:iam::000000000000:role/voxconf-bench-scheduler-api',
              SCHEDULES_DEAD_LETTER_ARN: `arn:aws:sqs:${AWS.region}:000000000000:voxconf-bench-dead-letter`,
            }
          : {}),
        ...(fn === 'lifecycle'
          ? {
              ...registryEnv('loopback'),
              REFERENCE_SCENARIO_RULE_IDS: String(endpoint.accounts.voxconf.ruleId),
            }
          : {}),
        ...extra,
      };
    },
    registryEnv,
    async registryItem(name) {
      const { Item } = await registryReader.send(
        new GetItemCommand({ TableName: REGISTRY_TABLE, Key: { conference_name: { S: name } }, ConsistentRead: true }),
      );
      if (!Item) return undefined;
      return {
        status: Item.status?.S ?? '',
        joinCount: Number(Item.join_count?.N ?? Number.NaN),
        callSessionHistoryId: Number(Item.call_session_history_id?.N ?? Number.NaN),
        source: Item.started_by?.M?.source?.S,
      };
    },
    registryOperationsSinceRead() {
      const operations = dynamoDb.operations();
      const last = operations.lastIndexOf('GetItem');
      return last < 0 ? undefined : operations.slice(last + 1);
    },
    plainEnv: base,
    floorOptions(endpoint) {
      return {
        secretsEndpoint: secrets.endpoint,
        secretId: endpoint.accounts.floor.secretName,
        region: AWS.region,
        accessKeyId: AWS.accessKeyId,
        secretAccessKey: AWS.secretAccessKey,
        apiUrl: endpoint.emulator.url,
      };
    },
    async close() {
      await Promise.all(closers.map((close) => close()));
      await Promise.all([
        https?.emulator.close(),
        http.emulator.close(),
        secrets.close(),
        sqs.close(),
        events.close(),
        scheduler.close(),
        dynamoDb.close(),
      ]);
      registryReader.destroy();
    },
  };
}

/** Where the emulator's record stands now: requests after this mark belong to what runs next. */
export function mark(emulator: VoximplantEmulator): number {
  return emulator.requests({ limit: 1 })[0]?.id ?? 0;
}

export interface RequestTally {
  readonly requests: number;
  readonly successes: number;
  /** Distinct (kid, iat, exp): tokens signed (a lower bound: two signings in the same second look alike). */
  readonly signings: number;
  readonly outcomes: Record<string, number>;
}

/** The requests one account made since `since`. */
export function tally(emulator: VoximplantEmulator, since: number, account: Account): RequestTally {
  const records: RequestRecord[] = emulator.requests({ sinceId: since }).filter((r) => r.auth.kid === account.keyId);
  const tokens = new Set<string>();
  const outcomes: Record<string, number> = {};
  for (const r of records) {
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.auth.claimsVerified) tokens.add(`${r.auth.kid}|${String(r.auth.iat)}|${String(r.auth.exp)}`);
  }
  return { requests: records.length, successes: outcomes.success ?? 0, signings: tokens.size, outcomes };
}
