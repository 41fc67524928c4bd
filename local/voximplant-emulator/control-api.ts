/**
 * The HTTP control API under `/_emulator/...`: the programmatic API over JSON, for tests and tools in
 * other processes (end-to-end tests, the local stack, the benchmark). Records come out exactly as
 * `requests()` gives them, which never contain a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { scenarioKindOf, UnknownAccountError } from './accounts.js';
import { BodyTooLargeError, readBody } from './body.js';
import { SessionLookupError } from './conferences.js';
import { sendJson } from './respond.js';
import { keyRole } from './roles.js';
import type {
  CommandHookAnswer,
  CreateAccountOptions,
  FinishReason,
  KeyRole,
  RequestQuery,
  ScenarioKind,
  SessionRef,
  SessionSettings,
  VoximplantEmulator,
} from './types.js';

const FINISH_REASONS: readonly FinishReason[] = [
  'Normal termination',
  'Insufficient funds',
  'Internal error (billing timeout)',
  'Terminated administratively',
  'JS session error',
  'Timeout',
];

export const CONTROL_PREFIX = '/_emulator';
const MAX_CONTROL_BODY_BYTES = 1024 * 1024;

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isControlPath(pathname: string): boolean {
  return pathname === CONTROL_PREFIX || pathname.startsWith(`${CONTROL_PREFIX}/`);
}

export async function handleControlRequest(
  req: IncomingMessage,
  res: ServerResponse,
  emulator: VoximplantEmulator,
  pathname: string,
  rawQuery: string,
): Promise<void> {
  try {
    const segments = pathname
      .slice(CONTROL_PREFIX.length)
      .split('/')
      .filter((segment) => segment !== '')
      .map(decodeSegment);
    const query = new URLSearchParams(rawQuery);
    const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : {};
    const [status, result] = route(req.method ?? 'GET', segments, query, body, emulator);
    sendJson(res, status, result);
  } catch (error) {
    // Invalid input (including a FaultSpecError) is the caller's mistake: 400 unless more specific.
    const status =
      error instanceof ControlError
        ? error.status
        : error instanceof SessionLookupError
          ? error.status
          : error instanceof UnknownAccountError
            ? 404
            : error instanceof BodyTooLargeError
              ? 413
              : 400;
    sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
  }
}

type Result = [status: number, body: unknown];

function route(
  method: string,
  segments: string[],
  query: URLSearchParams,
  body: Record<string, unknown>,
  emulator: VoximplantEmulator,
): Result {
  const [resource, id, sub, subId] = segments;
  const is = (m: string, length: number) => method === m && segments.length === length;

  switch (resource) {
    case 'health':
      if (is('GET', 1)) {
        const { url, origin, port, secure, latencyMs } = emulator;
        return [200, { ok: true, url, origin, port, secure, latencyMs, inFlight: emulator.stats().inFlight }];
      }
      break;
    case 'accounts':
      if (is('GET', 1)) return [200, emulator.accounts()];
      if (is('POST', 1)) return [201, emulator.createAccount(createAccountOptions(body))];
      if (is('POST', 3) && sub === 'keys') {
        return [
          201,
          emulator.addKey(accountIdParam(id), {
            ...optionalString(body, 'keyId'),
            ...optionalString(body, 'publicKey'),
            ...optionalRole(body),
          }),
        ];
      }
      if (is('POST', 3) && sub === 'rules') {
        const ruleId = emulator.addRule(accountIdParam(id), {
          ...optionalNumber(body, 'ruleId'),
          ...optionalString(body, 'name'),
          ...optionalBoolean(body, 'scenario'),
          ...optionalScenarioKind(body),
        });
        return [201, { ruleId }];
      }
      break;
    case 'keys':
      if (is('DELETE', 2)) {
        if (!emulator.removeKey(id)) throw new ControlError(404, `unknown key ${id}`);
        return [200, { removed: id }];
      }
      if (is('PUT', 3) && sub === 'role') {
        const role = keyRole(body.role);
        if (!emulator.setKeyRole(id, role)) throw new ControlError(404, `unknown key ${id}`);
        return [200, { keyId: id, role }];
      }
      break;
    case 'faults':
      if (is('GET', 1)) return [200, emulator.faults()];
      if (is('POST', 1)) return [201, emulator.fault(body as never)];
      if (is('DELETE', 1)) return [200, { cleared: emulator.clearFaults() }];
      if (is('DELETE', 2)) {
        const cleared = emulator.clearFaults(id);
        if (cleared === 0) throw new ControlError(404, `unknown fault ${id}`);
        return [200, { cleared }];
      }
      break;
    case 'latency':
      if (is('GET', 1)) return [200, { ms: emulator.latencyMs }];
      if (is('PUT', 1)) {
        const ms = body.ms;
        if (typeof ms !== 'number') throw new ControlError(400, 'body must be {"ms": <non-negative number>}');
        emulator.setLatency(ms);
        return [200, { ms: emulator.latencyMs }];
      }
      break;
    case 'requests':
      if (is('GET', 1)) return [200, emulator.requests(requestQuery(query))];
      if (is('DELETE', 1)) {
        emulator.clearRequests();
        return [200, { cleared: true }];
      }
      break;
    case 'conferences':
      if (is('GET', 1)) {
        const active = query.get('active');
        const all = emulator.conferences();
        return [200, active === null ? all : all.filter((conference) => String(conference.active) === active)];
      }
      if (is('DELETE', 2)) return [200, { ended: endConferences(emulator, id, query) }];
      if (sub === 'participants') {
        const ref: SessionRef = { name: id, ...optionalAccountId(query.get('accountId') ?? body.accountId) };
        return participants(method, segments.length, ref, subId, body, emulator);
      }
      break;
    case 'sessions': {
      if (is('GET', 2)) {
        const conference = emulator.conference(id);
        if (!conference) throw new ControlError(404, `no session ${JSON.stringify(id)}`);
        return [200, conference];
      }
      if (sub === 'participants') return participants(method, segments.length, { sessionId: id }, subId, body, emulator);
      break;
    }
    case 'session-settings':
      if (is('GET', 1)) return [200, emulator.sessionSettings()];
      if (is('PUT', 1)) return [200, emulator.setSessionSettings(sessionSettings(body))];
      break;
    case 'command-hooks':
      if (is('PUT', 2)) {
        emulator.setCommandHook(id, body as unknown as CommandHookAnswer);
        return [200, { command: id, ...body }];
      }
      if (is('DELETE', 2)) {
        emulator.setCommandHook(id, undefined);
        return [200, { command: id, cleared: true }];
      }
      break;
    case 'stats':
      if (is('GET', 1)) return [200, emulator.stats()];
      break;
    case 'reset':
      if (is('POST', 1)) {
        emulator.reset(optionalBoolean(body, 'accounts'));
        return [200, { reset: true }];
      }
      break;
  }
  throw new ControlError(404, `no control endpoint ${method} ${CONTROL_PREFIX}/${segments.join('/')}`);
}

function participants(
  method: string,
  length: number,
  ref: SessionRef,
  participantId: string | undefined,
  body: Record<string, unknown>,
  emulator: VoximplantEmulator,
): Result {
  if (method === 'POST' && length === 3) {
    return [201, emulator.addParticipant(ref, { ...optionalString(body, 'id'), ...optionalString(body, 'displayName') })];
  }
  if (method === 'DELETE' && length === 4 && participantId !== undefined) {
    if (!emulator.removeParticipant(ref, participantId)) {
      throw new ControlError(404, `no participant ${JSON.stringify(participantId)} in that session`);
    }
    return [200, { removed: participantId }];
  }
  throw new ControlError(404, `no control endpoint ${method} .../participants`);
}

function sessionSettings(body: Record<string, unknown>): Partial<SessionSettings> {
  const joinAnswers = body.joinAnswers;
  if (joinAnswers !== undefined && joinAnswers !== 'same' && joinAnswers !== 'new-id') {
    throw new ControlError(400, "joinAnswers must be 'same' or 'new-id'");
  }
  return {
    ...optionalNumber(body, 'emptySessionTimeoutMs'),
    ...optionalNumber(body, 'graceMs'),
    ...(joinAnswers !== undefined ? { joinAnswers } : {}),
  };
}

function optionalAccountId(raw: unknown): { accountId?: number } {
  if (raw === undefined || raw === null) return {};
  return { accountId: accountIdParam(String(raw)) };
}

function optionalRole(body: Record<string, unknown>): { role?: KeyRole } {
  return body.role === undefined ? {} : { role: keyRole(body.role) };
}

function optionalScenarioKind(body: Record<string, unknown>): { scenarioKind?: ScenarioKind } {
  return body.scenarioKind === undefined ? {} : { scenarioKind: scenarioKindOf(body.scenarioKind) };
}

/** Without accountId, the running sessions of that name in every account end. */
function endConferences(emulator: VoximplantEmulator, name: string, query: URLSearchParams): number {
  const accountId = query.get('accountId');
  const finishReason = query.get('finishReason');
  if (finishReason !== null && !(FINISH_REASONS as readonly string[]).includes(finishReason)) {
    throw new ControlError(400, `finishReason must be one of ${FINISH_REASONS.join(', ')}`);
  }
  const options = finishReason === null ? {} : { finishReason: finishReason as FinishReason };
  const accounts =
    accountId === null
      ? emulator
          .conferences()
          .filter((conference) => conference.active && conference.name === name)
          .map((conference) => conference.accountId)
      : [accountIdParam(accountId)];
  const ended = accounts.filter((id) => emulator.endConference(id, name, options)).length;
  if (ended === 0) throw new ControlError(404, `no running conference named ${JSON.stringify(name)}`);
  return ended;
}

function createAccountOptions(body: Record<string, unknown>): CreateAccountOptions {
  const ruleIds = body.ruleIds;
  if (ruleIds !== undefined && (!Array.isArray(ruleIds) || ruleIds.some((ruleId) => typeof ruleId !== 'number'))) {
    throw new ControlError(400, 'ruleIds must be an array of numbers');
  }
  return {
    ...optionalNumber(body, 'accountId'),
    ...optionalString(body, 'email'),
    ...optionalNumber(body, 'ruleCount'),
    ...optionalBoolean(body, 'withoutScenario'),
    ...optionalScenarioKind(body),
    ...optionalRole(body),
    ...(ruleIds !== undefined ? { ruleIds: ruleIds as number[] } : {}),
  };
}

function requestQuery(query: URLSearchParams): RequestQuery {
  const number = (name: string) => {
    const raw = query.get(name);
    if (raw === null) return {};
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new ControlError(400, `${name} must be a non-negative integer`);
    return { [name]: value };
  };
  return { ...number('sinceId'), ...number('limit') };
}

function accountIdParam(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ControlError(400, `invalid account id ${JSON.stringify(raw)}`);
  return id;
}

function optionalNumber(body: Record<string, unknown>, name: string): Record<string, number> {
  const value = body[name];
  if (value === undefined) return {};
  if (typeof value !== 'number') throw new ControlError(400, `${name} must be a number`);
  return { [name]: value };
}

function optionalString(body: Record<string, unknown>, name: string): Record<string, string> {
  const value = body[name];
  if (value === undefined) return {};
  if (typeof value !== 'string') throw new ControlError(400, `${name} must be a string`);
  return { [name]: value };
}

function optionalBoolean(body: Record<string, unknown>, name: string): Record<string, boolean> {
  const value = body[name];
  if (value === undefined) return {};
  if (typeof value !== 'boolean') throw new ControlError(400, `${name} must be a boolean`);
  return { [name]: value };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ControlError(400, `malformed path segment ${JSON.stringify(segment)}`);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req, MAX_CONTROL_BODY_BYTES)).toString('utf8');
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ControlError(400, 'body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ControlError(400, 'body must be a JSON object');
  return value as Record<string, unknown>;
}
