#!/usr/bin/env node
/**
 * The project's test command (`npm test`): the whole jest suite (every project) on Node 22 and then on Node 24
 * (scripts/node-runtime.mjs TEST_NODE_MAJORS). 24 is the Lambda runtime; 22 is esbuild's target, the lowest Node
 * the bundles must run on. Each is the host's own Node when the host is that major, otherwise the npm package
 * `node-<platform>-<arch>@<major>` fetched into `.cache/node<major>/` when missing (no devDependency). The host's
 * Node (20 on some machines) only launches the runs. Node 24 is fetched even when not a run: the e2e tests start
 * the local stack, which runs the functions on it.
 *
 *   npm test                              all projects, Node 22 + Node 24
 *   npm test -- test/unit                 arguments go to jest
 *   VOXCONF_NODE_VERSIONS=24 npm test     only these majors (comma-separated, in this order)
 *   VOXCONF_SKIP_NODE22=1 npm test        if Node 22 cannot be fetched, skip it instead of failing (any major)
 *
 * jest's own output is streamed as usual. Each run prints a summary; the LAST line is `N passed, N failed`
 * summed over the runs. A run that crashes, runs no test, or exits non-zero with no failed test counts as
 * one failure; so does a suite that failed outside its tests (import error, failing hook); so does a Node
 * that could not be fetched (unless skipped). The exit code is non-zero when anything failed.
 *
 * The last run is also the leak scan: logging at DEBUG and metrics on, everything the test processes and
 * jest write is captured and searched for private keys, JWTs, `Bearer ` headers and media session URLs
 * (scripts/leak-scan.mjs). It counts as one more test: passed, or failed with what was found where.
 * VOXCONF_LEAK_SCAN=0 turns it off.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { knownSecretLines, scanDirectory } from './leak-scan.mjs';
import { ensureNode, FUNCTIONS_NODE_MAJOR, TEST_NODE_MAJORS } from './node-runtime.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const jestArgs = process.argv.slice(2);
const isCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

/** `[22, 24]` by default; VOXCONF_NODE_VERSIONS=24 or "22" or "22,24". */
function wantedMajors() {
  const raw = process.env.VOXCONF_NODE_VERSIONS?.trim();
  const list = raw ? raw.split(/[\s,]+/).filter(Boolean) : TEST_NODE_MAJORS.map(String);
  const majors = [];
  for (const item of list) {
    const major = Number(item.replace(/^v/, '').split('.')[0]);
    if (!Number.isInteger(major) || major < 1) {
      console.error(`test: VOXCONF_NODE_VERSIONS has "${item}", which is not a Node major version.`);
      process.exit(2);
    }
    if (!majors.includes(major)) majors.push(major);
  }
  return majors;
}

function hasFlag(names) {
  return jestArgs.some((arg) => names.some((name) => arg === name || arg.startsWith(`${name}=`)));
}

let activeChild;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (activeChild) activeChild.kill(signal);
    else process.exit(130);
  });
}

/** Runs jest with one node binary; resolves to a summary (never rejects). */
function runJest(nodeBin, version, captureDir) {
  const dir = mkdtempSync(join(tmpdir(), 'voxconf-jest-'));
  const outputFile = join(dir, 'results.json');
  const args = [jestBin, '--json', `--outputFile=${outputFile}`];
  if (!hasFlag(['--maxWorkers', '-w', '--runInBand', '-i'])) args.push('--maxWorkers=2');
  if (isCi && !hasFlag(['--ci', '--no-ci'])) args.push('--ci');
  args.push(...jestArgs);

  const nodeOptions = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  if (!nodeOptions.includes('--experimental-vm-modules')) nodeOptions.push('--experimental-vm-modules');
  if (!nodeOptions.some((option) => option.startsWith('--disable-warning'))) {
    nodeOptions.push('--disable-warning=ExperimentalWarning');
  }

  console.log(`\ntest: jest on Node ${version} (${nodeBin})\n`);
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const captureEnv = captureDir
      ? {
          VOXCONF_CAPTURE_DIR: captureDir,
          VOXCONF_SECRETS_DIR: `${captureDir}.secrets`,
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
          POWERTOOLS_METRICS_DISABLED: 'false',
        }
      : {};
    if (captureDir) mkdirSync(`${captureDir}.secrets`, { mode: 0o700 });
    const child = spawn(nodeBin, args, {
      cwd: root,
      stdio: captureDir ? ['inherit', 'pipe', 'pipe'] : 'inherit',
      env: { ...process.env, ...captureEnv, NODE_OPTIONS: nodeOptions.join(' ') },
    });
    if (captureDir) {
      // jest's own output is shown as usual and kept for the scan too.
      for (const [from, to] of [
        [child.stdout, process.stdout],
        [child.stderr, process.stderr],
      ]) {
        from.on('data', (chunk) => {
          to.write(chunk);
          appendFileSync(join(captureDir, 'jest.log'), chunk);
        });
      }
    }
    activeChild = child;
    const finish = (code, signal, spawnError) => {
      activeChild = undefined;
      const wallMs = Date.now() - started;
      let report;
      try {
        report = JSON.parse(readFileSync(outputFile, 'utf8'));
      } catch {
        report = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
      resolvePromise(summarize(version, report, code, signal, spawnError, wallMs));
    };
    child.on('error', (error) => finish(null, null, error));
    child.on('exit', (code, signal) => finish(code, signal, undefined));
  });
}

function summarize(version, report, code, signal, spawnError, wallMs) {
  const problems = [];
  if (spawnError) problems.push(`could not start jest: ${spawnError.message}`);
  if (signal) problems.push(`jest was killed by ${signal}`);
  if (!report) {
    problems.push('jest wrote no results (crashed?)');
    return { version, passed: 0, failed: 1, skipped: 0, suites: 0, wallMs, problems };
  }
  const passed = report.numPassedTests ?? 0;
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  let failed = report.numFailedTests ?? 0;
  // Suites that failed without a failing test: import/syntax errors, failing beforeAll/afterAll hooks.
  const brokenSuites = (report.testResults ?? []).filter(
    (suite) =>
      suite.status === 'failed' && !(suite.assertionResults ?? []).some((assertion) => assertion.status === 'failed'),
  );
  if (brokenSuites.length > 0) {
    failed += brokenSuites.length;
    problems.push(
      `${brokenSuites.length} suite(s) failed outside their tests, counted as failures: ` +
        brokenSuites.map((suite) => suite.name.replace(`${root}/`, '')).join(', '),
    );
  }
  if ((report.numTotalTests ?? 0) === 0) {
    failed += 1;
    problems.push('no test ran, counted as 1 failure');
  }
  if (code !== 0 && failed === 0) {
    failed += 1;
    problems.push(`jest exited with code ${code ?? signal} although no test failed, counted as 1 failure`);
  }
  return {
    version,
    passed,
    failed,
    skipped,
    suites: report.numTotalTestSuites ?? 0,
    wallMs,
    problems,
  };
}

function printSummary(run) {
  const time = `${(run.wallMs / 1000).toFixed(1)} s`;
  console.log(
    `test: Node ${run.version}: ${run.passed} passed, ${run.failed} failed, ${run.skipped} skipped ` +
      `(${run.suites} suites) in ${time}`,
  );
  for (const problem of run.problems) console.log(`test:   ${problem}`);
}

const runs = [];
const notes = [];
const majors = wantedMajors();
const leakScan = process.env.VOXCONF_LEAK_SCAN !== '0';

// Every Node first, before any run: a fetch is not timed as part of a run, and the local stack's Node is there
// before the e2e tests of the first run start it (from two jest workers at once).
const nodes = new Map();
for (const major of new Set([...majors, FUNCTIONS_NODE_MAJOR])) {
  try {
    nodes.set(major, await ensureNode(major, { root, log: (line) => console.log(`test: ${line}`) }));
  } catch (error) {
    nodes.set(major, { error: error.message, fetchedMs: error.fetchedMs });
  }
}
if (!majors.includes(FUNCTIONS_NODE_MAJOR) && nodes.get(FUNCTIONS_NODE_MAJOR).error) {
  notes.push(
    `test: the local stack's Node ${FUNCTIONS_NODE_MAJOR}: ${nodes.get(FUNCTIONS_NODE_MAJOR).error} (the e2e tests need it)`,
  );
}

for (const [index, major] of majors.entries()) {
  const node = nodes.get(major);
  if (node.error) {
    const skip = process.env[`VOXCONF_SKIP_NODE${major}`] === '1';
    console.log(`test: ${node.error}${skip ? ` (skipped: VOXCONF_SKIP_NODE${major}=1)` : ''}`);
    if (skip) notes.push(`test: Node ${major}: not run (${node.error}; VOXCONF_SKIP_NODE${major}=1)`);
    else {
      runs.push({
        version: `v${major} (not fetched)`,
        passed: 0,
        failed: 1,
        skipped: 0,
        suites: 0,
        wallMs: node.fetchedMs ?? 0,
        problems: [`${node.error}; counted as 1 failure (set VOXCONF_SKIP_NODE${major}=1 to skip)`],
      });
    }
    continue;
  }
  const { bin, version } = node;
  const captureDir =
    leakScan && index === majors.length - 1 ? mkdtempSync(join(tmpdir(), 'voxconf-capture-')) : undefined;
  const run = await runJest(bin, version, captureDir);
  console.log('');
  printSummary(run);
  runs.push(run);
  if (captureDir) {
    runs.push(leakScanResult(captureDir, version));
    rmSync(captureDir, { recursive: true, force: true });
    rmSync(`${captureDir}.secrets`, { recursive: true, force: true });
  }
}

/** The scan of a whole run's output, as one test. */
function leakScanResult(captureDir, version) {
  const secretLines = knownSecretLines(`${captureDir}.secrets`);
  const { findings, bytes, logLines } = scanDirectory(captureDir, secretLines);
  if (secretLines.length === 0)
    findings.push({
      source: 'secrets',
      line: 0,
      kind: 'no generated key was registered: the scan could not look for key material',
      excerpt: '',
    });
  const problems = findings.slice(0, 20).map((f) => `leak: ${f.kind} in ${f.source} line ${f.line} (${f.excerpt})`);
  // A scan of nothing proves nothing: the run must have logged at debug level.
  if (logLines < 20)
    problems.push(`leak scan read only ${logLines} log lines (${bytes} bytes): logging was not captured`);
  const failed = problems.length > 0 ? 1 : 0;
  console.log(
    `test: leak scan of the Node ${version} run (${logLines} JSON log lines, ${(bytes / 1024).toFixed(0)} KiB, ` +
      `${secretLines.length} lines of generated keys searched): ` +
      (failed ? 'FAILED' : 'no key, token, Authorization header or media URL found'),
  );
  for (const problem of problems) console.log(`test:   ${problem}`);
  return { version: `${version} leak scan`, passed: 1 - failed, failed, skipped: 0, suites: 1, wallMs: 0, problems };
}

console.log('\ntest: summary');
for (const run of runs) printSummary(run);
for (const note of notes) console.log(note);
const passed = runs.reduce((sum, run) => sum + run.passed, 0);
const failed = runs.reduce((sum, run) => sum + run.failed, 0);
process.exitCode = failed > 0 || runs.length === 0 ? 1 : 0;
const skipped = runs.reduce((sum, run) => sum + run.skipped, 0);
// Skips are shown, never hidden: a test that skips for a missing tool (curl, openssl) is visible here.
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
