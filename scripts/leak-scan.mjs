/**
 * Looks for secrets in captured output: the service-account private key, JWTs, Authorization headers and
 * media session URLs (which control a running conference). Used by `npm test` on a whole run of the
 * suite at debug log level; exported for its own unit test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LEAK_PATTERNS = [
  { name: 'private key PEM header', pattern: /-----BEGIN (?:RSA |ENCRYPTED )?PRIVATE KEY-----/ },
  // The DER prefix of every PKCS#8 RSA key, as it appears in base64 inside the PEM body.
  { name: 'private key PEM body', pattern: /IBADANBgkqhkiG9w0BAQEFAASC/ },
  { name: 'JWT', pattern: /eyJhbGciOi[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+/ },
  { name: 'Authorization header', pattern: /Bearer (?!\[redacted\])\S/ },
  { name: 'media session URL', pattern: /https?:\/\/[^\s"']+\/media\/[A-Za-z0-9-]{6,}/ },
];

/**
 * Every finding in `text`, with a short, itself redacted, context.
 * @param {string} text
 * @param {string} [source]
 * @returns {Array<{ source: string; line: number; kind: string; excerpt: string }>}
 */
export function scanForLeaks(text, source = 'output') {
  const findings = [];
  for (const { name, pattern } of LEAK_PATTERNS) {
    const global = new RegExp(pattern.source, 'g');
    for (const match of text.matchAll(global)) {
      const line = text.slice(0, match.index).split('\n').length;
      findings.push({ source, line, kind: name, excerpt: `${match[0].slice(0, 12)}…` });
      if (findings.length > 50) return findings;
    }
  }
  return findings;
}

/**
 * The base64 lines of every private key the run generated (registered by local/secret-register.ts):
 * each is searched for on its own, so a fragment of a key is found too.
 * @param {string | undefined} secretsDir
 * @returns {string[]}
 */
export function knownSecretLines(secretsDir) {
  if (!secretsDir) return [];
  const lines = new Set();
  for (const name of readdirSync(secretsDir)) {
    for (const line of readFileSync(join(secretsDir, name), 'utf8').split('\n')) {
      if (/^[A-Za-z0-9+/=]{40,}$/.test(line)) lines.add(line);
    }
  }
  return [...lines];
}

/**
 * Scans every file of a capture directory; returns findings and how much was read.
 * @param {string} dir
 * @param {string[]} [secretLines]
 */
export function scanDirectory(dir, secretLines = []) {
  const findings = [];
  let bytes = 0;
  let logLines = 0;
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    bytes += text.length;
    logLines += (text.match(/^\{"level":"/gm) ?? []).length;
    findings.push(...scanForLeaks(text, name));
    for (const line of secretLines) {
      if (text.includes(line))
        findings.push({ source: name, line: 0, kind: 'generated private key material', excerpt: '(redacted)' });
    }
  }
  return { findings, bytes, logLines };
}
