import { gzipSync } from 'node:zlib';
import { describe, expect, it } from '@jest/globals';
import { httpErrorResponse, httpSuccessResponse, MAX_BODY_BYTES, readJsonBody } from '../../lib/http-api.js';
import {
  CredentialsError,
  RuleNotAllowedError,
  UpstreamError,
  ValidationError,
  VoximplantApiError,
} from '../../lib/index.js';

const parse = (response: ReturnType<typeof httpErrorResponse>) => JSON.parse(String(response.body)).error;

const JSON_TYPE = { 'content-type': 'application/json' };

/** What readJsonBody throws for this body, as the HTTP answer. */
function answerFor(body: string | undefined, headers: Record<string, string> = JSON_TYPE, isBase64Encoded = false) {
  try {
    readJsonBody({ body, headers, isBase64Encoded });
  } catch (error) {
    return { status: httpErrorResponse(error).statusCode, error: parse(httpErrorResponse(error)) };
  }
  throw new Error('readJsonBody accepted the body');
}

describe('HTTP edge', () => {
  it('refuses a missing or empty body as a 400 naming body', () => {
    for (const body of [undefined, '']) {
      expect(answerFor(body)).toMatchObject({ status: 400, error: { code: 'invalid_request', field: 'body' } });
    }
  });

  it('refuses a body over the limit with 413, counting UTF-8 bytes', () => {
    const justFits = `"${'a'.repeat(MAX_BODY_BYTES - 2)}"`;
    expect(readJsonBody({ body: justFits, headers: JSON_TYPE, isBase64Encoded: false })).toHaveLength(
      MAX_BODY_BYTES - 2,
    );
    expect(answerFor('ü'.repeat(MAX_BODY_BYTES / 2 + 1)).status).toBe(413);
  });

  it('counts a base64 body by its decoded bytes: exactly the limit is accepted', () => {
    const json = `"${'a'.repeat(MAX_BODY_BYTES - 2)}"`;
    const body = Buffer.from(json).toString('base64');
    expect(readJsonBody({ body, headers: JSON_TYPE, isBase64Encoded: true })).toHaveLength(MAX_BODY_BYTES - 2);
    expect(answerFor(Buffer.from(`${json} `).toString('base64'), JSON_TYPE, true).status).toBe(413);
  });

  it('parses JSON declared as application/json or application/*+json, base64 or not', () => {
    const body = '{"conference_name":"a","rule_id":1}';
    for (const type of ['application/json', 'application/json; charset=utf-8', 'Application/Merge-Patch+JSON']) {
      expect(readJsonBody({ body, headers: { 'content-type': type }, isBase64Encoded: false })).toEqual({
        conference_name: 'a',
        rule_id: 1,
      });
    }
    const encoded = Buffer.from(body).toString('base64');
    expect(readJsonBody({ body: encoded, headers: JSON_TYPE, isBase64Encoded: true })).toMatchObject({ rule_id: 1 });
  });

  it('415 without a JSON content type, 422 for malformed JSON, 400 for a non-UTF-8 body', () => {
    const types: Record<string, string>[] = [
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/jsonx' },
    ];
    for (const headers of types) {
      expect(answerFor('{}', headers)).toMatchObject({ status: 415, error: { code: 'unsupported_media_type' } });
    }
    expect(answerFor('{"conference_name":')).toMatchObject({ status: 422, error: { code: 'malformed_json' } });
    const latin1 = Buffer.from([0x7b, 0xe9, 0x7d]).toString('base64');
    expect(answerFor(latin1, JSON_TYPE, true)).toMatchObject({
      status: 400,
      error: { field: 'body', details: [{ rule: 'utf8' }] },
    });
  });

  it('415 naming a Content-Encoding other than identity, before decoding the body', () => {
    const json = '{"conference_name":"a","rule_id":1}';
    const gzipped = gzipSync(json).toString('base64');
    for (const encoding of ['gzip', 'br', 'deflate', 'GZIP', 'identity, gzip', 'x-custom']) {
      const answer = answerFor(gzipped, { ...JSON_TYPE, 'content-encoding': encoding }, true);
      expect(answer).toMatchObject({ status: 415, error: { code: 'unsupported_media_type' } });
      expect(answer.error.message).toBe(`Content-Encoding "${encoding}" is not supported; send the JSON uncompressed.`);
    }
    // Even a body that happens to be UTF-8: the encoding is what is refused.
    expect(answerFor(json, { ...JSON_TYPE, 'content-encoding': 'gzip' })).toMatchObject({ status: 415 });
    // What is echoed is printable and short, whatever the caller sent.
    const odd = answerFor(json, { ...JSON_TYPE, 'content-encoding': `\u0085x${'y'.repeat(100)}` });
    expect(odd.error.message).toMatch(/^Content-Encoding "\?xy{62}\.\.\." is not supported/);
    for (const encoding of ['identity', 'Identity', '', ' ']) {
      expect(
        readJsonBody({ body: json, headers: { ...JSON_TYPE, 'content-encoding': encoding }, isBase64Encoded: false }),
      ).toEqual({
        conference_name: 'a',
        rule_id: 1,
      });
    }
  });

  it('names a __proto__ or constructor.prototype key, and absurd nesting, as 400s', () => {
    expect(answerFor('{"__proto__":{"x":1}}')).toMatchObject({ status: 400, error: { field: '__proto__' } });
    expect(answerFor('{"a":{"constructor":{"prototype":{}}}}')).toMatchObject({
      status: 400,
      error: { field: 'constructor', details: [{ rule: 'forbidden_key' }] },
    });
    const deep = `${'['.repeat(16_000)}${']'.repeat(16_000)}`;
    expect(answerFor(deep)).toMatchObject({ status: 400, error: { field: 'body', details: [{ rule: 'max_depth' }] } });
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
