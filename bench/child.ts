/**
 * Runs one bench child (`bench/children/*.mjs`) on a given Node binary with a clean environment: the spec
 * goes in a JSON file, the figures come back in another. The child's stdout (the handler's log lines and
 * EMF metrics, as Lambda would capture them) is drained and counted; stderr is kept for error messages.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  script: 'cold.mjs' | 'warm.mjs';
  spec: Record<string, unknown>;
  env: Record<string, string>;
  workDir: string;
  timeoutMs: number;
  label: string;
}): Promise<ChildRun<T>> {
  const id = `${process.pid}-${++counter}`;
  const specFile = path.join(options.workDir, `spec-${id}.json`);
  const resultFile = path.join(options.workDir, `result-${id}.json`);
  writeFileSync(specFile, JSON.stringify({ ...options.spec, resultFile }));
  const started = performance.now();
  try {
    const { code, signal, stdoutBytes, stdoutLines, stderr } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      stdoutBytes: number;
      stdoutLines: number;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(options.node, [path.join(CHILDREN_DIR, options.script), specFile], {
        cwd: options.workDir,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdoutBytes = 0;
      let stdoutLines = 0;
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdoutBytes += chunk.length;
        for (const byte of chunk) if (byte === 10) stdoutLines++;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < 20_000) stderr += chunk.toString('utf8');
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdoutBytes, stdoutLines, stderr });
      });
    });
    const wallMs = performance.now() - started;
    if (code !== 0) {
      const why = signal === 'SIGKILL' ? `killed after ${options.timeoutMs} ms` : `exit ${code ?? signal}`;
      throw new Error(`${options.label}: child failed (${why}):\n${stderr.trim().slice(-4000)}`);
    }
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as T;
    return { result, wallMs, stdoutBytes, stdoutLines };
  } finally {
    rmSync(specFile, { force: true });
    rmSync(resultFile, { force: true });
  }
}
