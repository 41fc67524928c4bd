import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { ConferenceResult } from './conference.js';
import { ERROR_CATALOG, PayloadError, toVoxconfError, ValidationError, type VoxconfError } from './errors.js';

/** Largest accepted POST /conferences body, in bytes (script_custom_data itself is capped lower). */
export const MAX_BODY_BYTES = 32 * 1024;

/** Retry-After for a 503 when Voximplant gave none: long enough to let a hiccup pass. */
const DEFAULT_RETRY_AFTER_SECONDS = 2;

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // The answer carries the session control URLs: no cache may keep it.
  'cache-control': 'no-store',
} as const;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Refuses a body before it is parsed: absent, too large, or (base64-encoded) not UTF-8, which a
 * lenient decode would silently turn into U+FFFD and send on. Leaves the event with a text body.
 */
export function checkHttpBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): void {
  const { body, isBase64Encoded } = event;
  if (body === undefined || body === null || body === '') {
    throw new ValidationError([{ field: 'body', rule: 'required', message: 'A JSON body is required.' }]);
  }
  const bytes = isBase64Encoded ? Math.floor((body.length * 3) / 4) : Buffer.byteLength(body, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new PayloadError('body_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes.`);
  }
  if (isBase64Encoded) {
    try {
      event.body = strictUtf8.decode(Buffer.from(body, 'base64'));
    } catch (cause) {
      throw new ValidationError([{ field: 'body', rule: 'utf8', message: 'The body must be UTF-8 text.' }], { cause });
    }
    event.isBase64Encoded = false;
  }
}

/** middy's http-json-body-parser throws HttpErrors (415, 422); they become voxconf errors here. */
function fromMiddyHttpError(error: unknown): VoxconfError | undefined {
  if (!(error instanceof Error) || !('statusCode' in error) || !('expose' in error)) return undefined;
  const status = (error as { statusCode: number }).statusCode;
  const cause = error.cause as { data?: unknown } | undefined;
  if (status === 415) {
    return new PayloadError('unsupported_media_type', 'The body must be JSON (Content-Type: application/json).', {
      cause: error,
    });
  }
  if (status === 422 && error.message === 'Forbidden key in JSON body' && typeof cause?.data === 'string') {
    return new ValidationError([
      { field: cause.data, rule: 'forbidden_key', message: `${cause.data} is not allowed as a key.` },
    ]);
  }
  if (status === 422 && /call stack/i.test(String((cause as { message?: unknown } | undefined)?.message))) {
    return new ValidationError([{ field: 'body', rule: 'max_depth', message: 'The body is nested too deeply.' }]);
  }
  if (status === 422) return new PayloadError('malformed_json', 'The body is not valid JSON.', { cause: error });
  return undefined;
}

/** The error answer: `{"error":{code,message,field?,details?,voximplant_code?}}`, nothing internal. */
export function httpErrorResponse(thrown: unknown): APIGatewayProxyStructuredResultV2 {
  const error = fromMiddyHttpError(thrown) ?? toVoxconfError(thrown);
  const { status } = ERROR_CATALOG[error.code];
  const body: Record<string, unknown> = { code: error.code, message: error.publicMessage };
  if (error.field !== undefined) body.field = error.field;
  if (error.details !== undefined) body.details = error.details;
  if (error.voximplantCode !== undefined && ERROR_CATALOG[error.code].exposeMessage) {
    body.voximplant_code = error.voximplantCode;
  }
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (status === 503) headers['retry-after'] = String(error.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS);
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
