/** Voximplant Management API emulator (StartConference, GetCallHistory, media session URLs). See README.md. */

export { generateRsaKeyPair } from './accounts.js';
export { type CallHistoryAnswer, type CallSessionInfo, formatDate, parseDate } from './call-history.js';
export { SessionLookupError } from './conferences.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './auth.js';
export { ControlApiError, connectEmulator, type EmulatorControlClient, type EmulatorHealth } from './control-client.js';
export { errorMessage, type VoximplantErrorInfo, voximplantError } from './error-codes.js';
export {
  type FaultAction,
  type FaultInfo,
  type FaultScope,
  type FaultSpec,
  FaultSpecError,
  normalizeFaultSpec,
} from './faults.js';
export { DEFAULT_ROLE, FORBIDDEN_COMMAND, KEY_ROLES, mayCall } from './roles.js';
export { isLoopbackHost, startEmulator } from './server.js';
export { MAX_CONFERENCE_NAME_LENGTH } from './start-conference.js';
export {
  buildMultipart,
  type CallOptions,
  callEmulator,
  callMediaSession,
  type Encoding,
  type RawResponse,
  signToken,
  type TokenOptions,
} from './test-client.js';
export { generateSelfSignedCert, opensslAvailable, type SelfSignedCert } from './tls.js';
export type {
  AccountInfo,
  AddedKey,
  AddKeyOptions,
  AddParticipantOptions,
  AddRuleOptions,
  AuthFailureReason,
  AuthRecord,
  CommandHookAnswer,
  ConferenceInfo,
  ConnectionRecord,
  CreateAccountOptions,
  CreatedAccount,
  Credentials,
  EmulatorOptions,
  EmulatorStats,
  EndCause,
  FinishReason,
  IdleConnectionsSpec,
  JoinAnswers,
  KeyRole,
  ParticipantInfo,
  RequestOutcome,
  RequestQuery,
  RequestRecord,
  ResetOptions,
  RuleInfo,
  ScenarioKind,
  SessionRef,
  SessionSettings,
  VoximplantEmulator,
} from './types.js';
