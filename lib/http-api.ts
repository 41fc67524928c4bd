import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ConferenceResult, ConferenceService, StartOptions, StartReport } from './conference.js';
import { getConfig } from './config.js';
import { catalogEntry, PayloadError, toVoxconfError, ValidationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import {
  failedEvent,
  type OutcomeEvent,
  type OutcomePublisher,
  type StartOrigin,
  startedEvent,
} from './outcome-events.js';
import { recordStart, type StartRecorder } from './registry.js';
import { validateCorrelationId } from './validation.js';
import { printable } from './values.js';

/** Largest accepted POST /conferences body, in bytes (script_custom_data itself is capped lower). */
export const MAX_BODY_BYTES = facts.request.httpBodyMaxBytes;

/** Retry-After for a 503 when Voximplant gave none: long enough to let a hiccup pass. */
const DEFAULT_RETRY_AFTER_SECONDS = 2;

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // The answer carries the session control URLs: no cache may keep it.
  'cache-control': 'no-store',
} as const;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `application/json`, and `application/<anything>+json` (e.g. `application/merge-patch+json`). */
const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** No Content-Encoding: absent, empty, or only `identity` (a list such as `identity, gzip` is compressed). */
const IDENTITY_ENCODING = /^(identity)?$/i;

/** Keys that would reach an object's prototype if a consumer ever merged the body into another object. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (
    key === '__proto__' ||
    (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)
  ) {
    throw new ValidationError([{ field: key, rule: 'forbidden_key', message: `${key} is not allowed as a key.` }]);
  }
  return value;
}

/**
 * The request of POST /conferences from the event's body: present, not content-encoded, at most MAX_BODY_BYTES,
 * UTF-8 (a lenient decode would silently turn bad bytes into U+FFFD and send them on), declared and parsed as JSON.
 */
export function readJsonBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  const { body, isBase64Encoded } = event;
  if (body === undefined || body === null || body === '') {
    throw new ValidationError([{ field: 'body', rule: 'required', message: 'A JSON body is required.' }]);
  }
  // Checked before decoding: compressed bytes are not a text problem (400) but an encoding we do not read (415).
  const encoding = event.headers?.['content-encoding']?.trim() ?? '';
  if (!IDENTITY_ENCODING.test(encoding)) {
    throw new PayloadError(
      'unsupported_media_type',
      `Content-Encoding "${printable(encoding)}" is not supported; send the JSON uncompressed.`,
    );
  }
  const bytes = Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new PayloadError('body_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  let text = body;
  if (isBase64Encoded) {
    try {
      text = strictUtf8.decode(Buffer.from(body, 'base64'));
    } catch (cause) {
      throw new ValidationError([{ field: 'body', rule: 'utf8', message: 'The body must be UTF-8 text.' }], { cause });
    }
  }
  if (!JSON_CONTENT_TYPE.test(event.headers?.['content-type'] ?? '')) {
    throw new PayloadError('unsupported_media_type', 'The body must be JSON (Content-Type: application/json).');
  }
  try {
    return JSON.parse(text, refuseProtoKeys);
  } catch (cause) {
    if (cause instanceof ValidationError) throw cause;
    // A reviver walks the value recursively: absurd nesting ends in a RangeError, not a SyntaxError.
    if (cause instanceof RangeError) {
      throw new ValidationError([{ field: 'body', rule: 'max_depth', message: 'The body is nested too deeply.' }]);
    }
    throw new PayloadError('malformed_json', 'The body is not valid JSON.', { cause });
  }
}

/** The error answer: `{"error":{code,message,field?,details?,voximplant_code?}}`, nothing internal. */
export function httpErrorResponse(thrown: unknown): APIGatewayProxyStructuredResultV2 {
  const error = toVoxconfError(thrown);
  const { status, exposeMessage, retryAfter } = catalogEntry(error.code);
  const body: Record<string, unknown> = { code: error.code, message: error.publicMessage };
  if (error.field !== undefined) body.field = error.field;
  if (error.details !== undefined) body.details = error.details;
  // The conference may be running although this start failed: a retry joins it, it does not open a second.
  if (error.outcome === 'unknown') body.outcome = 'unknown';
  if (error.voximplantCode !== undefined && exposeMessage) {
    body.voximplant_code = error.voximplantCode;
  }
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (status === 503 && retryAfter !== false) {
    headers['retry-after'] = String(error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS);
  }
  return { statusCode: status, headers, body: JSON.stringify({ error: body }) };
}

export function httpSuccessResponse(result: ConferenceResult): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 200,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({
      conference_name: result.conference_name,
      media_session_access_url: result.media_session_access_url,
      media_session_access_secure_url: result.media_session_access_secure_url,
      call_session_history_id: result.call_session_history_id,
    }),
  };
}

/** The caller's X-Correlation-Id when it is a valid one (for the logs; startFromHttp refuses an invalid one). */
export function correlationIdOf(event: Pick<APIGatewayProxyEventV2, 'headers'>): string | undefined {
  try {
    return validateCorrelationId(event.headers?.[CORRELATION_HEADER], CORRELATION_HEADER_NAME);
  } catch {
    return undefined;
  }
}

const CORRELATION_HEADER = 'x-correlation-id';
const CORRELATION_HEADER_NAME = 'X-Correlation-Id';

export interface HttpStartDeps {
  readonly service: Pick<ConferenceService, 'start'>;
  /** Outcome events over HTTP are off unless the stage turns them on (PUBLISH_HTTP_EVENTS). */
  readonly publisher: () => Promise<OutcomePublisher | undefined>;
  readonly stage: string;
  /** The registry (lib/registry.ts); absent when it is off (REGISTRY_TABLE_NAME unset). */
  readonly registry?: StartRecorder | undefined;
}

/**
 * POST /conferences: the body's request started or joined, recorded in the registry when it is on (a failed write
 * never changes the answer), and, when the stage publishes HTTP outcomes, its event (after the answer is decided; a
 * failed publish never changes it). Every failure reaching the caller is final.
 */
export async function startFromHttp(
  event: APIGatewayProxyEventV2,
  deps: HttpStartDeps,
  options: StartOptions = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  // The id as far as it is valid: a refused header is a final failure with an event, without the id.
  const origin: StartOrigin = {
    source: 'http',
    sourceId: event.requestContext?.requestId,
    correlationId: correlationIdOf(event),
  };
  let report: StartReport | undefined;
  const onSettled = (settled: StartReport) => {
    report = settled;
  };
  try {
    validateCorrelationId(event.headers?.[CORRELATION_HEADER], CORRELATION_HEADER_NAME);
    const starting = deps.service.start(readJsonBody(event), { ...options, onSettled });
    // The registry's client loads while Voximplant answers, not before the request leaves.
    deps.registry?.prepare();
    const result = await starting;
    // Before the event: whoever hears "Conference Started" finds the record.
    await recordStart(deps.registry, { result, origin, ruleId: report?.ruleId });
    await publishOne(deps, () => startedEvent(deps.stage, origin, settledOrEmpty(report), result));
    return httpSuccessResponse(result);
  } catch (thrown) {
    const error = toVoxconfError(thrown);
    await publishOne(deps, () => failedEvent(deps.stage, origin, settledOrEmpty(report), error, true));
    throw error;
  }
}

function settledOrEmpty(report: StartReport | undefined): StartReport {
  return report ?? { conferenceName: undefined, ruleId: undefined, attempts: 0, durationMs: 0 };
}

async function publishOne(deps: HttpStartDeps, event: () => OutcomeEvent): Promise<void> {
  const publisher = await deps.publisher().catch(() => undefined);
  await publisher?.publish([event()]).catch(() => undefined);
}

/**
 * The stage's publisher when it publishes HTTP outcomes (PUBLISH_HTTP_EVENTS), else none. Loaded on first use:
 * without the setting, the EventBridge client is never evaluated on the HTTP path.
 */
export async function httpOutcomePublisher(): Promise<OutcomePublisher | undefined> {
  if (!getConfig().publishHttpEvents) return undefined;
  const { getOutcomePublisher } = await import('./event-bus.js');
  return getOutcomePublisher();
}
