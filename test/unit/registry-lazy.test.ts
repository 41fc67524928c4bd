/**
 * What the start functions load at init: following every static import from functions/{http,queue,schedule}.ts and
 * the handler each entry imports (functions/<fn>-handler.ts, imported after ./connect-early.js), neither the registry
 * writer nor lib/dynamodb.ts nor @aws-sdk/client-dynamodb is reached (they come in through lib/registry.ts's dynamic
 * import, after a start's request is sent). And the registry's settings that infra/
 * cannot read from lib/facts.json are checked against it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import facts from '../../lib/facts.json' with { type: 'json' };

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Static imports and re-exports of a module, without `import type` / `export type` (erased) and dynamic import(). */
function staticImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of source.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
    if (match[2] === undefined) found.push(match[3] as string);
  }
  return found;
}

/** `await import('./x.js')` in a function's entry (functions/http.ts: its handler, awaited at init). */
function awaitedImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/\bawait\s+import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((match) => match[1] as string);
}

/**
 * Every module reachable through static imports, and through the awaited import()s of the files under functions/
 * (a start function's entry awaits its handler at init): repository files (relative paths) and package names.
 */
function reachable(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [resolve(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    if (!file.endsWith('.ts')) continue;
    const awaited = file.startsWith(join(ROOT, 'functions') + sep) ? awaitedImports(file) : [];
    for (const specifier of [...staticImports(file), ...awaited]) {
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  }
  return { files: new Set([...files].map((f) => f.slice(ROOT.length + 1))), packages };
}

describe('the start functions do not load the DynamoDB client at init', () => {
  it.each(['http', 'queue', 'schedule'])('functions/%s.ts', (name) => {
    const { files, packages } = reachable(`functions/${name}.ts`);
    expect(files).toContain(`functions/${name}-handler.ts`);
    expect(files).toContain('lib/registry.ts');
    expect(files).not.toContain('lib/registry-writer.ts');
    expect(files).not.toContain('lib/dynamodb.ts');
    expect([...packages].filter((p) => p.includes('dynamodb'))).toEqual([]);
  });

  it.each(['http', 'queue', 'schedule'])(
    'functions/%s.ts imports connect-early alone, then awaits its handler (connect-early.ts: evaluated first)',
    (name) => {
      const entry = join(ROOT, 'functions', `${name}.ts`);
      expect(staticImports(entry)).toEqual(['./connect-early.js']);
      expect(awaitedImports(entry)).toEqual([`./${name}-handler.js`]);
      expect(staticImports(join(ROOT, 'functions', `${name}-handler.ts`))).not.toContain('./connect-early.js');
    },
  );

  it('the writer is what brings the client (so the check above means something)', () => {
    const { files, packages } = reachable('lib/registry-writer.ts');
    expect(files).toContain('lib/dynamodb.ts');
    expect(packages).toContain('@aws-sdk/client-dynamodb');
    expect(readFileSync(join(ROOT, 'lib/registry.ts'), 'utf8')).toContain("import('./registry-writer.js')");
  });
});

describe('registry facts and the deployed table', () => {
  const table = () => {
    const doc = YAML.parse(readFileSync(join(ROOT, 'infra/resources.yml'), 'utf8'), { logLevel: 'silent' });
    return doc.Resources.RegistryTable.Properties;
  };

  it('facts.registry.statusIndexName is the IndexName of the table (the yml cannot read facts.json)', () => {
    const names = table().GlobalSecondaryIndexes.map((index: { IndexName: string }) => index.IndexName);
    expect(names).toEqual([facts.registry.statusIndexName]);
  });
});
