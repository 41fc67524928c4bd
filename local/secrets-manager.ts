/**
 * A loopback stand-in for AWS Secrets Manager that the real `@aws-sdk/client-secrets-manager` reaches through
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or the client's `endpoint`). No emulator for it exists on npm.
 *
 * Served over HTTP (awsJson1_1): CreateSecret, PutSecretValue, GetSecretValue, DescribeSecret, DeleteSecret
 * (immediate). In process: `putSecret`, `deleteSecret`, fault injection, a record of calls.
 * Secret values are never logged nor kept in the call record.
 *
 *   const sm = await startSecretsManager();
 *   const { arn } = sm.putSecret('voxconf/credentials', { secretString: JSON.stringify(creds) });
 *   process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
 *   sm.fault({ kind: 'throttle', times: 2 });
 *   ...
 *   await sm.close();
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type AwsJsonRequest, type AwsJsonResult, AwsServiceError, startAwsJsonServer } from './aws-json-server.js';
import { faultList } from './fault-list.js';

export type SecretsManagerAction =
  | 'CreateSecret'
  | 'PutSecretValue'
  | 'GetSecretValue'
  | 'DescribeSecret'
  | 'DeleteSecret'
  | (string & {});

export type SecretsManagerFaultKind =
  /** 400 ThrottlingException (the SDK retries it). */
  | 'throttle'
  /** 500 InternalServiceError (the SDK retries it). */
  | 'server_error'
  /** 400 AccessDeniedException (IAM policy missing; not retried). */
  | 'access_denied'
  /** 400 ResourceNotFoundException even though the secret exists. */
  | 'not_found'
  /** 400 DecryptionFailure (KMS key unusable; not retried). */
  | 'decryption_failure'
  /** The socket is destroyed without an answer: `socket hang up` / ECONNRESET (the SDK retries it). */
  | 'drop'
  /** The normal answer, `latencyMs` late. */
  | 'latency';

export interface SecretsManagerFault {
  readonly kind: SecretsManagerFaultKind;
  /** Requests affected, then the fault is gone. Default: no limit. */
  readonly times?: number;
  /** The fault is gone this long after `fault()`. Default: no limit. */
  readonly forMs?: number;
  /** Delay for `latency` (default 1000 ms); for other kinds, a delay before the failure (default 0). */
  readonly latencyMs?: number;
  /** Only these calls are affected (default: every action). */
  readonly action?: SecretsManagerAction;
  /** Only calls whose SecretId (name or ARN) is this secret are affected. */
  readonly secretId?: string;
}

export interface SecretsManagerFaultHandle {
  /** Requests this fault has affected so far. */
  hits(): number;
  /** Removes this fault. */
  clear(): void;
}

export interface SecretsManagerCall {
  readonly action: string;
  /** As sent (`SecretId`, or `Name` for CreateSecret); undefined when absent. */
  readonly secretId: string | undefined;
  /** The secret it resolved to, when it exists. */
  readonly secretName: string | undefined;
  /** Epoch milliseconds when the request arrived. */
  readonly time: number;
  /** HTTP status answered; 0 when the connection was dropped. */
  readonly status: number;
  /** AWS error code answered, if any. */
  readonly errorType?: string;
  /** Injected fault that shaped this call, if any. */
  readonly fault?: SecretsManagerFaultKind;
}

export type SecretValue = { readonly secretString: string } | { readonly secretBinary: Uint8Array };

export interface PutSecretResult {
  readonly arn: string;
  readonly name: string;
  readonly versionId: string;
}

export interface StartSecretsManagerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Loopback only. Default 127.0.0.1. */
  readonly host?: string;
  /** Used in ARNs. Default us-east-1. */
  readonly region?: string;
  /** Used in ARNs. Default 000000000000. */
  readonly accountId?: string;
  /** Unsigned requests get MissingAuthenticationTokenException. Default true (the SDK always signs). */
  readonly requireSignature?: boolean;
  /** Secrets present from the start. */
  readonly secrets?: Readonly<Record<string, SecretValue>>;
}

export interface SecretsManagerStandIn {
  /** e.g. `http://127.0.0.1:43125`: the value for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** Creates the secret, or adds a new AWSCURRENT version (the old one becomes AWSPREVIOUS). */
  putSecret(name: string, value: SecretValue, options?: { versionId?: string }): PutSecretResult;
  /** Removes a secret at once (no recovery window). Returns whether it existed. */
  deleteSecret(nameOrArn: string): boolean;
  /** The ARN of an existing secret. */
  arnOf(nameOrArn: string): string | undefined;
  /** Adds a fault; faults are checked in the order added. */
  fault(fault: SecretsManagerFault): SecretsManagerFaultHandle;
  clearFaults(): void;
  /** Every request received, oldest first (faulted and rejected ones included). */
  calls(): readonly SecretsManagerCall[];
  /** GetSecretValue requests received (SDK retries included), optionally only those for one secret (name or ARN). */
  getSecretValueCount(secretId?: string): number;
  clearCalls(): void;
  /** Removes secrets, faults and the call record. */
  reset(): void;
  /** Stops the server and closes every connection. Idempotent. */
  close(): Promise<void>;
}

interface Version {
  readonly versionId: string;
  readonly secretString?: string;
  readonly secretBinary?: Buffer;
  readonly createdDate: number;
  stages: string[];
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly createdDate: number;
  description?: string;
  lastChangedDate: number;
  lastAccessedDate?: number;
  /** Oldest first. */
  readonly versions: Version[];
}

const NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const epochSeconds = (ms: number) => Math.round(ms) / 1000;

function arnSuffix(): string {
  return [...randomBytes(6)].map((byte) => SUFFIX_CHARS[byte % SUFFIX_CHARS.length]).join('');
}

function faultError(kind: Exclude<SecretsManagerFaultKind, 'drop' | 'latency'>, action: string, secretId: string) {
  switch (kind) {
    case 'throttle':
      return { status: 400, type: 'ThrottlingException', message: 'Rate exceeded' };
    case 'server_error':
      return { status: 500, type: 'InternalServiceError', message: 'An error occurred on the server side.' };
    case 'access_denied':
      return {
        status: 400,
        type: 'AccessDeniedException',
        message:
          `User: arn:aws:sts::000000000000:assumed-role/voxconf-local/local is not authorized to perform: ` +
          `secretsmanager:${action} on resource: ${secretId} because no identity-based policy allows the ` +
          `secretsmanager:${action} action`,
      };
    case 'not_found':
      return {
        status: 400,
        type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      };
    case 'decryption_failure':
      return {
        status: 400,
        type: 'DecryptionFailure',
        message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
      };
  }
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsServiceError('InvalidParameterException', `${field} must be a string.`);
  return value;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === '') {
    throw new AwsServiceError('InvalidParameterException', `You must provide a value for the ${field} parameter.`);
  }
  return value;
}

export async function startSecretsManager(options: StartSecretsManagerOptions = {}): Promise<SecretsManagerStandIn> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const arnPrefix = `arn:aws:secretsmanager:${region}:${accountId}:secret:`;
  const secrets = new Map<string, Secret>();
  const faults = faultList<SecretsManagerFault>();
  let record: SecretsManagerCall[] = [];

  /** By name, full ARN, or partial ARN (without the 6-character suffix). */
  const find = (id: string | undefined): Secret | undefined => {
    if (id === undefined) return undefined;
    if (!id.startsWith('arn:')) return secrets.get(id);
    if (!id.startsWith(arnPrefix)) return undefined;
    const rest = id.slice(arnPrefix.length);
    for (const secret of secrets.values()) if (secret.arn === id || secret.name === rest) return secret;
    return undefined;
  };
  const mustFind = (id: string): Secret => {
    const secret = find(id);
    if (!secret)
      throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  };

  const sameValue = (version: Version, value: { secretString?: string; secretBinary?: Buffer }) =>
    version.secretString === value.secretString &&
    (version.secretBinary === undefined
      ? value.secretBinary === undefined
      : value.secretBinary !== undefined && version.secretBinary.equals(value.secretBinary));

  /** Adds a version as AWSCURRENT; the previous AWSCURRENT becomes AWSPREVIOUS. Idempotent per versionId. */
  const addVersion = (
    secret: Secret,
    value: { secretString?: string; secretBinary?: Buffer },
    versionId: string | undefined,
  ): Version => {
    const existing = versionId === undefined ? undefined : secret.versions.find((v) => v.versionId === versionId);
    if (existing) {
      if (sameValue(existing, value)) return existing;
      throw new AwsServiceError(
        'ResourceExistsException',
        `You can't modify an existing version, you can only create new versions (VersionId ${versionId}).`,
      );
    }
    const now = Date.now();
    for (const version of secret.versions) {
      version.stages = version.stages.filter((stage) => stage !== 'AWSPREVIOUS');
      if (version.stages.includes('AWSCURRENT')) {
        version.stages = [...version.stages.filter((stage) => stage !== 'AWSCURRENT'), 'AWSPREVIOUS'];
      }
    }
    const version: Version = {
      versionId: versionId ?? randomUUID(),
      ...value,
      createdDate: now,
      stages: ['AWSCURRENT'],
    };
    secret.versions.push(version);
    secret.lastChangedDate = now;
    return version;
  };

  const createSecret = (name: string, description?: string): Secret => {
    if (!NAME_PATTERN.test(name)) {
      throw new AwsServiceError(
        'InvalidParameterException',
        'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!',
      );
    }
    if (secrets.has(name)) {
      throw new AwsServiceError(
        'ResourceExistsException',
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const now = Date.now();
    const secret: Secret = {
      name,
      arn: `${arnPrefix}${name}-${arnSuffix()}`,
      createdDate: now,
      lastChangedDate: now,
      description,
      versions: [],
    };
    secrets.set(name, secret);
    return secret;
  };

  const toStored = (value: SecretValue): { secretString?: string; secretBinary?: Buffer } => {
    if ('secretString' in value && typeof value.secretString === 'string') return { secretString: value.secretString };
    if ('secretBinary' in value && value.secretBinary instanceof Uint8Array) {
      return { secretBinary: Buffer.from(value.secretBinary) };
    }
    throw new TypeError('putSecret needs { secretString: string } or { secretBinary: Uint8Array }.');
  };

  /** SecretString / SecretBinary (base64) from an API request; at most one. */
  const valueFromBody = (
    body: Record<string, unknown>,
  ): { secretString?: string; secretBinary?: Buffer } | undefined => {
    const secretString = optionalString(body, 'SecretString');
    const binary = optionalString(body, 'SecretBinary');
    if (secretString !== undefined && binary !== undefined) {
      throw new AwsServiceError(
        'InvalidParameterException',
        "You can't specify both a binary secret value and a string secret value in the same secret.",
      );
    }
    if (secretString !== undefined) return { secretString };
    if (binary !== undefined) return { secretBinary: Buffer.from(binary, 'base64') };
    return undefined;
  };

  const handlers: Record<string, (body: Record<string, unknown>) => unknown> = {
    CreateSecret(body) {
      const name = requiredString(body, 'Name');
      const value = valueFromBody(body);
      const token = optionalString(body, 'ClientRequestToken');
      const existing = secrets.get(name);
      // The SDK fills ClientRequestToken; a retried CreateSecret with the same token and value succeeds again.
      if (
        existing &&
        token !== undefined &&
        value &&
        existing.versions.some((v) => v.versionId === token && sameValue(v, value))
      ) {
        return { ARN: existing.arn, Name: existing.name, VersionId: token };
      }
      const secret = createSecret(name, optionalString(body, 'Description'));
      if (!value) return { ARN: secret.arn, Name: secret.name };
      const version = addVersion(secret, value, token);
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId };
    },
    PutSecretValue(body) {
      const secret = mustFind(requiredString(body, 'SecretId'));
      const value = valueFromBody(body);
      if (!value) {
        throw new AwsServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
      }
      const version = addVersion(secret, value, optionalString(body, 'ClientRequestToken'));
      return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages] };
    },
    GetSecretValue(body) {
      const secret = mustFind(requiredString(body, 'SecretId'));
      const versionId = optionalString(body, 'VersionId');
      const stage = optionalString(body, 'VersionStage') ?? (versionId === undefined ? 'AWSCURRENT' : undefined);
      const version = secret.versions.find(
        (v) =>
          (versionId === undefined || v.versionId === versionId) && (stage === undefined || v.stages.includes(stage)),
      );
      if (!version) {
        throw new AwsServiceError(
          'ResourceNotFoundException',
          versionId !== undefined
            ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
            : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
      secret.lastAccessedDate = Date.now();
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.versionId,
        ...(version.secretString !== undefined ? { SecretString: version.secretString } : {}),
        ...(version.secretBinary !== undefined ? { SecretBinary: version.secretBinary.toString('base64') } : {}),
        VersionStages: [...version.stages],
        CreatedDate: epochSeconds(version.createdDate),
      };
    },
    DescribeSecret(body) {
      const secret = mustFind(requiredString(body, 'SecretId'));
      return {
        ARN: secret.arn,
        Name: secret.name,
        ...(secret.description !== undefined ? { Description: secret.description } : {}),
        CreatedDate: epochSeconds(secret.createdDate),
        LastChangedDate: epochSeconds(secret.lastChangedDate),
        ...(secret.lastAccessedDate !== undefined
          ? // AWS rounds this to the day.
            { LastAccessedDate: Math.floor(secret.lastAccessedDate / 86_400_000) * 86_400 }
          : {}),
        VersionIdsToStages: Object.fromEntries(
          secret.versions.filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]]),
        ),
      };
    },
    DeleteSecret(body) {
      const secret = mustFind(requiredString(body, 'SecretId'));
      secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(Date.now()) };
    },
  };

  const pickFaults = (action: string, secret: Secret | undefined, rawId: string | undefined) =>
    faults.pick((spec) => {
      if (spec.action !== undefined && spec.action !== action) return false;
      if (spec.secretId === undefined) return true;
      const target = find(spec.secretId);
      return target ? target === secret : spec.secretId === rawId;
    });

  const handle = (request: AwsJsonRequest): AwsJsonResult => {
    const { action, body } = request;
    const rawId =
      typeof body.SecretId === 'string' ? body.SecretId : typeof body.Name === 'string' ? body.Name : undefined;
    const secret = find(rawId);
    const time = Date.now();
    const { delayMs, failure, latency } = pickFaults(action, secret, rawId);
    const log = (status: number, errorType?: string, fault?: SecretsManagerFaultKind) =>
      record.push({
        action,
        secretId: rawId,
        secretName: secret?.name,
        time,
        status,
        ...(errorType !== undefined ? { errorType } : {}),
        ...(fault !== undefined ? { fault } : latency ? { fault: 'latency' as const } : {}),
      });

    if (failure) {
      const kind = failure.kind;
      if (kind === 'drop') {
        log(0, undefined, kind);
        return { kind: 'drop', delayMs };
      }
      if (kind !== 'latency') {
        const error = faultError(kind, action, rawId ?? '');
        log(error.status, error.type, kind);
        return { kind: 'error', ...error, delayMs };
      }
    }
    const handler = Object.hasOwn(handlers, action) ? handlers[action] : undefined;
    if (!handler) {
      const type = 'UnknownOperationException';
      log(400, type);
      return {
        kind: 'error',
        status: 400,
        type,
        message: `The local Secrets Manager stand-in does not implement ${action}.`,
        delayMs,
      };
    }
    try {
      const result = handler(body);
      log(200);
      return { kind: 'ok', body: result, delayMs };
    } catch (error) {
      if (error instanceof AwsServiceError) {
        log(error.status, error.type);
        return { kind: 'error', status: error.status, type: error.type, message: error.message, delayMs };
      }
      log(500, 'InternalServiceError');
      return {
        kind: 'error',
        status: 500,
        type: 'InternalServiceError',
        message: 'The local stand-in failed.',
        delayMs,
      };
    }
  };

  const server = await startAwsJsonServer({
    host: options.host,
    port: options.port,
    targetPrefix: 'secretsmanager',
    jsonVersion: '1.1',
    requireSignature: options.requireSignature ?? true,
    handle,
    onRejected: ({ action, status, type }) =>
      record.push({
        action: action ?? '',
        secretId: undefined,
        secretName: undefined,
        time: Date.now(),
        status,
        errorType: type,
      }),
  });

  const standIn: SecretsManagerStandIn = {
    endpoint: server.endpoint,
    port: server.port,
    region,
    accountId,
    putSecret(name, value, putOptions) {
      const stored = toStored(value);
      const secret = find(name) ?? createSecret(name);
      const version = addVersion(secret, stored, putOptions?.versionId);
      return { arn: secret.arn, name: secret.name, versionId: version.versionId };
    },
    deleteSecret(nameOrArn) {
      const secret = find(nameOrArn);
      return secret ? secrets.delete(secret.name) : false;
    },
    arnOf(nameOrArn) {
      return find(nameOrArn)?.arn;
    },
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    calls() {
      return record.slice();
    },
    getSecretValueCount(secretId) {
      const target = secretId === undefined ? undefined : find(secretId);
      return record.filter(
        (call) =>
          call.action === 'GetSecretValue' &&
          (secretId === undefined ||
            call.secretId === secretId ||
            (target !== undefined && call.secretName === target.name)),
      ).length;
    },
    clearCalls() {
      record = [];
    },
    reset() {
      secrets.clear();
      faults.clear();
      record = [];
    },
    close: () => server.close(),
  };

  for (const [name, value] of Object.entries(options.secrets ?? {})) standIn.putSecret(name, value);
  return standIn;
}
