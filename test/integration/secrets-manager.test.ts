/** The Secrets Manager stand-in, driven by the real SecretsManagerClient over loopback HTTP. */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type SecretsManagerFaultKind,
  type SecretsManagerStandIn,
  startSecretsManager,
} from '../../local/secrets-manager.js';
import { setAwsTestEnv } from '../helpers/aws-env.js';
import { generateCredentials } from '../helpers/keys.js';

let sm: SecretsManagerStandIn;
let restoreEnv: () => void;
const clients: SecretsManagerClient[] = [];

function client(config: SecretsManagerClientConfig = {}): SecretsManagerClient {
  const created = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    endpoint: sm.endpoint,
    ...config,
  });
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  // Silences the SDK's Node 20 warning; the tests pass endpoint and credentials explicitly where it matters.
  restoreEnv = setAwsTestEnv();
  sm = await startSecretsManager();
});

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  sm.reset();
});

afterAll(async () => {
  await sm.close();
  restoreEnv();
});

describe('GetSecretValue', () => {
  it('finds a secret by name, by full ARN and by partial ARN', async () => {
    const { secretString } = generateCredentials();
    const put = sm.putSecret('voxconf/credentials', { secretString });
    expect(put.arn).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:voxconf\/credentials-[A-Za-z0-9]{6}$/,
    );
    const sdk = client();

    for (const id of [put.name, put.arn, put.arn.slice(0, -7)]) {
      const out = await sdk.send(new GetSecretValueCommand({ SecretId: id }));
      expect(out).toMatchObject({
        ARN: put.arn,
        Name: 'voxconf/credentials',
        VersionId: put.versionId,
        SecretString: secretString,
        VersionStages: ['AWSCURRENT'],
      });
      expect(out.CreatedDate).toBeInstanceOf(Date);
      expect(Math.abs(out.CreatedDate!.getTime() - Date.now())).toBeLessThan(60_000);
      expect(out.SecretBinary).toBeUndefined();
    }
    expect(sm.getSecretValueCount()).toBe(3);
    expect(sm.getSecretValueCount('voxconf/credentials')).toBe(3);
    expect(sm.getSecretValueCount(put.arn)).toBe(3);
    expect(sm.getSecretValueCount('other')).toBe(0);
  });

  it('is reached through AWS_ENDPOINT_URL_SECRETS_MANAGER with no client configuration', async () => {
    sm.putSecret('by-env', { secretString: 'value' });
    const restore = setAwsTestEnv({ secretsManager: sm.endpoint });
    try {
      const sdk = new SecretsManagerClient({});
      clients.push(sdk);
      const out = await sdk.send(new GetSecretValueCommand({ SecretId: 'by-env' }));
      expect(out.SecretString).toBe('value');
    } finally {
      restore();
    }
  });

  it('returns a new value and VersionId after rotation, and the old one as AWSPREVIOUS', async () => {
    const first = sm.putSecret('rotating', { secretString: 'one' });
    const sdk = client();
    expect((await sdk.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('one');

    const second = sm.putSecret('rotating', { secretString: 'two' });
    expect(second.arn).toBe(first.arn);
    expect(second.versionId).not.toBe(first.versionId);
    const current = await sdk.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    expect(current).toMatchObject({ SecretString: 'two', VersionId: second.versionId, VersionStages: ['AWSCURRENT'] });

    const previous = await sdk.send(new GetSecretValueCommand({ SecretId: first.arn, VersionStage: 'AWSPREVIOUS' }));
    expect(previous).toMatchObject({ SecretString: 'one', VersionId: first.versionId, VersionStages: ['AWSPREVIOUS'] });
    const byVersion = await sdk.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: first.versionId }));
    expect(byVersion.SecretString).toBe('one');
  });

  it('answers ResourceNotFoundException (400) for an unknown secret', async () => {
    const error = await failure(client().send(new GetSecretValueCommand({ SecretId: 'missing' })));
    expect(error.name).toBe('ResourceNotFoundException');
    expect(error.message).toBe("Secrets Manager can't find the specified secret.");
    expect(error.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
    expect(sm.calls()).toEqual([
      expect.objectContaining({
        action: 'GetSecretValue',
        secretId: 'missing',
        status: 400,
        errorType: 'ResourceNotFoundException',
      }),
    ]);
  });

  it('returns SecretBinary and no SecretString for a binary secret', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    sm.putSecret('binary', { secretBinary: bytes });
    const out = await client().send(new GetSecretValueCommand({ SecretId: 'binary' }));
    expect(out.SecretString).toBeUndefined();
    expect(out.SecretBinary).toBeInstanceOf(Uint8Array);
    expect([...out.SecretBinary!]).toEqual([...bytes]);
  });
});

describe('API over HTTP', () => {
  it('CreateSecret, PutSecretValue and DescribeSecret', async () => {
    const sdk = client();
    const created = await sdk.send(
      new CreateSecretCommand({ Name: 'made/by-api', SecretString: 'v1', Description: 'd' }),
    );
    expect(created.ARN).toMatch(/:secret:made\/by-api-[A-Za-z0-9]{6}$/);
    expect(created.VersionId).toEqual(expect.any(String));

    const duplicate = await failure(sdk.send(new CreateSecretCommand({ Name: 'made/by-api', SecretString: 'x' })));
    expect(duplicate.name).toBe('ResourceExistsException');

    const put = await sdk.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'v2' }));
    expect(put).toMatchObject({ ARN: created.ARN, VersionStages: ['AWSCURRENT'] });
    expect(put.VersionId).not.toBe(created.VersionId);

    const described = await sdk.send(new DescribeSecretCommand({ SecretId: 'made/by-api' }));
    expect(described).toMatchObject({ ARN: created.ARN, Name: 'made/by-api', Description: 'd' });
    expect(described.VersionIdsToStages).toEqual({
      [created.VersionId!]: ['AWSPREVIOUS'],
      [put.VersionId!]: ['AWSCURRENT'],
    });
    expect((await sdk.send(new GetSecretValueCommand({ SecretId: 'made/by-api' }))).SecretString).toBe('v2');
    expect(sm.calls().map((c) => c.action)).toEqual([
      'CreateSecret',
      'CreateSecret',
      'PutSecretValue',
      'DescribeSecret',
      'GetSecretValue',
    ]);
  });

  it('never keeps secret values in the call record', async () => {
    sm.putSecret('quiet', { secretString: 'do-not-record-me' });
    const sdk = client();
    await sdk.send(new GetSecretValueCommand({ SecretId: 'quiet' }));
    await sdk.send(new PutSecretValueCommand({ SecretId: 'quiet', SecretString: 'nor-me' }));
    const recorded = JSON.stringify(sm.calls());
    expect(recorded).not.toContain('do-not-record-me');
    expect(recorded).not.toContain('nor-me');
  });

  it('rejects unsigned requests and foreign targets like AWS does', async () => {
    const unsigned = await fetch(`${sm.endpoint}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      body: JSON.stringify({ SecretId: 'x' }),
    });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });

    const foreign = await fetch(`${sm.endpoint}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'AmazonSQS.SendMessage', authorization: 'AWS4-HMAC-SHA256 Credential=test/x' },
      body: '{}',
    });
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});

describe('fault injection (default SDK retries: 3 attempts for throttling, 5xx and dropped connections)', () => {
  const cases: Array<{
    kind: Exclude<SecretsManagerFaultKind, 'latency'>;
    name: string;
    status: number | undefined;
    attempts: number;
  }> = [
    { kind: 'throttle', name: 'ThrottlingException', status: 400, attempts: 3 },
    { kind: 'server_error', name: 'InternalServiceError', status: 500, attempts: 3 },
    { kind: 'access_denied', name: 'AccessDeniedException', status: 400, attempts: 1 },
    { kind: 'not_found', name: 'ResourceNotFoundException', status: 400, attempts: 1 },
    { kind: 'decryption_failure', name: 'DecryptionFailure', status: 400, attempts: 1 },
  ];

  it.each(cases)(
    '$kind surfaces as $name after $attempts attempt(s)',
    async ({ kind, name, status, attempts }) => {
      sm.putSecret('faulty', { secretString: 'value' });
      sm.fault({ kind });
      const error = await failure(client().send(new GetSecretValueCommand({ SecretId: 'faulty' })));
      expect(error.name).toBe(name);
      expect(error.$metadata).toMatchObject({ httpStatusCode: status, attempts });
      expect(sm.getSecretValueCount('faulty')).toBe(attempts);
      expect(sm.calls().every((c) => c.fault === kind)).toBe(true);
    },
    20_000,
  );

  it('drop destroys the socket: the SDK retries and ends with "socket hang up"', async () => {
    sm.putSecret('faulty', { secretString: 'value' });
    sm.fault({ kind: 'drop' });
    const error = await failure(client().send(new GetSecretValueCommand({ SecretId: 'faulty' })));
    // Outside jest this is a TimeoutError with code ECONNRESET. Inside jest's VM context Node's error is not
    // `instanceof Error` of the test realm, so the SDK wraps it: "AWS SDK error wrapper for TimeoutError: socket
    // hang up", with no code. Match the message only.
    expect(error.message).toMatch(/socket hang up/);
    expect(error.$metadata).toMatchObject({ attempts: 3 });
    expect(sm.getSecretValueCount()).toBe(3);
    expect(sm.calls().map((c) => c.status)).toEqual([0, 0, 0]);
  }, 20_000);

  it('times: a fault used up after one request lets the SDK retry succeed', async () => {
    sm.putSecret('flaky', { secretString: 'value' });
    const handle = sm.fault({ kind: 'server_error', times: 1 });
    const out = await client().send(new GetSecretValueCommand({ SecretId: 'flaky' }));
    expect(out.SecretString).toBe('value');
    expect(out.$metadata.attempts).toBe(2);
    expect(handle.hits()).toBe(1);
    expect(sm.getSecretValueCount('flaky')).toBe(2);
  });

  it('forMs: a fault ends after its time window', async () => {
    sm.putSecret('window', { secretString: 'value' });
    sm.fault({ kind: 'access_denied', forMs: 150 });
    const sdk = client();
    expect((await failure(sdk.send(new GetSecretValueCommand({ SecretId: 'window' })))).name).toBe(
      'AccessDeniedException',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await sdk.send(new GetSecretValueCommand({ SecretId: 'window' }))).SecretString).toBe('value');
  });

  it('latency delays the normal answer; a client requestTimeout (with throwOnRequestTimeout) makes it fail', async () => {
    sm.putSecret('slow', { secretString: 'value' });
    sm.fault({ kind: 'latency', latencyMs: 300, times: 1 });
    const started = Date.now();
    const out = await client().send(new GetSecretValueCommand({ SecretId: 'slow' }));
    expect(out.SecretString).toBe('value');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    sm.fault({ kind: 'latency', latencyMs: 2_000 });
    // @smithy/node-http-handler 4.x only warns when requestTimeout passes unless throwOnRequestTimeout is true.
    const impatient = client({ maxAttempts: 1, requestHandler: { requestTimeout: 100, throwOnRequestTimeout: true } });
    const started2 = Date.now();
    const error = await failure(impatient.send(new GetSecretValueCommand({ SecretId: 'slow' })));
    expect(error.message).toMatch(/timeout|timed out/i);
    expect(Date.now() - started2).toBeLessThan(1_500);
  });

  it('action and secretId filters limit a fault; clearFaults removes all', async () => {
    sm.putSecret('a', { secretString: 'A' });
    sm.putSecret('b', { secretString: 'B' });
    sm.fault({ kind: 'decryption_failure', secretId: 'a', action: 'GetSecretValue' });
    const sdk = client();
    expect((await failure(sdk.send(new GetSecretValueCommand({ SecretId: 'a' })))).name).toBe('DecryptionFailure');
    expect((await sdk.send(new GetSecretValueCommand({ SecretId: 'b' }))).SecretString).toBe('B');
    expect((await sdk.send(new DescribeSecretCommand({ SecretId: 'a' }))).Name).toBe('a');
    sm.clearFaults();
    expect((await sdk.send(new GetSecretValueCommand({ SecretId: 'a' }))).SecretString).toBe('A');
  });
});

describe('close', () => {
  it('closes kept-alive connections and a pending delayed answer', async () => {
    const own = await startSecretsManager();
    own.putSecret('s', { secretString: 'v' });
    const sdk = client({ endpoint: own.endpoint, maxAttempts: 1 });
    await sdk.send(new GetSecretValueCommand({ SecretId: 's' }));
    own.fault({ kind: 'latency', latencyMs: 60_000 });
    const pending = failure(sdk.send(new GetSecretValueCommand({ SecretId: 's' })));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await pending).message).toMatch(/socket hang up|ECONNRESET/);
    const refused = await failure(sdk.send(new GetSecretValueCommand({ SecretId: 's' })));
    expect(refused.message).toMatch(/ECONNREFUSED/);
  });
});
