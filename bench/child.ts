/**
 * Runs one bench child (`bench/children/*.mjs`) on a given Node binary with a clean environment: the spec
 * goes in a JSON file, the figures come back in another. The child's stdout (the handler's log lines and
 * EMF metrics, as Lambda would capture them) goes to a file, so that no work of this process (which also
 * serves the emulator) depends on how much a client logs; its lines are counted. stderr is kept for errors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './bundles.js';

export const CHILDREN_DIR = path.join(ROOT, 'bench', 'children');

export interface ChildRun<T> {
  readonly result: T;
  /** Parent-side wall time from spawn to exit (includes Node's own start-up). */
  readonly wallMs: number;
  readonly stdoutBytes: number;
  readonly stdoutLines: number;
}

let counter = 0;

export async function runChild<T>(options: {
  node: string;
  script: 'cold.mjs' | 'warm.mjs' | 'freeze.mjs';
  spec: Record<string, unknown>;
  env: Record<string, string>;
  workDir: string;
  timeoutMs: number;
  label: string;
  /**
   * For a child that says `ready` on fd 3 and then waits for a line on stdin (freeze.mjs): called when it
   * is ready, with the child; it resolves once it has written that line.
   */
  onReady?: (child: ChildProcess) => Promise<void>;
}): Promise<ChildRun<T>> {
  const id = `${process.pid}-${++counter}`;
  const specFile = path.join(options.workDir, `spec-${id}.json`);
  const resultFile = path.join(options.workDir, `result-${id}.json`);
  const stdoutFile = path.join(options.workDir, `stdout-${id}.log`);
  writeFileSync(specFile, JSON.stringify({ ...options.spec, resultFile }));
  const stdoutFd = openSync(stdoutFile, 'w');
  const started = performance.now();
  try {
    const { code, signal, stderr } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stderr: string;
    }>((resolve, reject) => {
      const { onReady } = options;
      const child = spawn(options.node, [path.join(CHILDREN_DIR, options.script), specFile], {
        cwd: options.workDir,
        env: options.env,
        stdio: onReady ? ['pipe', stdoutFd, 'pipe', 'pipe'] : ['ignore', stdoutFd, 'pipe'],
      });
      if (onReady) {
        let said = '';
        child.stdio[3]!.on('data', (chunk: Buffer) => {
          said += chunk.toString('utf8');
          if (said !== 'ready\n') return;
          onReady(child).catch((error: unknown) => {
            child.kill('SIGKILL');
            reject(error);
          });
        });
      }
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        if (stderr.length < 20_000) stderr += chunk.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stderr });
      });
    });
    const wallMs = performance.now() - started;
    const stdout = readFileSync(stdoutFile);
    const stdoutBytes = stdout.length;
    let stdoutLines = 0;
    for (const byte of stdout) if (byte === 10) stdoutLines++;
    if (code !== 0) {
      const why = signal === 'SIGKILL' ? `killed after ${options.timeoutMs} ms` : `exit ${code ?? signal}`;
      const tail = `${stderr.trim()}\n${stdout.toString('utf8').trim().split('\n').slice(-5).join('\n')}`.trim();
      throw new Error(`${options.label}: child failed (${why}):\n${tail.slice(-4000)}`);
    }
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as T;
    return { result, wallMs, stdoutBytes, stdoutLines };
  } finally {
    closeSync(stdoutFd);
    rmSync(stdoutFile, { force: true });
    rmSync(specFile, { force: true });
    rmSync(resultFile, { force: true });
  }
}
