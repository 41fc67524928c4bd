/**
 * Idempotent creates without a database: the `Idempotency-Key` of POST /schedules names the schedule (when the
 * body does not), and a fingerprint of the key and the body travels with the schedule, in the wrapper input
 * voxconf owns (`idempotency_fingerprint`). A retried create finds the schedule under the same name: the same
 * fingerprint means it is the first create's result; the same key with another body is a reused key.
 *
 * The fingerprint is `v1.<sha256(key), 32 hex>.<sha256(canonical body), 64 hex>`: the key itself is not stored.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

const KEY = new RegExp(`^[\\x21-\\x7e]{1,${facts.schedulesApi.idempotencyKeyMaxLength}}$`);
const FINGERPRINT = /^v1\.([0-9a-f]{32})\.([0-9a-f]{64})$/;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The header's value: absent, or 1-255 printable ASCII characters without spaces (a UUID, say). */
export function validateIdempotencyKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && KEY.test(value)) return value;
  throw new ValidationError([
    {
      field: IDEMPOTENCY_HEADER,
      rule: 'idempotency_key',
      message: `${IDEMPOTENCY_HEADER} must be 1 to ${facts.schedulesApi.idempotencyKeyMaxLength} printable ASCII characters without spaces.`,
    },
  ]);
}

/** The schedule name a key gives when the body names none: `idem-` and 40 hex digits of its hash. */
export function nameFromKey(key: string): string {
  return `idem-${sha256(`name:${key}`).slice(0, 40)}`;
}

/** JSON with object keys sorted at every level: the same body in any key order is the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprintOf(key: string, body: unknown): string {
  return `v1.${sha256(`key:${key}`).slice(0, 32)}.${sha256(canonicalJson(body))}`;
}

/**
 * How a stored fingerprint relates to this create's: `same` (the retried create: answer with the schedule),
 * `key_reused` (same key, another body), `other` (none stored, or another key's: the name is simply taken).
 */
export function compareFingerprints(stored: string | undefined, ours: string): 'same' | 'key_reused' | 'other' {
  if (stored === ours) return 'same';
  const a = stored === undefined ? null : FINGERPRINT.exec(stored);
  const b = FINGERPRINT.exec(ours);
  return a && b && a[1] === b[1] ? 'key_reused' : 'other';
}
