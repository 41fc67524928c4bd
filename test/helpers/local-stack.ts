/**
 * Starts the local stack the way a user does (`npm start` = `node --import tsx local/start.ts`), as a child
 * process on a free block of ports, waits for its `VOXCONF_READY {json}` line, and checks after stop() that no
 * process and no port is left behind.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PORT_NAMES } from '../../local/settings.js';
import type { StackInfo } from '../../local/stack.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The stack's ports, a block from VOXCONF_PORT_BASE (local/settings.ts); blocks below are 10 apart. */
const PORT_COUNT = PORT_NAMES.length;

export interface RunningStack {
  readonly child: ChildProcess;
  readonly info: StackInfo;
  /** Everything the stack printed so far (stdout and stderr). */
  output(): string;
  /** Waits until the output matches (or throws after timeoutMs, showing the output's tail). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends the signal, waits for the exit; returns its code and signal and how long stopping took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Time from spawn to the ready line. */
  readonly readyMs: number;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

/**
 * A base port with PORT_COUNT free ports after it, below Linux's ephemeral range (32768+) so that no client
 * connection grabs one between this check and the stack's bind.
 */
export async function freePortBase(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 1_200) * 10;
    const free = await Promise.all(Array.from({ length: PORT_COUNT }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free block of ports found');
}

/** The child's environment: the parent's without jest's and the project's own settings, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      name === 'NODE_OPTIONS' ||
      name.startsWith('VOXCONF_') ||
      name.startsWith('VOXIMPLANT_') ||
      name.startsWith('JEST_')
    )
      continue;
    clean[name] = value;
  }
  return { ...clean, ...env };
}

export async function startLocalStack(env: Record<string, string>, timeoutMs = 60_000): Promise<RunningStack> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/start.ts'], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolvePromise) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      for (const listener of listeners) listener();
      resolvePromise(exit);
    });
  });

  const tail = () => text.split('\n').slice(-40).join('\n');
  const waitForOutput = (pattern: RegExp, wait = 20_000) =>
    new Promise<RegExpMatchArray>((resolvePromise, reject) => {
      const check = () => {
        const match = text.match(pattern);
        if (match) {
          done();
          resolvePromise(match);
        } else if (exit) {
          done();
          reject(new Error(`the stack exited (${exit.signal ?? exit.code}) before printing ${pattern}:\n${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${pattern} within ${wait} ms; output so far:\n${tail()}`));
      }, wait);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  let info: StackInfo;
  try {
    const match = await waitForOutput(/^VOXCONF_READY (.+)$/m, timeoutMs);
    info = JSON.parse(match[1]) as StackInfo;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const readyMs = Date.now() - started;

  return {
    child,
    info,
    readyMs,
    output: () => text,
    waitForOutput,
    async stop(signal = 'SIGINT') {
      const begin = Date.now();
      if (!exit) child.kill(signal);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref());
      const result = await Promise.race([exited, timer]);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        throw new Error(`the stack did not stop within 20 s after ${signal}:\n${tail()}`);
      }
      return { ...result, ms: Date.now() - begin };
    },
  };
}

/** Ports among these that still accept connections. */
export async function openPorts(ports: readonly number[]): Promise<number[]> {
  const open = await Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolvePromise) => {
          const socket = connect({ host: '127.0.0.1', port });
          const done = (ok: boolean) => {
            socket.destroy();
            resolvePromise(ok);
          };
          socket.setTimeout(1000, () => done(false));
          socket.once('connect', () => done(true));
          socket.once('error', () => done(false));
        }),
    ),
  );
  return ports.filter((_, i) => open[i]);
}

/** Processes (pid, pgid, args) in that process group, or whose command line contains `needle`. */
export function leftoverProcesses(pgid: number, needle: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  if (ps.status !== 0) throw new Error(`ps failed: ${ps.stderr}`);
  return ps.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .filter((line) => {
      const [pid, group, stat] = line.split(/\s+/);
      if (Number(pid) === process.pid || stat.startsWith('Z')) return false;
      return Number(group) === pgid || line.includes(needle);
    })
    .filter((line) => !line.includes(' ps -eo '));
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One HTTP request to 127.0.0.1:port with exactly these headers (node:http, not fetch: a test may set `Host`
 * and `Origin` as a browser or a DNS-rebinding page would).
 */
export function rawRequest(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawAnswer> {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers ?? {},
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from port ${port} in 15 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
