import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Notes a generated private key for the test suite's leak scan (scripts/leak-scan.mjs), which then
 * searches all captured output for every line of it, not only for the PEM's well-known prefix.
 * Does nothing unless VOXCONF_SECRETS_DIR is set (only `npm test` sets it).
 */
export function registerGeneratedSecret(pem: string): void {
  const dir = process.env.VOXCONF_SECRETS_DIR;
  if (!dir) return;
  appendFileSync(join(dir, `secrets-${process.pid}.txt`), `${pem.trim()}\n`, { mode: 0o600 });
}
