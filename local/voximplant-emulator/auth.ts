/**
 * Verification of the Management API's Bearer JWT: RS256 signed by a service-account key, header `kid`
 * naming the key, claims iss (account id, number or numeric string since the Java and .NET SDKs send a
 * string), iat and exp with exp - iat <= 3600 s. Voximplant answers every failure with the same error
 * 100, so the precise reason is only kept for the emulator's records.
 */
import { type KeyObject, verify } from 'node:crypto';
import type { AuthFailureReason, AuthRecord } from './types.js';

/** Voximplant's documented maximum token lifetime. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

export interface VerificationKey {
  readonly accountId: number;
  readonly publicKey: KeyObject;
}

export interface VerifyOptions {
  readonly findKey: (kid: string) => VerificationKey | undefined;
  readonly nowMs: number;
  readonly leewaySeconds: number;
}

export function verifyAuthorization(header: string | undefined, options: VerifyOptions): AuthRecord {
  if (header === undefined || header.trim() === '') return failed('missing_authorization');
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) return failed('not_bearer');

  const segments = match[1].split('.');
  if (segments.length !== 3) return failed('malformed_token');
  const [encodedHeader, encodedPayload, encodedSignature] = segments;
  const jwtHeader = decodeJsonSegment(encodedHeader);
  const payload = decodeJsonSegment(encodedPayload);
  const signature = decodeBase64Url(encodedSignature);
  if (!jwtHeader || !payload || !signature) return failed('malformed_token');

  // Claims are recorded even when verification fails, marked unverified, to show what the client sent.
  const seen = {
    alg: typeof jwtHeader.alg === 'string' ? jwtHeader.alg : undefined,
    kid: typeof jwtHeader.kid === 'string' ? jwtHeader.kid : undefined,
    iss: payload.iss,
    iat: payload.iat,
    exp: payload.exp,
  };
  const fail = (reason: AuthFailureReason): AuthRecord => ({ ...failed(reason), ...defined(seen) });

  // Pinning the algorithm shuts out `none` and HS256-with-the-public-key confusion.
  if (jwtHeader.alg !== 'RS256') return fail('unsupported_alg');
  if (typeof jwtHeader.kid !== 'string' || jwtHeader.kid === '') return fail('missing_kid');
  const key = options.findKey(jwtHeader.kid);
  if (!key) return fail('unknown_kid');
  const signed = Buffer.from(`${encodedHeader}.${encodedPayload}`, 'ascii');
  if (!verifySignature(signed, key.publicKey, signature)) return fail('bad_signature');

  const verifiedFail = (reason: AuthFailureReason): AuthRecord => ({ ...fail(reason), claimsVerified: true });
  if (payload.iss === undefined || payload.iss === null) return verifiedFail('missing_iss');
  const iss = accountIdOf(payload.iss);
  if (iss === undefined) return verifiedFail('invalid_iss');
  if (iss !== key.accountId) return verifiedFail('iss_mismatch');
  if (payload.iat === undefined) return verifiedFail('missing_iat');
  if (!isNumericDate(payload.iat)) return verifiedFail('invalid_iat');
  if (payload.exp === undefined) return verifiedFail('missing_exp');
  if (!isNumericDate(payload.exp)) return verifiedFail('invalid_exp');
  if (payload.exp <= payload.iat) return verifiedFail('exp_not_after_iat');
  if (payload.exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) return verifiedFail('lifetime_too_long');

  const now = options.nowMs / 1000;
  if (payload.exp <= now - options.leewaySeconds) return verifiedFail('expired');
  if (payload.iat > now + options.leewaySeconds) return verifiedFail('iat_in_future');
  // Not required by Voximplant, but the .NET SDK sends nbf and a server would honour it.
  if (payload.nbf !== undefined && (!isNumericDate(payload.nbf) || payload.nbf > now + options.leewaySeconds)) {
    return verifiedFail('not_yet_valid');
  }

  return { outcome: 'ok', accountId: key.accountId, claimsVerified: true, ...defined(seen) };
}

/** The Authorization header as records may show it: the scheme only. */
export function redactAuthorization(header: string | undefined): string | null {
  if (header === undefined) return null;
  const scheme = /^\s*(\S+)/.exec(header)?.[1];
  return scheme === undefined ? '[redacted]' : `${scheme} [redacted]`;
}

function failed(reason: AuthFailureReason): AuthRecord {
  return { outcome: 'failed', reason, claimsVerified: false };
}

function verifySignature(signed: Buffer, publicKey: KeyObject, signature: Buffer): boolean {
  try {
    return verify('RSA-SHA256', signed, publicKey, signature);
  } catch {
    return false; // e.g. a signature of the wrong length for the key
  }
}

function accountIdOf(iss: unknown): number | undefined {
  if (typeof iss === 'number') return Number.isSafeInteger(iss) && iss > 0 ? iss : undefined;
  if (typeof iss === 'string' && /^[0-9]{1,15}$/.test(iss)) {
    const id = Number(iss);
    return id > 0 ? id : undefined;
  }
  return undefined;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function decodeBase64Url(segment: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return undefined;
  return Buffer.from(segment, 'base64url');
}

function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64Url(segment);
  if (!bytes || bytes.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
