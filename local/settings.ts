/**
 * The local stack's settings, read once from the environment (see docs/local-stack.md). Everything has a
 * default: `npm start` needs no configuration. A bad value stops the stack before anything starts, with the
 * variable's name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import facts from '../lib/facts.json' with { type: 'json' };

/** Names as serverless.yml makes them: `${service}-${stage}-<function>`. */
export const SERVICE = 'voxconf';
export const STAGE = 'local';
export const REGION = 'us-east-1';
export const ACCOUNT_ID = '000000000000';
export const REAL_API_URL = 'https://api.voximplant.com/platform_api';
export const SECRET_NAME = 'voxconf/local-credentials';
export const QUEUE_NAME = `${SERVICE}-${STAGE}-requests`;
export const DEAD_LETTER_QUEUE_NAME = `${SERVICE}-${STAGE}-dead-letter`;
/** The stage's own bus, as the stack names it when no eventBusName parameter is given (`voxconf-<stage>`). */
export const EVENT_BUS_NAME = `${SERVICE}-${STAGE}`;

/** The schedule groups of the stage, as the stack names them (lib/schedules-config.ts scheduleGroupsOf). */
export const SCHEDULE_GROUP = `${SERVICE}-${STAGE}`;
export const API_SCHEDULE_GROUP = `${SERVICE}-${STAGE}${facts.schedulesApi.apiGroupSuffix}`;

export const functionName = (fn: 'http' | 'queue' | 'schedule' | 'schedules' | 'lifecycle') =>
  `${SERVICE}-${STAGE}-${fn}`;

/** Voximplant's own timings of a session, which the emulator plays (local/voximplant-emulator/README.md). */
export const DEFAULT_EMPTY_SESSION_MS = 60_000;
/** The reference scenario's default grace period after the last participant left (voximplant/README.md). */
export const DEFAULT_SESSION_GRACE_MS = 30_000;

export const PORT_NAMES = [
  'http',
  'lambda',
  'emulator',
  'secretsManager',
  'sqs',
  'control',
  'eventBridge',
  'scheduler',
  'dynamoDb',
] as const;
export type PortName = (typeof PORT_NAMES)[number];

/** A block above the usual dev ports (3000-9000) and below Linux's ephemeral range (32768+ is fine, 47800 is rarely used). */
export const DEFAULT_PORT_BASE = 47800;

const PORT_VARIABLES: Record<PortName, string> = {
  http: 'VOXCONF_HTTP_PORT',
  lambda: 'VOXCONF_LAMBDA_PORT',
  emulator: 'VOXCONF_EMULATOR_PORT',
  secretsManager: 'VOXCONF_SECRETS_MANAGER_PORT',
  sqs: 'VOXCONF_SQS_PORT',
  control: 'VOXCONF_CONTROL_PORT',
  eventBridge: 'VOXCONF_EVENTBRIDGE_PORT',
  scheduler: 'VOXCONF_SCHEDULER_PORT',
  dynamoDb: 'VOXCONF_DYNAMODB_PORT',
};

export const PORT_LABELS: Record<PortName, string> = {
  http: 'HTTP API',
  lambda: 'Lambda API',
  emulator: 'Voximplant emulator',
  secretsManager: 'Secrets Manager stand-in',
  sqs: 'local SQS',
  control: 'stack control endpoint',
  eventBridge: 'EventBridge stand-in',
  scheduler: 'EventBridge Scheduler stand-in',
  dynamoDb: 'DynamoDB (dynalite)',
};

export function portVariable(name: PortName): string {
  return PORT_VARIABLES[name];
}

/** Credentials from VOXIMPLANT_CREDENTIALS_FILE: real Voximplant instead of the emulator. */
export interface RealVoximplant {
  readonly credentialsFile: string;
  /** The file's content, checked to be a credentials.json object; never printed. */
  readonly credentialsJson: string;
  readonly accountId: number;
  readonly keyId: string;
}

export interface StackSettings {
  readonly host: '127.0.0.1';
  readonly ports: Readonly<Record<PortName, number>>;
  /** Emulated Voximplant latency (emulator mode only). */
  readonly latencyMs: number;
  /** Local only: the deployed queue keeps 180 s / 5 (infra/resources.yml). */
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  /**
   * Local stand-in for Lambda's asynchronous retries of a failed schedule invocation: none by default, as deployed
   * (serverless.yml maximumRetryAttempts 0: the function retries inside the invocation).
   */
  readonly scheduleRetryDelaysSeconds: readonly number[];
  /** Fire schedules at their times (the "fire now" endpoint works either way). */
  readonly schedulesAutoFire: boolean;
  readonly schedulesFile: string;
  /** Forward serverless-offline's whole output. */
  readonly verbose: boolean;
  readonly logLevel: string;
  /** undefined: the emulator with a throwaway account. */
  readonly real: RealVoximplant | undefined;
  /** Management API base URL; undefined in emulator mode until the emulator listens. */
  readonly apiUrl: string | undefined;
  readonly defaultRuleId: number | undefined;
  readonly allowedRuleIds: readonly number[] | undefined;
  /**
   * Real-Voximplant mode: VOXCONF_REFERENCE_SCENARIO_RULE_IDS, the rules that run the reference scenario
   * (voximplant/), passed as the stage parameter referenceScenarioRuleIds; empty: no session is probed or stopped.
   * Emulator mode: always empty here, the stack declares the emulator's reference rules itself.
   */
  readonly referenceScenarioRuleIds: readonly number[];
  /**
   * The emulator's session timings (emulator mode only): a session without participants ends after
   * emptySessionMs (Voximplant's 60 s), a reference-scenario session graceMs after its last participant left
   * (the scenario's 30 s). Tests shorten them; the deployed functions do not read them.
   */
  readonly emptySessionMs: number;
  readonly sessionGraceMs: number;
  /**
   * VOXCONF_CORS_ALLOWED_ORIGINS: origins whose browser requests the HTTP API takes, with the CORS answers of the
   * stage parameter corsAllowedOrigins (as deployed). Empty: every request with an Origin is refused.
   */
  readonly corsOrigins: readonly string[];
  /**
   * Where serverless-esbuild bundles for this stack: under .cache/ (ignored by git and by the file watcher), never
   * under .esbuild/, which `serverless package` and `deploy` delete whole when they finish.
   */
  readonly esbuildWorkFolder: string;
  readonly startTimeoutMs: number;
  /**
   * VOXCONF_FUNCTIONS_NODE: the Node serverless offline (and so the functions) runs on, a major (`22`) or a node
   * binary's path; undefined: Node 24, the Lambda runtime's (local/offline.ts).
   */
  readonly functionsNode: string | undefined;
  readonly root: string;
}

export class SettingsError extends Error {
  constructor(variable: string, message: string) {
    super(`${variable} ${message}`);
    this.name = 'SettingsError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new SettingsError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new SettingsError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new SettingsError(name, `must be on or off (1/0, true/false), got "${raw}"`);
}

/** A comma-separated list of positive integer rule ids, as infra/params.cjs takes them. */
function ruleIdList(env: Env, name: string): number[] {
  const raw = text(env, name);
  if (raw === undefined) return [];
  const ids = raw.split(/[\s,;]+/).filter((part) => part !== '');
  for (const part of ids) {
    if (!/^\d{1,15}$/.test(part) || Number(part) < 1) {
      throw new SettingsError(name, `must be a comma-separated list of positive integer rule ids, got "${part}"`);
    }
  }
  return [...new Set(ids.map(Number))];
}

function readCredentials(path: string): RealVoximplant {
  const file = resolve(path);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SettingsError(
      'VOXIMPLANT_CREDENTIALS_FILE',
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): ${file}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Never echo the content: it holds a private key.
    throw new SettingsError('VOXIMPLANT_CREDENTIALS_FILE', `is not valid JSON: ${file}`);
  }
  const creds = value as Record<string, unknown> | null;
  const problems: string[] = [];
  if (creds === null || typeof creds !== 'object' || Array.isArray(creds)) problems.push('not a JSON object');
  else {
    if (!Number.isSafeInteger(Number(creds.account_id)) || Number(creds.account_id) <= 0) problems.push('account_id');
    if (typeof creds.key_id !== 'string' || creds.key_id === '') problems.push('key_id');
    if (typeof creds.private_key !== 'string' || !creds.private_key.includes('PRIVATE KEY'))
      problems.push('private_key');
  }
  if (problems.length > 0) {
    throw new SettingsError(
      'VOXIMPLANT_CREDENTIALS_FILE',
      `is not a Voximplant service-account key (credentials.json); missing or invalid: ${problems.join(', ')}`,
    );
  }
  const c = creds as { account_id: number | string; key_id: string };
  return { credentialsFile: file, credentialsJson: raw, accountId: Number(c.account_id), keyId: c.key_id };
}

function corsOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '').split(/[\s,]+/).filter((part) => part !== '');
  for (const origin of origins) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    if (origin === '*' || url === undefined || url.origin !== origin || !/^https?:$/.test(url.protocol)) {
      throw new SettingsError(
        'VOXCONF_CORS_ALLOWED_ORIGINS',
        `must list origins (https://app.example, comma-separated; no "*" and no path), got "${origin}"`,
      );
    }
  }
  return origins;
}

function apiUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError('VOXIMPLANT_API_URL', `is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SettingsError('VOXIMPLANT_API_URL', `must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

export function loadSettings(env: Env = process.env, root: string = process.cwd()): StackSettings {
  const base = integer(env, 'VOXCONF_PORT_BASE', DEFAULT_PORT_BASE, 1, 65535 - PORT_NAMES.length + 1);
  const ports = Object.fromEntries(
    PORT_NAMES.map((name, index) => [name, integer(env, PORT_VARIABLES[name], base + index, 1, 65535)]),
  ) as Record<PortName, number>;
  const seen = new Map<number, PortName>();
  for (const name of PORT_NAMES) {
    const other = seen.get(ports[name]);
    if (other !== undefined) {
      throw new SettingsError(
        PORT_VARIABLES[name],
        `is ${ports[name]}, already the port of the ${PORT_LABELS[other]} (${PORT_VARIABLES[other]}); each needs its own`,
      );
    }
    seen.set(ports[name], name);
  }

  const credentialsFile = text(env, 'VOXIMPLANT_CREDENTIALS_FILE');
  const urlRaw = text(env, 'VOXIMPLANT_API_URL');
  if (credentialsFile === undefined && urlRaw !== undefined) {
    throw new SettingsError(
      'VOXIMPLANT_API_URL',
      'is set but VOXIMPLANT_CREDENTIALS_FILE is not: the emulator serves its own URL. To call another API, give ' +
        'its credentials.json with VOXIMPLANT_CREDENTIALS_FILE; otherwise unset VOXIMPLANT_API_URL',
    );
  }
  const real = credentialsFile === undefined ? undefined : readCredentials(credentialsFile);

  const defaultRaw = text(env, 'VOXIMPLANT_DEFAULT_RULE_ID');
  if (defaultRaw !== undefined && (!/^\d{1,15}$/.test(defaultRaw) || Number(defaultRaw) < 1)) {
    throw new SettingsError('VOXIMPLANT_DEFAULT_RULE_ID', `must be a positive integer rule id, got "${defaultRaw}"`);
  }
  const delaysRaw = text(env, 'VOXCONF_SCHEDULE_RETRY_DELAYS_SECONDS') ?? '';
  const scheduleRetryDelaysSeconds = delaysRaw
    .split(/[\s,]+/)
    .filter((part) => part !== '')
    .map((part) => {
      if (!/^\d+$/.test(part) || Number(part) > 3600) {
        throw new SettingsError(
          'VOXCONF_SCHEDULE_RETRY_DELAYS_SECONDS',
          `must be a comma-separated list of seconds (0-3600), got "${delaysRaw}"`,
        );
      }
      return Number(part);
    });
  if (scheduleRetryDelaysSeconds.length > 2) {
    throw new SettingsError(
      'VOXCONF_SCHEDULE_RETRY_DELAYS_SECONDS',
      'may list at most 2 delays (Lambda retries an asynchronous invocation at most twice)',
    );
  }

  // Checked here, naming the variable, rather than by the stage parameter it becomes once the stack is half up.
  const logLevel = (text(env, 'VOXCONF_LOG_LEVEL') ?? 'INFO').toUpperCase();
  if (!facts.logLevels.includes(logLevel)) {
    throw new SettingsError('VOXCONF_LOG_LEVEL', `must be one of ${facts.logLevels.join(', ')}, got "${logLevel}"`);
  }
  const allowedRuleIds = ruleIdList(env, 'VOXIMPLANT_ALLOWED_RULE_IDS');
  const schedulesFileRaw = text(env, 'VOXCONF_SCHEDULES_FILE');
  const schedulesFile = resolve(root, schedulesFileRaw ?? 'infra/schedules.yml');
  if (schedulesFileRaw !== undefined && !existsSync(schedulesFile)) {
    throw new SettingsError('VOXCONF_SCHEDULES_FILE', `names no file: ${schedulesFile}`);
  }

  const referenceScenarioRuleIds = ruleIdList(env, 'VOXCONF_REFERENCE_SCENARIO_RULE_IDS');
  if (real === undefined && referenceScenarioRuleIds.length > 0) {
    throw new SettingsError(
      'VOXCONF_REFERENCE_SCENARIO_RULE_IDS',
      "is for a real Voximplant account (VOXIMPLANT_CREDENTIALS_FILE): in emulator mode the stack declares the emulator's reference-scenario rules itself",
    );
  }
  // Voximplant's own timings cannot be changed: these exist only in the emulator.
  for (const name of ['VOXCONF_EMPTY_SESSION_MS', 'VOXCONF_SESSION_GRACE_MS']) {
    if (real !== undefined && text(env, name) !== undefined) {
      throw new SettingsError(
        name,
        "sets the emulator's session timing; with VOXIMPLANT_CREDENTIALS_FILE there is no emulator",
      );
    }
  }

  return {
    host: '127.0.0.1',
    ports,
    latencyMs: integer(env, 'VOXCONF_LATENCY_MS', 50, 0, 60_000),
    visibilityTimeoutSeconds: integer(env, 'VOXCONF_QUEUE_VISIBILITY_TIMEOUT_SECONDS', 5, 1, 43_200),
    maxReceiveCount: integer(env, 'VOXCONF_QUEUE_MAX_RECEIVE_COUNT', 3, 1, 1000),
    scheduleRetryDelaysSeconds,
    // Against the real API a schedule would start real conferences by itself: opt-in there.
    schedulesAutoFire: flag(env, 'VOXCONF_SCHEDULES', real === undefined),
    schedulesFile,
    verbose: flag(env, 'VOXCONF_VERBOSE', false),
    logLevel,
    real,
    apiUrl: real === undefined ? undefined : apiUrl(urlRaw ?? REAL_API_URL),
    defaultRuleId: defaultRaw === undefined ? undefined : Number(defaultRaw),
    allowedRuleIds: allowedRuleIds.length > 0 ? allowedRuleIds : undefined,
    referenceScenarioRuleIds,
    emptySessionMs: integer(env, 'VOXCONF_EMPTY_SESSION_MS', DEFAULT_EMPTY_SESSION_MS, 100, 86_400_000),
    sessionGraceMs: integer(env, 'VOXCONF_SESSION_GRACE_MS', DEFAULT_SESSION_GRACE_MS, 0, 86_400_000),
    corsOrigins: corsOrigins(text(env, 'VOXCONF_CORS_ALLOWED_ORIGINS')),
    esbuildWorkFolder: `.cache/local-stack-${ports.http}`,
    startTimeoutMs: integer(env, 'VOXCONF_START_TIMEOUT_MS', 90_000, 1_000, 600_000),
    functionsNode: text(env, 'VOXCONF_FUNCTIONS_NODE'),
    root,
  };
}
