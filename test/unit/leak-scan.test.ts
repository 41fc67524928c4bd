import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { importPKCS8, SignJWT } from 'jose';
import { scanForLeaks } from '../../scripts/leak-scan.mjs';

const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

const kinds = (text: string) => (scanForLeaks(text) as Array<{ kind: string }>).map((f) => f.kind);

describe('leak scan', () => {
  it('finds a private key by its PEM header and the PKCS#8 prefix of its body', () => {
    expect(kinds(privateKey)).toEqual(expect.arrayContaining(['private key PEM header', 'private key PEM body']));
    expect(kinds(`{"msg":"x","k":"${privateKey.split('\n')[1]}"}`)).toEqual(['private key PEM body']);
  });

  it('finds a signed token and a Bearer header, not a redacted one', async () => {
    const token = await new SignJWT({ iss: 'account-1' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'k' })
      .sign(await importPKCS8(privateKey, 'RS256'));
    expect(kinds(`{"token":"${token}"}`)).toEqual(['JWT']);
    expect(kinds(`authorization: Bearer ${token}`)).toEqual(expect.arrayContaining(['JWT', 'Authorization header']));
    expect(kinds('authorization: Bearer [redacted]')).toEqual([]);
  });

  it('finds media session URLs', () => {
    expect(kinds('"url":"https://127.0.0.1:4000/media/2f1c9a7e-1"')).toEqual(['media session URL']);
  });

  it('passes ordinary structured logs', () => {
    expect(
      kinds('{"level":"INFO","message":"conference started","conference_name":"standup","call_session_history_id":42}'),
    ).toEqual([]);
  });
});

describe('leak scan of generated keys', () => {
  it('finds any single line of a registered key in captured output', async () => {
    const { mkdtempSync, writeFileSync, mkdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { knownSecretLines, scanDirectory } = await import('../../scripts/leak-scan.mjs');
    const base = mkdtempSync(join(tmpdir(), 'leak-'));
    mkdirSync(join(base, 'secrets'));
    mkdirSync(join(base, 'capture'));
    writeFileSync(join(base, 'secrets', 'secrets-1.txt'), privateKey);
    const lines = knownSecretLines(join(base, 'secrets'));
    expect(lines.length).toBeGreaterThan(20);
    const middle = privateKey.split('\n')[12]!;
    writeFileSync(join(base, 'capture', 'worker.log'), `{"level":"DEBUG","x":"${middle}"}\n`);
    const { findings } = scanDirectory(join(base, 'capture'), lines);
    expect(findings.map((f: { kind: string }) => f.kind)).toContain('generated private key material');
  });
});
