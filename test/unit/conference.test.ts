import { describe, expect, it } from '@jest/globals';
import {
  ConferenceService,
  CredentialsError,
  isRetryableBy,
  loadConfig,
  UpstreamError,
  type VoxconfError,
  VoximplantApiError,
  type VoximplantCredentials,
} from '../../lib/index.js';
import type { StartConferenceResponse } from '../../lib/voximplant-client.js';

const session: StartConferenceResponse = {
  media_session_access_url: 'http://media/1',
  media_session_access_secure_url: 'https://media/1',
  call_session_history_id: 1,
};

/** A scripted client: each call takes the next outcome. */
function harness(outcomes: Array<StartConferenceResponse | Error>, env: Record<string, string> = {}) {
  let now = 1_000_000;
  const waits: number[] = [];
  const calls: Array<{ token: string; timeoutMs: number }> = [];
  const events: string[] = [];
  let version = 0;
  const credentials = {
    get: async (options: { forceRefresh?: boolean } = {}) => {
      if (options.forceRefresh || version === 0) version++;
      return { keyId: `k${version}`, accountId: 1, versionId: String(version) } as unknown as VoximplantCredentials;
    },
  };
  const signer = {
    token: async (c: VoximplantCredentials) => `token-${c.keyId}`,
    invalidate: () => void events.push('invalidate'),
  };
  const client = {
    startConference: async (_request: unknown, token: string, options: { timeoutMs: number }) => {
      calls.push({ token, timeoutMs: options.timeoutMs });
      now += 10;
      const next = outcomes.shift();
      if (next === undefined) throw new Error('no more outcomes');
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const service = new ConferenceService({
    config: loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's', VOXIMPLANT_MAX_ATTEMPTS: '3', ...env }),
    credentials,
    signer,
    client,
    now: () => now,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    metrics: {
      conferenceStarted: () => events.push('started'),
      voximplantError: (code) => events.push(`vox-${code}`),
      failed: (code) => events.push(`failed-${code}`),
      retry: () => events.push('retry'),
      credentialsRefreshed: () => events.push('refresh'),
      upstreamLatency: () => undefined,
    },
  });
  return { service, calls, waits, events, now: () => now };
}

const request = { conference_name: 'room', rule_id: 1 };
const unavailable = () => new UpstreamError('voximplant_unavailable', 'HTTP 503', { httpStatus: 503 });

describe('ConferenceService', () => {
  it('returns the session with the conference name', async () => {
    const { service } = harness([session]);
    await expect(service.start(request)).resolves.toEqual({ conference_name: 'room', ...session });
  });

  it('retries retryable failures with jittered backoff, then succeeds', async () => {
    const { service, calls, waits, events } = harness([
      unavailable(),
      new VoximplantApiError('voximplant_unavailable', 162, 'try later..'),
      session,
    ]);
    await expect(service.start(request)).resolves.toMatchObject({ call_session_history_id: 1 });
    expect(calls).toHaveLength(3);
    expect(waits).toEqual([50, 100]);
    expect(events.filter((e) => e === 'retry')).toHaveLength(2);
    expect(events).toContain('vox-162');
  });

  it('waits Retry-After plus a jitter of up to half of it, so throttled callers spread', async () => {
    const throttled = () => new UpstreamError('voximplant_throttled', 'HTTP 429', { retryAfterSeconds: 1 });
    const { service, waits } = harness([throttled(), throttled(), session]);
    await expect(service.start(request)).resolves.toMatchObject({ conference_name: 'room' });
    // random() is 0.5: 1000 ms + 0.5 * 500 ms.
    expect(waits).toEqual([1250, 1250]);
  });

  it('never retries a permanent failure', async () => {
    const { service, calls } = harness([
      new VoximplantApiError('voximplant_rejected_request', 147, 'bad rule'),
      session,
    ]);
    await expect(service.start(request)).rejects.toMatchObject({
      code: 'voximplant_rejected_request',
      voximplantCode: 147,
    });
    expect(calls).toHaveLength(1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const { service, calls } = harness([unavailable(), unavailable(), unavailable(), session]);
    await expect(service.start(request)).rejects.toMatchObject({ code: 'voximplant_unavailable' });
    expect(calls).toHaveLength(3);
  });

  it('stops retrying when the deadline is near, and bounds each attempt by it', async () => {
    const { service, calls, now } = harness([unavailable(), unavailable(), session]);
    const deadline = now() + 300;
    await expect(service.start(request, { deadline })).rejects.toMatchObject({ code: 'voximplant_unavailable' });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.timeoutMs).toBe(300);
  });

  it('refreshes credentials once on code 100 and retries with the new key', async () => {
    const { service, calls, events } = harness([
      new VoximplantApiError('voximplant_authorization_failed', 100, 'Authorization failed'),
      session,
    ]);
    await expect(service.start(request)).resolves.toMatchObject({ conference_name: 'room' });
    expect(calls.map((c) => c.token)).toEqual(['token-k1', 'token-k2']);
    expect(events).toEqual(expect.arrayContaining(['refresh', 'invalidate']));
  });

  it('fails with 100 when the refreshed key is refused too (no loop)', async () => {
    const auth = () => new VoximplantApiError('voximplant_authorization_failed', 100, 'Authorization failed');
    const { service, calls } = harness([auth(), auth(), session]);
    await expect(service.start(request)).rejects.toMatchObject({
      code: 'voximplant_authorization_failed',
      retryable: false,
    });
    expect(calls).toHaveLength(2);
  });

  it('does not retry a credentials failure itself: the SDK already did, and the trigger may', async () => {
    let reads = 0;
    const service = new ConferenceService({
      config: loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's', VOXIMPLANT_MAX_ATTEMPTS: '3' }),
      credentials: {
        get: async () => {
          reads++;
          throw new CredentialsError('credentials_unavailable', 'throttled');
        },
      },
      signer: { token: async () => 't', invalidate: () => undefined },
      client: { startConference: async () => session },
      sleep: async () => undefined,
    });
    const error = await service.start(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'credentials_unavailable', retryable: true });
    expect(isRetryableBy(error as VoxconfError, 'queue')).toBe(true);
    expect(isRetryableBy(error as VoxconfError, 'schedule')).toBe(true);
    expect(reads).toBe(1);
  });

  it('answers by the deadline when Secrets Manager hangs, with a retryable error', async () => {
    const service = new ConferenceService({
      config: loadConfig({ VOXIMPLANT_CREDENTIALS_SECRET_ID: 's' }),
      credentials: { get: () => new Promise(() => undefined) },
      signer: { token: async () => 't', invalidate: () => undefined },
      client: { startConference: async () => session },
    });
    const started = Date.now();
    await expect(service.start(request, { deadline: Date.now() + 100 })).rejects.toMatchObject({
      code: 'credentials_unavailable',
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('refuses a rule outside the allow-list before any call', async () => {
    const { service, calls } = harness([session], { VOXIMPLANT_ALLOWED_RULE_IDS: '5,6' });
    await expect(service.start(request)).rejects.toMatchObject({ code: 'rule_not_allowed', field: 'rule_id' });
    expect(calls).toHaveLength(0);
  });

  it('refuses an invalid request before any call', async () => {
    const { service, calls, events } = harness([session]);
    await expect(service.start({ conference_name: '' })).rejects.toMatchObject({ code: 'invalid_request' });
    expect(calls).toHaveLength(0);
    expect(events).toEqual(['failed-invalid_request']);
  });
});
