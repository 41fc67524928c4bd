/**
 * A small fake of the VoxEngine objects voximplant/conference.js uses, written from Voximplant's documentation
 * (the official typings, voximplant/voxengine-ci typings/voxengine.d.ts, and ../shared/reference/lifecycle-api.md
 * A.2), so that the reference scenario's behaviour is tested, not assumed. It runs the scenario's source with node:vm
 * in a context that holds only the globals VoxEngine gives a scenario.
 *
 * What it models, and from where:
 * - Event names are the typings' string values (AppEvents.Started = 'Application.Started', ...).
 * - VoxEngine.createConference needs require(Modules.Conference) first ("Add the following line to your scenario
 *   code to use the function"); its ConferenceEvents.Started fires after the call ("the call of createConference
 *   triggers the event"), so it can be listened to.
 * - Events raised by a scenario's own calls (answer -> Connected, hangup/reject -> Disconnected, add ->
 *   EndpointAdded, terminate -> Terminating, Terminated) fire after the running callback returns: VoxEngine runs one
 *   callback at a time.
 * - VoxEngine.terminate(): afterwards only AppEvents.Terminating and AppEvents.Terminated fire; no timer runs; in
 *   Terminating no timers may be set, in Terminated only Logger.write works. A terminated session's URL answers 404.
 * - A session without calls ends after 60 s (session limits), a callback may run for at most 1 s, at most 100 timers.
 * - The HttpRequest handler's return value is the answer's body (status 200): a string as it is; other values are
 *   JSON-encoded (third-party typings @ama-team/voxengine-definitions; the scenario returns strings only).
 * - An uncaught error in a callback ends the session (GetCallHistory's finish_reason "JS session error"): the fake
 *   records it in `errors` and terminates with systemError.
 *
 * What the docs do not define (answering a call twice, adding a call that was not answered, a scheme other than the
 * call's, setting a timer after terminate(), ...) is not guessed as an exception: it is recorded in `violations`, and
 * the tests require that list to be empty.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

export const AppEvents = {
  CallAlerting: 'Application.CallAlerting',
  Terminating: 'Application.Terminating',
  Terminated: 'Application.Terminated',
  Started: 'Application.Started',
  HttpRequest: 'Application.HttpRequest',
} as const;

export const CallEvents = {
  Connected: 'Call.Connected',
  Disconnected: 'Call.Disconnected',
  Failed: 'Call.Failed',
} as const;

export const ConferenceEvents = {
  ConferenceError: 'Conference.Error',
  Started: 'Conference.Started',
  Stopped: 'Conference.Stopped',
  EndpointAdded: 'Conference.EndpointAdded',
  EndpointUpdated: 'Conference.EndpointUpdated',
  EndpointRemoved: 'Conference.EndpointRemoved',
} as const;

export const Modules = { Conference: 'conference' } as const;

/** Session limits (https://voximplant.com/docs/guides/voxengine/limits, lifecycle-api.md A.2). */
export const LIMITS = {
  emptySessionTimeoutMs: 60_000,
  callbackMs: 1_000,
  timers: 100,
  endpoints: 100,
  customDataBytes: 200,
} as const;

type Listener = (event: any) => unknown;
type State = 'running' | 'terminating' | 'terminated';

class Listeners {
  private readonly byEvent = new Map<string, unknown[]>();

  add(event: string, callback: unknown): void {
    const list = this.byEvent.get(event) ?? [];
    list.push(callback);
    this.byEvent.set(event, list);
  }

  remove(event: string, callback?: unknown): void {
    if (callback === undefined) this.byEvent.delete(event);
    else
      this.byEvent.set(
        event,
        (this.byEvent.get(event) ?? []).filter((candidate) => candidate !== callback),
      );
  }

  of(event: string): unknown[] {
    return [...(this.byEvent.get(event) ?? [])];
  }
}

export interface FakeOptions {
  /** What VoxEngine.customData() answers (StartConference's script_custom_data); '' when none was sent. */
  readonly customData?: string;
  readonly conferenceName?: string;
  /** The fake clock's start, epoch ms. */
  readonly startTime?: number;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

export class FakeCall {
  state: 'ALERTING' | 'PROGRESSING' | 'CONNECTED' | 'TERMINATED' = 'ALERTING';
  answers = 0;
  rejectedWith: number | undefined;
  readonly listeners = new Listeners();
  endpoint: FakeEndpoint | undefined;

  constructor(
    private readonly session: FakeSession,
    private readonly callId: string,
    private readonly caller: { displayName: string; callerid: string },
    readonly scheme: string,
  ) {}

  // --- the Call API a scenario sees ---
  id(): string {
    return this.callId;
  }
  displayName(): string {
    return this.caller.displayName;
  }
  callerid(): string {
    return this.caller.callerid;
  }
  incoming(): boolean {
    return true;
  }
  addEventListener(event: string, callback: unknown): void {
    this.session.use('Call.addEventListener');
    this.listeners.add(event, callback);
  }
  removeEventListener(event: string, callback?: unknown): void {
    this.listeners.remove(event, callback);
  }
  answer(): void {
    this.session.use('Call.answer');
    this.answers += 1;
    if (this.state !== 'ALERTING') {
      this.session.violation(`Call.answer() on a call in state ${this.state} (answer #${this.answers})`);
      return;
    }
    this.state = 'PROGRESSING';
    this.session.enqueue(this.listeners, CallEvents.Connected, () => {
      if (this.state === 'PROGRESSING') this.state = 'CONNECTED';
      return { name: CallEvents.Connected, call: this, id: this.callId, headers: {} };
    });
  }
  /** "Rejects the incoming call. First it triggers the CallEvents.Disconnected event immediately." */
  reject(code: number): void {
    this.session.use('Call.reject');
    if (this.state !== 'ALERTING') {
      this.session.violation(`Call.reject() on a call in state ${this.state}`);
      return;
    }
    this.rejectedWith = code;
    this.end('queue');
  }
  /** "Triggers CallEvents.Disconnected if the call is active before hangup." */
  hangup(): void {
    this.session.use('Call.hangup');
    if (this.state === 'TERMINATED') {
      this.session.violation('Call.hangup() on a terminated call');
      return;
    }
    this.end('queue');
  }

  // --- the test's side ---
  /**
   * The caller hangs up: CallEvents.Disconnected fires (documented). Whether the conference then fires
   * EndpointRemoved for the call's endpoint, and in which order, is not documented: the test chooses
   * (default: after Disconnected).
   */
  remoteHangup(options: { endpointRemoved?: 'after' | 'before' | 'never' } = {}): void {
    if (this.state === 'TERMINATED') throw new Error('the call has already ended');
    this.session.drive(() => this.end('now', options.endpointRemoved ?? 'after'));
  }

  private end(when: 'queue' | 'now', endpointRemoved: 'after' | 'before' | 'never' = 'after'): void {
    this.state = 'TERMINATED';
    const disconnected = () => {
      const event = {
        name: CallEvents.Disconnected,
        call: this,
        id: this.callId,
        headers: {},
        internalCode: 200,
        reason: 'Normal call clearing',
        duration: 0,
        cost: 0,
        direction: 'incoming',
      };
      if (when === 'now') this.session.dispatch(this.listeners, CallEvents.Disconnected, event);
      else this.session.enqueue(this.listeners, CallEvents.Disconnected, () => event);
    };
    const removed = () => this.endpoint?.conference.removeEndpoint(this.endpoint, when);
    if (endpointRemoved === 'before') removed();
    disconnected();
    if (endpointRemoved === 'after') removed();
    this.session.callEnded();
  }
}

export class FakeEndpoint {
  constructor(
    readonly conference: FakeConference,
    private readonly endpointId: string,
    private readonly call: FakeCall,
    readonly mode: string,
    readonly direction: string,
    public displayName: string,
  ) {}
  id(): string {
    return this.endpointId;
  }
  getCall(): FakeCall {
    return this.call;
  }
  getMode(): string {
    return this.mode;
  }
  getDirection(): string {
    return this.direction;
  }
  setDisplayName(displayName: string): void {
    this.displayName = displayName;
  }
}

export class FakeConference {
  readonly listeners = new Listeners();
  readonly endpoints: FakeEndpoint[] = [];
  stopped = false;
  /** Fault injection: the next add() throws this (the docs name no exception; a scenario must survive one). */
  failNextAdd: Error | undefined;
  private endpointCount = 0;

  constructor(
    private readonly session: FakeSession,
    readonly parameters: unknown,
  ) {}

  addEventListener(event: string, callback: unknown): void {
    this.session.use('Conference.addEventListener');
    this.listeners.add(event, callback);
  }
  removeEventListener(event: string, callback?: unknown): void {
    this.listeners.remove(event, callback);
  }
  id(): string {
    return 'conference-1';
  }
  getList(): FakeEndpoint[] {
    return [...this.endpoints];
  }
  get(id: string): FakeEndpoint | undefined {
    return this.endpoints.find((endpoint) => endpoint.id() === id);
  }
  stop(): void {
    this.session.use('Conference.stop');
    this.stopped = true;
    this.session.enqueue(this.listeners, ConferenceEvents.Stopped, () => ({
      name: ConferenceEvents.Stopped,
      conference: this,
    }));
  }
  add(parameters: Record<string, unknown>): FakeEndpoint | undefined {
    this.session.use('Conference.add');
    const failure = this.failNextAdd;
    this.failNextAdd = undefined;
    if (failure) throw failure;
    const call = parameters?.call;
    if (!(call instanceof FakeCall)) {
      this.session.violation('Conference.add() without a Call of this session');
      return undefined;
    }
    if (call.state === 'ALERTING') this.session.violation('Conference.add() with a call that was not answered');
    if (call.state === 'TERMINATED') this.session.violation('Conference.add() with a terminated call');
    if (!['MIX', 'FORWARD'].includes(parameters.mode as string)) {
      this.session.violation(`Conference.add() mode ${String(parameters.mode)}: MIX or FORWARD`);
    }
    if (!['SEND', 'RECEIVE', 'BOTH'].includes(parameters.direction as string)) {
      this.session.violation(`Conference.add() direction ${String(parameters.direction)}: SEND, RECEIVE or BOTH`);
    }
    if (parameters.scheme !== call.scheme) {
      this.session.violation("Conference.add() without the CallAlerting event's scheme");
    }
    if (typeof parameters.displayName !== 'string') this.session.violation('Conference.add() displayName not a string');
    if (this.endpoints.length >= LIMITS.endpoints) {
      this.session.violation(`Conference.add() over ${LIMITS.endpoints} endpoints`);
    }
    this.endpointCount += 1;
    const endpoint = new FakeEndpoint(
      this,
      `endpoint-${this.endpointCount}`,
      call,
      parameters.mode as string,
      parameters.direction as string,
      String(parameters.displayName),
    );
    call.endpoint = endpoint;
    this.endpoints.push(endpoint);
    this.session.enqueue(this.listeners, ConferenceEvents.EndpointAdded, () => this.endpointEvent('added', endpoint));
    return endpoint;
  }

  /** The platform reports a conference error (ConferenceEvents.ConferenceError {error, code}), e.g. code 102. */
  raiseError(code: number, error: string): void {
    this.session.drive(() =>
      this.session.dispatch(this.listeners, ConferenceEvents.ConferenceError, {
        name: ConferenceEvents.ConferenceError,
        conference: this,
        code,
        error,
      }),
    );
  }

  removeEndpoint(endpoint: FakeEndpoint, when: 'queue' | 'now'): void {
    const index = this.endpoints.indexOf(endpoint);
    if (index < 0) return;
    this.endpoints.splice(index, 1);
    const event = this.endpointEvent('removed', endpoint);
    if (when === 'now') this.session.dispatch(this.listeners, ConferenceEvents.EndpointRemoved, event);
    else this.session.enqueue(this.listeners, ConferenceEvents.EndpointRemoved, () => event);
  }

  private endpointEvent(kind: 'added' | 'removed', endpoint: FakeEndpoint) {
    return {
      name: kind === 'added' ? ConferenceEvents.EndpointAdded : ConferenceEvents.EndpointRemoved,
      conference: this,
      mode: endpoint.mode,
      direction: endpoint.direction,
      endpointId: endpoint.id(),
      endpoint,
    };
  }
}

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly run: () => void;
  /** The session's own 60 s empty-session timer, not one of the scenario's. */
  readonly internal: boolean;
}

export class FakeSession {
  state: State = 'running';
  /** Every Logger.write line. */
  readonly logs: string[] = [];
  /** Uses the docs forbid or leave undefined (see the file comment). */
  readonly violations: string[] = [];
  /** Uncaught errors from the scenario's callbacks (each ended the session). */
  readonly errors: unknown[] = [];
  /** App events dispatched, in order (Started, CallAlerting, HttpRequest, Terminating, Terminated). */
  readonly appEvents: string[] = [];
  /** Scenario callbacks run (listeners and timers): "nothing runs after terminate" counts these. */
  callbacks = 0;
  conference: FakeConference | undefined;
  readonly calls: FakeCall[] = [];
  readonly required = new Set<string>();
  readonly context: vm.Context & Record<string, unknown>;
  systemError = false;

  private now: number;
  private readonly appListeners = new Listeners();
  private readonly queue: Array<() => void> = [];
  private timers: Timer[] = [];
  private timerCount = 0;
  private emptyTimer: number | undefined;
  private inTerminated = false;
  private driving = false;
  private readonly customData: string;
  private readonly conferenceName: string;

  constructor(options: FakeOptions = {}) {
    this.now = options.startTime ?? Date.UTC(2030, 0, 1, 9, 0, 0);
    this.customData = options.customData ?? '';
    this.conferenceName = options.conferenceName ?? 'Daily stand-up';
    this.context = vm.createContext(this.globals()) as vm.Context & Record<string, unknown>;
  }

  /** Runs a scenario's source as VoxEngine would load it. */
  load(source: string, filename = 'conference.js'): this {
    this.drive(() => {
      this.callback(() => new vm.Script(source, { filename }).runInContext(this.context));
    });
    return this;
  }

  loadFile(path: string): this {
    return this.load(readFileSync(path, 'utf8'), path);
  }

  // --- what the platform does to the session (the test's side) ---

  /** StartConference: the session starts and AppEvents.Started fires. */
  start(): this {
    this.drive(() => {
      this.dispatchApp(AppEvents.Started, {
        name: AppEvents.Started,
        accessURL: 'http://media.example.invalid/request/session-1',
        accessSecureURL: 'https://media.example.invalid/request/session-1',
        accountId: 1,
        applicationId: 2,
        logURL: 'https://logs.example.invalid/session-1',
        sessionId: 4711,
        conference_name: this.conferenceName,
      });
      this.scheduleEmptyEnd();
    });
    return this;
  }

  /** A call routed to the session's rule (AppEvents.CallAlerting). */
  dial(caller: { displayName?: string; callerid?: string } = {}): FakeCall {
    if (this.state !== 'running') throw new Error('the session has ended: a new call would start a new session');
    const call = new FakeCall(
      this,
      `call-${this.calls.length + 1}`,
      { displayName: caller.displayName ?? '', callerid: caller.callerid ?? '' },
      `scheme-${this.calls.length + 1}`,
    );
    this.calls.push(call);
    this.drive(() => {
      this.cancelEmptyEnd();
      this.dispatchApp(AppEvents.CallAlerting, {
        name: AppEvents.CallAlerting,
        call,
        callerid: caller.callerid ?? '',
        destination: this.conferenceName,
        toURI: `${this.conferenceName}@example.invalid`,
        fromURI: `${caller.callerid ?? ''}@example.invalid`,
        displayName: caller.displayName ?? '',
        headers: {},
        scheme: call.scheme,
      });
    });
    return call;
  }

  /** A request to the media session URL; the answer as the caller would get it. */
  request(content: string | undefined, method = 'POST'): Answer {
    if (this.state !== 'running') return { status: 404, body: '' };
    const results: unknown[] = [];
    let failed = false;
    this.drive(() => {
      this.appEvents.push(AppEvents.HttpRequest);
      const event = { name: AppEvents.HttpRequest, method, path: '/request/session-1', content, headers: [] };
      for (const listener of this.appListeners.of(AppEvents.HttpRequest)) {
        const ran = this.callback(() => this.invoke(listener, event));
        if (!ran.ok) failed = true;
        else results.push(ran.value);
        if (this.state !== 'running') break;
      }
    });
    if (failed) return { status: 500, body: '' };
    const answered = results.filter((value) => value !== undefined);
    if (answered.length > 1) this.violation('more than one HttpRequest listener answered');
    const value = answered.at(-1);
    if (value === undefined) return { status: 200, body: '' };
    return { status: 200, body: typeof value === 'string' ? value : JSON.stringify(value) };
  }

  /** Moves the fake clock, running every timer that falls due, in order. */
  advance(ms: number): this {
    const target = this.now + ms;
    for (;;) {
      const next = this.timers.filter((timer) => timer.due <= target).sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.now = next.due;
      this.drive(next.run);
    }
    this.now = target;
    return this;
  }

  /** The current time of the fake clock. */
  time(): number {
    return this.now;
  }

  /** The scenario's timers still pending (the session's own empty-session timer is not one). */
  pendingTimers(): number {
    return this.timers.filter((timer) => !timer.internal).length;
  }

  // --- plumbing shared with the fake's objects ---

  violation(text: string): void {
    this.violations.push(text);
  }

  /** An API call: after terminate() only Logger.write works (and nothing in Terminated). */
  use(api: string): void {
    if (this.inTerminated) this.violation(`${api} in AppEvents.Terminated (only Logger.write works there)`);
    else if (this.state !== 'running') this.violation(`${api} after VoxEngine.terminate()`);
  }

  enqueue(listeners: Listeners, event: string, build: () => Record<string, unknown>): void {
    this.queue.push(() => this.dispatch(listeners, event, build()));
  }

  dispatch(listeners: Listeners, event: string, payload: Record<string, unknown>): void {
    for (const listener of listeners.of(event)) {
      // Checked before every listener: a listener may have called terminate().
      if (!this.fires(event)) return;
      this.callback(() => this.invoke(listener, payload));
    }
  }

  /** After terminate() only Terminating and Terminated fire; after Terminated nothing does. */
  private fires(event: string): boolean {
    if (this.state === 'terminated') return false;
    return this.state === 'running' || event === AppEvents.Terminating || event === AppEvents.Terminated;
  }

  /** Runs a platform action, then the events it and the callbacks caused, one callback at a time. */
  drive(action: () => void): void {
    if (this.driving) {
      action();
      return;
    }
    this.driving = true;
    try {
      action();
      while (this.queue.length > 0) this.queue.shift()?.();
    } finally {
      this.driving = false;
    }
  }

  callEnded(): void {
    if (this.calls.every((call) => call.state === 'TERMINATED')) this.scheduleEmptyEnd();
  }

  // --- internals ---

  private dispatchApp(event: string, payload: Record<string, unknown>): void {
    if (!this.fires(event)) return;
    this.appEvents.push(event);
    this.dispatch(this.appListeners, event, payload);
  }

  private invoke(listener: unknown, payload: unknown): unknown {
    // "Use only functions as handlers; anything except a function leads to the error and scenario termination
    // when a handler is called."
    if (typeof listener !== 'function') throw new TypeError('an event handler is not a function');
    return (listener as Listener)(payload);
  }

  private callback(run: () => unknown): { ok: true; value: unknown } | { ok: false } {
    this.callbacks += 1;
    const started = performance.now();
    try {
      const value = run();
      return { ok: true, value };
    } catch (error) {
      this.errors.push(error);
      this.terminate(true);
      return { ok: false };
    } finally {
      const took = performance.now() - started;
      if (took > LIMITS.callbackMs) this.violation(`a callback ran for ${Math.round(took)} ms (limit 1 s)`);
    }
  }

  private terminate(systemError: boolean): void {
    if (this.state !== 'running') return;
    this.state = 'terminating';
    this.systemError = systemError;
    // "All audio/video streams are disconnected and scenario execution stops"; no timer runs any more.
    this.timers = [];
    this.emptyTimer = undefined;
    for (const call of this.calls) call.state = 'TERMINATED';
    const payload = systemError ? { systemError: true } : {};
    this.queue.push(() => {
      this.dispatchApp(AppEvents.Terminating, { name: AppEvents.Terminating, ...payload });
      this.inTerminated = true;
      this.dispatchApp(AppEvents.Terminated, { name: AppEvents.Terminated, ...payload });
      this.inTerminated = false;
      this.state = 'terminated';
    });
    if (!this.driving) this.drive(() => {});
  }

  private scheduleEmptyEnd(): void {
    if (this.state !== 'running' || this.emptyTimer !== undefined) return;
    this.timerCount += 1;
    const id = this.timerCount;
    this.emptyTimer = id;
    this.timers.push({
      id,
      due: this.now + LIMITS.emptySessionTimeoutMs,
      internal: true,
      run: () => {
        this.emptyTimer = undefined;
        this.terminate(false);
      },
    });
  }

  private cancelEmptyEnd(): void {
    if (this.emptyTimer === undefined) return;
    const id = this.emptyTimer;
    this.timers = this.timers.filter((timer) => timer.id !== id);
    this.emptyTimer = undefined;
  }

  private globals(): Record<string, unknown> {
    const session = this;
    const clock = () => this.now;
    // Date as the scenario sees it: `new Date()` and Date.now() read the fake clock.
    const FakeDate = class extends Date {
      constructor(...args: unknown[]) {
        if (args.length === 0) super(clock());
        else super(...(args as [string]));
      }
      static override now(): number {
        return clock();
      }
    };
    const VoxEngine = {
      addEventListener(event: string, callback: unknown): void {
        session.use('VoxEngine.addEventListener');
        session.appListeners.add(event, callback);
      },
      removeEventListener(event: string, callback?: unknown): void {
        session.appListeners.remove(event, callback);
      },
      customData(value?: string): string {
        if (value !== undefined && Buffer.byteLength(String(value), 'utf8') > LIMITS.customDataBytes) {
          session.violation(`VoxEngine.customData() set over ${LIMITS.customDataBytes} bytes`);
        }
        return session.customData;
      },
      createConference(parameters: unknown): FakeConference {
        session.use('VoxEngine.createConference');
        if (!session.required.has(Modules.Conference)) {
          throw new ReferenceError('VoxEngine.createConference needs require(Modules.Conference)');
        }
        const hd = (parameters as { hd_audio?: unknown } | undefined)?.hd_audio;
        if (typeof hd !== 'boolean') session.violation('VoxEngine.createConference() without a boolean hd_audio');
        if (session.conference) session.violation('a second conference in one session');
        const conference = new FakeConference(session, parameters);
        session.conference = conference;
        session.enqueue(conference.listeners, ConferenceEvents.Started, () => ({
          name: ConferenceEvents.Started,
          conference,
        }));
        return conference;
      },
      terminate(): void {
        if (session.inTerminated) session.violation('VoxEngine.terminate() in AppEvents.Terminated');
        session.terminate(false);
      },
    };
    return {
      VoxEngine,
      AppEvents: { ...AppEvents },
      CallEvents: { ...CallEvents },
      ConferenceEvents: { ...ConferenceEvents },
      Modules: { ...Modules },
      Logger: {
        write(text: unknown): void {
          session.logs.push(String(text));
        },
      },
      require(module: string): void {
        session.required.add(module);
      },
      setTimeout(callback: unknown, ms?: number, ...args: unknown[]): number {
        session.timerCount += 1;
        const id = session.timerCount;
        if (session.state !== 'running') {
          session.violation('setTimeout after VoxEngine.terminate() (no timers run then)');
          return id;
        }
        if (session.pendingTimers() >= LIMITS.timers) session.violation(`more than ${LIMITS.timers} timers`);
        const delay = Number.isFinite(ms) && (ms as number) > 0 ? (ms as number) : 0;
        session.timers.push({
          id,
          due: session.now + delay,
          internal: false,
          run: () => {
            session.callback(() => {
              if (typeof callback !== 'function') throw new TypeError('a timer callback is not a function');
              callback(...args);
            });
          },
        });
        return id;
      },
      clearTimeout(id: number): void {
        session.timers = session.timers.filter((timer) => timer.internal || timer.id !== id);
      },
      Date: FakeDate,
    };
  }
}

/** The reference scenario, as uploaded to Voximplant. */
export const SCENARIO_PATH = fileURLToPath(new URL('../../voximplant/conference.js', import.meta.url));
