/** Voximplant Management API emulator (StartConference only). See README.md beside this file. */
export { startEmulator, isLoopbackHost } from './server.js';
export { generateSelfSignedCert, opensslAvailable, type SelfSignedCert } from './tls.js';
export { connectEmulator, ControlApiError, type EmulatorControlClient, type EmulatorHealth } from './control-client.js';
export { signToken, callEmulator, buildMultipart, type TokenOptions, type CallOptions, type Encoding, type RawResponse } from './test-client.js';
export { generateRsaKeyPair } from './accounts.js';
export { errorMessage, voximplantError, type VoximplantErrorInfo } from './error-codes.js';
export { normalizeFaultSpec, FaultSpecError, type FaultAction, type FaultScope, type FaultSpec, type FaultInfo } from './faults.js';
export { MAX_TOKEN_LIFETIME_SECONDS } from './auth.js';
export { MAX_CONFERENCE_NAME_LENGTH } from './start-conference.js';
export type {
  AccountInfo,
  AddKeyOptions,
  AddRuleOptions,
  AddedKey,
  AuthFailureReason,
  AuthRecord,
  ConferenceInfo,
  CreateAccountOptions,
  CreatedAccount,
  Credentials,
  EmulatorOptions,
  EmulatorStats,
  RequestOutcome,
  RequestQuery,
  RequestRecord,
  ResetOptions,
  RuleInfo,
  VoximplantEmulator,
} from './types.js';
