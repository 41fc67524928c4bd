/**
 * Test service-account keys: a credentials.json object as Voximplant issues it, with an RSA-2048 PKCS#8 key made
 * at test time (no key material is committed). One key pair per process is reused unless `fresh` is asked for.
 *
 *   const { credentials, secretString, publicKeyPem } = generateCredentials();
 *   sm.putSecret('voxconf/credentials', { secretString });
 *   generateCredentials({ account_id: 'not-a-number' });  // invalid values for negative tests
 *   generateCredentials({ private_key: undefined });       // undefined removes the field
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { registerGeneratedSecret } from '../../local/secret-register.js';

/** The credentials.json a Voximplant service account key downloads as. */
export interface CredentialsJson {
  account_id: number;
  account_email: string;
  key_id: string;
  private_key: string;
}

export interface TestKeyPair {
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly privateKeyPem: string;
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`), to verify the JWTs signed with the private key. */
  readonly publicKeyPem: string;
  /** A UUID that goes with this key pair as its key_id. */
  readonly keyId: string;
}

export interface GeneratedCredentials<T> {
  /** The credentials.json object (overrides applied). */
  readonly credentials: T;
  /** `JSON.stringify(credentials)`: the SecretString to store. */
  readonly secretString: string;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

export interface KeyOptions {
  /** Make a new key pair instead of the one cached for this process (RSA-2048 generation: about 0.5 s here). */
  readonly fresh?: boolean;
}

export const TEST_ACCOUNT_ID = 1234567;
export const TEST_ACCOUNT_EMAIL = 'voxconf-test@voxconf-test.n2.voximplant.com';

let cached: TestKeyPair | undefined;

export function generateKeyPair(options: KeyOptions = {}): TestKeyPair {
  if (cached && !options.fresh) return cached;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  registerGeneratedSecret(privateKey);
  const pair: TestKeyPair = { privateKeyPem: privateKey, publicKeyPem: publicKey, keyId: randomUUID() };
  // A fresh pair replaces the cached one only when there was none: "fresh" means "not shared".
  cached ??= pair;
  return pair;
}

/** The credentials.json fields, with the overridden ones typed as given (`undefined` = field removed). */
export type Merged<O> = Omit<CredentialsJson, keyof O> & O;

/**
 * A credentials.json object with a real RSA key. `overrides` replace fields (any value, for invalid-input tests);
 * an override set to `undefined` removes that field.
 */
export function generateCredentials<O extends Record<string, unknown> = Record<string, never>>(
  overrides?: O,
  options: KeyOptions = {},
): GeneratedCredentials<Merged<O>> {
  const pair = generateKeyPair(options);
  const base: Record<string, unknown> = {
    account_id: TEST_ACCOUNT_ID,
    account_email: TEST_ACCOUNT_EMAIL,
    key_id: pair.keyId,
    private_key: pair.privateKeyPem,
  };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  const credentials = base as Merged<O>;
  return {
    credentials,
    secretString: JSON.stringify(credentials),
    publicKeyPem: pair.publicKeyPem,
    privateKeyPem: pair.privateKeyPem,
  };
}
