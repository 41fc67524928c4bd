/**
 * The session client over real HTTP: against the emulator's media sessions (the contract the reference scenario
 * speaks) and against a small loopback server for what the emulator does not do on purpose (a slow, an oversized,
 * a refused or a reset answer).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import facts from '../../lib/facts.json' with { type: 'json' };
import { SessionClient } from '../../lib/session-client.js';
import { createLocalServer } from '../../local/loopback-guard.mjs';
import {
  type CreatedAccount,
  callEmulator,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

let emu: VoximplantEmulator;
let account: CreatedAccount;
let server: Server;
let origin: string;
const received: { path: string; body: string; contentType: string | undefined }[] = [];
let resets = 0;

/** What the loopback server does per path. */
function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  received.push({ path: req.url ?? '', body, contentType: req.headers['content-type'] });
  switch (req.url) {
    case '/big':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, result: 'x'.repeat(facts.registry.sessionAnswerMaxBytes) }));
      return;
    case '/exact': {
      const text = 'y'.repeat(facts.registry.sessionAnswerMaxBytes);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
      return;
    }
    case '/slow':
      setTimeout(() => res.end('late'), 2_000).unref();
      return;
    case '/reset':
      resets++;
      req.socket.destroy();
      return;
    case '/redirect':
      res.writeHead(302, { location: '/big' });
      res.end();
      return;
    case '/cut':
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    default:
      res.writeHead(500);
      res.end('no such path');
  }
}

beforeAll(async () => {
  emu = await startEmulator();
  account = emu.createAccount();
  server = createLocalServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await emu.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function start(name: string): Promise<string> {
  const response = await callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(account.ruleId) },
    { token: await signToken(account.credentials) },
  );
  return JSON.parse(response.text).media_session_access_secure_url as string;
}

/** A port nothing listens on: opened, then closed. */
async function closedPort(): Promise<number> {
  const probe = createLocalServer(() => undefined);
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const client = new SessionClient({ timeoutMs: 500, allowLoopbackHttp: true });

describe('against the emulator (the media session contract)', () => {
  test('status answers JSON; stop confirms; afterwards the session is not found', async () => {
    const url = await start('client room');
    const status = await client.send(url, { command: 'status' });
    expect(status).toMatchObject({
      kind: 'answered',
      status: 200,
      isJson: true,
      json: { ok: true, command: 'status' },
    });
    const stop = await client.send(url, { command: 'stop' });
    expect(stop).toMatchObject({ kind: 'answered', status: 200, json: { ok: true, command: 'stop', stopping: true } });
    expect(await client.send(url, { command: 'status' })).toEqual({ kind: 'not_found', status: 404 });
  });

  test('an unknown command gets the scenario hook answer, args forwarded as given', async () => {
    const url = await start('client hook');
    emu.setCommandHook('echo', { result: { echoed: true } });
    const outcome = await client.send(url, { command: 'echo', args: { a: [1, 'two'] } });
    expect(outcome).toMatchObject({
      kind: 'answered',
      status: 200,
      json: { ok: true, command: 'echo', result: { echoed: true } },
    });
  });
});

describe('against a loopback server', () => {
  test('sends POST JSON {command, args} and nothing else', async () => {
    received.length = 0;
    await client.send(`${origin}/other`, { command: 'mute', args: { who: 'a' } });
    await client.send(`${origin}/other`, { command: 'status' });
    expect(received.map((r) => [r.contentType, JSON.parse(r.body)])).toEqual([
      ['application/json', { command: 'mute', args: { who: 'a' } }],
      ['application/json', { command: 'status' }],
    ]);
  });

  test('a non-JSON answer is text, with its status', async () => {
    expect(await client.send(`${origin}/other`, { command: 'x' })).toEqual({
      kind: 'answered',
      status: 500,
      text: 'no such path',
      isJson: false,
      json: undefined,
    });
  });

  test('an answer over sessionAnswerMaxBytes is too large; one at the limit is read', async () => {
    expect(await client.send(`${origin}/big`, { command: 'x' })).toEqual({ kind: 'too_large', status: 200 });
    const exact = await client.send(`${origin}/exact`, { command: 'x' });
    expect(exact).toMatchObject({ kind: 'answered', status: 200 });
    expect(exact.kind === 'answered' && exact.text.length).toBe(facts.registry.sessionAnswerMaxBytes);
  });

  test('a redirect is not followed', async () => {
    received.length = 0;
    expect(await client.send(`${origin}/redirect`, { command: 'x' })).toMatchObject({ kind: 'answered', status: 302 });
    expect(received.map((r) => r.path)).toEqual(['/redirect']);
  });

  test('no answer within the timeout is a timeout', async () => {
    const started = Date.now();
    expect(await client.send(`${origin}/slow`, { command: 'x' })).toEqual({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  test('a refused connection is refused; a reset before any answer is an error (a blip is not a gone session)', async () => {
    const port = await closedPort();
    expect(await client.send(`http://127.0.0.1:${port}/media/1`, { command: 'status' })).toEqual({
      kind: 'refused',
      code: 'ECONNREFUSED',
    });
    const before = resets;
    expect(await client.send(`${origin}/reset`, { command: 'status' })).toEqual({
      kind: 'error',
      code: 'ECONNRESET',
    });
    expect(resets).toBe(before + 1);
  });

  test('a connection lost mid-answer is an error, not a refusal', async () => {
    expect(await client.send(`${origin}/cut`, { command: 'status' })).toMatchObject({ kind: 'error' });
  });

  test('a plain http URL to a host that is not loopback is never requested', async () => {
    expect(await client.send('http://media.example.invalid/request/1/t', { command: 'status' })).toEqual({
      kind: 'error',
      code: 'url_not_allowed',
    });
  });
});
