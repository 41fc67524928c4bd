/** Public types of the Voximplant Management API emulator. */
import type { FaultInfo, FaultSpec } from './faults.js';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** A loopback address; default 127.0.0.1. */
  readonly host?: string;
  /** Delay added to every API request before it is answered (default 0). */
  readonly latencyMs?: number;
  /** In-flight API requests allowed before HTTP 429 (default 200, Voximplant's documented StartScenarios cap). */
  readonly maxConcurrent?: number;
  /** Clock skew tolerated for iat/exp/nbf (default 10 s). */
  readonly leewaySeconds?: number;
  /** Serve HTTPS with this PEM key and certificate instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Larger bodies get HTTP 413 (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Request records kept, oldest dropped first (default 10 000); stats keep counting past it. */
  readonly maxRecords?: number;
  /** Milliseconds since the epoch; lets tests move the emulator's clock. Default Date.now. */
  readonly now?: () => number;
  /**
   * What happens to a keep-alive connection idle this long, unannounced. Default: Node's own behaviour
   * (closed after 5 s, announced as `Keep-Alive: timeout=5`). See `setIdleConnections`.
   */
  readonly idleConnections?: IdleConnectionsSpec;
}

/**
 * An idle keep-alive connection, after `afterMs`, in `mode` `close` ends it (a FIN the client sees at once, as nginx
 * does), `reset` forgets it silently and answers the next request on it with a TCP reset, unprocessed (as a
 * NAT gateway does after its idle timeout; or what a client frozen meanwhile finds on waking).
 */
export interface IdleConnectionsSpec {
  readonly afterMs: number;
  readonly mode: 'close' | 'reset';
}

/** One client connection (under TLS: counted once the handshake is done). */
export interface ConnectionRecord {
  /** Increases by one per connection, in the order they opened. */
  readonly id: number;
  readonly openedAt: string;
  /** HTTP requests received on it (a request answered by a reset is not counted). */
  readonly requests: number;
  /** `forgotten`: idle past `idleConnections.afterMs` in `reset` mode; its next request gets a reset. */
  readonly state: 'active' | 'idle' | 'forgotten' | 'closed';
  readonly closedAt: string | null;
  /** `client`: the client closed it (or it broke); `idle`: closed idle; `reset`: a request after idleness was reset. */
  readonly closedBy: 'client' | 'idle' | 'reset' | null;
}

/** Exactly the credentials.json a Voximplant service-account key download holds. */
export interface Credentials {
  readonly account_id: number;
  readonly account_email: string;
  readonly key_id: string;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly private_key: string;
}

export interface CreateAccountOptions {
  /** Default: the next free id. */
  readonly accountId?: number;
  readonly email?: string;
  /** Rule ids to register; default one generated id. */
  readonly ruleIds?: readonly number[];
  /** How many rules to generate when ruleIds is not given (default 1). */
  readonly ruleCount?: number;
  /** Register the rules without a scenario (StartConference then answers 375). Default false. */
  readonly withoutScenario?: boolean;
}

export interface CreatedAccount {
  readonly credentials: Credentials;
  readonly accountId: number;
  readonly keyId: string;
  /** The first rule id (the common single-rule case). */
  readonly ruleId: number;
  readonly ruleIds: readonly number[];
  readonly publicKey: string;
}

export interface AddKeyOptions {
  readonly keyId?: string;
  /** SPKI PEM of a key pair made elsewhere; without it a pair is generated and credentials returned. */
  readonly publicKey?: string;
}

export interface AddedKey {
  readonly accountId: number;
  readonly keyId: string;
  readonly publicKey: string;
  /** Present when the emulator generated the key pair. */
  readonly credentials?: Credentials;
}

export interface AddRuleOptions {
  readonly ruleId?: number;
  readonly name?: string;
  /** Whether a scenario is bound to the rule (default true). */
  readonly scenario?: boolean;
}

export interface RuleInfo {
  readonly ruleId: number;
  readonly name: string;
  readonly scenario: boolean;
}

export interface AccountInfo {
  readonly accountId: number;
  readonly email: string;
  readonly keyIds: readonly string[];
  readonly rules: readonly RuleInfo[];
}

export type AuthFailureReason =
  | 'missing_authorization'
  | 'not_bearer'
  | 'malformed_token'
  | 'unsupported_alg'
  | 'missing_kid'
  | 'unknown_kid'
  | 'bad_signature'
  | 'missing_iss'
  | 'invalid_iss'
  | 'iss_mismatch'
  | 'missing_iat'
  | 'invalid_iat'
  | 'missing_exp'
  | 'invalid_exp'
  | 'exp_not_after_iat'
  | 'lifetime_too_long'
  | 'expired'
  | 'iat_in_future'
  | 'not_yet_valid';

/** What the emulator learned from the Authorization header. The token itself is never kept. */
export interface AuthRecord {
  readonly outcome: 'ok' | 'failed' | 'not_checked';
  readonly reason?: AuthFailureReason;
  /** The verified account (outcome ok only). */
  readonly accountId?: number;
  readonly alg?: string;
  readonly kid?: string;
  readonly iss?: unknown;
  readonly iat?: unknown;
  readonly exp?: unknown;
  /** True only when the signature verified, i.e. the claims above can be trusted. */
  readonly claimsVerified: boolean;
}

export type RequestOutcome =
  | 'pending'
  | 'success'
  | 'api_error'
  | 'auth_failed'
  | 'fault'
  | 'overloaded'
  | 'body_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'aborted';

export interface RequestRecord {
  /** Increases by one per request, in arrival order. */
  readonly id: number;
  readonly receivedAt: string;
  readonly method: string;
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly contentType: string | null;
  readonly transferEncoding: string | null;
  readonly bodyBytes: number;
  readonly bodyKind: 'none' | 'urlencoded' | 'multipart' | 'ignored' | 'unread' | 'malformed';
  /** Query and body parameters merged (body wins). Legacy secrets such as api_key are redacted. */
  readonly params: Readonly<Record<string, string>>;
  /** The API method the request resolved to, when routing succeeded. */
  readonly command: string | null;
  /** The Authorization header reduced to its scheme, e.g. `Bearer [redacted]`; null when absent. */
  readonly authorization: string | null;
  readonly auth: AuthRecord;
  /** The forced fault that shaped the answer, if any. */
  readonly fault: { readonly id: string; readonly type: FaultSpec['type'] } | null;
  /** Total delay added (global + fault latency). */
  readonly latencyMs: number;
  readonly outcome: RequestOutcome;
  /** HTTP status sent; null while pending or when the connection was dropped before headers. */
  readonly status: number | null;
  /** Voximplant error code in the body, if any. */
  readonly errorCode: number | null;
  readonly dropped: 'before_response' | 'mid_response' | null;
  readonly conference: { readonly sessionId: string; readonly joined: boolean } | null;
  readonly durationMs: number | null;
}

export interface ConferenceInfo {
  readonly sessionId: string;
  readonly accountId: number;
  readonly name: string;
  readonly ruleId: number;
  readonly createdAt: string;
  readonly endedAt: string | null;
  readonly active: boolean;
  readonly callSessionHistoryId: number;
  readonly mediaSessionAccessUrl: string;
  readonly mediaSessionAccessSecureUrl: string;
  /** StartConference calls that joined after the one that created the session. */
  readonly joinCount: number;
  /** Parameters of every call for this session (creation first), most recent ones kept. */
  readonly calls: readonly Readonly<Record<string, string>>[];
  /** Requests made to the media session URL. */
  readonly mediaRequests: number;
}

export interface EmulatorStats {
  /** API requests received (counted on arrival, unlike the breakdowns below which count finished ones). */
  readonly requests: number;
  /** Finished requests by RequestOutcome. */
  readonly byOutcome: Readonly<Record<string, number>>;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byErrorCode: Readonly<Record<string, number>>;
  readonly authFailures: Readonly<Record<string, number>>;
  /** Requests answered by a forced fault (latency faults alone do not count). */
  readonly faultsApplied: number;
  readonly conferencesStarted: number;
  readonly conferencesJoined: number;
  readonly inFlight: number;
  readonly peakInFlight: number;
}

export interface ResetOptions {
  /** Also forget accounts, keys and rules (default false: they usually come from a fixture). */
  readonly accounts?: boolean;
}

export interface RequestQuery {
  /** Only records with id > sinceId. */
  readonly sinceId?: number;
  /** At most this many, the most recent ones. */
  readonly limit?: number;
}

export interface VoximplantEmulator {
  /** Base URL of the API, e.g. `http://127.0.0.1:41234/platform_api`. */
  readonly url: string;
  /** e.g. `http://127.0.0.1:41234` (the control API lives under `/_emulator`). */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly latencyMs: number;

  createAccount(options?: CreateAccountOptions): CreatedAccount;
  accounts(): AccountInfo[];
  addKey(accountId: number, options?: AddKeyOptions): AddedKey;
  removeKey(keyId: string): boolean;
  addRule(accountId: number, options?: AddRuleOptions): number;

  fault(spec: FaultSpec): FaultInfo;
  faults(): FaultInfo[];
  /** Clears one fault by id, or all; returns how many were removed. */
  clearFaults(id?: string): number;
  setLatency(ms: number): void;
  /** Changes the idle-connection behaviour (undefined: Node's default); applies to open connections too. */
  setIdleConnections(spec: IdleConnectionsSpec | undefined): void;
  /** Does now, to every idle connection, what `mode` does after `idleConnections.afterMs`; returns how many. */
  expireIdleConnections(mode: IdleConnectionsSpec['mode']): number;
  /** Client connections, oldest first (the last `maxRecords`). */
  connections(): ConnectionRecord[];

  requests(query?: RequestQuery): RequestRecord[];
  clearRequests(): void;
  conferences(): ConferenceInfo[];
  /** Ends the running session of that name so the next StartConference starts a new one. */
  endConference(accountId: number, name: string): boolean;
  stats(): EmulatorStats;
  reset(options?: ResetOptions): void;
  /** Stops listening and destroys every connection and pending delayed answer. Idempotent. */
  close(): Promise<void>;
}
