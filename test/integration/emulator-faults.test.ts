/**
 * Forced faults (each kind and each scope), latency, and the concurrency cap (HTTP 429).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  type CreatedAccount,
  callEmulator,
  FaultSpecError,
  signToken,
  startEmulator,
  type VoximplantEmulator,
} from '../../local/voximplant-emulator/index.js';

let emu: VoximplantEmulator;
let account: CreatedAccount;

beforeAll(async () => {
  emu = await startEmulator();
  account = emu.createAccount();
});

afterAll(async () => {
  await emu.close();
});

beforeEach(() => {
  emu.reset();
});

async function call(name = 'faults', options: { token?: boolean } = {}) {
  const token = options.token === false ? undefined : await signToken(account.credentials);
  return callEmulator(
    emu.origin,
    { conference_name: name, rule_id: String(account.ruleId) },
    token === undefined ? {} : { token },
  );
}

const isSuccess = (text: string) => (JSON.parse(text) as { result?: number }).result === 1;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('fault kinds', () => {
  test('error: HTTP 200 with the code and Voximplant message, even without a token', async () => {
    emu.fault({ type: 'error', code: 162, times: 1 });
    const response = await call('x', { token: false });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.text)).toEqual({ error: { msg: 'try later..', code: 162 } });
    const [record] = emu.requests();
    expect(record).toMatchObject({ outcome: 'fault', errorCode: 162, fault: { type: 'error' } });
    // The auth verdict is still recorded, just not acted upon.
    expect(record.auth).toMatchObject({ outcome: 'failed', reason: 'missing_authorization' });
  });

  test('error with an explicit message, and undocumented codes need one', async () => {
    emu.fault({ type: 'error', code: 416, msg: 'Repeat after 3 seconds', times: 1 });
    expect(JSON.parse((await call()).text)).toEqual({ error: { msg: 'Repeat after 3 seconds', code: 416 } });
    expect(() => emu.fault({ type: 'error', code: 99999 })).toThrow(FaultSpecError);
    expect(() => emu.fault({ type: 'error', code: 99999, msg: 'custom' })).not.toThrow();
  });

  test('http: status, Retry-After, headers and body as given; defaults to a plain status text', async () => {
    emu.fault({
      type: 'http',
      status: 503,
      retryAfter: 3,
      headers: { 'x-test': 'yes' },
      body: '<h1>down</h1>',
      contentType: 'text/html',
      times: 1,
    });
    const custom = await call();
    expect(custom.status).toBe(503);
    expect(custom.headers['retry-after']).toBe('3');
    expect(custom.headers['x-test']).toBe('yes');
    expect(custom.headers['content-type']).toBe('text/html');
    expect(custom.text).toBe('<h1>down</h1>');

    emu.fault({ type: 'http', status: 429, times: 1 });
    const plain = await call();
    expect(plain.status).toBe(429);
    expect(plain.headers['retry-after']).toBeUndefined();
    expect(plain.text).toBe('429 Too Many Requests');
    expect(emu.stats().byStatus).toEqual({ '503': 1, '429': 1 });
  });

  test('raw: a non-JSON body with HTTP 200', async () => {
    emu.fault({ type: 'raw', body: '<html>gateway</html>', times: 1 });
    const response = await call();
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html');
    expect(response.text).toBe('<html>gateway</html>');
    expect(() => JSON.parse(response.text)).toThrow();
  });

  test('errors: the {"errors":[...]} shape', async () => {
    emu.fault({ type: 'errors', errors: [{ code: 134 }, { code: 101, msg: 'bad' }], times: 1 });
    expect(JSON.parse((await call()).text)).toEqual({
      errors: [
        { msg: 'Required parameter is empty', code: 134 },
        { msg: 'bad', code: 101 },
      ],
    });
  });

  test('drop: the connection dies before any answer and no session starts', async () => {
    emu.fault({ type: 'drop', times: 1 });
    await expect(call('dropped')).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|socket hang up/i) });
    expect(emu.conferences()).toEqual([]);
    expect(emu.requests()[0]).toMatchObject({ outcome: 'fault', status: null, dropped: 'before_response' });
    // The next request is not affected.
    expect(isSuccess((await call('dropped')).text)).toBe(true);
  });

  test('drop-mid-response: the call takes effect, the answer is cut; a retry joins the same session', async () => {
    emu.fault({ type: 'drop-mid-response', times: 1 });
    await expect(call('half')).rejects.toThrow();
    const [session] = emu.conferences();
    expect(session).toMatchObject({ name: 'half', joinCount: 0 });
    expect(emu.requests()[0]).toMatchObject({
      outcome: 'fault',
      status: 200,
      dropped: 'mid_response',
      conference: { joined: false },
    });

    const retry = JSON.parse((await call('half')).text);
    expect(retry.call_session_history_id).toBe(session.callSessionHistoryId);
    expect(emu.conferences()[0].joinCount).toBe(1);
  });

  test('latency: the answer is delayed, then normal', async () => {
    emu.fault({ type: 'latency', ms: 250, times: 1 });
    const started = Date.now();
    expect(isSuccess((await call()).text)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(emu.requests()[0].latencyMs).toBe(250);

    // Used up: the next request gets no extra delay.
    await call();
    expect(emu.requests()[1].latencyMs).toBe(0);
  });

  test('a latency fault and an answer fault both apply to the same request', async () => {
    emu.fault({ type: 'latency', ms: 150, times: 1 });
    emu.fault({ type: 'http', status: 502, times: 1 });
    const started = Date.now();
    expect((await call()).status).toBe(502);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(emu.faults()).toEqual([]);
  });

  test('invalid specs are refused when set', () => {
    expect(() => emu.fault({ type: 'explode' } as never)).toThrow(FaultSpecError);
    expect(() => emu.fault({ type: 'http', status: 700 })).toThrow(FaultSpecError);
    expect(() => emu.fault({ type: 'drop', times: 0 })).toThrow(FaultSpecError);
    expect(() => emu.fault({ type: 'errors', errors: [] })).toThrow(FaultSpecError);
    expect(emu.faults()).toEqual([]);
  });
});

describe('fault scopes', () => {
  test('times: the next N requests only, and the oldest fault answers first', async () => {
    emu.fault({ type: 'http', status: 500, times: 2 });
    emu.fault({ type: 'http', status: 503, times: 1 });
    expect(emu.faults().map((fault) => fault.remaining)).toEqual([2, 1]);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call()).status);
    expect(statuses).toEqual([500, 500, 503, 200]);
    expect(emu.faults()).toEqual([]);
    expect(emu.stats().faultsApplied).toBe(3);
  });

  test('conferenceName: only requests for that name', async () => {
    emu.fault({ type: 'error', code: 23, conferenceName: 'doomed room' });
    expect(JSON.parse((await call('doomed room')).text).error.code).toBe(23);
    expect(isSuccess((await call('fine room')).text)).toBe(true);
    expect(JSON.parse((await call('doomed room')).text).error.code).toBe(23);
    expect(emu.faults()[0].hits).toBe(2);
  });

  test('forMs: 503 for a time window, then normal again', async () => {
    emu.fault({ type: 'http', status: 503, forMs: 300 });
    expect((await call()).status).toBe(503);
    expect((await call()).status).toBe(503);
    await sleep(350);
    expect((await call()).status).toBe(200);
    expect(emu.faults()).toEqual([]);
  });

  test('no scope: until cleared (all, or one by id)', async () => {
    const kept = emu.fault({ type: 'http', status: 500 });
    for (let i = 0; i < 3; i++) expect((await call()).status).toBe(500);
    const second = emu.fault({ type: 'latency', ms: 1 });
    expect(emu.clearFaults(kept.id)).toBe(1);
    expect(emu.faults().map((fault) => fault.id)).toEqual([second.id]);
    expect(emu.clearFaults()).toBe(1);
    expect((await call()).status).toBe(200);
  });
});

describe('global latency', () => {
  test('setLatency delays every API answer (errors included) until set back', async () => {
    emu.setLatency(200);
    expect(emu.latencyMs).toBe(200);
    const started = Date.now();
    await call('slow', { token: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(emu.requests()[0].latencyMs).toBe(200);
    emu.setLatency(0);
    await call();
    expect(emu.requests()[1].latencyMs).toBe(0);
    expect(() => emu.setLatency(-1)).toThrow(RangeError);
  });

  test('latencyMs at start applies from the first request; reset returns to it', async () => {
    const slow = await startEmulator({ latencyMs: 150 });
    try {
      const started = Date.now();
      await callEmulator(slow.origin, { conference_name: 'x', rule_id: '1' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      slow.setLatency(0);
      slow.reset();
      expect(slow.latencyMs).toBe(150);
    } finally {
      await slow.close();
    }
  });
});

describe('concurrency cap', () => {
  test('requests past maxConcurrent get HTTP 429 while the others are in flight', async () => {
    const capped = await startEmulator({ maxConcurrent: 3, latencyMs: 300 });
    try {
      const acc = capped.createAccount();
      const token = await signToken(acc.credentials);
      const responses = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          callEmulator(capped.origin, { conference_name: `c${i}`, rule_id: String(acc.ruleId) }, { token }),
        ),
      );
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
      expect(
        responses
          .filter((response) => response.status === 429)
          .every((response) => response.text === 'Too Many Requests'),
      ).toBe(true);
      expect(capped.stats()).toMatchObject({ peakInFlight: 3, inFlight: 0, byOutcome: { success: 3, overloaded: 3 } });

      // Capacity comes back once the slow ones are done.
      capped.setLatency(0);
      const after = await callEmulator(
        capped.origin,
        { conference_name: 'later', rule_id: String(acc.ruleId) },
        { token },
      );
      expect(isSuccess(after.text)).toBe(true);
    } finally {
      await capped.close();
    }
  });
});

describe('close', () => {
  test('close() ends requests that are waiting on latency instead of waiting for them', async () => {
    const closing = await startEmulator({ latencyMs: 10_000 });
    const pending = callEmulator(closing.origin, { conference_name: 'x', rule_id: '1' });
    await sleep(50);
    const started = Date.now();
    await closing.close();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(closing.requests()[0].outcome).toBe('aborted');
  });
});
