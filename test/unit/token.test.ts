import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { parseCredentials, TokenSigner } from '../../lib/index.js';
import { countSignings } from '../helpers/signings.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKey, publicKey };
}

const { privateKey, publicKey } = keyPair();

async function credentials(keyId = 'key-1') {
  const secret = JSON.stringify({
    account_id: 1234567,
    account_email: 'a@example.invalid',
    key_id: keyId,
    private_key: privateKey,
  });
  return parseCredentials('test/secret', secret, 'v1');
}

describe('TokenSigner', () => {
  it('signs RS256 with kid and numeric iss, back-dated iat and exp - iat = lifetime', async () => {
    const now = Date.UTC(2026, 10, 26, 12, 0, 0);
    const signer = new TokenSigner({
      lifetimeSeconds: 600,
      backdateSeconds: 10,
      refreshMarginSeconds: 60,
      now: () => now,
    });
    const token = await signer.token(await credentials());
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    const { payload } = await jwtVerify(token, await importSPKI(publicKey, 'RS256'), { currentDate: new Date(now) });
    expect(payload).toEqual({ iss: 1234567, iat: now / 1000 - 10, exp: now / 1000 - 10 + 600 });
    expect(typeof payload.iss).toBe('number');
  });

  it('reuses the token until shortly before it expires, then signs once more', async () => {
    let now = 1_800_000_000_000;
    const signed = countSignings();
    const signer = new TokenSigner({
      lifetimeSeconds: 600,
      backdateSeconds: 10,
      refreshMarginSeconds: 60,
      now: () => now,
    });
    const creds = await credentials();
    const first = await Promise.all(Array.from({ length: 20 }, () => signer.token(creds)));
    expect(new Set(first).size).toBe(1);
    expect(signed()).toBe(1);
    now += 529_000; // exp is 590 s ahead, renewal 60 s before it: 530 s
    expect(await signer.token(creds)).toBe(first[0]);
    now += 2_000;
    const renewed = await signer.token(creds);
    expect(renewed).not.toBe(first[0]);
    expect(signed()).toBe(2);
  });

  it('signs anew for new credentials (a rotated key) and after invalidate()', async () => {
    const signed = countSignings();
    const signer = new TokenSigner({
      lifetimeSeconds: 600,
      backdateSeconds: 0,
      refreshMarginSeconds: 60,
    });
    const a = await credentials('key-a');
    const b = await credentials('key-b');
    await signer.token(a);
    expect(decodeProtectedHeader(await signer.token(b)).kid).toBe('key-b');
    signer.invalidate(a); // not the key of the cached token: kept
    await signer.token(b);
    expect(signed()).toBe(2);
    signer.invalidate(b);
    await signer.token(b);
    expect(signed()).toBe(3);
  });

  it("refuses a lifetime over Voximplant's 3600 s", () => {
    expect(() => new TokenSigner({ lifetimeSeconds: 3601, backdateSeconds: 0, refreshMarginSeconds: 0 })).toThrow(
      RangeError,
    );
  });
});

describe('TokenSigner with re-read credentials', () => {
  it('keeps the token when the same key version is read again after the cache TTL', async () => {
    const signed = countSignings();
    const signer = new TokenSigner({
      lifetimeSeconds: 600,
      backdateSeconds: 0,
      refreshMarginSeconds: 60,
    });
    const first = await parseCredentials(
      's',
      JSON.stringify({ account_id: 1, account_email: 'a@b.c', key_id: 'k', private_key: privateKey }),
      'v1',
    );
    const again = await parseCredentials(
      's',
      JSON.stringify({ account_id: 1, account_email: 'a@b.c', key_id: 'k', private_key: privateKey }),
      'v1',
    );
    const rotated = await parseCredentials(
      's',
      JSON.stringify({ account_id: 1, account_email: 'a@b.c', key_id: 'k', private_key: privateKey }),
      'v2',
    );
    const token = await signer.token(first);
    expect(await signer.token(again)).toBe(token);
    expect(signed()).toBe(1);
    await signer.token(rotated); // RS256 is deterministic: the same key and second give the same text, so count signings
    expect(signed()).toBe(2);
  });
});
