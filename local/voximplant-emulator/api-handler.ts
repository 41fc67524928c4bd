/**
 * One Management API request, start to finish:
 * concurrency cap (429) -> body (413) -> parameters -> routing (102/103) -> JWT check (recorded)
 * -> forced faults and latency -> auth (100) -> the key's role (104) -> the method: StartConference checks
 * and session start or join, or GetCallHistory.
 *
 * Forced faults come before the auth verdict is acted on, so a test can trigger one without a valid
 * token; the auth outcome is still recorded for every request that got that far.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccountRegistry } from './accounts.js';
import { redactAuthorization, verifyAuthorization } from './auth.js';
import { BodyTooLargeError, readBody } from './body.js';
import { getCallHistory } from './call-history.js';
import type { ConferenceRegistry } from './conferences.js';
import type { FaultBook } from './faults.js';
import { MalformedBodyError, type Params, parseParams, parseQuery } from './params.js';
import type { OpenRecord, RecordEnd, RequestLog } from './records.js';
import { apiErrorBody, dropConnection, sendBody, sendFaultAnswer, sendJson, sendTruncated } from './respond.js';
import { FORBIDDEN_COMMAND, mayCall } from './roles.js';
import { isApiPath, resolveRoute } from './routing.js';
import { CODES, checkStartConference, successBody } from './start-conference.js';
import type { AuthRecord, RequestRecord } from './types.js';

export const AUTHORIZATION_FAILED = 100;

export interface ConcurrencyGate {
  readonly max: number;
  inFlight: number;
  peak: number;
}

export interface ApiContext {
  readonly accounts: AccountRegistry;
  readonly conferences: ConferenceRegistry;
  readonly faults: FaultBook;
  readonly log: RequestLog;
  readonly gate: ConcurrencyGate;
  readonly maxBodyBytes: number;
  readonly leewaySeconds: number;
  /** The emulator's origin (GetCallHistory's log_file_url). */
  readonly origin: string;
  readonly now: () => number;
  readonly latencyMs: () => number;
  /** Resolves false instead of waiting when the emulator is closing. */
  readonly sleep: (ms: number) => Promise<boolean>;
}

export function splitTarget(target: string): { pathname: string; rawQuery: string } {
  let relative = target;
  if (!relative.startsWith('/')) {
    // Absolute-form request targets (as sent to proxies) are reduced to their path and query.
    try {
      const url = new URL(relative);
      relative = `${url.pathname}${url.search}`;
    } catch {
      relative = '/';
    }
  }
  const hash = relative.indexOf('#');
  if (hash >= 0) relative = relative.slice(0, hash);
  const question = relative.indexOf('?');
  return question < 0
    ? { pathname: relative, rawQuery: '' }
    : { pathname: relative.slice(0, question), rawQuery: relative.slice(question + 1) };
}

export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): Promise<void> {
  const { pathname, rawQuery } = splitTarget(req.url ?? '/');
  const record = ctx.log.begin(
    {
      method: req.method ?? 'GET',
      path: pathname,
      query: rawQuery,
      contentType: headerValue(req, 'content-type'),
      transferEncoding: headerValue(req, 'transfer-encoding'),
      bodyBytes: 0,
      bodyKind: 'unread',
      params: parseQuery(rawQuery),
      command: null,
      authorization: redactAuthorization(req.headers.authorization),
      auth: { outcome: 'not_checked', claimsVerified: false },
      fault: null,
      latencyMs: 0,
      errorCode: null,
      dropped: null,
      conference: null,
    },
    ctx.now(),
  );
  const finish = (end: RecordEnd) => ctx.log.finish(record, end, ctx.now());
  // Whatever ends the exchange early (client gone, emulator closing) leaves a truthful record.
  res.once('close', () => finish({ outcome: 'aborted', status: res.headersSent ? res.statusCode : null }));

  if (!isApiPath(pathname)) {
    finish({ outcome: 'not_found', status: 404 });
    return sendBody(res, 404, 'Not Found', 'text/plain; charset=utf-8');
  }

  // Voximplant documents 200 concurrent requests, then 429; the body of that answer is not documented.
  if (ctx.gate.inFlight >= ctx.gate.max) {
    finish({ outcome: 'overloaded', status: 429 });
    return sendBody(res, 429, 'Too Many Requests', 'text/plain; charset=utf-8');
  }
  ctx.gate.inFlight++;
  ctx.gate.peak = Math.max(ctx.gate.peak, ctx.gate.inFlight);
  res.once('close', () => ctx.gate.inFlight--);

  if (req.method !== 'GET' && req.method !== 'POST') {
    finish({ outcome: 'method_not_allowed', status: 405 });
    return sendBody(res, 405, 'Method Not Allowed', 'text/plain; charset=utf-8', { allow: 'GET, POST' });
  }

  let body: Buffer;
  try {
    body = await readBody(req, ctx.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) return dropConnection(res); // the client went away
    finish({ outcome: 'body_too_large', status: 413 });
    // Closing the connection stops a client that keeps uploading the rest of an oversized body.
    return sendBody(res, 413, 'Payload Too Large', 'text/plain; charset=utf-8', { connection: 'close' });
  }
  record.bodyBytes = body.length;

  let params: Params;
  try {
    const parsed = parseParams(rawQuery, record.contentType ?? undefined, body);
    params = parsed.params;
    record.bodyKind = parsed.bodyKind;
    ctx.log.setParams(record, params);
  } catch (error) {
    if (!(error instanceof MalformedBodyError)) throw error;
    record.bodyKind = 'malformed';
    return answerAfterLatency(res, record, ctx, finish, CODES.invalidArguments);
  }

  const route = resolveRoute(pathname, params);
  record.command = route.method ?? null;
  if (!route.ok) return answerAfterLatency(res, record, ctx, finish, route.code);

  const auth = verifyAuthorization(req.headers.authorization, {
    findKey: (kid) => ctx.accounts.findKey(kid),
    nowMs: ctx.now(),
    leewaySeconds: ctx.leewaySeconds,
  });
  const role = auth.outcome === 'ok' && auth.kid !== undefined ? ctx.accounts.keyRole(auth.kid) : undefined;
  record.auth = role === undefined ? auth : { ...auth, role };

  const decision = ctx.faults.take(params.conference_name, ctx.now(), route.method);
  record.latencyMs = ctx.latencyMs() + decision.latencyMs;
  if (!(await ctx.sleep(record.latencyMs))) return abortForClose(res, finish);

  const fault = decision.answer ? { id: decision.answer.id, type: decision.answer.action.type } : null;
  const action = decision.answer?.action;
  if (action?.type === 'drop') {
    finish({ outcome: 'fault', status: null, dropped: 'before_response', fault });
    return dropConnection(res);
  }
  if (action !== undefined && action.type !== 'drop-mid-response' && action.type !== 'latency') {
    // Sending is synchronous, so the record is final before any other request (or control call) runs.
    const answered = sendFaultAnswer(res, action);
    return finish({ outcome: 'fault', fault, ...answered });
  }

  const answer = callMethod(route.method, record.auth, params, ctx);
  const text = JSON.stringify(answer.body);
  if (action?.type === 'drop-mid-response') {
    finish({ ...answer.end, outcome: 'fault', fault, dropped: 'mid_response' });
    return sendTruncated(res, 200, text);
  }
  finish(answer.end);
  sendBody(res, 200, text, 'application/json');
}

interface Answer {
  readonly body: unknown;
  readonly end: RecordEnd;
}

/**
 * The authorization verdict, then the method. A verified key whose role may not call the method is refused
 * like an unverified one (outcome `auth_failed`), with 104 `Forbidden command` instead of 100.
 */
function callMethod(method: string, auth: AuthRecord, params: Params, ctx: ApiContext): Answer {
  if (auth.outcome !== 'ok' || auth.accountId === undefined) return refused(AUTHORIZATION_FAILED);
  if (auth.role === undefined || !mayCall(auth.role, method)) return refused(FORBIDDEN_COMMAND);
  return method === 'GetCallHistory'
    ? callHistory(auth.accountId, params, ctx)
    : startConference(auth.accountId, params, ctx);
}

function refused(code: number): Answer {
  return { body: apiErrorBody(code), end: { outcome: 'auth_failed', status: 200, errorCode: code } };
}

function apiError(code: number): Answer {
  return { body: apiErrorBody(code), end: { outcome: 'api_error', status: 200, errorCode: code } };
}

function startConference(accountId: number, params: Params, ctx: ApiContext): Answer {
  const check = checkStartConference(params, accountId, (owner, ruleId) => ctx.accounts.findRule(owner, ruleId));
  if (!check.ok) return apiError(check.code);
  // The rule was just found, so its context exists.
  const rule = ctx.accounts.ruleContext(accountId, check.ruleId);
  if (rule === undefined) return apiError(CODES.invalidRuleId);
  const { session, joined, callSessionHistoryId } = ctx.conferences.startOrJoin(
    accountId,
    check.conferenceName,
    check.ruleId,
    rule,
    params,
    ctx.now(),
  );
  return {
    body: successBody({ ...session, callSessionHistoryId }),
    end: { outcome: 'success', status: 200, conference: { sessionId: session.sessionId, joined } },
  };
}

function callHistory(accountId: number, params: Params, ctx: ApiContext): Answer {
  const answer = getCallHistory(params, ctx.conferences.ofAccount(accountId), ctx.origin);
  if (!answer.ok) return apiError(answer.code);
  return { body: answer.body, end: { outcome: 'success', status: 200 } };
}

/** Errors found before faults apply still take the configured latency, like any API answer. */
async function answerAfterLatency(
  res: ServerResponse,
  record: OpenRecord,
  ctx: ApiContext,
  finish: (end: RecordEnd) => void,
  code: number,
): Promise<void> {
  record.latencyMs = ctx.latencyMs();
  if (!(await ctx.sleep(record.latencyMs))) return abortForClose(res, finish);
  finish({ outcome: 'api_error', status: 200, errorCode: code });
  sendJson(res, 200, apiErrorBody(code));
}

/** The emulator is closing: the record is finished now so that it is final when close() resolves. */
function abortForClose(res: ServerResponse, finish: (end: RecordEnd) => void): void {
  finish({ outcome: 'aborted', status: null });
  dropConnection(res);
}

function headerValue(req: IncomingMessage, name: string): RequestRecord['contentType'] {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}
