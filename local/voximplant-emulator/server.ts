/**
 * The emulator's lifecycle and dispatch: one loopback HTTP(S) server carrying the Management API
 * (`/platform_api...`), the control API (`/_emulator/...`) and the media session URLs (`/media/<id>`).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalServer } from '../loopback-guard.mjs';
import { AccountRegistry } from './accounts.js';
import { type ApiContext, type ConcurrencyGate, handleApiRequest, splitTarget } from './api-handler.js';
import { ConferenceRegistry } from './conferences.js';
import { ConnectionBook } from './connections.js';
import { handleControlRequest, isControlPath } from './control-api.js';
import { FaultBook, type FaultInfo, type FaultSpec } from './faults.js';
import { RequestLog } from './records.js';
import { sendBody, sendJson } from './respond.js';
import type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddRuleOptions,
  ConferenceInfo,
  ConnectionRecord,
  CreateAccountOptions,
  CreatedAccount,
  EmulatorOptions,
  EmulatorStats,
  IdleConnectionsSpec,
  RequestQuery,
  RequestRecord,
  ResetOptions,
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
} as const;

const MEDIA_PREFIX = '/media/';

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
    this.sessions = new ConferenceRegistry({ http: `http://${authority}`, https: `https://${authority}` });
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
      now: settings.now,
      latencyMs: () => this.latency,
      sleep: (ms) => this.sleep(ms),
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
        ? Promise.resolve(this.media(res, pathname))
        : handleApiRequest(req, res, this.api);
    handled.catch((error: unknown) => {
      // An emulator bug should be loud in the test that hit it, not look like a Voximplant answer.
      if (!res.headersSent)
        sendBody(res, 500, `emulator internal error: ${String(error)}`, 'text/plain; charset=utf-8');
      else res.destroy();
    });
  }

  /** The media session URL: any request to a running session counts as a scenario HTTP event. */
  private media(res: ServerResponse, pathname: string): void {
    let sessionId: string;
    try {
      sessionId = decodeURIComponent(pathname.slice(MEDIA_PREFIX.length));
    } catch {
      sessionId = '';
    }
    if (this.sessions.touchMedia(sessionId)) sendJson(res, 200, { result: 1 });
    else sendJson(res, 404, { error: 'no running media session with that id' });
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

  endConference(accountId: number, name: string): boolean {
    return this.sessions.end(accountId, name, this.settings.now());
  }

  stats(): EmulatorStats {
    return this.log.stats(this.gate.inFlight, this.gate.peak);
  }

  reset(options: ResetOptions = {}): void {
    this.faultBook.clear();
    this.log.reset();
    this.connectionBook.clear();
    this.sessions.clear();
    this.latency = this.settings.latencyMs;
    this.connectionBook.setIdle(this.settings.idleConnections);
    this.gate.peak = this.gate.inFlight;
    if (options.accounts) this.registry.clear();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const wake of [...this.sleepers]) wake();
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

function nonNegative(value: number, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}
