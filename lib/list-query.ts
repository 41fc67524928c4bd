/**
 * The paging both listings share: the query they take (GET /schedules, GET /conferences): `limit` and `next_token`, besides their
 * own filters, and nothing else. Each problem names its field; the caller throws them together.
 */
import { type FieldProblem, ValidationError } from './errors.js';
import { isPlainObject, printable } from './values.js';

export interface Paging {
  readonly limit: number;
  readonly nextToken?: string;
}

/** `limit` (1..max, default `defaultLimit`) and `next_token` of a query, with a problem per unknown field. */
export function pagingOf(
  query: Readonly<Record<string, string | undefined>>,
  fields: { readonly allowed: ReadonlySet<string>; readonly defaultLimit: number; readonly maxLimit: number },
): { paging: Paging; problems: FieldProblem[] } {
  const problems: FieldProblem[] = Object.keys(query)
    .filter((key) => !fields.allowed.has(key) && key !== 'limit' && key !== 'next_token')
    .map((key) => ({
      field: printable(key),
      rule: 'unknown_field',
      message: `${printable(key)} is not a query parameter of this listing.`,
    }));
  const { limit, next_token: nextToken } = query;
  const { defaultLimit, maxLimit } = fields;
  if (limit !== undefined && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= maxLimit)) {
    problems.push({ field: 'limit', rule: 'range', message: `limit must be a whole number from 1 to ${maxLimit}.` });
  }
  return {
    paging: {
      limit: limit === undefined || problems.some((p) => p.field === 'limit') ? defaultLimit : Number(limit),
      ...(nextToken !== undefined && nextToken !== '' ? { nextToken } : {}),
    },
    problems,
  };
}

/** A next_token this listing did not give: a 400 naming next_token. */
export function badPageToken(): ValidationError {
  return new ValidationError([
    { field: 'next_token', rule: 'next_token', message: 'next_token is not one this listing gave.' },
  ]);
}

/** A listing's next_token: its cursor as JSON, in base64url (opaque to the caller, safe in a URL). */
export function encodePageToken(cursor: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

/**
 * The cursor a next_token stands for, still to be checked field by field by its listing; anything that is not a
 * base64url JSON object (of at most `maxChars`, when given) is badPageToken.
 */
export function decodePageToken(token: string, maxChars?: number): Record<string, unknown> {
  if (token.length === 0 || (maxChars !== undefined && token.length > maxChars) || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw badPageToken();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badPageToken();
  }
  if (!isPlainObject(parsed)) throw badPageToken();
  return parsed;
}
