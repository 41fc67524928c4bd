/**
 * The whole local stack on 127.0.0.1, started and stopped together:
 *
 *   Voximplant emulator       a throwaway account, key pair and rule running the reference scenario, plus one rule
 *                             running Voximplant's example scenario (ends on any request: never probed, never
 *                             stopped); not started with VOXIMPLANT_CREDENTIALS_FILE
 *   Secrets Manager stand-in  holds that credentials.json; the handlers' SDK reaches it via AWS_ENDPOINT_URL_SECRETS_MANAGER
 *   SQS (local-aws-sqs)       the request queue and its dead-letter queue with a redrive policy
 *   EventBridge stand-in      bus voxconf-local for the outcome events; the handlers' SDK reaches it via
 *                             AWS_ENDPOINT_URL_EVENTBRIDGE (local/eventbridge.ts)
 *   Scheduler stand-in        EventBridge Scheduler's API, groups voxconf-local (infra/schedules.yml, as deployed)
 *                             and voxconf-local-api (the schedules API's); the schedules function's SDK reaches it
 *                             via AWS_ENDPOINT_URL_SCHEDULER (local/scheduler-api.ts)
 *   DynamoDB (dynalite)       the conference registry, its table created from infra/resources.yml RegistryTable; the
 *                             handlers' SDK reaches it via AWS_ENDPOINT_URL_DYNAMODB (local/dynamodb.ts)
 *   serverless offline        serverless.yml's functions and HTTP API, stage "local"
 *   queue poller              Lambda's SQS event source mapping with ReportBatchItemFailures
 *   scheduler                 EventBridge Scheduler's runs: infra/schedules.yml and the schedules API's schedules
 *   control endpoint          fire a schedule now, peek at the dead-letter queue, list the published events,
 *                             make the Scheduler stand-in or the registry's DynamoDB fail
 *
 * Used by local/start.ts (`npm start`); see docs/local-stack.md.
 */

import { createServer } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type ControlServer, startControlServer } from './control-server.js';
import { deadLetterQueue } from './dead-letters.js';
import { createDeploySchedules } from './deploy-schedules.js';
import { type LocalDynamoDb, startDynamoDb } from './dynamodb.js';
import { type EventBridgeCall, type EventBridgeStandIn, startEventBridge } from './eventbridge.js';
import type { FaultHandle } from './fault-list.js';
import { invokeFunction } from './lambda-invoke.js';
import type { LogSink } from './log.js';
import { type FunctionsNode, functionsNode, type OfflineProcess, startOffline } from './offline.js';
import { type QueuePoller, startQueuePoller } from './queue-poller.js';
import { createRegistryTable, SKIPPED_LOCALLY } from './registry-table.js';
import { loadSchedules, type ScheduleEntry, type Scheduler, startScheduler } from './scheduler.js';
import { type SchedulerStandIn, startSchedulerApi } from './scheduler-api.js';
import { type SecretsManagerStandIn, startSecretsManager } from './secrets-manager.js';
import {
  ACCOUNT_ID,
  API_SCHEDULE_GROUP,
  DEAD_LETTER_QUEUE_NAME,
  EVENT_BUS_NAME,
  functionName,
  PORT_LABELS,
  PORT_NAMES,
  type PortName,
  portVariable,
  QUEUE_NAME,
  REGION,
  SCHEDULE_GROUP,
  SECRET_NAME,
  STAGE,
  type StackSettings,
} from './settings.js';
import { type LocalSqs, startSqs } from './sqs.js';
import { startEmulator, type VoximplantEmulator } from './voximplant-emulator/index.js';

/** Dummy keys for the local stand-ins (they check that requests are signed, not by whom). */
const LOCAL_ACCESS_KEY = 'local';
const LOCAL_SECRET_KEY = 'local';

/** First redelivery delay of a retryable queue failure, locally (deployed: 30 s, doubling per receive). */
const LOCAL_REDELIVERY_BASE_SECONDS = 1;

/** The execution roles Scheduler would assume (placeholders: the stand-in checks their shape, not their rights). */
const DEPLOY_SCHEDULES_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${SCHEDULE_GROUP}-scheduler`;
const API_SCHEDULES_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${SCHEDULE_GROUP}-scheduler-api`;

export interface StackInfo {
  readonly mode: 'emulator' | 'real';
  readonly startupMs: number;
  /** Of which serverless offline (bundling included) took this long. */
  readonly offlineStartupMs: number;
  readonly ports: Readonly<Record<PortName, number>>;
  readonly httpApiUrl: string;
  readonly conferencesUrl: string;
  /** The schedules API on the same HTTP API (POST/GET /schedules, GET/PUT/DELETE /schedules/{name}). */
  readonly schedulesUrl: string;
  /** Origins whose browser requests the HTTP API takes (VOXCONF_CORS_ALLOWED_ORIGINS); every other Origin: 403. */
  readonly corsOrigins: readonly string[];
  readonly lambdaEndpoint: string;
  readonly functions: Readonly<Record<'http' | 'queue' | 'schedule' | 'schedules' | 'lifecycle', string>>;
  readonly voximplantApiUrl: string;
  readonly emulator: {
    readonly origin: string;
    readonly controlUrl: string;
    readonly accountId: number;
    readonly ruleId: number;
    /** The account's rules that run the reference scenario: the default rule and those the settings name. */
    readonly referenceRuleIds: readonly number[];
    /** A rule running Voximplant's example scenario (ends its session on any request to its URL). */
    readonly exampleRuleId: number;
    readonly latencyMs: number;
    /** A session without participants ends after this; a reference one this long after its last participant left. */
    readonly emptySessionMs: number;
    readonly sessionGraceMs: number;
  } | null;
  readonly real: { readonly accountId: number; readonly keyId: string; readonly credentialsFile: string } | null;
  readonly defaultRuleId: number | null;
  /**
   * The stage parameter referenceScenarioRuleIds (the lifecycle function's REFERENCE_SCENARIO_RULE_IDS): the only
   * rules whose sessions voxconf probes (`status`) and ends (`stop`). Emulator: its reference rules; real
   * Voximplant: VOXCONF_REFERENCE_SCENARIO_RULE_IDS.
   */
  readonly referenceScenarioRuleIds: readonly number[];
  readonly secretsManagerEndpoint: string;
  readonly secretArn: string;
  readonly sqsEndpoint: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly eventBridgeEndpoint: string;
  /** The bus the functions publish their outcome events to (EVENT_BUS_NAME). */
  readonly eventBusName: string;
  /** dynalite (AWS_ENDPOINT_URL_DYNAMODB) and the registry table on it (REGISTRY_TABLE_NAME). */
  readonly dynamoDbEndpoint: string;
  readonly registryTableName: string;
  /** Table properties the deployed stack sets and dynalite does not take (TTL, PITR, SSE). */
  readonly registrySkippedLocally: readonly string[];
  /** The EventBridge Scheduler stand-in (AWS_ENDPOINT_URL_SCHEDULER). */
  readonly schedulerEndpoint: string;
  /** Its groups: infra/schedules.yml's (as deployed) and the schedules API's. */
  readonly scheduleGroups: { readonly deploy: string; readonly api: string };
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly controlUrl: string;
  readonly schedules: readonly {
    name: string;
    schedule: string;
    timezone: string;
    enabled: boolean;
    next: string | null;
  }[];
  readonly schedulesFile: string;
  readonly schedulesAutoFire: boolean;
  readonly offlinePid: number;
  /** The Node serverless offline runs on, and so the functions (in its worker threads): Node 24 by default. */
  readonly functionsNode: FunctionsNode;
}

export interface Stack {
  readonly info: StackInfo;
  readonly scheduler: Scheduler;
  readonly poller: QueuePoller;
  /** Resolves if serverless offline exits on its own (not through stop()). */
  readonly unexpectedExit: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string[] }>;
  /** Stops everything, in reverse order of start. Idempotent. */
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly ports: readonly { name: PortName; port: number }[]) {
    super(
      `${ports
        .map(
          ({ name, port }) =>
            `port ${port} for the ${PORT_LABELS[name]} is in use; choose another with ${portVariable(name)}=<port>`,
        )
        .join('\n')}\n(or move the whole block with VOXCONF_PORT_BASE=<first port>)`,
    );
    this.name = 'PortInUseError';
  }
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

async function checkPorts(settings: StackSettings): Promise<void> {
  const busy: { name: PortName; port: number }[] = [];
  for (const name of PORT_NAMES) {
    if (!(await isFree(settings.host, settings.ports[name]))) busy.push({ name, port: settings.ports[name] });
  }
  if (busy.length > 0) throw new PortInUseError(busy);
}

export async function startStack(settings: StackSettings, log: LogSink): Promise<Stack> {
  const started = Date.now();
  await checkPorts(settings);

  const cleanup: (() => Promise<unknown>)[] = [];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  // Found (or fetched, the first time) while the stand-ins start.
  const nodeLookup = functionsNode(settings.root, settings.functionsNode, log);
  nodeLookup.catch(() => {}); // awaited below; a stand-in failing first must not leave it unhandled
  try {
    const results = await Promise.allSettled([
      startSecretsManager({
        host: settings.host,
        port: settings.ports.secretsManager,
        region: REGION,
        accountId: ACCOUNT_ID,
      }),
      startSqs({
        host: settings.host,
        port: settings.ports.sqs,
        region: REGION,
        accountId: ACCOUNT_ID,
        queueName: QUEUE_NAME,
        deadLetterQueueName: DEAD_LETTER_QUEUE_NAME,
        visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
        maxReceiveCount: settings.maxReceiveCount,
      }),
      settings.real === undefined
        ? startEmulator({
            host: settings.host,
            port: settings.ports.emulator,
            latencyMs: settings.latencyMs,
            emptySessionTimeoutMs: settings.emptySessionMs,
            graceMs: settings.sessionGraceMs,
          })
        : Promise.resolve(undefined),
      startEventBridge({
        host: settings.host,
        port: settings.ports.eventBridge,
        region: REGION,
        accountId: ACCOUNT_ID,
        buses: [EVENT_BUS_NAME],
        onCall: (call) => log('events', describePutEvents(call)),
      }),
      startSchedulerApi({
        host: settings.host,
        port: settings.ports.scheduler,
        region: REGION,
        accountId: ACCOUNT_ID,
        groups: [SCHEDULE_GROUP, API_SCHEDULE_GROUP],
      }),
      startDynamoDb({ host: settings.host, port: settings.ports.dynamoDb }),
    ] as const);
    for (const result of results) {
      if (result.status === 'fulfilled' && result.value) {
        const service = result.value;
        cleanup.push(() => service.close());
      }
    }
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const sm = (results[0] as PromiseFulfilledResult<SecretsManagerStandIn>).value;
    const sqs = (results[1] as PromiseFulfilledResult<LocalSqs>).value;
    const emulator = (results[2] as PromiseFulfilledResult<VoximplantEmulator | undefined>).value;
    const eventBridge = (results[3] as PromiseFulfilledResult<EventBridgeStandIn>).value;
    const schedulerApi = (results[4] as PromiseFulfilledResult<SchedulerStandIn>).value;
    const dynamoDb = (results[5] as PromiseFulfilledResult<LocalDynamoDb>).value;
    // The deployed table's definition (key, index), less what dynalite lacks (SKIPPED_LOCALLY).
    const registryTableName = await createRegistryTable(dynamoDb.endpoint, { stage: STAGE });

    let credentialsJson: string;
    let apiUrl: string;
    let defaultRuleId = settings.defaultRuleId;
    let emulatorInfo: StackInfo['emulator'] = null;
    let referenceScenarioRuleIds: readonly number[] = settings.referenceScenarioRuleIds;
    if (emulator) {
      // Rules the settings name (default, allow-list) exist in the emulator account, so they can be started.
      const namedRules = [
        ...(settings.defaultRuleId === undefined ? [] : [settings.defaultRuleId]),
        ...(settings.allowedRuleIds ?? []),
      ];
      const account = emulator.createAccount(namedRules.length > 0 ? { ruleIds: [...new Set(namedRules)] } : {});
      // Voximplant's own example scenario, so that "a rule not declared to run the reference scenario is never
      // probed" can be seen locally: any request to its session's URL would end that session.
      const exampleRuleId = emulator.addRule(account.accountId, { name: 'example-scenario', scenarioKind: 'example' });
      credentialsJson = JSON.stringify(account.credentials);
      apiUrl = emulator.url;
      defaultRuleId ??= account.ruleId;
      referenceScenarioRuleIds = account.ruleIds;
      emulatorInfo = {
        origin: emulator.origin,
        controlUrl: `${emulator.origin}/_emulator`,
        accountId: account.accountId,
        ruleId: account.ruleId,
        referenceRuleIds: account.ruleIds,
        exampleRuleId,
        latencyMs: emulator.latencyMs,
        emptySessionMs: settings.emptySessionMs,
        sessionGraceMs: settings.sessionGraceMs,
      };
    } else {
      credentialsJson = (settings.real as NonNullable<StackSettings['real']>).credentialsJson;
      apiUrl = settings.apiUrl as string;
    }
    const { arn: secretArn } = sm.putSecret(SECRET_NAME, { secretString: credentialsJson });

    const schedules: ScheduleEntry[] = loadSchedules(settings.schedulesFile, settings.root);
    const scheduleFunctionArn = `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName('schedule')}`;
    // As a deploy would have them: the schedules API reads this group (and never changes it).
    await createDeploySchedules({
      endpoint: schedulerApi.endpoint,
      region: REGION,
      credentials: { accessKeyId: LOCAL_ACCESS_KEY, secretAccessKey: LOCAL_SECRET_KEY },
      entries: schedules,
      group: SCHEDULE_GROUP,
      targetArn: scheduleFunctionArn,
      roleArn: DEPLOY_SCHEDULES_ROLE_ARN,
      deadLetterArn: sqs.deadLetterQueueArn,
    });

    const params: Record<string, string> = {
      credentialsSecretArn: secretArn,
      apiUrl,
      localDeadLetterQueueUrl: sqs.deadLetterQueueUrl,
      localRequestQueueUrl: sqs.queueUrl,
      // The function dead-letters on the local queue's last receive, and retries after seconds, not minutes.
      queueMaxReceiveCount: String(settings.maxReceiveCount),
      queueRedeliveryBaseSeconds: String(LOCAL_REDELIVERY_BASE_SECONDS),
      // The local stage publishes outcome events only when given a bus: the stand-in's.
      eventBusName: EVENT_BUS_NAME,
      // The schedules function: the stand-in's groups, the schedule function as target, the local dead-letter queue.
      localSchedulesDeployGroup: SCHEDULE_GROUP,
      localSchedulesApiGroup: API_SCHEDULE_GROUP,
      localSchedulesTargetArn: scheduleFunctionArn,
      localSchedulesRoleArn: API_SCHEDULES_ROLE_ARN,
      localDeadLetterQueueArn: sqs.deadLetterQueueArn,
      // Every start is recorded in the registry on dynalite (REGISTRY_TABLE_NAME).
      localRegistryTableName: registryTableName,
      logLevel: settings.logLevel,
    };
    // The lifecycle function probes and stops only these rules' sessions (REFERENCE_SCENARIO_RULE_IDS).
    if (referenceScenarioRuleIds.length > 0) params.referenceScenarioRuleIds = referenceScenarioRuleIds.join(',');
    if (defaultRuleId !== undefined) params.defaultRuleId = String(defaultRuleId);
    if (settings.allowedRuleIds !== undefined) params.allowedRuleIds = settings.allowedRuleIds.join(',');
    // CORS as a deployed stage with these origins answers it (serverless offline reads provider.httpApi.cors).
    if (settings.corsOrigins.length > 0) params.corsAllowedOrigins = settings.corsOrigins.join(',');

    const node = await nodeLookup;
    const offlineStarted = Date.now();
    const offline: OfflineProcess = await startOffline({
      root: settings.root,
      node: node.bin,
      host: settings.host,
      httpPort: settings.ports.http,
      lambdaPort: settings.ports.lambda,
      stage: STAGE,
      region: REGION,
      params,
      awsEnv: {
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_ACCESS_KEY_ID: LOCAL_ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY: LOCAL_SECRET_KEY,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
        AWS_ENDPOINT_URL_SQS: sqs.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
        AWS_ENDPOINT_URL_SCHEDULER: schedulerApi.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamoDb.endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
        // No AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: the functions run on Node 24 as in Lambda, where the
        // SDK has nothing to warn about (it warns below 22); on an older VOXCONF_FUNCTIONS_NODE the warning is true.
      },
      esbuildWorkFolder: settings.esbuildWorkFolder,
      verbose: settings.verbose,
      startTimeoutMs: settings.startTimeoutMs,
      corsOrigins: settings.corsOrigins,
      log,
    });
    const offlineMs = Date.now() - offlineStarted;
    let stopping = false;
    cleanup.push(() => offline.stop());

    const sqsClient = new SQSClient({
      endpoint: sqs.endpoint,
      region: REGION,
      credentials: { accessKeyId: LOCAL_ACCESS_KEY, secretAccessKey: LOCAL_SECRET_KEY },
    });
    cleanup.push(async () => sqsClient.destroy());
    const dlq = deadLetterQueue(sqsClient, sqs.deadLetterQueueUrl);

    // Ends invocations still in flight when the stack stops: nothing waits for a 30 s function timeout.
    const invocations = new AbortController();

    const poller = startQueuePoller({
      sqs: sqsClient,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: REGION,
      invoke: (event, signal) =>
        invokeFunction(functionName('queue'), event, {
          port: settings.ports.lambda,
          timeoutMs: 60_000,
          // poller.stop() aborts its own signal: the loop ends quietly, the batch is left for redelivery.
          signal: AbortSignal.any([signal, invocations.signal]),
        }),
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
      maxReceiveCount: settings.maxReceiveCount,
      log,
    });

    const scheduler = startScheduler({
      entries: schedules,
      entriesGroup: SCHEDULE_GROUP,
      // The schedules API's, at their times; infra/schedules.yml's copies in the stand-in are fired from `entries`.
      api: { standIn: schedulerApi, groups: [API_SCHEDULE_GROUP] },
      invoke: (event) =>
        invokeFunction(functionName('schedule'), event, {
          port: settings.ports.lambda,
          // Past the function's own timeout (serverless.yml: 120 s, retries inside the invocation), which serverless
          // offline enforces: a long run is not taken for a failed one while it still runs.
          timeoutMs: 130_000,
          signal: invocations.signal,
        }),
      sendOnFailureRecord: (body) => dlq.send(body),
      functionArn: scheduleFunctionArn,
      autoFire: settings.schedulesAutoFire,
      retryDelaysSeconds: settings.scheduleRetryDelaysSeconds,
      log,
    });
    cleanup.push(async () => {
      // Marked stopped first, so that an aborted run is not reported as a failure to retry.
      const done = scheduler.stop();
      invocations.abort();
      await done;
    });
    cleanup.push(() => poller.stop());

    const httpApiUrl = `http://${settings.host}:${settings.ports.http}`;
    // The faults set through the control endpoint, so that clearing them can say how many requests they hit.
    const registryFaults: FaultHandle[] = [];
    let info: StackInfo | undefined;
    const control: ControlServer = await startControlServer({
      host: settings.host,
      port: settings.ports.control,
      scheduler,
      peekDeadLetters: () => dlq.peek(),
      drainDeadLetters: () => dlq.drain(),
      events: (detailType) => eventBridge.events({ busName: EVENT_BUS_NAME, ...(detailType ? { detailType } : {}) }),
      schedulerFaults: {
        add: (fault) => void schedulerApi.fault(fault),
        clear: () => schedulerApi.clearFaults(),
      },
      registryFaults: {
        add: (fault) => void registryFaults.push(dynamoDb.fault(fault)),
        clear: () => {
          const cleared = { cleared: registryFaults.length, hits: registryFaults.reduce((n, f) => n + f.hits(), 0) };
          dynamoDb.clearFaults();
          registryFaults.length = 0;
          return cleared;
        },
      },
      overview: () => ({ ...info, schedules: scheduler.list() }),
    });
    cleanup.push(() => control.close());

    info = {
      mode: emulator ? 'emulator' : 'real',
      startupMs: Date.now() - started,
      offlineStartupMs: offlineMs,
      ports: settings.ports,
      httpApiUrl,
      conferencesUrl: `${httpApiUrl}/conferences`,
      schedulesUrl: `${httpApiUrl}/schedules`,
      corsOrigins: settings.corsOrigins,
      lambdaEndpoint: `http://${settings.host}:${settings.ports.lambda}`,
      functions: {
        http: functionName('http'),
        queue: functionName('queue'),
        schedule: functionName('schedule'),
        schedules: functionName('schedules'),
        lifecycle: functionName('lifecycle'),
      },
      voximplantApiUrl: apiUrl,
      emulator: emulatorInfo,
      real: settings.real
        ? {
            accountId: settings.real.accountId,
            keyId: settings.real.keyId,
            credentialsFile: settings.real.credentialsFile,
          }
        : null,
      defaultRuleId: defaultRuleId ?? null,
      referenceScenarioRuleIds: [...referenceScenarioRuleIds],
      secretsManagerEndpoint: sm.endpoint,
      secretArn,
      sqsEndpoint: sqs.endpoint,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      deadLetterQueueUrl: sqs.deadLetterQueueUrl,
      eventBridgeEndpoint: eventBridge.endpoint,
      eventBusName: EVENT_BUS_NAME,
      dynamoDbEndpoint: dynamoDb.endpoint,
      registryTableName,
      registrySkippedLocally: [...SKIPPED_LOCALLY],
      schedulerEndpoint: schedulerApi.endpoint,
      scheduleGroups: { deploy: SCHEDULE_GROUP, api: API_SCHEDULE_GROUP },
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
      maxReceiveCount: settings.maxReceiveCount,
      controlUrl: control.url,
      schedules: scheduler
        .list()
        .filter((s) => s.managed_by === 'deploy')
        .map((s) => ({
          name: s.name,
          schedule: s.schedule,
          timezone: s.timezone,
          enabled: s.enabled,
          next: s.next_fire_local,
        })),
      schedulesFile: settings.schedulesFile,
      schedulesAutoFire: settings.schedulesAutoFire,
      offlinePid: offline.pid,
      functionsNode: node,
    };

    const unexpectedExit = offline.exited.then(async (exit) => {
      if (stopping) return new Promise<never>(() => {});
      return { ...exit, output: offline.recentOutput() };
    });

    let stopped: Promise<void> | undefined;
    return {
      info,
      scheduler,
      poller,
      unexpectedExit: unexpectedExit as Stack['unexpectedExit'],
      stop() {
        stopping = true;
        stopped ??= undo();
        return stopped;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** One line per PutEvents call the functions make: what was published where, and what was not. */
export function describePutEvents(call: EventBridgeCall): string {
  if (call.action !== 'PutEvents') return `${call.action || 'request'} refused: ${call.errorType ?? call.status}`;
  const fault = call.fault && call.fault !== 'latency' ? ' (fault)' : '';
  if (call.status === 0) return `PutEvents (${call.entries} entries): connection dropped${fault}`;
  if (call.status !== 200) return `PutEvents (${call.entries} entries) → ${call.status} ${call.errorType}${fault}`;
  const where = (result: (r: string) => boolean) => call.results.flatMap((r, i) => (result(r) ? [i] : []));
  const byType = (indexes: number[]) => {
    const counts = new Map<string, number>();
    for (const i of indexes) counts.set(call.detailTypes[i] ?? '?', (counts.get(call.detailTypes[i] ?? '?') ?? 0) + 1);
    return [...counts].map(([type, n]) => `${n} ${type}`).join(', ');
  };
  const distinct = (values: (string | undefined)[]) => [...new Set(values)].join(', ');
  const parts: string[] = [];
  const ok = where((r) => r === 'ok');
  if (ok.length > 0) parts.push(`${byType(ok)} on ${distinct(ok.map((i) => call.buses[i]))}`);
  const dropped = where((r) => r === 'dropped');
  if (dropped.length > 0) {
    parts.push(
      `${dropped.length} for bus ${distinct(dropped.map((i) => `"${call.buses[i]}"`))}, which does not exist: ` +
        'accepted and dropped, as AWS does',
    );
  }
  const refused = where((r) => r !== 'ok' && r !== 'dropped');
  if (refused.length > 0) {
    parts.push(`${refused.length} refused (${distinct(refused.map((i) => call.results[i]))})${fault}`);
  }
  return `PutEvents: ${parts.join('; ')}`;
}
