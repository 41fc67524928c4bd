/** The core end to end on loopback: real SecretsManagerClient, real HTTP to the emulator. */
import { createPrivateKey } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { VoxconfError } from '../../lib/index.js';
import { registerGeneratedSecret } from '../../local/secret-register.js';
import { type CoreFixture, SECRET_NAME, startCoreFixture } from '../helpers/fixture.js';
import { countSignings } from '../helpers/signings.js';

let fx: CoreFixture;

beforeAll(async () => {
  fx = await startCoreFixture();
});
afterAll(async () => {
  await fx.close();
});
afterEach(() => {
  fx.emulator.clearFaults();
  fx.emulator.setLatency(0);
  fx.secrets.clearFaults();
});

async function failure(promise: Promise<unknown>): Promise<VoxconfError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VoxconfError);
    return error as VoxconfError;
  }
  throw new Error('expected a failure');
}

const lastRequest = () => fx.emulator.requests().at(-1)!;

describe('start or join a conference', () => {
  it('starts a conference and sends what the API expects', async () => {
    const service = fx.service();
    const result = await service.start({ conference_name: 'core-start', rule_id: fx.account.ruleId });
    expect(result.conference_name).toBe('core-start');
    expect(result.media_session_access_url).toMatch(/^http:\/\//);
    // The emulator runs without TLS here, so its "secure" URL is http (local/voximplant-emulator/README.md).
    expect(result.media_session_access_secure_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/media\//);
    expect(typeof result.call_session_history_id).toBe('number');
    const request = lastRequest();
    expect(request).toMatchObject({
      method: 'POST',
      path: '/platform_api/StartConference',
      bodyKind: 'urlencoded',
      status: 200,
    });
    expect(request.contentType).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(request.auth).toMatchObject({
      outcome: 'ok',
      kid: fx.account.keyId,
      iss: fx.account.accountId,
      alg: 'RS256',
    });
    const { iat, exp } = request.auth as { iat: number; exp: number };
    expect(exp - iat).toBeLessThanOrEqual(3600);
    expect(iat).toBeLessThan(Date.now() / 1000);
  });

  it("signs with a key stored as PKCS#1 (converted by a user's tooling), and Voximplant accepts it", async () => {
    const pkcs1 = createPrivateKey(fx.account.credentials.private_key)
      .export({ type: 'pkcs1', format: 'pem' })
      .toString();
    registerGeneratedSecret(pkcs1);
    const secretId = 'voxconf/test/credentials-pkcs1';
    fx.secrets.putSecret(secretId, { secretString: JSON.stringify({ ...fx.account.credentials, private_key: pkcs1 }) });
    const service = fx.service({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: secretId } });
    const result = await service.start({ conference_name: 'core-pkcs1', rule_id: fx.account.ruleId });
    expect(result.conference_name).toBe('core-pkcs1');
    expect(lastRequest().auth).toMatchObject({ outcome: 'ok', kid: fx.account.keyId });
  });

  it('joins the running session when the same name is used again', async () => {
    const service = fx.service();
    const first = await service.start({ conference_name: 'core-join', rule_id: fx.account.ruleId });
    const second = await service.start({ conference_name: 'core-join', rule_id: fx.account.ruleId });
    expect(second).toEqual(first);
    const conference = fx.emulator.conferences().find((c) => c.name === 'core-join')!;
    expect(conference.joinCount).toBe(1);
  });

  it('delivers ü / & = spaces and emoji intact in the name and the custom data', async () => {
    const name = 'demo room/ü&=+%20🎉';
    const custom = { topic: 'Grüße & more = 100%', emoji: '🎥' };
    await fx
      .service()
      .start({ conference_name: name, rule_id: fx.account.ruleId, script_custom_data: custom, user_name: 'host ü' });
    expect(lastRequest().params).toMatchObject({
      conference_name: name,
      script_custom_data: JSON.stringify(custom),
      user_name: 'host ü',
      rule_id: String(fx.account.ruleId),
    });
  });

  it('accepts a 49-code-point name and refuses 50 before any call', async () => {
    const service = fx.service();
    const ok = '🎉'.repeat(49);
    await expect(service.start({ conference_name: ok, rule_id: fx.account.ruleId })).resolves.toMatchObject({
      conference_name: ok,
    });
    expect(lastRequest().params.conference_name).toBe(ok);
    const before = fx.emulator.stats().requests;
    const error = await failure(service.start({ conference_name: '🎉'.repeat(50), rule_id: fx.account.ruleId }));
    expect(error).toMatchObject({ code: 'invalid_request', field: 'conference_name' });
    expect(fx.emulator.stats().requests).toBe(before);
  });

  it('signs once and fetches the secret once for concurrent cold callers', async () => {
    fx.secrets.clearCalls();
    const signings = countSignings();
    const { TokenSigner } = await import('../../lib/index.js');
    const signer = new TokenSigner({
      lifetimeSeconds: 600,
      backdateSeconds: 10,
      refreshMarginSeconds: 60,
    });
    const service = fx.service({ signer });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        service.start({ conference_name: `core-cold-${i}`, rule_id: fx.account.ruleId }),
      ),
    );
    expect(results).toHaveLength(10);
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    expect(signings()).toBe(1);
  });
});

describe('Voximplant failures', () => {
  it.each([
    [147, 'voximplant_rejected_request', false],
    [375, 'voximplant_rejected_request', false],
    [127, 'voximplant_account_error', false],
    [104, 'voximplant_account_error', false],
  ])('code %i is %s and not retried', async (code, kind, retryable) => {
    const before = fx.emulator.stats().requests;
    fx.emulator.fault({ type: 'error', code, times: 5 });
    const error = await failure(fx.service().start({ conference_name: `core-${code}`, rule_id: fx.account.ruleId }));
    expect(error).toMatchObject({ code: kind, retryable, voximplantCode: code });
    expect(fx.emulator.stats().requests - before).toBe(1);
  });

  it('refuses an unknown rule with 147 from the emulator itself', async () => {
    const error = await failure(fx.service().start({ conference_name: 'core-rule', rule_id: 999_999 }));
    expect(error).toMatchObject({ code: 'voximplant_rejected_request', voximplantCode: 147 });
  });

  it.each([
    ['transient code 162', { type: 'error', code: 162, times: 2 }],
    ['HTTP 503', { type: 'http', status: 503, times: 2 }],
    ['HTTP 429', { type: 'http', status: 429, times: 1 }],
    ['a non-JSON 200', { type: 'raw', status: 200, body: '<html>gateway</html>', times: 1 }],
    ['a dropped connection', { type: 'drop', times: 1 }],
    ['a connection dropped mid-response', { type: 'drop-mid-response', times: 1 }],
  ])('retries %s and then succeeds', async (_label, spec) => {
    const before = fx.emulator.stats().requests;
    fx.emulator.fault(spec as never);
    const result = await fx.service().start({ conference_name: `core-retry-${_label}`, rule_id: fx.account.ruleId });
    expect(result.call_session_history_id).toBeGreaterThan(0);
    expect(fx.emulator.stats().requests - before).toBe((spec as { times: number }).times + 1);
  });

  it('spreads the retries of concurrent throttled requests (Retry-After: 1 plus jitter)', async () => {
    const n = 40;
    const service = fx.service();
    await service.start({ conference_name: 'core-spread-warm', rule_id: fx.account.ruleId });
    fx.emulator.fault({ type: 'http', status: 429, retryAfter: 1, times: n } as never);
    const sinceId = fx.emulator.requests().at(-1)!.id;
    const names = Array.from({ length: n }, (_, i) => `core-spread-${i}`);
    await Promise.all(names.map((name) => service.start({ conference_name: name, rule_id: fx.account.ruleId })));
    const records = fx.emulator.requests({ sinceId });
    const arrivals = (name: string) =>
      records.filter((r) => r.params.conference_name === name).map((r) => Date.parse(r.receivedAt));
    // Per request: the wait between its throttled attempt and its retry (machine load shifts both alike).
    const waits = names.map((name) => {
      const [throttled, retried] = arrivals(name);
      return retried! - throttled!;
    });
    const retries = names.map((name) => arrivals(name)[1]!);
    const spread = (values: number[]) => Math.max(...values) - Math.min(...values);
    console.log(
      `throttled retries: waits ${Math.min(...waits)}..${Math.max(...waits)} ms, wait spread ${spread(waits)} ms, retry arrival spread ${spread(retries)} ms`,
    );
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1_000);
    // Without jitter every wait is 1000 ms plus timer noise (a few ms); with jitter they spread over 0..500 ms,
    // and 40 uniform draws all landing within 250 ms of each other has a probability below 1e-10.
    expect(spread(waits)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...waits)).toBeLessThan(1_500 + 1_000);
  }, 20_000);

  it('refuses an answer too large to be a StartConference result, as a retryable invalid response', async () => {
    fx.emulator.fault({
      type: 'raw',
      status: 200,
      contentType: 'application/json',
      body: `{"x":"${'a'.repeat(1_100_000)}"}`,
    } as never);
    const error = await failure(
      fx
        .service({ env: { VOXIMPLANT_MAX_ATTEMPTS: '1' } })
        .start({ conference_name: 'core-big', rule_id: fx.account.ruleId }),
    );
    expect(error).toMatchObject({ code: 'voximplant_invalid_response', retryable: true });
  });

  it('reads an {"errors":[...]} body as the error it carries', async () => {
    fx.emulator.fault({ type: 'errors', errors: [{ code: 270, msg: 'too long' }], times: 1 } as never);
    const error = await failure(fx.service().start({ conference_name: 'core-errors', rule_id: fx.account.ruleId }));
    expect(error).toMatchObject({ code: 'voximplant_rejected_request', voximplantCode: 270 });
  });

  it('gives up on a retryable failure after the configured attempts', async () => {
    fx.emulator.fault({ type: 'http', status: 500 } as never);
    const before = fx.emulator.stats().requests;
    const error = await failure(
      fx
        .service({ env: { VOXIMPLANT_MAX_ATTEMPTS: '3' } })
        .start({ conference_name: 'core-500', rule_id: fx.account.ruleId }),
    );
    expect(error).toMatchObject({ code: 'voximplant_unavailable', retryable: true });
    expect(fx.emulator.stats().requests - before).toBe(3);
  });

  it('takes an answer that comes just inside the timeout, and retries one just past it', async () => {
    const service = fx.service({ env: { VOXIMPLANT_REQUEST_TIMEOUT_MS: '400', VOXIMPLANT_MAX_ATTEMPTS: '2' } });
    fx.emulator.fault({ type: 'latency', ms: 300, times: 1 } as never);
    await expect(service.start({ conference_name: 'core-near-in', rule_id: fx.account.ruleId })).resolves.toMatchObject(
      {
        conference_name: 'core-near-in',
      },
    );
    const before = fx.emulator.stats().requests;
    fx.emulator.fault({ type: 'latency', ms: 500, times: 1 } as never);
    await expect(
      service.start({ conference_name: 'core-near-out', rule_id: fx.account.ruleId }),
    ).resolves.toMatchObject({
      conference_name: 'core-near-out',
    });
    expect(fx.emulator.stats().requests - before).toBe(2);
  });

  it('times out a slow answer with a retryable timeout', async () => {
    fx.emulator.setLatency(1_000);
    const before = fx.emulator.stats().requests;
    const started = Date.now();
    const error = await failure(
      fx.service({ env: { VOXIMPLANT_REQUEST_TIMEOUT_MS: '200', VOXIMPLANT_MAX_ATTEMPTS: '1' } }).start({
        conference_name: 'core-slow',
        rule_id: fx.account.ruleId,
      }),
    );
    expect(error).toMatchObject({ code: 'voximplant_timeout', retryable: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // The emulator counts a request when it ends: this one ends when the client gives up.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fx.emulator.stats().requests - before).toBe(1);
  });
});

describe('credentials', () => {
  it('picks up a key rotated in Secrets Manager after Voximplant refuses the old one (code 100)', async () => {
    const service = fx.service();
    await service.start({ conference_name: 'core-rotate-1', rule_id: fx.account.ruleId });
    const rotated = fx.emulator.addKey(fx.account.accountId);
    fx.secrets.putSecret(SECRET_NAME, { secretString: JSON.stringify(rotated.credentials) });
    fx.emulator.removeKey(fx.account.keyId);
    fx.secrets.clearCalls();
    const result = await service.start({ conference_name: 'core-rotate-2', rule_id: fx.account.ruleId });
    expect(result.conference_name).toBe('core-rotate-2');
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    const [refused, accepted] = fx.emulator.requests().slice(-2);
    expect(refused!.auth).toMatchObject({ outcome: 'failed', reason: 'unknown_kid' });
    expect(accepted!.auth).toMatchObject({ outcome: 'ok', kid: rotated.keyId });
    // The rotated key stays the fixture's key (in Secrets Manager and the emulator) for the tests after this one.
  });

  it('uses a key put into Secrets Manager right after the old one was revoked and refused', async () => {
    // Its own account and secret: the fixture's key stays as it is for the other tests.
    const account = fx.emulator.createAccount();
    const secretId = 'voxconf/test/credentials-revoked-first';
    fx.secrets.putSecret(secretId, { secretString: JSON.stringify(account.credentials) });
    const service = fx.service({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: secretId } });
    const start = (name: string) => service.start({ conference_name: name, rule_id: account.ruleId });
    await start('core-revoked-0');

    // The old key is revoked before the new one reaches Secrets Manager: one refresh still finds the old key.
    const rotated = fx.emulator.addKey(account.accountId);
    fx.emulator.removeKey(account.keyId);
    const refused = await failure(start('core-revoked-1'));
    expect(refused).toMatchObject({ code: 'voximplant_authorization_failed', voximplantCode: 100 });
    expect(fx.secrets.getSecretValueCount(secretId)).toBe(2);

    await new Promise((resolve) => setTimeout(resolve, 300));
    fx.secrets.putSecret(secretId, { secretString: JSON.stringify(rotated.credentials) });
    const changed = Date.now();
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => start(`core-revoked-2-${i}`)));
    console.log(`revoked first: requests after the key change answered within ${Date.now() - changed} ms`);
    expect(results.map((r) => r.conference_name)).toEqual([1, 2, 3, 4, 5].map((i) => `core-revoked-2-${i}`));
    expect(fx.emulator.requests().at(-1)!.auth).toMatchObject({ outcome: 'ok', kid: rotated.keyId });
    // Bounded: the requests that saw the refused key shared one more read.
    expect(fx.secrets.getSecretValueCount(secretId)).toBe(3);
  });

  it('re-reads the secret after the TTL', async () => {
    const service = fx.service({ env: { VOXIMPLANT_CREDENTIALS_TTL_SECONDS: '1' } });
    fx.secrets.clearCalls();
    await service.start({ conference_name: 'core-ttl', rule_id: fx.account.ruleId });
    await service.start({ conference_name: 'core-ttl', rule_id: fx.account.ruleId });
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await service.start({ conference_name: 'core-ttl', rule_id: fx.account.ruleId });
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(2);
  });

  it('fails with a permanent error naming the secret when it does not exist', async () => {
    const error = await failure(
      fx
        .service({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/missing' } })
        .start({ conference_name: 'x', rule_id: 1 }),
    );
    expect(error).toMatchObject({ code: 'credentials_not_found', retryable: false });
    expect(error.message).toContain('voxconf/missing');
  });

  it('refuses a SecretBinary secret and a secret that is not JSON, without showing the value', async () => {
    fx.secrets.putSecret('voxconf/binary', { secretBinary: new Uint8Array([1, 2, 3]) });
    fx.secrets.putSecret('voxconf/text', { secretString: 'hunter2-not-json' });
    const binary = await failure(
      fx
        .service({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/binary' } })
        .start({ conference_name: 'x', rule_id: 1 }),
    );
    expect(binary).toMatchObject({ code: 'credentials_invalid' });
    const text = await failure(
      fx
        .service({ env: { VOXIMPLANT_CREDENTIALS_SECRET_ID: 'voxconf/text' } })
        .start({ conference_name: 'x', rule_id: 1 }),
    );
    expect(text).toMatchObject({ code: 'credentials_invalid' });
    expect(text.message).not.toContain('hunter2');
  });

  it('reads a throttled secret once: no layer retries, the answer is a retryable credentials_unavailable', async () => {
    fx.secrets.fault({ kind: 'throttle' });
    fx.secrets.clearCalls();
    const started = Date.now();
    const error = await failure(fx.service().start({ conference_name: 'core-throttle', rule_id: fx.account.ruleId }));
    console.log(
      `throttled GetSecretValue: ${fx.secrets.getSecretValueCount(SECRET_NAME)} call(s), ${Date.now() - started} ms`,
    );
    expect(error).toMatchObject({ code: 'credentials_unavailable', retryable: true });
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(1);
    // Once Secrets Manager answers again, so does voxconf.
    fx.secrets.clearFaults();
    const service = fx.service();
    await expect(
      service.start({ conference_name: 'core-throttle', rule_id: fx.account.ruleId }),
    ).resolves.toMatchObject({ conference_name: 'core-throttle' });
  });

  it('retries a Secrets Manager 5xx or dropped connection in the SDK only: at most 3 reads per request', async () => {
    for (const kind of ['server_error', 'drop'] as const) {
      fx.secrets.clearFaults();
      fx.secrets.fault({ kind });
      fx.secrets.clearCalls();
      const started = Date.now();
      const error = await failure(fx.service().start({ conference_name: 'core-5xx', rule_id: fx.account.ruleId }));
      console.log(
        `${kind} GetSecretValue: ${fx.secrets.getSecretValueCount(SECRET_NAME)} call(s), ${Date.now() - started} ms`,
      );
      expect(error).toMatchObject({ code: 'credentials_unavailable', retryable: true });
      expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(3);
    }
    // A single 5xx is absorbed by the SDK's retry.
    fx.secrets.clearFaults();
    fx.secrets.fault({ kind: 'server_error', times: 1 });
    fx.secrets.clearCalls();
    await expect(
      fx.service().start({ conference_name: 'core-5xx-once', rule_id: fx.account.ruleId }),
    ).resolves.toMatchObject({ conference_name: 'core-5xx-once' });
    expect(fx.secrets.getSecretValueCount(SECRET_NAME)).toBe(2);
  }, 20_000);

  it('reports Secrets Manager outages as retryable, access denied as permanent', async () => {
    fx.secrets.fault({ kind: 'server_error', times: 10 });
    const outage = await failure(
      fx.service({ env: { VOXIMPLANT_MAX_ATTEMPTS: '1' } }).start({ conference_name: 'x', rule_id: 1 }),
    );
    expect(outage).toMatchObject({ code: 'credentials_unavailable', retryable: true });
    fx.secrets.clearFaults();
    fx.secrets.fault({ kind: 'access_denied', times: 1 });
    const denied = await failure(fx.service().start({ conference_name: 'x', rule_id: 1 }));
    expect(denied).toMatchObject({ code: 'credentials_access_denied', retryable: false });
    expect(denied.message).toContain(SECRET_NAME);
  });
});
