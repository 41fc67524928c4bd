/**
 * Facts the README lists, written from their one source: `npm run docs` rewrites every marked span
 * (`<!-- facts:NAME -->...<!-- /facts -->`), and test/unit/docs.test.ts fails while one is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUEST_CODES, TRANSIENT_CODES } from '../lib/voximplant-codes.js';

export const README = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'README.md');

const sorted = (codes: ReadonlySet<number>) => [...codes].sort((a, b) => a - b).join(', ');

/** What each marker stands for. */
export const FACTS: Readonly<Record<string, () => string>> = {
  'transient-codes': () => sorted(TRANSIENT_CODES),
  'request-codes': () => sorted(REQUEST_CODES),
};

const MARKER = /<!-- facts:([a-z-]+) -->([\s\S]*?)<!-- \/facts -->/g;

/** The text with every marked span rewritten; throws on a marker it does not know. */
export function renderFacts(text: string): string {
  return text.replace(MARKER, (_, name: string) => {
    const fact = FACTS[name];
    if (!fact) throw new Error(`README.md: unknown fact marker "${name}" (known: ${Object.keys(FACTS).join(', ')})`);
    return `<!-- facts:${name} -->${fact()}<!-- /facts -->`;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const before = readFileSync(README, 'utf8');
  const after = renderFacts(before);
  if (after !== before) writeFileSync(README, after);
  console.log(after === before ? 'README.md: facts up to date' : 'README.md: facts rewritten');
}
