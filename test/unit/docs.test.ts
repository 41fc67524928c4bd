/** The README's facts are the code's: generated spans are current, hand-written tables agree with lib/facts.json. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { canRaise, ERROR_CATALOG, type ErrorCode } from '../../lib/errors.js';
import facts from '../../lib/facts.json' with { type: 'json' };
import { README, renderFacts } from '../../scripts/docs.js';

const readme = readFileSync(README, 'utf8');

/** The README's table rows as cells, without backticks. */
const rows = readme
  .split('\n')
  .filter((line) => line.startsWith('| '))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim().replaceAll('`', '')),
  );

describe('README facts', () => {
  test('every generated span is current (npm run docs rewrites them)', () => {
    expect(readme).toMatch(/<!-- facts:transient-codes -->/);
    expect(renderFacts(readme)).toBe(readme);
  });

  test('an unknown marker is an error, not silently kept', () => {
    expect(() => renderFacts('<!-- facts:nope -->x<!-- /facts -->')).toThrow(/unknown fact marker "nope"/);
  });

  test.each(Object.entries(facts.settings))('the configuration table gives %s its default', (name, setting) => {
    // A row may name several variables: "A / B | 100 / 2000".
    const row = rows.find((cells) => cells[0].split(' / ').includes(name));
    expect(row).toBeDefined();
    const names = row![0].split(' / ');
    const defaults = row![1].split(' / ');
    expect(Number(defaults[names.indexOf(name)])).toBe(setting.default);
  });

  test('the status table lists every code the HTTP API can answer, each under its status (lib/errors.ts)', () => {
    const listed = new Map<string, number>();
    for (const cells of rows.filter((row) => /^\d{3}$/.test(row[0]))) {
      for (const code of cells[1].split(/,\s*/)) listed.set(code, Number(cells[0]));
    }
    const overHttp = (Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((code) => canRaise(code, 'http'));
    expect(Object.fromEntries([...listed].sort())).toEqual(
      Object.fromEntries(overHttp.map((code) => [code, ERROR_CATALOG[code].status]).sort()),
    );
  });

  test('the configuration table lists every variable the functions read (lib/*config.ts)', () => {
    const listed = new Set(rows.flatMap((cells) => cells[0].split(' / ')));
    const libFolder = path.join(path.dirname(README), 'lib');
    const read = ['config.ts', 'lifecycle-config.ts', 'schedules-config.ts'].flatMap((file) =>
      [...readFileSync(path.join(libFolder, file), 'utf8').matchAll(/\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]),
    );
    expect(read).toContain('REFERENCE_SCENARIO_RULE_IDS');
    expect(read.filter((name) => !listed.has(name as string))).toEqual([]);
  });

  test('the configuration table gives the API URL default', () => {
    expect(rows.find((cells) => cells[0] === 'VOXIMPLANT_API_URL')?.[1]).toBe(facts.voximplant.apiUrl);
  });

  test('the request table states the limits', () => {
    const rule = (field: string) => rows.find((cells) => cells[0] === field)?.[1] ?? '';
    expect(rule('conference_name')).toContain(`1 to ${facts.request.conferenceNameMaxCodePoints} characters`);
    expect(rule('script_custom_data')).toContain(`${facts.request.scriptCustomDataMaxBytes / 1024} KiB`);
    expect(readme).toContain(`HTTP body ${facts.request.httpBodyMaxBytes / 1024} KiB`);
  });

  test('the error table states the Retry-After bound', () => {
    const { min, max } = facts.retryAfterSeconds;
    expect(rows.find((cells) => cells[0] === '503')?.[2]).toContain(`whole seconds from ${min} to ${max}`);
  });
});

describe('repository hygiene', () => {
  test("no tracked file names this checkout's absolute path", () => {
    const root = path.resolve(path.dirname(README));
    // Only the checkout itself: its parent may be a folder as common as /tmp.
    const patterns = ['-e', `${root}/`];
    const found = spawnSync('git', ['grep', '-l', '-I', '-F', ...patterns, '--', '.', ':!package-lock.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    // git grep exits 1 when nothing matches, 0 with the files that match.
    expect({ status: found.status, files: found.stdout.trim() }).toEqual({ status: 1, files: '' });
  });
});
