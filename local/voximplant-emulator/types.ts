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
  /**
   * A session with no participant ends on its own after this long (default 60 000 ms, Voximplant's documented
   * no-call timeout): from its start when nobody joins, or from the moment the last participant left.
   */
  readonly emptySessionTimeoutMs?: number;
  /** Reference-scenario rules: the session ends this long after its last participant left (default 30 000 ms). */
  readonly graceMs?: number;
  /** What a join answers (default 'same'); see `JoinAnswers`. */
  readonly joinAnswers?: JoinAnswers;
}

/**
 * What StartConference answers when it joins a running session: `same` call_session_history_id as the start
 * (the emulator's default), or a `new-id` with the same media URLs. Voximplant does not document which one it
 * does; both are assumptions for voxconf to be tested against.
 */
export type JoinAnswers = 'same' | 'new-id';

/**
 * The scenario bound to a rule: `reference` runs voxconf's media session contract (status, stop, commands;
 * ends itself after a grace period), `example` is Voximplant's own example (ends on any request to its URL).
 */
export type ScenarioKind = 'reference' | 'example';

/** Service-account roles the emulator knows (Voximplant has more; these are the ones its methods name). */
export type KeyRole = 'Owner' | 'Admin' | 'Developer' | 'CallsSMS' | 'Supervisor' | 'Support';

/** Settings of the session lifecycle, changeable at run time (`setSessionSettings`, control API). */
export interface SessionSettings {
  readonly emptySessionTimeoutMs: number;
  readonly graceMs: number;
  readonly joinAnswers: JoinAnswers;
}

/** How a session ended (finer than Voximplant's finish_reason, for tests). */
export type EndCause = 'stop' | 'example_request' | 'grace' | 'empty_timeout' | 'control';

/** Voximplant's documented finish_reason values (CallSessionInfoType). */
export type FinishReason =
  | 'Normal termination'
  | 'Insufficient funds'
  | 'Internal error (billing timeout)'
  | 'Terminated administratively'
  | 'JS session error'
  | 'Timeout';

/** A running session, named by its id or by its conference name (and account, when several accounts use it). */
export type SessionRef = { readonly sessionId: string } | { readonly name: string; readonly accountId?: number };

export interface AddParticipantOptions {
  /** Default generated (`participant-<n>`); unique within the session. */
  readonly id?: string;
  /** Default the id. */
  readonly displayName?: string;
}

export interface ParticipantInfo {
  readonly id: string;
  readonly displayName: string;
  readonly joinedAt: string;
}

/** A canned answer of the reference scenario's command hook for one command name. */
export type CommandHookAnswer = { readonly result: unknown } | { readonly error: string };

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
  /** The scenario kind of the account's rules (default 'reference'). */
  readonly scenarioKind?: ScenarioKind;
  /** The role of the account's first key (default 'Owner'). */
  readonly role?: KeyRole;
}

export interface CreatedAccount {
  readonly credentials: Credentials;
  readonly accountId: number;
  readonly keyId: string;
  /** The first rule id (the common single-rule case). */
  readonly ruleId: number;
  readonly ruleIds: readonly number[];
  readonly publicKey: string;
  readonly role: KeyRole;
}

export interface AddKeyOptions {
  readonly keyId?: string;
  /** SPKI PEM of a key pair made elsewhere; without it a pair is generated and credentials returned. */
  readonly publicKey?: string;
  /** Default 'Owner'. */
  readonly role?: KeyRole;
}

export interface AddedKey {
  readonly accountId: number;
  readonly keyId: string;
  readonly publicKey: string;
  readonly role: KeyRole;
  /** Present when the emulator generated the key pair. */
  readonly credentials?: Credentials;
}

export interface AddRuleOptions {
  readonly ruleId?: number;
  readonly name?: string;
  /** Whether a scenario is bound to the rule (default true). */
  readonly scenario?: boolean;
  /** Which scenario (default 'reference'). */
  readonly scenarioKind?: ScenarioKind;
}

export interface RuleInfo {
  readonly ruleId: number;
  readonly name: string;
  readonly scenario: boolean;
  readonly scenarioKind: ScenarioKind;
}

export interface AccountInfo {
  readonly accountId: number;
  readonly email: string;
  /** The account's single application (GetCallHistory names it). */
  readonly applicationId: number;
  readonly applicationName: string;
  readonly keyIds: readonly string[];
  readonly keys: readonly { readonly keyId: string; readonly role: KeyRole }[];
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
  /** The role of the verified key (outcome ok only). */
  readonly role?: KeyRole;
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
  readonly ruleName: string;
  readonly scenarioKind: ScenarioKind;
  readonly createdAt: string;
  readonly endedAt: string | null;
  readonly active: boolean;
  /** How the session ended (null while it runs). */
  readonly endCause: EndCause | null;
  /** Voximplant's finish_reason as GetCallHistory reports it (null while it runs). */
  readonly finishReason: FinishReason | null;
  /** The id of the start; GetCallHistory lists the session under it. */
  readonly callSessionHistoryId: number;
  /** Every call_session_history_id answered for this session (more than one under joinAnswers 'new-id'). */
  readonly callSessionHistoryIds: readonly number[];
  readonly mediaSessionAccessUrl: string;
  readonly mediaSessionAccessSecureUrl: string;
  /** StartConference calls that joined after the one that created the session. */
  readonly joinCount: number;
  /** Parameters of every call for this session (creation first), most recent ones kept. */
  readonly calls: readonly Readonly<Record<string, string>>[];
  /** Requests made to the media session URL while it ran (a test proves a session was never probed with 0). */
  readonly mediaRequests: number;
  /** The `command` of each of those requests (`null` when the body had none), the most recent 50 kept. */
  readonly mediaCommands: readonly (string | null)[];
  readonly participants: readonly ParticipantInfo[];
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
  /**
   * Ends the running session of that name so the next StartConference starts a new one (cause `control`,
   * finish_reason 'Normal termination' unless given).
   */
  endConference(accountId: number, name: string, options?: { readonly finishReason?: FinishReason }): boolean;
  /** One session by id (running or ended), undefined when unknown. */
  conference(sessionId: string): ConferenceInfo | undefined;
  /** A participant joins a running session (its empty-session timer stops). Throws SessionLookupError. */
  addParticipant(ref: SessionRef, options?: AddParticipantOptions): ParticipantInfo;
  /** A participant leaves; the last one leaving starts the grace period / empty-session timeout. */
  removeParticipant(ref: SessionRef, participantId: string): boolean;
  sessionSettings(): SessionSettings;
  /** Changes the session settings; running timers are re-armed with the new values. */
  setSessionSettings(settings: Partial<SessionSettings>): SessionSettings;
  /** Sets (or with undefined clears) the reference scenario's hook answer for one command name. */
  setCommandHook(command: string, answer: CommandHookAnswer | undefined): void;
  /** Changes a key's role; false when the key is unknown. */
  setKeyRole(keyId: string, role: KeyRole): boolean;
  stats(): EmulatorStats;
  reset(options?: ResetOptions): void;
  /** Stops listening and destroys every connection and pending delayed answer. Idempotent. */
  close(): Promise<void>;
}
