/**
 * The control API from another process (end-to-end tests, the benchmark driver): the same operations
 * as the programmatic API, over HTTP, each one a single request with no retries.
 */
import type { FaultInfo, FaultSpec } from './faults.js';
import type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddParticipantOptions,
  AddRuleOptions,
  CommandHookAnswer,
  ConferenceInfo,
  CreateAccountOptions,
  CreatedAccount,
  EmulatorStats,
  FinishReason,
  KeyRole,
  ParticipantInfo,
  RequestQuery,
  RequestRecord,
  ResetOptions,
  SessionRef,
  SessionSettings,
} from './types.js';

export interface EmulatorHealth {
  readonly ok: true;
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly secure: boolean;
  readonly latencyMs: number;
  readonly inFlight: number;
}

export class ControlApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlApiError';
  }
}

export interface EmulatorControlClient {
  health(): Promise<EmulatorHealth>;
  createAccount(options?: CreateAccountOptions): Promise<CreatedAccount>;
  accounts(): Promise<AccountInfo[]>;
  addKey(accountId: number, options?: AddKeyOptions): Promise<AddedKey>;
  removeKey(keyId: string): Promise<void>;
  setKeyRole(keyId: string, role: KeyRole): Promise<void>;
  addRule(accountId: number, options?: AddRuleOptions): Promise<number>;
  fault(spec: FaultSpec): Promise<FaultInfo>;
  faults(): Promise<FaultInfo[]>;
  clearFaults(id?: string): Promise<number>;
  setLatency(ms: number): Promise<void>;
  requests(query?: RequestQuery): Promise<RequestRecord[]>;
  clearRequests(): Promise<void>;
  conferences(options?: { active?: boolean }): Promise<ConferenceInfo[]>;
  /** Without accountId, ends the running sessions of that name in every account. */
  endConference(name: string, accountId?: number, options?: { finishReason?: FinishReason }): Promise<number>;
  /** One session by id, running or ended. */
  conference(sessionId: string): Promise<ConferenceInfo>;
  addParticipant(ref: SessionRef, options?: AddParticipantOptions): Promise<ParticipantInfo>;
  removeParticipant(ref: SessionRef, participantId: string): Promise<void>;
  sessionSettings(): Promise<SessionSettings>;
  setSessionSettings(settings: Partial<SessionSettings>): Promise<SessionSettings>;
  /** Sets (or with undefined clears) the reference scenario's hook answer for one command. */
  setCommandHook(command: string, answer: CommandHookAnswer | undefined): Promise<void>;
  stats(): Promise<EmulatorStats>;
  reset(options?: ResetOptions): Promise<void>;
}

function sessionPath(ref: SessionRef): string {
  return 'sessionId' in ref
    ? `/sessions/${encodeURIComponent(ref.sessionId)}`
    : `/conferences/${encodeURIComponent(ref.name)}`;
}

function refQuery(ref: SessionRef): string {
  return 'name' in ref && ref.accountId !== undefined ? `?accountId=${ref.accountId}` : '';
}

/** @param origin the emulator's origin, e.g. `http://127.0.0.1:8787` (HTTP only: plain fetch has no CA option). */
export function connectEmulator(origin: string): EmulatorControlClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(new URL(`/_emulator${path}`, origin), {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const value = (await response.json()) as T & { error?: string };
    if (!response.ok)
      throw new ControlApiError(response.status, value.error ?? `control API answered ${response.status}`);
    return value;
  };
  const query = (values: Record<string, string | number | boolean | undefined>) => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(values)) if (value !== undefined) search.set(name, String(value));
    const text = search.toString();
    return text === '' ? '' : `?${text}`;
  };
  return {
    health: () => call('GET', '/health'),
    createAccount: (options = {}) => call('POST', '/accounts', options),
    accounts: () => call('GET', '/accounts'),
    addKey: (accountId, options = {}) => call('POST', `/accounts/${accountId}/keys`, options),
    removeKey: async (keyId) => {
      await call('DELETE', `/keys/${encodeURIComponent(keyId)}`);
    },
    setKeyRole: async (keyId, role) => {
      await call('PUT', `/keys/${encodeURIComponent(keyId)}/role`, { role });
    },
    addRule: async (accountId, options = {}) =>
      (await call<{ ruleId: number }>('POST', `/accounts/${accountId}/rules`, options)).ruleId,
    fault: (spec) => call('POST', '/faults', spec),
    faults: () => call('GET', '/faults'),
    clearFaults: async (id) =>
      (await call<{ cleared: number }>('DELETE', id === undefined ? '/faults' : `/faults/${encodeURIComponent(id)}`))
        .cleared,
    setLatency: async (ms) => {
      await call('PUT', '/latency', { ms });
    },
    requests: (q = {}) => call('GET', `/requests${query({ sinceId: q.sinceId, limit: q.limit })}`),
    clearRequests: async () => {
      await call('DELETE', '/requests');
    },
    conferences: (options = {}) => call('GET', `/conferences${query({ active: options.active })}`),
    endConference: async (name, accountId, options = {}) =>
      (
        await call<{ ended: number }>(
          'DELETE',
          `/conferences/${encodeURIComponent(name)}${query({ accountId, finishReason: options.finishReason })}`,
        )
      ).ended,
    conference: (sessionId) => call('GET', `/sessions/${encodeURIComponent(sessionId)}`),
    addParticipant: (ref, options = {}) => call('POST', `${sessionPath(ref)}/participants${refQuery(ref)}`, options),
    removeParticipant: async (ref, participantId) => {
      await call('DELETE', `${sessionPath(ref)}/participants/${encodeURIComponent(participantId)}${refQuery(ref)}`);
    },
    sessionSettings: () => call('GET', '/session-settings'),
    setSessionSettings: (settings) => call('PUT', '/session-settings', settings),
    setCommandHook: async (command, answer) => {
      const path = `/command-hooks/${encodeURIComponent(command)}`;
      await (answer === undefined ? call('DELETE', path) : call('PUT', path, answer));
    },
    stats: () => call('GET', '/stats'),
    reset: async (options = {}) => {
      await call('POST', '/reset', options);
    },
  };
}
