/** Voximplant Management API emulator (StartConference only). See README.md beside this file. */

export { generateRsaKeyPair } from './accounts.js';
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
export { isLoopbackHost, startEmulator } from './server.js';
export { MAX_CONFERENCE_NAME_LENGTH } from './start-conference.js';
export {
  buildMultipart,
  type CallOptions,
  callEmulator,
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
  AddRuleOptions,
  AuthFailureReason,
  AuthRecord,
  ConferenceInfo,
  ConnectionRecord,
  CreateAccountOptions,
  CreatedAccount,
  Credentials,
  EmulatorOptions,
  EmulatorStats,
  IdleConnectionsSpec,
  RequestOutcome,
  RequestQuery,
  RequestRecord,
  ResetOptions,
  RuleInfo,
  VoximplantEmulator,
} from './types.js';
