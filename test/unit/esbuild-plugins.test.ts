/**
 * infra/esbuild-plugins.cjs with splitting, on a two-module program built as serverless-esbuild builds a function:
 * one entry, `outdir`, `.mjs`. The chunks carry the function's name, and a build leaves nothing of an earlier one
 * (serverless-esbuild zips every file of its build folder).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const plugins = require('../../infra/esbuild-plugins.cjs') as import('esbuild').Plugin[];

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'voxconf-plugins-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'lazy.ts'), 'export const lazy = () => "lazy";\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function buildFunction(name: string, body: string): Promise<string[]> {
  writeFileSync(join(dir, 'functions', `${name}.ts`), body);
  await build({
    absWorkingDir: dir,
    entryPoints: [`functions/${name}.ts`],
    outdir: join(dir, '.build', 'functions'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    outExtension: { '.js': '.mjs' },
    plugins,
    logLevel: 'silent',
  });
  return readdirSync(join(dir, '.build', 'functions')).sort();
}

test("a function's chunks carry its name; an earlier build's files of it are gone, another function's stay", async () => {
  const first = await buildFunction('http', 'export const handler = async () => (await import("./lazy.js")).lazy();\n');
  expect(first).toHaveLength(2);
  expect(first).toContain('http.mjs');
  expect(first.some((file) => /^http\.lazy-[A-Z0-9]+\.mjs$/.test(file))).toBe(true);
  writeFileSync(join(dir, '.build', 'functions', 'http.chunk-STALE000.mjs'), 'stale');
  writeFileSync(join(dir, '.build', 'functions', 'https.mjs'), 'another function');
  // The lazy module changes: its chunk's hash changes; the stale file and the earlier chunk are removed.
  writeFileSync(join(dir, 'functions', 'lazy.ts'), 'export const lazy = () => "changed";\n');
  const second = await buildFunction(
    'http',
    'export const handler = async () => (await import("./lazy.js")).lazy();\n',
  );
  expect(second.filter((file) => file.startsWith('http.'))).toHaveLength(2);
  expect(second).toContain('http.mjs');
  expect(second).not.toContain('http.chunk-STALE000.mjs');
  expect(second.filter((file) => file.startsWith('http.lazy-'))).not.toEqual(
    first.filter((f) => f.startsWith('http.lazy-')),
  );
  expect(second).toContain('https.mjs');
});
