import { describe, expect, it } from '@jest/globals';
import { checkHttpBody, httpErrorResponse, httpSuccessResponse, MAX_BODY_BYTES } from '../../lib/http-api.js';
import {
  CredentialsError,
  RuleNotAllowedError,
  UpstreamError,
  ValidationError,
  VoximplantApiError,
} from '../../lib/index.js';

const parse = (response: ReturnType<typeof httpErrorResponse>) => JSON.parse(String(response.body)).error;

describe('HTTP edge', () => {
  it('refuses a missing or empty body as a 400 naming body', () => {
    for (const body of [undefined, '']) {
      const error = (() => {
        try {
          checkHttpBody({ body, isBase64Encoded: false });
        } catch (e) {
          return e;
        }
      })();
      expect(httpErrorResponse(error).statusCode).toBe(400);
      expect(parse(httpErrorResponse(error))).toMatchObject({ code: 'invalid_request', field: 'body' });
    }
  });

  it('refuses a body over the limit with 413, counting UTF-8 bytes', () => {
    expect(() => checkHttpBody({ body: 'a'.repeat(MAX_BODY_BYTES), isBase64Encoded: false })).not.toThrow();
    const error = (() => {
      try {
        checkHttpBody({ body: 'ü'.repeat(MAX_BODY_BYTES / 2 + 1), isBase64Encoded: false });
      } catch (e) {
        return e;
      }
    })();
    expect(httpErrorResponse(error).statusCode).toBe(413);
  });

  it.each([
    [
      new ValidationError([{ field: 'rule_id', rule: 'type', message: 'rule_id must be a positive integer' }]),
      400,
      'invalid_request',
    ],
    [new RuleNotAllowedError(9), 403, 'rule_not_allowed'],
    [new VoximplantApiError('voximplant_rejected_request', 147, 'bad rule'), 422, 'voximplant_rejected_request'],
    [new VoximplantApiError('voximplant_account_error', 127, 'Insufficient money'), 502, 'voximplant_account_error'],
    [new UpstreamError('voximplant_throttled', 'HTTP 429', { retryAfterSeconds: 7 }), 503, 'voximplant_throttled'],
    [new UpstreamError('voximplant_timeout', 'slow'), 504, 'voximplant_timeout'],
    [new CredentialsError('credentials_not_found', 'Secret "prod/x" not found'), 500, 'credentials_not_found'],
    [new TypeError('bug'), 500, 'internal_error'],
  ])('maps %p to its status and code', (error, status, code) => {
    const response = httpErrorResponse(error);
    expect(response.statusCode).toBe(status);
    expect(parse(response).code).toBe(code);
    expect(response.headers?.['content-type']).toContain('application/json');
  });

  it("gives 503 a Retry-After in seconds, Voximplant's when it sent one", () => {
    expect(
      httpErrorResponse(new UpstreamError('voximplant_throttled', 'x', { retryAfterSeconds: 7 })).headers?.[
        'retry-after'
      ],
    ).toBe('7');
    expect(httpErrorResponse(new UpstreamError('voximplant_unreachable', 'x')).headers?.['retry-after']).toMatch(
      /^\d+$/,
    );
  });

  it('shows voximplant_code for request errors, not internals of server-side ones', () => {
    expect(
      parse(httpErrorResponse(new VoximplantApiError('voximplant_rejected_request', 270, 'too long'))),
    ).toMatchObject({
      voximplant_code: 270,
    });
    const hidden = parse(httpErrorResponse(new CredentialsError('credentials_invalid', 'Secret "prod/x" is bad')));
    expect(JSON.stringify(hidden)).not.toContain('prod/x');
    expect(hidden.message).toBe('The service is misconfigured.');
  });

  it('maps middy parser errors: 415 not JSON, 422 malformed, __proto__ named', () => {
    const middyError = (statusCode: number, message: string, data?: unknown) =>
      Object.assign(new Error(message, { cause: { package: '@middy/http-json-body-parser', data } }), {
        statusCode,
        expose: true,
      });
    expect(httpErrorResponse(middyError(415, 'Unsupported Media Type')).statusCode).toBe(415);
    expect(parse(httpErrorResponse(middyError(422, 'Invalid or malformed JSON was provided')))).toMatchObject({
      code: 'malformed_json',
    });
    const deep = Object.assign(
      new Error('Invalid or malformed JSON was provided', { cause: { message: 'Maximum call stack size exceeded' } }),
      { statusCode: 422, expose: true },
    );
    expect(httpErrorResponse(deep).statusCode).toBe(400);
    expect(parse(httpErrorResponse(deep))).toMatchObject({ field: 'body', details: [{ rule: 'max_depth' }] });
    const proto = httpErrorResponse(middyError(422, 'Forbidden key in JSON body', '__proto__'));
    expect(proto.statusCode).toBe(400);
    expect(parse(proto)).toMatchObject({ field: '__proto__' });
  });

  it('answers success with exactly the four fields and no-store', () => {
    const response = httpSuccessResponse({
      conference_name: 'a',
      media_session_access_url: 'http://x',
      media_session_access_secure_url: 'https://x',
      call_session_history_id: 5,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['cache-control']).toBe('no-store');
    expect(Object.keys(JSON.parse(String(response.body)))).toEqual([
      'conference_name',
      'media_session_access_url',
      'media_session_access_secure_url',
      'call_session_history_id',
    ]);
  });
});
