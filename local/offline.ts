/**
 * Runs `serverless offline start --stage local` on the project's serverless.yml (the one that deploys) as a
 * child process in its own process group, and waits until its HTTP and Lambda ports answer.
 *
 * The handlers get their settings as deployed ones do: parameters (`--param`) become provider/function
 * `environment` through infra/params.cjs; the AWS side (region, dummy keys, endpoint URLs of the local
 * stand-ins) travels in AWS_* variables, the only ones serverless-offline passes from its own environment.
 *
 * stop() sends SIGTERM to the whole group, SIGKILL after a grace period, and removes the bundle folder.
 * local/offline-guard.mjs, preloaded into the child, guards its servers as every local server is guarded
 * (local/loopback-guard.mjs: loopback Host only, no Origin unless configured, no CORS of serverless offline's
 * own; on the Lambda API no form or text/plain bodies), and ends the group if the stack itself dies.
 *
 * The child runs on Node 24, the Lambda runtime's, not on the host's Node: serverless-offline runs each handler
 * in a worker thread of its own process, so the process's Node is the functions' Node. functionsNode() finds it
 * (the host's own Node if that is 24, else `.cache/node24`, fetched on first use: scripts/node-runtime.mjs);
 * VOXCONF_FUNCTIONS_NODE (a major or a binary's path) chooses another.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureNode, FUNCTIONS_NODE_MAJOR, resolveNode } from '../scripts/node-runtime.mjs';
import type { LogSink } from './log.js';
import type { GuardPolicy } from './loopback-guard.mjs';
import { formatOfflineLine } from './offline-output.js';

/** The Node serverless offline runs on, and with it the functions. */
export interface FunctionsNode {
  readonly bin: string;
  /** As `<bin> --version` prints it: `v24.22.3`. */
  readonly version: string;
  /** host: the stack's own Node; cache: .cache/node<major>; fetched: just now; given: VOXCONF_FUNCTIONS_NODE's path. */
  readonly source: 'host' | 'cache' | 'fetched' | 'given';
}

/** The Node for the functions could not be found, fetched or run: the message says why and what to do. */
export class FunctionsNodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionsNodeError';
  }
}

/**
 * Node 24 (the Lambda runtime's major), or what `override` (VOXCONF_FUNCTIONS_NODE) names. A fetch is announced
 * with one log line; it happens once per checkout (~5 s).
 */
export async function functionsNode(root: string, override: string | undefined, log: LogSink): Promise<FunctionsNode> {
  // One line, before the fetch; the banner then shows the version.
  const say = (line: string) => {
    if (line.startsWith('fetching')) log('stack', `functions: ${line}`);
  };
  try {
    const node =
      override === undefined
        ? await ensureNode(FUNCTIONS_NODE_MAJOR, { root, log: say })
        : await resolveNode(override, { root, what: 'VOXCONF_FUNCTIONS_NODE', log: say });
    return { bin: node.bin, version: node.version, source: node.source };
  } catch (error) {
    throw new FunctionsNodeError(
      `no Node for the functions: ${(error as Error).message}` +
        (override === undefined ? '' : ' (unset VOXCONF_FUNCTIONS_NODE for Node 24, the Lambda runtime)'),
    );
  }
}

export interface OfflineOptions {
  readonly root: string;
  /** The node binary serverless offline runs on (functionsNode()). */
  readonly node: string;
  readonly host: string;
  readonly httpPort: number;
  readonly lambdaPort: number;
  readonly stage: string;
  readonly region: string;
  /** serverless.yml parameters (`--param="name=value"`). */
  readonly params: Readonly<Record<string, string>>;
  /** AWS_* variables for the handlers (all inherited AWS_* variables are dropped first). */
  readonly awsEnv: Readonly<Record<string, string>>;
  /** Relative to root; serverless-esbuild bundles there (VOXCONF_ESBUILD_WORK_FOLDER). */
  readonly esbuildWorkFolder: string;
  readonly verbose: boolean;
  readonly startTimeoutMs: number;
  /** Origins whose browser requests the HTTP API takes (VOXCONF_CORS_ALLOWED_ORIGINS); none: no CORS at all. */
  readonly corsOrigins: readonly string[];
  readonly log: LogSink;
}

export interface OfflineProcess {
  readonly pid: number;
  /** Resolves when the process has exited (expected or not). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its output, for a failure report. */
  recentOutput(): string[];
  stop(): Promise<void>;
}

export class OfflineStartError extends Error {
  constructor(
    message: string,
    readonly output: string[],
  ) {
    super(message);
    this.name = 'OfflineStartError';
  }
}

const RECENT_LINES = 80;
const STOP_GRACE_MS = 6000;

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolvePromise(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function childEnv(options: OfflineOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // No credentials, profile or endpoint of a real AWS account may reach the handlers.
    if (!name.startsWith('AWS_')) env[name] = value;
  }
  return {
    ...env,
    ...options.awsEnv,
    VOXCONF_ESBUILD_WORK_FOLDER: options.esbuildWorkFolder,
    VOXCONF_OFFLINE_GUARD: '1',
    VOXCONF_OFFLINE_GUARD_POLICY: JSON.stringify(guardPolicies(options)),
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    FORCE_COLOR: '0',
  };
}

/** local/loopback-guard.mjs policies of serverless offline's two ports (any other port: the strictest). */
function guardPolicies(options: OfflineOptions): Record<string, GuardPolicy> {
  return {
    [options.httpPort]: { corsOrigins: options.corsOrigins },
    [options.lambdaPort]: { refuseBrowserContentTypes: true },
  };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export async function startOffline(options: OfflineOptions): Promise<OfflineProcess> {
  // A stack killed with -9 cannot clean up after itself: start from an empty work folder.
  rmSync(resolve(options.root, options.esbuildWorkFolder), { recursive: true, force: true });
  const serverless = join(options.root, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const guard = pathToFileURL(resolve(options.root, 'local', 'offline-guard.mjs')).href;
  const args = [
    '--import',
    guard,
    serverless,
    'offline',
    'start',
    '--stage',
    options.stage,
    '--region',
    options.region,
    '--host',
    options.host,
    '--httpPort',
    String(options.httpPort),
    '--lambdaPort',
    String(options.lambdaPort),
    '--noPrependStageInUrl',
    ...Object.entries(options.params).map(([name, value]) => `--param=${name}=${value}`),
  ];
  const child: ChildProcess = spawn(options.node, args, {
    cwd: options.root,
    env: childEnv(options),
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    throw new OfflineStartError('could not start serverless offline', []);
  }
  const pid = child.pid;
  // The stack owns this pipe for the child's whole life (see offline-guard.mjs); never written to.
  child.stdin?.on('error', () => {});

  const recent: string[] = [];
  let ready = false;
  const onLine = (line: string) => {
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    if (!ready && !options.verbose) return;
    const out = formatOfflineLine(line, options.verbose);
    if (out) options.log(out.source, out.message);
  };
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        onLine(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
      }
    });
    stream?.on('end', () => {
      if (buffered !== '') onLine(buffered);
      buffered = '';
    });
  }

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolvePromise(exitInfo);
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (exitInfo === undefined) {
        killGroup(pid, 'SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          options.log(
            'offline',
            `serverless offline did not stop within ${STOP_GRACE_MS / 1000} s: killing its process group`,
          );
        }
      }
      // Whatever is left in the group (esbuild's service, a stuck worker) goes too.
      killGroup(pid, 'SIGKILL');
      await exited;
      child.stdin?.destroy();
      rmSync(resolve(options.root, options.esbuildWorkFolder), { recursive: true, force: true });
    })();
    return stopping;
  };

  const deadline = Date.now() + options.startTimeoutMs;
  try {
    for (;;) {
      if (exitInfo !== undefined) {
        throw new OfflineStartError(
          `serverless offline exited during start-up (${exitInfo.signal ?? `code ${exitInfo.code}`})`,
          [...recent],
        );
      }
      if (Date.now() > deadline) {
        throw new OfflineStartError(`serverless offline did not listen within ${options.startTimeoutMs / 1000} s`, [
          ...recent,
        ]);
      }
      const [http, lambda] = await Promise.all([
        portAnswers(options.host, options.httpPort),
        portAnswers(options.host, options.lambdaPort),
      ]);
      if (http && lambda && exitInfo === undefined) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  ready = true;
  return { pid, exited, recentOutput: () => [...recent], stop };
}
