/**
 * The paging query both listings take (GET /schedules, GET /conferences): `limit` and `next_token`, besides their
 * own filters, and nothing else. Each problem names its field; the caller throws them together.
 */
import type { FieldProblem } from './errors.js';
import { printable } from './values.js';

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
