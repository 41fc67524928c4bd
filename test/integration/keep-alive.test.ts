/**
 * The connection to Voximplant: opened ahead of the first request (pre-open), and a kept-alive connection
 * found dead when reused (the server closed or forgot it while the client could not notice, e.g. frozen):
 * retried once on a fresh connection within the same attempt, unless a byte of the answer had arrived.
 * Over HTTP and HTTPS, against the emulator closing or forgetting idle connections. No timing assertions:
 * only what the emulator saw (connections, requests) and the answers.
 */
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { openEarlyConnection } from '../../lib/early-connection.js';
import { UpstreamError, VoximplantClient } from '../../lib/index.js';
import {
  type CreatedAccount,
  generateSelfSignedCert,
  opensslAvailable,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';
import { startCoreFixture } from '../helpers/fixture.js';

const hasOpenssl = await opensslAvailable();
const transports = hasOpenssl ? (['http', 'https'] as const) : (['http'] as const);

/** Polls (no timing assertion) until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(transports)('over %s', (transport) => {
  let emulator: VoximplantEmulator;
  let account: CreatedAccount;
  let token: string;
  const clients: VoximplantClient[] = [];
  let restoreCa: (() => void) | undefined;

  beforeAll(async () => {
    const cert = transport === 'https' ? await generateSelfSignedCert() : undefined;
    if (cert) {
      // The client trusts the system's CAs: add the emulator's certificate to them for this file.
      const previous = tls.getCACertificates('default');
      tls.setDefaultCACertificates([...previous, cert.cert]);
      restoreCa = () => tls.setDefaultCACertificates(previous);
    }
    emulator = await startEmulator(cert ? { tls: cert } : {});
    account = emulator.createAccount();
    token = await signToken(account.credentials);
  }, 30_000);
  afterAll(async () => {
    restoreCa?.();
    await emulator.close();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await until(() => emulator.connections().every((c) => c.closedAt !== null), 'the connections to close');
    emulator.reset();
  });

  const newClient = () => {
    const client = new VoximplantClient({ apiUrl: emulator.url });
    clients.push(client);
    return client;
  };
  const start = (client: VoximplantClient, name: string) =>
    client.startConference({ conference_name: name, rule_id: account.ruleId }, token, { timeoutMs: 5_000 });
  const apiRequests = () => emulator.requests().filter((r) => r.command === 'StartConference');

  it('pre-opens the connection: the emulator sees it before any request, and the first POST uses it', async () => {
    const client = newClient();
    await client.preconnect();
    // Under TLS 1.3 the server is done with the handshake a moment after the client.
    await until(() => emulator.connections().length === 1, 'the emulator to see the connection');
    expect(emulator.connections()).toEqual([expect.objectContaining({ requests: 0, closedAt: null })]);
    expect(apiRequests()).toHaveLength(0);

    await expect(start(client, 'preopened')).resolves.toMatchObject({ call_session_history_id: expect.any(Number) });
    expect(emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
    // A second preconnect finds the kept-alive connection and opens nothing.
    await client.preconnect();
    expect(emulator.connections()).toHaveLength(1);
  });

  it('a connection opened before any client exists is adopted by the first client for that origin', async () => {
    await openEarlyConnection(emulator.url, { lookupBoundMs: 100 });
    const client = newClient();
    await client.preconnect(); // adopts it (under TLS, starts its handshake): no second connection
    await until(() => emulator.connections().length === 1, 'the emulator to see the connection');
    await expect(start(client, 'early')).resolves.toBeDefined();
    expect(emulator.connections()).toEqual([expect.objectContaining({ requests: 1 })]);
  });

  it('retries once on a fresh connection when a reused connection is reset before any answer', async () => {
    const client = newClient();
    await start(client, 'dead-1');
    expect(emulator.expireIdleConnections('reset')).toBe(1);

    await expect(start(client, 'dead-2')).resolves.toMatchObject({ call_session_history_id: expect.any(Number) });
    const [first, second] = emulator.connections();
    expect(first).toMatchObject({ requests: 1, closedBy: 'reset' });
    expect(second).toMatchObject({ requests: 1 });
    expect(apiRequests().map((r) => r.outcome)).toEqual(['success', 'success']);
  });

  it('retries a pre-opened connection that died idle before its first request', async () => {
    const client = newClient();
    await client.preconnect();
    await until(() => emulator.connections().length === 1, 'the emulator to see the connection');
    expect(emulator.expireIdleConnections('reset')).toBe(1);

    await expect(start(client, 'dead-preopened')).resolves.toBeDefined();
    expect(emulator.connections().map((c) => c.closedBy)).toEqual(['reset', null]);
  });

  it('opens a new connection when the server closed the idle one (FIN): nothing to retry', async () => {
    const client = newClient();
    await start(client, 'closed-1');
    expect(emulator.expireIdleConnections('close')).toBe(1);
    // Whether the client has seen the FIN yet or not, the request succeeds: either the pool dropped the
    // socket, or the write finds it closed before any answer and is retried.

    await expect(start(client, 'closed-2')).resolves.toBeDefined();
    expect(emulator.connections()).toHaveLength(2);
    expect(apiRequests()).toHaveLength(2);
  });

  it('does not retry once a byte of the answer has arrived (the conference may have started)', async () => {
    const client = newClient();
    await start(client, 'cut-1'); // a kept-alive connection, reused below
    emulator.fault({ type: 'drop-mid-response', times: 1 });
    const error = await start(client, 'cut-2').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: 'voximplant_unreachable', outcome: 'unknown' });
    expect(apiRequests()).toHaveLength(2);
  });

  it('does not retry a fresh connection that fails: that is an attempt for the caller to count', async () => {
    const client = newClient();
    emulator.fault({ type: 'drop', times: 1 });
    await expect(start(client, 'fresh-drop')).rejects.toMatchObject({ code: 'voximplant_unreachable' });
    expect(apiRequests()).toHaveLength(1);
  });

  it('retries a reused connection dropped before any answer, once: the second drop is the caller’s', async () => {
    const client = newClient();
    await start(client, 'drop-1');
    emulator.fault({ type: 'drop', times: 2 });
    await expect(start(client, 'drop-2')).rejects.toMatchObject({ code: 'voximplant_unreachable' });
    // The reused connection, then one fresh one: no third try inside the attempt.
    expect(apiRequests().filter((r) => r.params.conference_name === 'drop-2')).toHaveLength(2);
  });
});

describe('a kept-alive connection the server forgot after 200 ms idle, through the service', () => {
  it('does not use up an attempt: one attempt allowed, and the start succeeds', async () => {
    const fx = await startCoreFixture({
      emulator: { idleConnections: { afterMs: 200, mode: 'reset' } },
      env: { VOXIMPLANT_MAX_ATTEMPTS: '1' },
    });
    try {
      const service = fx.service();
      const request = { conference_name: 'attempts', rule_id: fx.account.ruleId };
      await service.start(request);
      await until(() => fx.emulator.connections().at(-1)?.state === 'forgotten', 'the connection to be forgotten');
      await expect(service.start(request)).resolves.toMatchObject({ conference_name: 'attempts' });
      expect(fx.emulator.connections().map((c) => c.closedBy)).toEqual(['reset', null]);
    } finally {
      await fx.close();
    }
  });
});
