/**
 * The warm-up at init (lib/warm-up.ts) and ConferenceService.warmUp, with scripted parts: what it asks for,
 * how each part is reported, the bound, and the one log line (without secrets). No timing assertions: the
 * bound is exercised with parts that never settle.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  ConferenceService,
  ConfigurationError,
  CredentialsError,
  loadConfig,
  SecretsManagerCredentials,
  type VoximplantCredentials,
} from '../../lib/index.js';
import { type WarmUpOptions, warmUp } from '../../lib/warm-up.js';

const settled = (outcome: 'ok' | Error | 'never'): Promise<PromiseSettledResult<void>> =>
  outcome === 'never'
    ? new Promise(() => undefined)
    : Promise.resolve(
        outcome === 'ok' ? { status: 'fulfilled', value: undefined } : { status: 'rejected', reason: outcome },
      );

function fake(token: 'ok' | Error | 'never', connection: 'ok' | Error | 'never' | 'none') {
  const logs: Array<{ message: string; extra?: Record<string, unknown> }> = [];
  let signal: AbortSignal | undefined;
  const options: WarmUpOptions = {
    boundMs: 20,
    logger: {
      warn: ((message: string, extra?: Record<string, unknown>) => void logs.push({ message, extra })) as never,
    },
    service: () => ({
      warmUp: (o: { signal?: AbortSignal } = {}) => {
        signal = o.signal;
        return { token: settled(token), connection: connection === 'none' ? undefined : settled(connection) };
      },
    }),
  };
  return { options, logs, signal: () => signal };
}

describe('warmUp (init)', () => {
  it('reports both parts ready and logs nothing', async () => {
    const f = fake('ok', 'ok');
    await expect(warmUp(f.options)).resolves.toEqual({ token: 'ready', connection: 'ready' });
    expect(f.logs).toEqual([]);
    expect(f.signal()?.aborted).toBe(false);
  });

  it('never throws: a failed part is logged once, by code and message for ours, by name and code for others', async () => {
    const leaky = Object.assign(new Error('-----BEGIN PRIVATE KEY----- MIIEv... eyJhbGciOi.x.y'), { code: 'EPROTO' });
    const f = fake(
      new CredentialsError('credentials_unavailable', 'Secret "s" could not be fetched (HTTP 500).'),
      leaky,
    );
    await expect(warmUp(f.options)).resolves.toEqual({ token: 'failed', connection: 'failed' });
    expect(f.logs).toHaveLength(1);
    expect(f.logs[0]).toEqual({
      message: 'warm-up at init incomplete; the first invocation will do the rest',
      extra: {
        token: 'credentials_unavailable: Secret "s" could not be fetched (HTTP 500).',
        connection: 'Error EPROTO',
      },
    });
    expect(JSON.stringify(f.logs)).not.toMatch(/PRIVATE KEY|eyJ/);
  });

  it('gives up at the bound: what is pending is abandoned (aborted) and left to the first invocation', async () => {
    const f = fake('ok', 'never');
    await expect(warmUp(f.options)).resolves.toEqual({ token: 'ready', connection: 'abandoned' });
    expect(f.signal()?.aborted).toBe(true);
    expect(f.logs).toEqual([
      {
        message: 'warm-up at init incomplete; the first invocation will do the rest',
        extra: { connection: 'not finished within 20 ms' },
      },
    ]);
  });

  it('without a connection to pre-open, warms the token only', async () => {
    const f = fake('ok', 'none');
    await expect(warmUp(f.options)).resolves.toEqual({ token: 'ready', connection: 'skipped' });
    expect(f.logs).toEqual([]);
  });

  it('skips, and logs once, when the service cannot even be configured', async () => {
    const logs: unknown[] = [];
    const outcome = await warmUp({
      logger: { warn: ((message: string, extra?: unknown) => void logs.push({ message, extra })) as never },
      service: () => {
        throw new ConfigurationError('VOXIMPLANT_API_URL', 'is not a URL.');
      },
    });
    expect(outcome).toEqual({ token: 'skipped', connection: 'skipped' });
    expect(logs).toEqual([
      {
        message: 'warm-up at init skipped; the first invocation will try again',
        extra: { reason: expect.stringMatching(/^configuration_error: /) },
      },
    ]);
  });
});

describe('ConferenceService.warmUp', () => {
  it('reads the credentials, signs the token and pre-opens the connection; never starts a conference', async () => {
    const calls: string[] = [];
    const key = { keyId: 'k', accountId: 1, versionId: '1' } as unknown as VoximplantCredentials;
    const controller = new AbortController();
    const service = new ConferenceService({
      config: loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's' }),
      credentials: {
        get: async (options) => {
          calls.push(`credentials.get signal=${options?.signal === controller.signal}`);
          return key;
        },
      },
      signer: {
        token: async (credentials) => {
          calls.push(`signer.token ${credentials.keyId}`);
          return 'token';
        },
        invalidate: () => undefined,
      },
      client: {
        startConference: async () => {
          calls.push('startConference');
          throw new Error('must not be called');
        },
        preconnect: async (signal) => {
          calls.push(`preconnect signal=${signal === controller.signal}`);
        },
      },
    });
    const work = service.warmUp({ signal: controller.signal });
    await expect(work.token).resolves.toEqual({ status: 'fulfilled', value: undefined });
    await expect(work.connection).resolves.toEqual({ status: 'fulfilled', value: undefined });
    expect(calls.sort()).toEqual(['credentials.get signal=true', 'preconnect signal=true', 'signer.token k']);
  });

  it('settles each part on its own, never rejecting', async () => {
    const failure = new CredentialsError('credentials_not_found', 'Secret "s" was not found in Secrets Manager.');
    const service = new ConferenceService({
      config: loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's' }),
      credentials: { get: async () => Promise.reject(failure) },
      signer: { token: async () => 'token', invalidate: () => undefined },
      client: { startConference: async () => Promise.reject(new Error('no')) },
    });
    const work = service.warmUp();
    await expect(work.token).resolves.toEqual({ status: 'rejected', reason: failure });
    expect(work.connection).toBeUndefined();
  });
});

describe('the secret read under a warm-up signal', () => {
  it('is abandoned when the signal aborts, and the next read starts afresh', async () => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const secret = JSON.stringify({
      account_id: 1,
      account_email: 'a@b.invalid',
      key_id: 'k',
      private_key: privateKey,
    });
    const signals: (AbortSignal | undefined)[] = [];
    const client = {
      // The first read hangs until aborted (as a frozen one would); later ones answer.
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) => {
        signals.push(options?.abortSignal);
        if (signals.length > 1) return Promise.resolve({ SecretString: secret, VersionId: 'v1' });
        return new Promise((_, reject) =>
          options?.abortSignal?.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          ),
        );
      },
    };
    const provider = new SecretsManagerCredentials({ secretId: 's', ttlMs: 60_000, client: client as never });
    const controller = new AbortController();
    const warm = provider.get({ signal: controller.signal });
    controller.abort();
    await expect(warm).rejects.toMatchObject({ code: 'credentials_unavailable' });
    await expect(provider.get()).resolves.toMatchObject({ keyId: 'k' });
    expect(signals).toEqual([controller.signal, undefined]);
  });
});
