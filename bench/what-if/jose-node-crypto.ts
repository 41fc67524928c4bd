/**
 * WHAT-IF SIMULATION of a lib change: RS256 with node:crypto instead of jose (WebCrypto). Aliased for 'jose'
 * in the what-if build only; it implements just what lib/credentials.ts and lib/token.ts use.
 *
 * The proposed lib change itself: lib/credentials.ts `createPrivateKey({ key: private_key, format: 'pem' })`
 * (check `asymmetricKeyType === 'rsa'`) instead of `importPKCS8`; lib/token.ts builds the JWT by hand
 * (base64url header and claims) and signs with `sign('sha256', Buffer.from(input), key)`; the
 * VoximplantCredentials.privateKey type becomes KeyObject. Saves the WebCrypto load and jose (15.7 KiB).
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';

export type CryptoKey = KeyObject;
export type JWTPayload = Record<string, unknown>;

export async function importPKCS8(pem: string, _alg: string): Promise<KeyObject> {
  const key = createPrivateKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError('not an RSA key');
  return key;
}

export class SignJWT {
  private header: Record<string, unknown> = {};
  private readonly claims: Record<string, unknown>;
  constructor(claims: JWTPayload) {
    this.claims = { ...claims };
  }
  setProtectedHeader(header: Record<string, unknown>): this {
    this.header = header;
    return this;
  }
  setIssuedAt(iat: number): this {
    this.claims.iat = iat;
    return this;
  }
  setExpirationTime(exp: number): this {
    this.claims.exp = exp;
    return this;
  }
  async sign(key: KeyObject): Promise<string> {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${b64(this.header)}.${b64(this.claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
  }
}
