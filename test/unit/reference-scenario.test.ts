/**
 * The reference VoxEngine scenario (voximplant/conference.js) run on a fake of the VoxEngine objects it uses
 * (test/helpers/voxengine-fake.ts, written from Voximplant's documentation): the media session contract of issue 14
 * (status, stop, the hook, bad bodies), custom data, and the session's end.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import facts from '../../lib/facts.json' with { type: 'json' };
import { AppEvents, type FakeOptions, FakeSession, LIMITS, SCENARIO_PATH } from '../helpers/voxengine-fake.js';

const START = Date.UTC(2030, 0, 1, 9, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

/** The scenario loaded and its session started (AppEvents.Started). */
function started(options: FakeOptions = {}): FakeSession {
  return new FakeSession({ startTime: START, ...options }).loadFile(SCENARIO_PATH).start();
}

/** A command over the session URL; the answer's JSON body (VoxEngine always answers 200). */
function send(session: FakeSession, body: unknown): Record<string, any> {
  const answer = session.request(JSON.stringify(body));
  expect(answer.status).toBe(200);
  return JSON.parse(answer.body);
}

/** Nothing the docs forbid or leave undefined happened, and no callback threw. */
function expectClean(session: FakeSession): void {
  expect(session.violations).toEqual([]);
  expect(session.errors).toEqual([]);
}

function setHook(session: FakeSession, hook: unknown): void {
  session.context.handleCommand = hook;
}

describe('the VoxEngine fake does what the docs say (so the scenario tests can fail)', () => {
  const run = (source: string) => new FakeSession().load(source);

  it('createConference needs require(Modules.Conference): without it the session dies with a JS error', () => {
    const session = run(
      'VoxEngine.addEventListener(AppEvents.Started, () => VoxEngine.createConference({hd_audio: false}));',
    ).start();
    expect(session.errors).toHaveLength(1);
    expect(session.state).toBe('terminated');
    expect(session.systemError).toBe(true);
  });

  it('records a call answered twice, a call added unanswered and an add without the call scheme', () => {
    const session = run(`
      require(Modules.Conference);
      let conf;
      VoxEngine.addEventListener(AppEvents.Started, () => { conf = VoxEngine.createConference({hd_audio: false}); });
      VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => {
        conf.add({call: e.call, mode: 'FORWARD', direction: 'BOTH', displayName: 'x'});
        e.call.answer();
        e.call.answer();
      });`).start();
    session.dial();
    expect(session.violations).toEqual([
      'Conference.add() with a call that was not answered',
      "Conference.add() without the CallAlerting event's scheme",
      'Call.answer() on a call in state PROGRESSING (answer #2)',
    ]);
  });

  it('after terminate() only Terminating and Terminated fire, no timer runs, and the URL answers 404', () => {
    const session = run(`
      var ticks = 0;
      VoxEngine.addEventListener(AppEvents.HttpRequest, () => { setTimeout(() => { ticks += 1; }, 10); VoxEngine.terminate(); return 'bye'; });
      VoxEngine.addEventListener(AppEvents.Terminating, () => { setTimeout(() => {}, 1); });
      VoxEngine.addEventListener(AppEvents.CallAlerting, () => { ticks += 100; });`).start();
    expect(session.request('x')).toEqual({ status: 200, body: 'bye' });
    expect(session.appEvents.slice(-2)).toEqual([AppEvents.Terminating, AppEvents.Terminated]);
    session.advance(1000);
    expect(session.context.ticks).toBe(0);
    expect(session.violations).toEqual(['setTimeout after VoxEngine.terminate() (no timers run then)']);
    expect(session.request('x').status).toBe(404);
    expect(() => session.dial()).toThrow(/session has ended/);
  });

  it('ends a session without calls after 60 s, and not while a call is up', () => {
    const idle = run('').start();
    idle.advance(LIMITS.emptySessionTimeoutMs - 1);
    expect(idle.state).toBe('running');
    idle.advance(1);
    expect(idle.state).toBe('terminated');
    expect(idle.systemError).toBe(false);

    const busy = run('VoxEngine.addEventListener(AppEvents.CallAlerting, (e) => e.call.answer());').start();
    const call = busy.dial();
    busy.advance(10 * LIMITS.emptySessionTimeoutMs);
    expect(busy.state).toBe('running');
    call.remoteHangup();
    busy.advance(LIMITS.emptySessionTimeoutMs);
    expect(busy.state).toBe('terminated');
  });

  it('a handler that is not a function ends the session when it is called', () => {
    const session = run('VoxEngine.addEventListener(AppEvents.Started, 42);').start();
    expect(session.errors).toHaveLength(1);
    expect(session.state).toBe('terminated');
  });
});

describe('the reference scenario: conference and participants', () => {
  it('fits AddScenario (a script under 128 KB) and runs as plain JavaScript, without imports or npm', () => {
    const source = readFileSync(SCENARIO_PATH, 'utf8');
    expect(Buffer.byteLength(source)).toBeLessThan(128 * 1024);
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
    expect(source).not.toMatch(/require\((?!Modules\.)/);
  });

  it('creates one video conference on Started, with hd_audio off by default', () => {
    const session = new FakeSession({ startTime: START }).loadFile(SCENARIO_PATH);
    expect(session.required.has('conference')).toBe(true);
    expect(session.conference).toBeUndefined();
    session.start();
    expect(session.conference?.parameters).toEqual({ hd_audio: false });
    expectClean(session);
  });

  it('answers every caller once and adds it as a FORWARD/BOTH endpoint with its name', () => {
    const session = started();
    const ann = session.dial({ displayName: 'Ann', callerid: 'ann' });
    const bob = session.dial({ callerid: 'bob' });
    expect([ann.answers, bob.answers]).toEqual([1, 1]);
    expect([ann.state, bob.state]).toEqual(['CONNECTED', 'CONNECTED']);
    const endpoints = session.conference!.getList();
    expect(endpoints.map((endpoint) => [endpoint.getCall(), endpoint.getMode(), endpoint.getDirection()])).toEqual([
      [ann, 'FORWARD', 'BOTH'],
      [bob, 'FORWARD', 'BOTH'],
    ]);
    expect(endpoints.map((endpoint) => endpoint.displayName)).toEqual(['Ann', 'bob']);
    expectClean(session);
  });

  it('status: the conference, its start time and every participant with id, name and join time', () => {
    const session = started({ conferenceName: 'Daily stand-up' });
    session.advance(5_000);
    session.dial({ displayName: 'Ann' });
    session.advance(2_500);
    session.dial({ displayName: 'Bob' });
    const ids = session.conference!.getList().map((endpoint) => endpoint.id());
    expect(send(session, { command: 'status' })).toEqual({
      ok: true,
      command: 'status',
      conference_name: 'Daily stand-up',
      started_at: iso(START),
      participant_count: 2,
      participants: [
        { id: ids[0], display_name: 'Ann', joined_at: iso(START + 5_000) },
        { id: ids[1], display_name: 'Bob', joined_at: iso(START + 7_500) },
      ],
    });
    expect(new Set(ids).size).toBe(2);
    expectClean(session);
  });

  it('removes a participant on the call end, with or without EndpointRemoved, in either order', () => {
    const session = started();
    const ann = session.dial({ displayName: 'Ann' });
    const bob = session.dial({ displayName: 'Bob' });
    const cyd = session.dial({ displayName: 'Cyd' });
    const dan = session.dial({ displayName: 'Dan' });
    ann.remoteHangup();
    bob.remoteHangup({ endpointRemoved: 'before' });
    cyd.remoteHangup({ endpointRemoved: 'never' });
    const status = send(session, { command: 'status' });
    expect(status.participant_count).toBe(1);
    expect(status.participants.map((p: { display_name: string }) => p.display_name)).toEqual(['Dan']);
    expect(session.pendingTimers()).toBe(0);
    dan.remoteHangup({ endpointRemoved: 'before' });
    expect(send(session, { command: 'status' }).participants).toEqual([]);
    expect(session.pendingTimers()).toBe(1);
    expectClean(session);
  });

  it('a caller the conference cannot take is hung up; the session and its participants go on', () => {
    const session = started();
    session.dial({ displayName: 'Ann' });
    session.conference!.failNextAdd = new Error('endpoint limit');
    const bob = session.dial({ displayName: 'Bob' });
    expect(bob.state).toBe('TERMINATED');
    expect(session.state).toBe('running');
    expect(session.logs).toContain('voxconf: could not add a caller: endpoint limit');
    const status = send(session, { command: 'status' });
    expect(status.participants.map((p: { display_name: string }) => p.display_name)).toEqual(['Ann']);
    expect(session.pendingTimers()).toBe(0);
    expectClean(session);
  });

  it('logs a conference error (e.g. 102: the rule lacks the video conference option) and goes on', () => {
    const session = started();
    session.conference!.raiseError(102, 'Video conference is not enabled');
    expect(session.logs).toEqual(['voxconf: conference error 102: Video conference is not enabled']);
    expect(session.state).toBe('running');
    expectClean(session);
  });

  it('cuts display names to 64 characters and keeps status within the 16 KiB voxconf reads', () => {
    const session = started();
    for (let index = 0; index < LIMITS.endpoints; index += 1) session.dial({ displayName: 'n'.repeat(500) });
    const plain = session.request(JSON.stringify({ command: 'status' })).body;
    const status = JSON.parse(plain);
    expect(status.participant_count).toBe(100);
    expect(status.participants).toHaveLength(100);
    expect(status.participants[0].display_name).toBe('n'.repeat(64));
    expect(Buffer.byteLength(plain)).toBeLessThanOrEqual(facts.registry.sessionAnswerMaxBytes);
    expectClean(session);
  });

  it('lists the participants that fit when multi-byte names would take status over 16 KiB; the count stays whole', () => {
    const session = started();
    for (let index = 0; index < LIMITS.endpoints; index += 1) session.dial({ displayName: '€'.repeat(100) });
    const body = session.request(JSON.stringify({ command: 'status' })).body;
    const status = JSON.parse(body);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(facts.registry.sessionAnswerMaxBytes);
    expect(status.participant_count).toBe(100);
    expect(status.participants.length).toBeGreaterThan(0);
    expect(status.participants.length).toBeLessThan(100);
    const ids = session.conference!.getList().map((endpoint) => endpoint.id());
    expect(status.participants.map((p: { id: string }) => p.id)).toEqual(ids.slice(0, status.participants.length));
    expectClean(session);
  });
});

describe('the reference scenario: commands', () => {
  it('stop: answers first, then terminates, and the URL is gone', () => {
    const session = started();
    session.dial({ displayName: 'Ann' });
    const answer = session.request(JSON.stringify({ command: 'stop' }));
    expect(answer).toEqual({ status: 200, body: '{"ok":true,"command":"stop","stopping":true}' });
    expect(session.state).toBe('running');
    session.advance(0);
    expect(session.state).toBe('terminated');
    expect(session.appEvents.slice(-2)).toEqual([AppEvents.Terminating, AppEvents.Terminated]);
    expect(session.request(JSON.stringify({ command: 'status' })).status).toBe(404);
    expect(session.logs).toContain('voxconf: ending the session: stop command');
    expectClean(session);
  });

  it('stop twice before the end answers twice and terminates once; a caller arriving meanwhile is turned away', () => {
    const session = started();
    expect(send(session, { command: 'stop' })).toEqual({ ok: true, command: 'stop', stopping: true });
    expect(send(session, { command: 'stop', args: { reason: 'again' } })).toEqual({
      ok: true,
      command: 'stop',
      stopping: true,
    });
    const late = session.dial({ displayName: 'Late' });
    expect(late.rejectedWith).toBe(603);
    expect(late.answers).toBe(0);
    expect(session.conference!.getList()).toEqual([]);
    session.advance(0);
    expect(session.appEvents.filter((event) => event === AppEvents.Terminating)).toHaveLength(1);
    expectClean(session);
  });

  it('an unknown command with the shipped hook: unknown_command', () => {
    const session = started();
    expect(send(session, { command: 'mute_all', args: [1] })).toEqual({
      ok: false,
      command: 'mute_all',
      error: 'unknown_command',
    });
    expect(send(session, { command: '' })).toEqual({ ok: false, command: '', error: 'unknown_command' });
    expect(send(session, { command: 'STATUS' }).error).toBe('unknown_command');
    expectClean(session);
  });

  it('no hook at all, or a hook answering undefined: unknown_command', () => {
    const session = started();
    setHook(session, undefined);
    expect(send(session, { command: 'x' })).toEqual({ ok: false, command: 'x', error: 'unknown_command' });
    setHook(session, () => undefined);
    expect(send(session, { command: 'x' })).toEqual({ ok: false, command: 'x', error: 'unknown_command' });
  });

  it('the hook gets the command, the args and the context, and its value is the result', () => {
    const session = started({ conferenceName: 'Room 7', customData: '{"topic":"release"}' });
    session.dial({ displayName: 'Ann' });
    const seen: unknown[][] = [];
    setHook(session, (command: string, args: unknown, context: Record<string, any>) => {
      seen.push([command, args, context]);
      return { echoed: args, who: context.participants.map((p: { display_name: string }) => p.display_name) };
    });
    const args = { level: 3, tags: ['a', null], nested: { ok: true } };
    expect(send(session, { command: 'echo', args })).toEqual({
      ok: true,
      command: 'echo',
      result: { echoed: args, who: ['Ann'] },
    });
    const [command, received, context] = seen[0] as [string, unknown, Record<string, any>];
    expect(command).toBe('echo');
    expect(received).toEqual(args);
    expect(context.conference).toBe(session.conference);
    expect(context.conference_name).toBe('Room 7');
    expect(context.started_at).toBe(iso(START));
    expect(context.custom_data).toBe('{"topic":"release"}');
    expect(context.participants).toEqual([
      { id: session.conference!.getList()[0].id(), display_name: 'Ann', joined_at: iso(START) },
    ]);
    send(session, { command: 'no-args' });
    expect(seen[1][1]).toBeUndefined();
    expectClean(session);
  });

  it.each([
    ['null', null],
    ['false', false],
    ['zero', 0],
    ['a string', 'done'],
    ['an array', [1, 'two']],
  ])('a hook answering %s: ok with that result', (_label, value) => {
    const session = started();
    setHook(session, () => value);
    expect(send(session, { command: 'c' })).toEqual({ ok: true, command: 'c', result: value });
  });

  it('a hook that throws: command_failed with the message, and the session goes on', () => {
    const session = started();
    setHook(session, () => {
      throw new Error('mixer unavailable');
    });
    expect(send(session, { command: 'mix' })).toEqual({
      ok: false,
      command: 'mix',
      error: 'command_failed',
      message: 'mixer unavailable',
    });
    setHook(session, () => {
      throw 'plain text';
    });
    expect(send(session, { command: 'mix' }).message).toBe('plain text');
    setHook(session, () => {
      throw new Error('x'.repeat(5_000));
    });
    expect(send(session, { command: 'mix' }).message).toHaveLength(300);
    expect(session.state).toBe('running');
    expect(send(session, { command: 'status' }).ok).toBe(true);
    expectClean(session);
  });

  it('a hook answering something that is not a JSON answer within 16 KiB: command_failed', () => {
    const session = started();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: Array<[unknown, RegExp]> = [
      [Promise.resolve(1), /synchronously/],
      [cyclic, /not JSON/],
      [10n, /not JSON/],
      [() => 1, /not JSON/],
      ['é'.repeat(facts.registry.sessionAnswerMaxBytes / 2), /over 16384 bytes/],
    ];
    for (const [value, message] of cases) {
      setHook(session, () => value);
      const answer = send(session, { command: 'big' });
      expect(answer).toEqual({ ok: false, command: 'big', error: 'command_failed', message: expect.any(String) });
      expect(answer.message).toMatch(message);
    }
    expectClean(session);
  });

  it.each([
    ['no body', undefined],
    ['an empty body', ''],
    ['text that is not JSON', 'command=status'],
    ['a JSON array', '["status"]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"status"'],
    ['an object without command', '{"args":{}}'],
    ['a number command', '{"command":5}'],
    ['a null command', '{"command":null}'],
    ['an object command', '{"command":{"name":"status"}}'],
    ['a body over 16 KiB', JSON.stringify({ command: 'status', args: 'x'.repeat(facts.registry.commandBodyMaxBytes) })],
  ])('%s: bad_request with a message', (_label, content) => {
    const session = started();
    const answer = session.request(content);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ ok: false, error: 'bad_request', message: expect.any(String) });
    expect(session.state).toBe('running');
    expectClean(session);
  });

  it('a body of exactly 16 KiB is read', () => {
    const session = started();
    const frame = JSON.stringify({ command: 'status', args: '' });
    const body = JSON.stringify({
      command: 'status',
      args: 'x'.repeat(facts.registry.commandBodyMaxBytes - frame.length),
    });
    expect(body).toHaveLength(facts.registry.commandBodyMaxBytes);
    expect(JSON.parse(session.request(body).body).ok).toBe(true);
  });

  it('a GET without a body is a bad_request too, not a crash', () => {
    const session = started();
    expect(JSON.parse(session.request(undefined, 'GET').body).error).toBe('bad_request');
    expectClean(session);
  });
});

describe('the reference scenario: script_custom_data', () => {
  /** Seconds from the last participant leaving to the scenario ending the session, at 1 s resolution. */
  function graceOf(session: FakeSession): number {
    session.dial({ displayName: 'Ann' }).remoteHangup();
    const left = session.time();
    while (session.state === 'running' && session.time() - left < 120_000) session.advance(1_000);
    return (session.time() - left) / 1000;
  }

  it('grace_seconds and hd_audio are read from a JSON object; other keys are ignored', () => {
    const session = started({ customData: '{"grace_seconds":5,"hd_audio":true,"topic":"release","extra":[1]}' });
    expect(session.conference?.parameters).toEqual({ hd_audio: true });
    expect(graceOf(session)).toBe(5);
    expect(session.logs).toContain('voxconf: ending the session: the last participant left');
    expectClean(session);
  });

  it('grace_seconds 0 ends the session as soon as the last participant left', () => {
    const session = started({ customData: '{"grace_seconds":0}' });
    session.dial().remoteHangup();
    session.advance(0);
    expect(session.state).toBe('terminated');
    expectClean(session);
  });

  it.each([
    ['no custom data', ''],
    ['text that is not JSON', 'booking=4711'],
    ['truncated JSON', '{"grace_seconds":5'],
    ['a JSON array', '[{"grace_seconds":5}]'],
    ['a JSON string', '"grace_seconds=5"'],
    ['JSON null', 'null'],
    ['a negative grace', '{"grace_seconds":-5,"hd_audio":"yes"}'],
    ['a grace as text', '{"grace_seconds":"5","hd_audio":1}'],
    ['a null grace', '{"grace_seconds":null,"hd_audio":null}'],
    ['a grace as an object', '{"grace_seconds":{"value":5}}'],
    ['16 KiB of other data', JSON.stringify({ topic: 'x'.repeat(facts.request.scriptCustomDataMaxBytes - 20) })],
  ])('%s: the defaults (30 s, no HD audio), no crash', (_label, customData) => {
    const session = started({ customData });
    expect(session.conference?.parameters).toEqual({ hd_audio: false });
    expect(graceOf(session)).toBe(30);
    expectClean(session);
  });

  it('a grace over 60 s is capped at 60 (Voximplant ends a session without calls then anyway)', () => {
    for (const grace of [61, 3600, 1e308]) {
      const session = started({ customData: JSON.stringify({ grace_seconds: grace }) });
      expect(graceOf(session)).toBe(60);
      // The scenario ended it (its log line), not the platform's own 60 s limit.
      expect(session.logs).toContain('voxconf: ending the session: the last participant left');
      expectClean(session);
    }
  });

  it('a fractional grace is honoured', () => {
    const session = started({ customData: '{"grace_seconds":2.5}' });
    session.dial().remoteHangup();
    session.advance(2_499);
    expect(session.state).toBe('running');
    session.advance(1);
    expect(session.state).toBe('terminated');
  });
});

describe('the reference scenario: the end of the session', () => {
  it('ends 30 s after the last participant left, not before', () => {
    const session = started();
    const ann = session.dial({ displayName: 'Ann' });
    const bob = session.dial({ displayName: 'Bob' });
    ann.remoteHangup();
    session.advance(120_000);
    expect(session.state).toBe('running');
    expect(session.pendingTimers()).toBe(0);
    bob.remoteHangup();
    session.advance(29_999);
    expect(session.state).toBe('running');
    session.advance(1);
    expect(session.state).toBe('terminated');
    expect(session.appEvents.slice(-2)).toEqual([AppEvents.Terminating, AppEvents.Terminated]);
    expectClean(session);
  });

  it('a caller joining within the grace period cancels the end; the next empty period starts a new grace', () => {
    const session = started();
    session.dial({ displayName: 'Ann' }).remoteHangup();
    session.advance(20_000);
    const bob = session.dial({ displayName: 'Bob' });
    expect(session.pendingTimers()).toBe(0);
    session.advance(20_000);
    expect(session.state).toBe('running');
    const status = send(session, { command: 'status' });
    expect(status.participants.map((p: { display_name: string }) => p.display_name)).toEqual(['Bob']);
    bob.remoteHangup();
    session.advance(29_999);
    expect(session.state).toBe('running');
    session.advance(1);
    expect(session.state).toBe('terminated');
    expectClean(session);
  });

  it('a session nobody joins sets no timer of its own: Voximplant ends it after 60 s without calls', () => {
    const session = started();
    expect(session.pendingTimers()).toBe(0);
    session.advance(LIMITS.emptySessionTimeoutMs - 1);
    expect(session.state).toBe('running');
    expect(send(session, { command: 'status' }).participant_count).toBe(0);
    session.advance(1);
    expect(session.state).toBe('terminated');
    expect(session.logs).toEqual([]);
    expectClean(session);
  });

  it('nothing of the scenario runs after terminate: no timer, no call event, no request', () => {
    const session = started();
    const ann = session.dial({ displayName: 'Ann' });
    const bob = session.dial({ displayName: 'Bob' });
    bob.remoteHangup();
    send(session, { command: 'stop' });
    session.advance(0);
    expect(session.state).toBe('terminated');
    const ran = session.callbacks;
    // terminate() disconnected Ann's call without a Disconnected event ("only Terminating and Terminated").
    expect(ann.state).toBe('TERMINATED');
    expect(() => ann.remoteHangup()).toThrow(/already ended/);
    session.advance(10 * LIMITS.emptySessionTimeoutMs);
    expect(session.request(JSON.stringify({ command: 'status' }))).toEqual({ status: 404, body: '' });
    expect(() => session.dial()).toThrow(/session has ended/);
    expect(session.callbacks).toBe(ran);
    expectClean(session);
  });

  it('a grace timer pending at stop never fires', () => {
    const session = started();
    session.dial({ displayName: 'Ann' }).remoteHangup();
    expect(session.pendingTimers()).toBe(1);
    send(session, { command: 'stop' });
    expect(session.pendingTimers()).toBe(1); // the deferred terminate; the grace timer is cleared
    session.advance(0);
    const ran = session.callbacks;
    session.advance(60_000);
    expect(session.callbacks).toBe(ran);
    expect(session.logs).toEqual(['voxconf: ending the session: stop command']);
    expectClean(session);
  });
});
