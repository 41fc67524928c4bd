/**
 * A throwaway self-signed certificate for 127.0.0.1, made by the openssl CLI at run time so that no
 * key is ever committed. Node has no certificate builder of its own.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SelfSignedCert {
  /** PKCS#8 PEM private key. */
  readonly key: string;
  /** PEM certificate; give it to clients as their trusted CA. */
  readonly cert: string;
}

/** Rejects (e.g. ENOENT) when openssl is not installed; callers that can do without HTTPS should catch. */
export async function generateSelfSignedCert(): Promise<SelfSignedCert> {
  const dir = await mkdtemp(join(tmpdir(), 'voximplant-emulator-tls-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    // openssl prints progress on stderr; only the exit status matters.
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        keyPath,
        '-out',
        certPath,
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-days',
        '1',
      ],
      { timeout: 30_000 },
    );
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    return { key, cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True when the openssl CLI can be run here. */
export async function opensslAvailable(): Promise<boolean> {
  try {
    await run('openssl', ['version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
