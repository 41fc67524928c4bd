/**
 * The emulator's JWT check: every way a token can be wrong gets HTTP 200 with error 100, and the record
 * says why. Tokens are real RS256 JWTs signed with jose.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { base64url, SignJWT } from 'jose';
import {
  type AuthFailureReason,
  type CreatedAccount,
  callEmulator,
  generateRsaKeyPair,
  signToken,
  startEmulator,
  type TokenOptions,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

const AUTH_FAILED = { error: { msg: 'Authorization failed', code: 100 } };
const LEEWAY = 10;

let emu: VoximplantEmulator;
let account: CreatedAccount;
let other: CreatedAccount;

beforeAll(async () => {
  emu = await startEmulator({ leewaySeconds: LEEWAY });
  account = emu.createAccount();
  other = emu.createAccount();
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
});

const now = () => Math.floor(Date.now() / 1000);

async function callWith(authorization: string | undefined, name = 'auth') {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(account.ruleId) },
    authorization === undefined ? {} : { authorization },
  );
  expect(response.status).toBe(200);
  return { body: JSON.parse(response.text) as unknown, record: emu.requests().at(-1)! };
}

async function callWithToken(options: TokenOptions = {}) {
  return callWith(`Bearer ${await signToken(account.credentials, options)}`);
}

async function expectRefused(authorization: string | undefined, reason: AuthFailureReason) {
  const conferencesBefore = emu.conferences().length;
  const { body, record } = await callWith(authorization);
  expect(body).toEqual(AUTH_FAILED);
  expect(record.auth).toMatchObject({ outcome: 'failed', reason });
  expect(record).toMatchObject({ outcome: 'auth_failed', errorCode: 100, conference: null });
  expect(emu.conferences()).toHaveLength(conferencesBefore);
}

describe('accepted tokens', () => {
  test('numeric iss, as the Node/Python/Go/PHP SDKs send it', async () => {
    const { body, record } = await callWithToken();
    expect(body).toMatchObject({ result: 1 });
    expect(record.auth).toMatchObject({
      outcome: 'ok',
      accountId: account.accountId,
      kid: account.keyId,
      alg: 'RS256',
      iss: account.accountId,
      claimsVerified: true,
    });
    expect(typeof record.auth.iat).toBe('number');
    expect(typeof record.auth.exp).toBe('number');
  });

  test('string iss, as the Java and .NET SDKs send it', async () => {
    const { body, record } = await callWithToken({ iss: String(account.accountId) });
    expect(body).toMatchObject({ result: 1 });
    expect(record.auth.iss).toBe(String(account.accountId));
  });

  test('exactly 3600 s of lifetime, a back-dated iat and an extra nbf claim', async () => {
    const iat = now() - 5;
    expect((await callWithToken({ iat, exp: iat + 3600 })).body).toMatchObject({ result: 1 });
    expect((await callWithToken({ extraClaims: { nbf: now() } })).body).toMatchObject({ result: 1 });
  });

  test('clock skew inside the leeway: recently expired, iat slightly ahead', async () => {
    expect((await callWithToken({ iat: now() - 60, exp: now() - (LEEWAY - 3) })).body).toMatchObject({ result: 1 });
    expect((await callWithToken({ iat: now() + (LEEWAY - 3) })).body).toMatchObject({ result: 1 });
  });
});

describe('refused tokens (HTTP 200, error 100)', () => {
  test('no Authorization header, another scheme, a token that is not a JWT', async () => {
    await expectRefused(undefined, 'missing_authorization');
    await expectRefused(`Basic ${Buffer.from('a:b').toString('base64')}`, 'not_bearer');
    await expectRefused('Bearer not-a-jwt', 'malformed_token');
    await expectRefused('Bearer a.b.c', 'malformed_token');
  });

  test('signed by another key under a registered kid', async () => {
    const stranger = generateRsaKeyPair();
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { privateKey: stranger.privateKey })}`,
      'bad_signature',
    );
  });

  test('a tampered payload', async () => {
    const token = await signToken(account.credentials);
    const [header, , signature] = token.split('.');
    const payload = base64url.encode(JSON.stringify({ iss: account.accountId, iat: now(), exp: now() + 3000 }));
    await expectRefused(`Bearer ${header}.${payload}.${signature}`, 'bad_signature');
  });

  test('unknown kid, missing kid', async () => {
    await expectRefused(`Bearer ${await signToken(account.credentials, { kid: 'no-such-key' })}`, 'unknown_kid');
    await expectRefused(`Bearer ${await signToken(account.credentials, { kid: null })}`, 'missing_kid');
  });

  test('iss of another account, non-numeric or missing iss', async () => {
    await expectRefused(`Bearer ${await signToken(account.credentials, { iss: other.accountId })}`, 'iss_mismatch');
    await expectRefused(`Bearer ${await signToken(account.credentials, { iss: 'abc' })}`, 'invalid_iss');
    await expectRefused(`Bearer ${await signToken(account.credentials, { iss: null })}`, 'missing_iss');
  });

  test('expired beyond the leeway', async () => {
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { iat: now() - 100, exp: now() - (LEEWAY + 2) })}`,
      'expired',
    );
  });

  test('exp - iat > 3600', async () => {
    const iat = now() - 5;
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { iat, exp: iat + 3601 })}`,
      'lifetime_too_long',
    );
  });

  test('iat in the future beyond the leeway', async () => {
    await expectRefused(`Bearer ${await signToken(account.credentials, { iat: now() + LEEWAY + 5 })}`, 'iat_in_future');
  });

  test('missing or non-numeric iat/exp, exp before iat', async () => {
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { iat: null, exp: now() + 60 })}`,
      'missing_iat',
    );
    await expectRefused(`Bearer ${await signToken(account.credentials, { exp: null })}`, 'missing_exp');
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { extraClaims: { iat: String(now()) }, iat: null, exp: now() + 60 })}`,
      'invalid_iat',
    );
    await expectRefused(
      `Bearer ${await signToken(account.credentials, { iat: now(), exp: now() - 1 })}`,
      'exp_not_after_iat',
    );
  });

  test('other algorithms: PS256 with the right key, HS256 keyed with the public key, none', async () => {
    await expectRefused(`Bearer ${await signToken(account.credentials, { alg: 'PS256' })}`, 'unsupported_alg');

    const hs = await new SignJWT({ iss: account.accountId } as never)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: account.keyId })
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(account.publicKey));
    await expectRefused(`Bearer ${hs}`, 'unsupported_alg');

    const none = [
      base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT', kid: account.keyId })),
      base64url.encode(JSON.stringify({ iss: account.accountId, iat: now(), exp: now() + 60 })),
      '',
    ].join('.');
    await expectRefused(`Bearer ${none}`, 'unsupported_alg');
  });

  test('an EC public key cannot be registered (it would turn ES256 signatures into RS256 ones)', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    expect(() => emu.addKey(account.accountId, { publicKey: ec })).toThrow(/RSA/);
  });

  test('the record keeps unverified claims marked as such, and stats count reasons', async () => {
    const stranger = generateRsaKeyPair();
    await callWith(`Bearer ${await signToken(account.credentials, { privateKey: stranger.privateKey })}`);
    await callWith(undefined);
    const [forged, missing] = emu.requests();
    expect(forged.auth).toMatchObject({
      reason: 'bad_signature',
      kid: account.keyId,
      iss: account.accountId,
      claimsVerified: false,
    });
    expect(missing.authorization).toBeNull();
    expect(emu.stats().authFailures).toEqual({ bad_signature: 1, missing_authorization: 1 });
  });
});

describe('key rotation', () => {
  test('a second key works, a removed key stops working at once', async () => {
    const rotated = emu.addKey(account.accountId);
    expect(rotated.credentials).toMatchObject({
      account_id: account.accountId,
      account_email: account.credentials.account_email,
    });
    expect(rotated.credentials?.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const newToken = await signToken(rotated.credentials!);
    const oldToken = await signToken(account.credentials);

    expect((await callWith(`Bearer ${newToken}`)).body).toMatchObject({ result: 1 });
    expect((await callWith(`Bearer ${oldToken}`)).body).toMatchObject({ result: 1 });
    expect(emu.removeKey(account.keyId)).toBe(true);
    await expectRefused(`Bearer ${oldToken}`, 'unknown_kid');
    expect((await callWith(`Bearer ${newToken}`, 'after rotation')).body).toMatchObject({ result: 1 });

    // Put the original key back for the other tests (same public key, same kid).
    emu.removeKey(rotated.keyId);
    emu.addKey(account.accountId, { keyId: account.keyId, publicKey: account.publicKey });
    expect((await callWithToken()).body).toMatchObject({ result: 1 });
  });
});

describe('clock and leeway options', () => {
  test('leewaySeconds: 0 refuses a token that expired a second ago', async () => {
    const strict = await startEmulator({ leewaySeconds: 0 });
    try {
      const acc = strict.createAccount();
      const token = await signToken(acc.credentials, { iat: now() - 30, exp: now() - 1 });
      const response = await callEmulator(
        strict.origin,
        { conference_name: 'x', rule_id: String(acc.ruleId) },
        { token },
      );
      expect(JSON.parse(response.text)).toEqual(AUTH_FAILED);
      expect(strict.requests()[0].auth.reason).toBe('expired');
    } finally {
      await strict.close();
    }
  });

  test('an emulator clock two hours ahead sees a fresh token as expired', async () => {
    const ahead = await startEmulator({ now: () => Date.now() + 2 * 3600 * 1000 });
    try {
      const acc = ahead.createAccount();
      const response = await callEmulator(
        ahead.origin,
        { conference_name: 'x', rule_id: String(acc.ruleId) },
        { token: await signToken(acc.credentials) },
      );
      expect(JSON.parse(response.text)).toEqual(AUTH_FAILED);
      expect(ahead.requests()[0].auth.reason).toBe('expired');
    } finally {
      await ahead.close();
    }
  });
});
