import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { jwtVerify, SignJWT } from 'jose';
import { MIN_FORCED_REFRESH_INTERVAL_MS } from '../../lib/credentials.js';
import { CredentialsError, parseCredentials, SecretsManagerCredentials } from '../../lib/index.js';

const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const pemBody = rsa.privateKey.split('\n')[1]!;
const good = { account_id: 42, account_email: 'ops@example.invalid', key_id: 'kid-1', private_key: rsa.privateKey };

async function parseFailure(secretString: string | undefined): Promise<CredentialsError> {
  try {
    await parseCredentials('prod/voxconf', secretString);
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialsError);
    const message = (error as Error).message;
    expect(message).toContain('prod/voxconf');
    expect(message).not.toContain(pemBody);
    expect(JSON.stringify(error)).not.toContain(pemBody);
    return error as CredentialsError;
  }
  throw new Error('parse passed');
}

describe('parseCredentials', () => {
  it('accepts the same key as PKCS#1 ("BEGIN RSA PRIVATE KEY"), as converting tools write it', async () => {
    const pkcs1 = createPrivateKey(rsa.privateKey).export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(pkcs1).toContain('-----BEGIN RSA PRIVATE KEY-----');
    const creds = await parseCredentials('s', JSON.stringify({ ...good, private_key: pkcs1 }), 'v1');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).sign(creds.privateKey);
    await expect(jwtVerify(token, createPublicKey(rsa.publicKey))).resolves.toBeDefined();
  });

  it('reads the four fields and imports the key', async () => {
    const creds = await parseCredentials('s', JSON.stringify(good), 'v7');
    expect(creds).toMatchObject({
      accountId: 42,
      accountEmail: 'ops@example.invalid',
      keyId: 'kid-1',
      versionId: 'v7',
    });
    expect(creds.privateKey.type).toBe('private');
    expect(JSON.stringify(creds)).not.toContain(pemBody);
  });

  it.each([
    ['no SecretString (SecretBinary)', undefined, 'SecretBinary'],
    ['not JSON', `{"private_key": "${pemBody}"`, 'not JSON'],
    ['an array', '[]', 'not a JSON object'],
    ['account_id as a string', JSON.stringify({ ...good, account_id: '42' }), 'account_id'],
    ['no account_email', JSON.stringify({ ...good, account_email: undefined }), 'account_email'],
    ['no key_id', JSON.stringify({ ...good, key_id: '' }), 'key_id'],
    [
      'an EC key',
      JSON.stringify({
        ...good,
        private_key: generateKeyPairSync('ec', {
          namedCurve: 'P-256',
          privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
          publicKeyEncoding: { type: 'spki', format: 'pem' },
        }).privateKey,
      }),
      'RSA',
    ],
    [
      'an encrypted key',
      JSON.stringify({
        ...good,
        private_key: createPrivateKey(rsa.privateKey)
          .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' })
          .toString(),
      }),
      'PKCS#8',
    ],
    [
      'a damaged PEM',
      JSON.stringify({ ...good, private_key: rsa.privateKey.replace(pemBody, `AAAA${pemBody.slice(8)}`) }),
      'RSA',
    ],
  ])('refuses %s with a secret-free message', async (_label, secret, words) => {
    const error = await parseFailure(secret);
    expect(error.code).toBe('credentials_invalid');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(words);
  });
});

describe('SecretsManagerCredentials cache', () => {
  function fakeClient(values: string[]) {
    let calls = 0;
    const client = {
      send: async () => {
        const value = values[Math.min(calls, values.length - 1)];
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { SecretString: value, VersionId: `v${calls}` };
      },
    };
    return { client: client as never, calls: () => calls };
  }

  it('shares one in-flight fetch among concurrent callers and caches for the TTL', async () => {
    let now = 0;
    const fake = fakeClient([JSON.stringify(good)]);
    const provider = new SecretsManagerCredentials({
      secretId: 's',
      ttlMs: 60_000,
      client: fake.client,
      now: () => now,
    });
    const all = await Promise.all(Array.from({ length: 10 }, () => provider.get()));
    expect(new Set(all).size).toBe(1);
    expect(fake.calls()).toBe(1);
    now = 59_999;
    await provider.get();
    expect(fake.calls()).toBe(1);
    now = 60_000;
    await provider.get();
    expect(fake.calls()).toBe(2);
  });

  it('keeps the imported credentials when the TTL refresh finds the same version', async () => {
    let now = 0;
    const client = { send: async () => ({ SecretString: JSON.stringify(good), VersionId: 'same' }) };
    const provider = new SecretsManagerCredentials({
      secretId: 's',
      ttlMs: 1_000,
      client: client as never,
      now: () => now,
    });
    const first = await provider.get();
    now = 5_000;
    expect(await provider.get()).toBe(first);
  });

  it('picks up a rotated key on forced refresh, once for many callers that saw the old one', async () => {
    let now = 1_000;
    const rotated = { ...good, key_id: 'kid-2' };
    const fake = fakeClient([JSON.stringify(good), JSON.stringify(rotated)]);
    const provider = new SecretsManagerCredentials({
      secretId: 's',
      ttlMs: 60_000,
      client: fake.client,
      now: () => now,
    });
    await provider.get();
    const obtainedAt = now;
    now += 100;
    const first = await provider.get({ forceRefresh: true, ifFetchedBefore: obtainedAt });
    expect(first.keyId).toBe('kid-2');
    // A second caller that obtained the old key at the same time finds it already refreshed.
    const second = await provider.get({ forceRefresh: true, ifFetchedBefore: obtainedAt });
    expect(second).toBe(first);
    expect(fake.calls()).toBe(2);
  });

  it('spaces forced refreshes by MIN_FORCED_REFRESH_INTERVAL_MS (1 s): a sooner one waits for the next slot', async () => {
    expect(MIN_FORCED_REFRESH_INTERVAL_MS).toBe(1_000);
    let now = 1_000;
    const sleeps: number[] = [];
    const fake = fakeClient([JSON.stringify(good)]);
    const provider = new SecretsManagerCredentials({
      secretId: 's',
      ttlMs: 600_000,
      client: fake.client,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    await provider.get();
    now += 100;
    await provider.get({ forceRefresh: true, ifFetchedBefore: now - 1 });
    expect(fake.calls()).toBe(2);
    // Refused again 200 ms later, by several requests at once: they wait for the slot and share one read.
    now += 200;
    await Promise.all(Array.from({ length: 5 }, () => provider.get({ forceRefresh: true, ifFetchedBefore: now - 1 })));
    expect(sleeps).toEqual([800]);
    expect(fake.calls()).toBe(3);
    // A plain read never waits for a slot: it takes the cache.
    await provider.get();
    expect(fake.calls()).toBe(3);
  });

  it('a refresh asked for after the secret changed returns the new key, even right after a refresh', async () => {
    let now = 1_000;
    const values = [JSON.stringify(good), JSON.stringify(good)];
    let calls = 0;
    const client = {
      send: async () => {
        const value = values[Math.min(calls, values.length - 1)];
        calls++;
        return { SecretString: value, VersionId: `v${calls}` };
      },
    };
    const provider = new SecretsManagerCredentials({
      secretId: 's',
      ttlMs: 600_000,
      client: client as never,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await provider.get();
    now += 50;
    // The old key was revoked: the first forced refresh still finds it in Secrets Manager.
    expect((await provider.get({ forceRefresh: true, ifFetchedBefore: now - 1 })).keyId).toBe('kid-1');
    // The new key arrives 100 ms later, and a request refused right then gets it.
    values.push(JSON.stringify({ ...good, key_id: 'kid-2' }));
    now += 100;
    expect((await provider.get({ forceRefresh: true, ifFetchedBefore: now - 1 })).keyId).toBe('kid-2');
    expect(calls).toBe(3);
  });

  it('classifies Secrets Manager failures and names the secret', async () => {
    const failing = (name: string, status?: number) =>
      new SecretsManagerCredentials({
        secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:vox-AbCdEf',
        ttlMs: 1,
        client: {
          send: async () => {
            throw Object.assign(new Error('boom'), { name, $metadata: { httpStatusCode: status } });
          },
        } as never,
      });
    const cases: Array<[string, number | undefined, string, boolean]> = [
      ['ResourceNotFoundException', 400, 'credentials_not_found', false],
      ['AccessDeniedException', 400, 'credentials_access_denied', false],
      ['DecryptionFailure', 400, 'credentials_access_denied', false],
      ['ThrottlingException', 400, 'credentials_unavailable', true],
      ['InternalServiceError', 500, 'credentials_unavailable', true],
    ];
    for (const [name, status, code, retryable] of cases) {
      const error = (await failing(name, status)
        .get()
        .catch((e: unknown) => e)) as CredentialsError;
      expect(error).toMatchObject({ code, retryable });
      expect(error.message).toContain('arn:aws:secretsmanager:eu-west-1:1:secret:vox-AbCdEf');
    }
  });
});
