/**
 * The control API from another process (end-to-end tests, the benchmark driver): the same operations
 * as the programmatic API, over HTTP, each one a single request with no retries.
 */
import type { FaultInfo, FaultSpec } from './faults.js';
import type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddRuleOptions,
  ConferenceInfo,
  CreateAccountOptions,
  CreatedAccount,
  EmulatorStats,
  RequestQuery,
  RequestRecord,
  ResetOptions,
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
  addRule(accountId: number, options?: AddRuleOptions): Promise<number>;
  fault(spec: FaultSpec): Promise<FaultInfo>;
  faults(): Promise<FaultInfo[]>;
  clearFaults(id?: string): Promise<number>;
  setLatency(ms: number): Promise<void>;
  requests(query?: RequestQuery): Promise<RequestRecord[]>;
  clearRequests(): Promise<void>;
  conferences(options?: { active?: boolean }): Promise<ConferenceInfo[]>;
  /** Without accountId, ends the running sessions of that name in every account. */
  endConference(name: string, accountId?: number): Promise<number>;
  stats(): Promise<EmulatorStats>;
  reset(options?: ResetOptions): Promise<void>;
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
    endConference: async (name, accountId) =>
      (await call<{ ended: number }>('DELETE', `/conferences/${encodeURIComponent(name)}${query({ accountId })}`))
        .ended,
    stats: () => call('GET', '/stats'),
    reset: async (options = {}) => {
      await call('POST', '/reset', options);
    },
  };
}
