/** Outcome and lifecycle events checked against docs/events/*.schema.json (Ajv 2020, compiled once per test file). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DETAIL_TYPES, type OutcomeEvent } from '../../lib/outcome-events.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMA_FILES: Record<string, string> = {
  [DETAIL_TYPES.started]: 'conference-started.schema.json',
  [DETAIL_TYPES.failed]: 'conference-start-failed.schema.json',
  [DETAIL_TYPES.ended]: 'conference-ended.schema.json',
};

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
const validators = new Map(
  Object.entries(SCHEMA_FILES).map(([type, file]) => [
    type,
    ajv.compile(JSON.parse(readFileSync(path.join(ROOT, 'docs', 'events', file), 'utf8'))),
  ]),
);

/** Problems of one event against its detail type's schema ([] when it conforms). */
export function eventProblems(event: OutcomeEvent): string[] {
  const validate = validators.get(event.detailType);
  if (!validate) return [`unknown detail type "${event.detailType}"`];
  if (validate(event.detail)) return [];
  return (validate.errors ?? []).map((e) => `${event.detailType}: ${e.instancePath || '/'} ${e.message}`);
}

export function expectEventsMatchSchemas(events: readonly OutcomeEvent[]): void {
  expect(events.flatMap(eventProblems)).toEqual([]);
}
