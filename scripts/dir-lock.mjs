/**
 * A lock between processes of one checkout: a folder that mkdir creates atomically. A lock held longer than
 * `staleMs` was left by a killed process and is taken over.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

/** Waits for the lock at `file`; resolves to its release. Throws if `timeoutMs` passes first. */
export async function acquireDirLock(file, { staleMs, timeoutMs = Number.POSITIVE_INFINITY, what = 'the lock' }) {
  mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(file);
      return () => rmSync(file, { recursive: true, force: true });
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      let heldMs = 0;
      try {
        heldMs = Date.now() - statSync(file).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (heldMs > staleMs) rmSync(file, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another process has held ${what} (${file}) for too long`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
