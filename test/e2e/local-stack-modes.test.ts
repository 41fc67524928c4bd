/**
 * The local stack's other ways to start, as a user starts them (`node --import tsx local/start.ts`):
 *
 *   - "real Voximplant" mode: VOXIMPLANT_CREDENTIALS_FILE (+ VOXIMPLANT_API_URL) instead of the built-in
 *     emulator. Here the "real" API is an emulator this test runs itself, on loopback: nothing leaves the host.
 *     This stack also runs its functions on Node 22 (VOXCONF_FUNCTIONS_NODE=22) instead of the default Node 24.
 *   - refusals before anything starts: a busy port, an inconsistent setting, a Node for the functions that
 *     does not run.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { PORT_NAMES } from '../../local/settings.js';
import { startEmulator, type VoximplantEmulator } from '../../local/voximplant-emulator/index.js';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';
import {
  freePortBase,
  leftoverProcesses,
  openPorts,
  processAlive,
  ROOT,
  type RunningStack,
  rawRequest,
  startLocalStack,
} from '../helpers/local-stack.js';
import { fetchDocumented } from '../helpers/openapi.js';

/** Runs start.ts to its exit (for start-up refusals); resolves with the exit code and the output. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (name !== 'NODE_OPTIONS' && !name.startsWith('VOXCONF_') && !name.startsWith('VOXIMPLANT_'))
        clean[name] = value;
    }
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
      cwd: ROOT,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

describe('pointed at another Voximplant API with VOXIMPLANT_CREDENTIALS_FILE', () => {
  let upstream: VoximplantEmulator;
  let ruleId: number;
  let exampleRuleId: number;
  let dir: string;
  let stack: RunningStack | undefined;
  let base: number;

  beforeAll(async () => {
    upstream = await startEmulator({ latencyMs: 5 });
    const account = upstream.createAccount();
    ruleId = account.ruleId;
    exampleRuleId = upstream.addRule(account.accountId, { scenarioKind: 'example' });
    dir = mkdtempSync(join(tmpdir(), 'voxconf-e2e-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(file, JSON.stringify(account.credentials), { mode: 0o600 });
    chmodSync(file, 0o600);
    base = await freePortBase();
    stack = await startLocalStack({
      VOXCONF_PORT_BASE: String(base),
      VOXIMPLANT_CREDENTIALS_FILE: file,
      VOXIMPLANT_API_URL: upstream.url,
      // Every line of serverless offline, handlers at their most talkative: scanned for leaks below.
      VOXCONF_VERBOSE: '1',
      VOXCONF_LOG_LEVEL: 'DEBUG',
      // The bundles' lowest Node (esbuild's target), fetched into .cache/node22 if this host has no Node 22.
      VOXCONF_FUNCTIONS_NODE: '22',
      // One web app may call the HTTP API from a browser, as corsAllowedOrigins allows a deployed stage.
      VOXCONF_CORS_ALLOWED_ORIGINS: 'https://app.example',
      // The account's rules that run the reference scenario: only their sessions are probed and stopped.
      VOXCONF_REFERENCE_SCENARIO_RULE_IDS: String(ruleId),
    });
  }, 90_000);

  afterAll(async () => {
    if (stack) await stack.stop('SIGKILL').catch(() => {});
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('uses the file and that API, starts no emulator of its own, and warns', async () => {
    const info = (stack as RunningStack).info;
    expect(info.mode).toBe('real');
    expect(info.emulator).toBeNull();
    expect(info.voximplantApiUrl).toBe(upstream.url);
    expect(info.real?.accountId).toBe(upstream.accounts()[0].accountId);
    expect(await openPorts([info.ports.emulator])).toEqual([]);
    const out = (stack as RunningStack).output();
    expect(out).toMatch(/WARNING: VOXIMPLANT_CREDENTIALS_FILE is set: this stack calls the REAL Voximplant API/);
    expect(out).toMatch(/REAL VOXIMPLANT/);
    // Against a real account, schedules do not start conferences by themselves unless asked.
    expect(info.schedulesAutoFire).toBe(false);
    expect(out).toMatch(/automatic runs OFF/);
    expect(out).not.toMatch(/PRIVATE KEY/);
  });

  test("VOXCONF_FUNCTIONS_NODE=22: the functions run on Node 22, and the banner says it is not Lambda's", () => {
    const info = (stack as RunningStack).info;
    expect(info.functionsNode.version).toMatch(/^v22\./);
    expect((stack as RunningStack).output()).toContain(
      `functions run on Node ${info.functionsNode.version} (NOT Lambda's nodejs24.x;`,
    );
  });

  test('the HTTP trigger reaches that API with the key from the file (via the Secrets Manager stand-in)', async () => {
    const info = (stack as RunningStack).info;
    const response = await fetchDocumented(info.conferencesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conference_name: 'real-mode', rule_id: ruleId }),
    });
    expect(response.status).toBe(200);
    expect(upstream.conferences().map((c) => c.name)).toEqual(['real-mode']);
    expect(upstream.requests().at(-1)?.auth.outcome).toBe('ok');
  }, 20_000);

  test('VOXCONF_REFERENCE_SCENARIO_RULE_IDS: those rules are probed, the others never', async () => {
    const info = (stack as RunningStack).info;
    expect(info.referenceScenarioRuleIds).toEqual([ruleId]);
    expect((stack as RunningStack).output()).toContain(
      `rules ${ruleId} run the reference scenario (VOXCONF_REFERENCE_SCENARIO_RULE_IDS)`,
    );
    const started = await fetchDocumented(info.conferencesUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ conference_name: 'real-example', rule_id: exampleRuleId }),
    });
    expect(started.status).toBe(200);
    const lookUp = (name: string) => fetchDocumented(`${info.conferencesUrl}/${name}`, { method: 'GET' });
    expect((await lookUp('real-mode')).json).toMatchObject({ reference_scenario: true, session: { reachable: true } });
    const example = (await lookUp('real-example')).json;
    expect(example).toMatchObject({ rule_id: exampleRuleId, reference_scenario: false });
    expect(example).not.toHaveProperty('session');
    const session = (name: string) => upstream.conferences().find((c) => c.name === name);
    expect(session('real-mode')).toMatchObject({ active: true, mediaCommands: ['status'] });
    expect(session('real-example')).toMatchObject({ active: true, mediaRequests: 0 });
  }, 20_000);

  test('with a real key, a web page still starts nothing; only the configured origin gets CORS answers', async () => {
    const { ports } = (stack as RunningStack).info;
    const body = JSON.stringify({ conference_name: 'from-a-page', rule_id: ruleId });
    const preflight = (origin: string) =>
      rawRequest(ports.http, {
        method: 'OPTIONS',
        path: '/conferences',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const evil = await preflight('https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const app = await preflight('https://app.example');
    expect(app.status).toBe(204);
    expect(app.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(app.headers['access-control-allow-credentials']).toBeUndefined();

    for (const headers of [
      { origin: 'https://evil.example', 'content-type': 'text/plain' } as Record<string, string>,
      { host: 'evil.example', 'content-type': 'application/json' },
      // A configured origin may call the HTTP API, not the Lambda API, and never through a foreign host name.
      { host: 'evil.example', origin: 'https://app.example', 'content-type': 'application/json' },
    ]) {
      expect((await rawRequest(ports.http, { method: 'POST', path: '/conferences', headers, body })).status).toBe(403);
    }
    const invoke = await rawRequest(ports.lambda, {
      method: 'POST',
      path: '/2015-03-31/functions/voxconf-local-http/invocations',
      headers: { origin: 'https://app.example', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(invoke.status).toBe(403);
    expect(upstream.conferences().map((c) => c.name)).not.toContain('from-a-page');
  }, 20_000);

  test('stops cleanly with SIGTERM too', async () => {
    const running = stack as RunningStack;
    const { ports, offlinePid } = running.info;
    const result = await running.stop('SIGTERM');
    stack = undefined;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(processAlive(offlinePid)).toBe(false);
    expect(leftoverProcesses(offlinePid, `--httpPort ${ports.http} `)).toEqual([]);
    expect(await openPorts(Object.values(ports))).toEqual([]);
    const out = running.output();
    // Verbose: the handlers' own log lines, as they wrote them.
    expect(out).toMatch(/offline\s+\{"level":"INFO","message":"conference started"/);
    expect(scanForLeaks(out, 'local stack output (verbose, DEBUG)')).toEqual([]);
  }, 30_000);
});

describe('refusals before anything starts', () => {
  let blocker: Server | undefined;

  afterAll(async () => {
    await new Promise<void>((resolvePromise) => (blocker ? blocker.close(() => resolvePromise()) : resolvePromise()));
  });

  test('a busy port: exit 2, naming the port and the variable to change', async () => {
    const base = await freePortBase();
    blocker = createServer();
    await new Promise<void>((resolvePromise) => (blocker as Server).listen(base + 4, '127.0.0.1', resolvePromise));
    const { code, output } = await runToExit({ VOXCONF_PORT_BASE: String(base) });
    expect(code).toBe(2);
    expect(output).toContain(
      `port ${base + 4} for the local SQS is in use; choose another with VOXCONF_SQS_PORT=<port>`,
    );
    expect(await openPorts([base, base + 1, base + 2, base + 3, base + 5, base + 6])).toEqual([]);
  }, 30_000);

  test('VOXIMPLANT_API_URL without VOXIMPLANT_CREDENTIALS_FILE: exit 2, saying why', async () => {
    const { code, output } = await runToExit({
      VOXCONF_PORT_BASE: String(await freePortBase()),
      VOXIMPLANT_API_URL: 'https://api.voximplant.com/platform_api',
    });
    expect(code).toBe(2);
    expect(output).toMatch(/VOXIMPLANT_API_URL is set but VOXIMPLANT_CREDENTIALS_FILE is not/);
  }, 30_000);

  test('a VOXCONF_FUNCTIONS_NODE that does not run: exit 1, naming it; nothing left listening', async () => {
    const base = await freePortBase();
    const { code, output } = await runToExit({
      VOXCONF_PORT_BASE: String(base),
      VOXCONF_FUNCTIONS_NODE: '/nonexistent/bin/node',
    });
    expect(code).toBe(1);
    expect(output).toMatch(
      /no Node for the functions: VOXCONF_FUNCTIONS_NODE=\/nonexistent\/bin\/node: .* is not a working/,
    );
    expect(await openPorts(Array.from({ length: PORT_NAMES.length }, (_, i) => base + i))).toEqual([]);
  }, 30_000);

  test('an unreadable credentials file: exit 2, without echoing its content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voxconf-e2e-'));
    const file = join(dir, 'credentials.json');
    writeFileSync(file, '{"private_key": "-----BEGIN PRIVATE KEY-----\\nsecret"');
    try {
      const { code, output } = await runToExit({
        VOXCONF_PORT_BASE: String(await freePortBase()),
        VOXIMPLANT_CREDENTIALS_FILE: file,
      });
      expect(code).toBe(2);
      expect(output).toMatch(/VOXIMPLANT_CREDENTIALS_FILE is not valid JSON/);
      expect(output).not.toContain('secret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
