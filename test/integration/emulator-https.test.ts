/**
 * HTTPS mode with a certificate made at run time by the openssl CLI (skipped when openssl is missing).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  type CreatedAccount,
  callEmulator,
  callMediaSession,
  generateSelfSignedCert,
  opensslAvailable,
  type SelfSignedCert,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

const hasOpenssl = await opensslAvailable();
if (!hasOpenssl) console.warn('openssl CLI not found: HTTPS emulator tests skipped');
const describeTls = hasOpenssl ? describe : describe.skip;

describeTls('HTTPS emulator', () => {
  let cert: SelfSignedCert;
  let emu: VoximplantEmulator;
  let account: CreatedAccount;

  beforeAll(async () => {
    cert = await generateSelfSignedCert();
    emu = await startEmulator({ tls: cert });
    account = emu.createAccount();
  }, 30_000);

  afterAll(async () => {
    await emu?.close();
  });

  test('the generated certificate is for IP 127.0.0.1 and the key is PEM', () => {
    const x509 = new X509Certificate(cert.cert);
    expect(x509.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert.key).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(x509.checkPrivateKey(createPrivateKey(cert.key))).toBe(true);
    expect(new Date(x509.validTo).getTime() - Date.now()).toBeLessThanOrEqual(2 * 24 * 3600 * 1000);
  });

  test('serves the API over HTTPS to a client that trusts the certificate', async () => {
    expect(emu.secure).toBe(true);
    expect(emu.url).toBe(`https://127.0.0.1:${emu.port}/platform_api`);
    const response = await callEmulator(
      emu.origin,
      [
        ['cmd', 'StartConference'],
        ['conference_name', 'tls room ü'],
        ['rule_id', String(account.ruleId)],
      ],
      {
        token: await signToken(account.credentials),
        encoding: 'multipart-chunked',
        path: '/platform_api',
        ca: cert.cert,
      },
    );
    const body = JSON.parse(response.text);
    expect(body.result).toBe(1);
    expect(body.media_session_access_secure_url).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${emu.port}/media/`));
    expect(emu.conferences()[0].name).toBe('tls room ü');
  });

  test('the secure media session URL is https and answers the contract over TLS', async () => {
    const response = await callEmulator(
      emu.origin,
      { conference_name: 'tls media', rule_id: String(account.ruleId) },
      { token: await signToken(account.credentials), ca: cert.cert },
    );
    const url = JSON.parse(response.text).media_session_access_secure_url as string;
    expect(url).toMatch(/^https:/);
    const status = await callMediaSession(url, { command: 'status' }, { ca: cert.cert });
    expect(JSON.parse(status.text)).toMatchObject({ ok: true, command: 'status', conference_name: 'tls media' });
  });

  test('a client that does not trust the certificate fails the handshake', async () => {
    await expect(callEmulator(emu.origin, { conference_name: 'x', rule_id: '1' })).rejects.toMatchObject({
      code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/),
    });
  });

  test('the control API shares the HTTPS port', async () => {
    const response = await callEmulator(emu.origin, {}, { method: 'GET', path: '/_emulator/health', ca: cert.cert });
    expect(JSON.parse(response.text)).toMatchObject({ ok: true, secure: true, port: emu.port });
  });
});
