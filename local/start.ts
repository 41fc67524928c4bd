/**
 * `npm start`: the whole of voxconf offline on 127.0.0.1, on built-in defaults (docs/local-stack.md).
 *
 * Prints a banner with copy-paste commands, then one line per invocation. Ctrl-C (SIGINT) or SIGTERM stops
 * everything and exits 0; a second Ctrl-C kills what is left at once. If serverless offline dies on its own,
 * the rest is stopped and the exit code is 1.
 *
 * For scripts and tests, one line `VOXCONF_READY {json}` follows the banner (ports, URLs, rule id, pids).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackSettings } from './settings.js';

// Before any AWS SDK module loads. This process (the stand-ins, the poller's SQS client) runs on the host's Node,
// which may be 20, below the SDK's supported 22: its warning would be about the tooling, not the functions (they
// run on Node 24 in serverless offline, local/offline.ts, where the SDK has nothing to warn about).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { renderBanner } = await import('./banner.js');
const { consoleLog } = await import('./log.js');
const { FunctionsNodeError, OfflineStartError } = await import('./offline.js');
const { loadSettings, SettingsError } = await import('./settings.js');
const { PortInUseError, startStack } = await import('./stack.js');

const log = consoleLog();
const fail = (message: string, code: number): never => {
  process.stderr.write(`\nvoxconf local stack: ${message}\n`);
  process.exit(code);
};

let settings: StackSettings;
try {
  settings = loadSettings(process.env, root);
} catch (error) {
  if (error instanceof SettingsError) fail(error.message, 2);
  throw error;
}

if (settings.real) {
  process.stderr.write(
    '\nWARNING: VOXIMPLANT_CREDENTIALS_FILE is set: this stack calls the REAL Voximplant API at ' +
      `${settings.apiUrl}\nwith the key of account ${settings.real.accountId}. Conferences it starts are real. ` +
      'Only the AWS side (Secrets Manager, SQS, EventBridge, Lambda) is local.\n',
  );
}
process.stdout.write(`voxconf local stack: starting (serverless offline bundles the functions first) ...\n`);

let stack: Awaited<ReturnType<typeof startStack>> | undefined;
let stopping = false;
let firstSignalAt: number | undefined;

const shutdown = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  log('stack', `${reason}: stopping ...`);
  try {
    await stack?.stop();
  } catch (error) {
    log('stack', `error while stopping: ${error instanceof Error ? error.message : String(error)}`);
    code = code === 0 ? 1 : code;
  }
  log('stack', 'stopped');
  process.exit(code);
};

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    // npm forwards the terminal's Ctrl-C to us, which got it from the terminal too: a second signal within a
    // second is the same Ctrl-C. Asked again later: do not wait for a graceful stop (the offline process
    // group is ended by its guard).
    const now = Date.now();
    firstSignalAt ??= now;
    if (now - firstSignalAt > 1000) {
      process.stderr.write('\nvoxconf local stack: stopping now\n');
      process.exit(130);
    }
    if (stack === undefined) {
      // Still starting: stop as soon as the start completes (below), so that nothing is left half-started.
      stopping = true;
      return;
    }
    void shutdown(`${signal} received`, 0);
  });
}

try {
  stack = await startStack(settings, log);
} catch (error) {
  if (error instanceof PortInUseError || error instanceof SettingsError) fail(error.message, 2);
  if (error instanceof FunctionsNodeError) fail(error.message, 1);
  if (error instanceof OfflineStartError) {
    fail(`${error.message}. Its last output:\n${error.output.map((line) => `  | ${line}`).join('\n')}`, 1);
  }
  fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
}
const running = stack as NonNullable<typeof stack>;
if (stopping) {
  // A signal arrived while starting.
  stopping = false;
  await shutdown('signal received during start-up', 0);
}

process.stdout.write(`${renderBanner(running.info, root)}\n`);
process.stdout.write(`VOXCONF_READY ${JSON.stringify(running.info)}\n\n`);

void running.unexpectedExit.then((exit) => {
  log('stack', `serverless offline exited unexpectedly (${exit.signal ?? `code ${exit.code}`}); its last output:`);
  for (const line of exit.output.filter((text) => !text.startsWith('{"_aws"')).slice(-30)) {
    process.stderr.write(`  | ${line}\n`);
  }
  void shutdown('serverless offline is gone', 1);
});
