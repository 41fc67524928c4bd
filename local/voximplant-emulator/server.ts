/**
 * The emulator's lifecycle and dispatch: one loopback HTTP(S) server carrying the Management API
 * (`/platform_api...`), the control API (`/_emulator/...`) and the media session URLs (`/media/<id>`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../loopback-guard.mjs';
import { AccountRegistry } from './accounts.js';
import { type ApiContext, type ConcurrencyGate, handleApiRequest, splitTarget } from './api-handler.js';
import { ConferenceRegistry, checkSettings } from './conferences.js';
import { ConnectionBook } from './connections.js';
import { handleControlRequest, isControlPath } from './control-api.js';
import { FaultBook, type FaultInfo, type FaultSpec } from './faults.js';
import { handleMediaRequest, MEDIA_PREFIX, type MediaContext } from './media-session.js';
import { RequestLog } from './records.js';
import { sendBody } from './respond.js';
import type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddParticipantOptions,
  AddRuleOptions,
  CommandHookAnswer,
  ConferenceInfo,
  ConnectionRecord,
  CreateAccountOptions,
  CreatedAccount,
  EmulatorOptions,
  EmulatorStats,
  FinishReason,
  IdleConnectionsSpec,
  KeyRole,
  ParticipantInfo,
  RequestQuery,
  RequestRecord,
  ResetOptions,
  SessionRef,
  SessionSettings,
  VoximplantEmulator,
} from './types.js';

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  latencyMs: 0,
  maxConcurrent: 200,
  leewaySeconds: 10,
  maxBodyBytes: 1024 * 1024,
  maxRecords: 10_000,
  // Voximplant ends a session without calls after 60 s (lifecycle-api.md A.2, session limits).
  emptySessionTimeoutMs: 60_000,
  // The reference scenario's default grace period after the last participant left.
  graceMs: 30_000,
  joinAnswers: 'same',
} as const;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<VoximplantEmulator> {
  const host = options.host ?? DEFAULTS.host;
  // Test keys and forced faults have no business on a reachable interface.
  if (!isLoopbackHost(host)) throw new Error(`the Voximplant emulator listens on loopback only, not "${host}"`);
  const settings = {
    latencyMs: nonNegative(options.latencyMs ?? DEFAULTS.latencyMs, 'latencyMs'),
    maxConcurrent: positiveInteger(options.maxConcurrent ?? DEFAULTS.maxConcurrent, 'maxConcurrent'),
    leewaySeconds: nonNegative(options.leewaySeconds ?? DEFAULTS.leewaySeconds, 'leewaySeconds'),
    maxBodyBytes: positiveInteger(options.maxBodyBytes ?? DEFAULTS.maxBodyBytes, 'maxBodyBytes'),
    maxRecords: positiveInteger(options.maxRecords ?? DEFAULTS.maxRecords, 'maxRecords'),
    now: options.now ?? Date.now,
    idleConnections: options.idleConnections,
    // Checked before listening, so a bad value does not leave a server behind.
    sessions: checkSettings({
      emptySessionTimeoutMs: options.emptySessionTimeoutMs ?? DEFAULTS.emptySessionTimeoutMs,
      graceMs: options.graceMs ?? DEFAULTS.graceMs,
      joinAnswers: options.joinAnswers ?? DEFAULTS.joinAnswers,
    }),
  };

  // Guarded as every local server (local/loopback-guard.mjs): the control API forces faults and mints accounts,
  // the Management API hands out media session URLs; neither is for a web page.
  let emulator: Emulator | undefined;
  const server: Server = createLocalServer(
    (req: IncomingMessage, res: ServerResponse) => (emulator as Emulator).dispatch(req, res),
    options.tls ? { tls: { key: options.tls.key, cert: options.tls.cert } } : {},
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULTS.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  emulator = new Emulator(server, host, port, options.tls !== undefined, settings);
  if (settings.idleConnections) emulator.setIdleConnections(settings.idleConnections);
  return emulator;
}

interface Settings {
  readonly latencyMs: number;
  readonly maxConcurrent: number;
  readonly leewaySeconds: number;
  readonly maxBodyBytes: number;
  readonly maxRecords: number;
  readonly now: () => number;
  readonly idleConnections: IdleConnectionsSpec | undefined;
  readonly sessions: SessionSettings;
}

class Emulator implements VoximplantEmulator {
  readonly url: string;
  readonly origin: string;
  private latency: number;
  private readonly registry = new AccountRegistry();
  private readonly sessions: ConferenceRegistry;
  private readonly faultBook = new FaultBook();
  private readonly log: RequestLog;
  private readonly gate: ConcurrencyGate;
  private readonly api: ApiContext;
  private readonly media: MediaContext;
  private readonly hooks = new Map<string, CommandHookAnswer>();
  private readonly sleepers = new Set<() => void>();
  private readonly connectionBook: ConnectionBook;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    readonly secure: boolean,
    private readonly settings: Settings,
  ) {
    const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.origin = `${secure ? 'https' : 'http'}://${authority}`;
    this.url = `${this.origin}/platform_api`;
    this.latency = settings.latencyMs;
    this.connectionBook = new ConnectionBook(server, secure, settings.now, settings.maxRecords);
    // Without TLS the "secure" URL uses the http origin too, so that it can be requested locally
    // (voxconf accepts a non-https session URL only on a loopback host).
    this.sessions = new ConferenceRegistry({
      mediaOrigins: { http: `http://${authority}`, https: `${secure ? 'https' : 'http'}://${authority}` },
      settings: settings.sessions,
      now: settings.now,
    });
    this.log = new RequestLog(settings.maxRecords);
    this.gate = { max: settings.maxConcurrent, inFlight: 0, peak: 0 };
    this.api = {
      accounts: this.registry,
      conferences: this.sessions,
      faults: this.faultBook,
      log: this.log,
      gate: this.gate,
      maxBodyBytes: settings.maxBodyBytes,
      leewaySeconds: settings.leewaySeconds,
      origin: this.origin,
      now: settings.now,
      latencyMs: () => this.latency,
      sleep: (ms) => this.sleep(ms),
    };
    this.media = {
      conferences: this.sessions,
      maxBodyBytes: settings.maxBodyBytes,
      now: settings.now,
      hooks: this.hooks,
    };
  }

  get latencyMs(): number {
    return this.latency;
  }

  dispatch(req: IncomingMessage, res: ServerResponse): void {
    // A request on a connection forgotten while idle gets a TCP reset, and nothing else.
    if (!this.connectionBook.requestArrived(req, res)) return;
    const { pathname, rawQuery } = splitTarget(req.url ?? '/');
    const handled = isControlPath(pathname)
      ? handleControlRequest(req, res, this, pathname, rawQuery)
      : pathname.startsWith(MEDIA_PREFIX)
        ? handleMediaRequest(req, res, pathname, this.media)
        : handleApiRequest(req, res, this.api);
    handled.catch((error: unknown) => {
      // An emulator bug should be loud in the test that hit it, not look like a Voximplant answer.
      if (!res.headersSent)
        sendBody(res, 500, `emulator internal error: ${String(error)}`, 'text/plain; charset=utf-8');
      else res.destroy();
    });
  }

  createAccount(options?: CreateAccountOptions): CreatedAccount {
    return this.registry.createAccount(options);
  }

  accounts(): AccountInfo[] {
    return this.registry.list();
  }

  addKey(accountId: number, options?: AddKeyOptions): AddedKey {
    return this.registry.addKey(accountId, options);
  }

  removeKey(keyId: string): boolean {
    return this.registry.removeKey(keyId);
  }

  setKeyRole(keyId: string, role: KeyRole): boolean {
    return this.registry.setKeyRole(keyId, role);
  }

  addRule(accountId: number, options?: AddRuleOptions): number {
    return this.registry.addRule(accountId, options);
  }

  fault(spec: FaultSpec): FaultInfo {
    return this.faultBook.add(spec, this.settings.now());
  }

  faults(): FaultInfo[] {
    return this.faultBook.list(this.settings.now());
  }

  clearFaults(id?: string): number {
    return this.faultBook.clear(id);
  }

  setLatency(ms: number): void {
    this.latency = nonNegative(ms, 'latency');
  }

  setIdleConnections(spec: IdleConnectionsSpec | undefined): void {
    this.connectionBook.setIdle(spec);
  }

  expireIdleConnections(mode: IdleConnectionsSpec['mode']): number {
    return this.connectionBook.expireIdle(mode);
  }

  connections(): ConnectionRecord[] {
    return this.connectionBook.list();
  }

  requests(query?: RequestQuery): RequestRecord[] {
    return this.log.list(query);
  }

  clearRequests(): void {
    this.log.clearRecords();
  }

  conferences(): ConferenceInfo[] {
    return this.sessions.list();
  }

  endConference(accountId: number, name: string, options: { readonly finishReason?: FinishReason } = {}): boolean {
    return this.sessions.end(accountId, name, this.settings.now(), 'control', options.finishReason);
  }

  conference(sessionId: string): ConferenceInfo | undefined {
    return this.sessions.get(sessionId);
  }

  addParticipant(ref: SessionRef, options: AddParticipantOptions = {}): ParticipantInfo {
    return this.sessions.addParticipant(ref, options, this.settings.now());
  }

  removeParticipant(ref: SessionRef, participantId: string): boolean {
    return this.sessions.removeParticipant(ref, participantId);
  }

  sessionSettings(): SessionSettings {
    return this.sessions.settings;
  }

  setSessionSettings(settings: Partial<SessionSettings>): SessionSettings {
    return this.sessions.setSettings(settings);
  }

  setCommandHook(command: string, answer: CommandHookAnswer | undefined): void {
    if (command === 'status' || command === 'stop') throw new RangeError(`${command} is built in, not a hook`);
    if (answer === undefined) this.hooks.delete(command);
    else this.hooks.set(command, checkHookAnswer(answer));
  }

  stats(): EmulatorStats {
    return this.log.stats(this.gate.inFlight, this.gate.peak);
  }

  reset(options: ResetOptions = {}): void {
    this.faultBook.clear();
    this.log.reset();
    this.connectionBook.clear();
    this.sessions.clear();
    this.sessions.setSettings(this.settings.sessions);
    this.hooks.clear();
    this.latency = this.settings.latencyMs;
    this.connectionBook.setIdle(this.settings.idleConnections);
    this.gate.peak = this.gate.inFlight;
    if (options.accounts) this.registry.clear();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const wake of [...this.sleepers]) wake();
      this.sessions.close();
      this.server.close(() => resolve());
      // Keep-alive sockets would otherwise hold the server (and a jest worker) open; so would a TCP
      // connection that never started its TLS handshake.
      this.server.closeAllConnections();
      this.connectionBook.destroyAll();
    });
    return this.closing;
  }

  /** A delay that close() cuts short; resolves false when the emulator is closing. */
  private sleep(ms: number): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.sleepers.delete(wake);
        resolve(true);
      }, ms);
      this.sleepers.add(wake);
    });
  }
}

function checkHookAnswer(answer: CommandHookAnswer): CommandHookAnswer {
  if (answer === null || typeof answer !== 'object') throw new RangeError('a hook answer is {result} or {error}');
  if ('error' in answer) {
    if (typeof answer.error !== 'string') throw new RangeError('a hook error must be a string');
    return { error: answer.error };
  }
  if (!('result' in answer)) throw new RangeError('a hook answer is {result} or {error}');
  return { result: structuredClone(answer.result) };
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
