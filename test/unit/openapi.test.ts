/**
 * docs/openapi.yaml itself: a well-formed OpenAPI 3.1 document whose $refs resolve and whose schemas compile;
 * its error codes tied to lib/errors.ts ERROR_CATALOG in both directions; its request schema agreeing with
 * lib/validation.ts; and the checker (test/helpers/openapi.ts) shown to fail on answers that do not match.
 */
import { describe, expect, it } from '@jest/globals';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { httpErrorResponse, httpSuccessResponse } from '../../lib/http-api.js';
import {
  canRaise,
  ERROR_CATALOG,
  type ErrorCode,
  PayloadError,
  RuleNotAllowedError,
  SchedulerError,
  UpstreamError,
  ValidationError,
  VoxconfError,
  VoximplantApiError,
  validateConferenceRequest,
} from '../../lib/index.js';
import { validateScheduleRequest } from '../../lib/schedule-request.js';
import {
  componentValidator,
  expectMatchesOpenApi,
  fromLambdaResult,
  type ObservedResponse,
  openApiDocument,
  openApiProblems,
  resolvePointer,
  schemaValidator,
} from '../helpers/openapi.js';

/** Catalog codes no HTTP request can produce (the catalog says which triggers raise them): not in the document. */
const NOT_OVER_HTTP: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((code) => !canRaise(code, 'http')),
);

const doc = openApiDocument();
/** Before every date of the document's schedule examples. */
const EXAMPLES_NOW = new Date('2026-11-30T12:00:00Z');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Json = Record<string, any>;

/** Every object node of `root`, with its JSON pointer. */
function* walk(node: unknown, pointer = '#'): Generator<[string, Json]> {
  if (node === null || typeof node !== 'object') return;
  yield [pointer, node as Json];
  for (const [key, value] of Object.entries(node)) {
    yield* walk(value, `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

/** Operations as [method, path, operation]. */
function operations(): [string, string, Json][] {
  const out: [string, string, Json][] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) if (item[method]) out.push([method, path, item[method] as Json]);
  }
  return out;
}

const deref = (node: Json): Json => (node?.$ref ? deref(resolvePointer(node.$ref) as Json) : node);

/** The error `code` values a response schema allows: every `code` enum under an `error` property, refs followed. */
function codesIn(schema: unknown, seen = new Set<unknown>()): string[] {
  const codes: string[] = [];
  for (const [, node] of walk(schema)) {
    if (typeof node.$ref === 'string' && !seen.has(node.$ref)) {
      seen.add(node.$ref);
      codes.push(...codesIn(resolvePointer(node.$ref), seen));
    }
    const code = node.properties?.error?.properties?.code;
    if (Array.isArray(code?.enum)) codes.push(...code.enum);
  }
  return codes;
}

/** status -> error codes the document lists for it, over every operation. */
function documentedCodes(): Map<number, Set<string>> {
  const byStatus = new Map<number, Set<string>>();
  for (const [, , operation] of operations()) {
    for (const [status, response] of Object.entries(operation.responses as Json)) {
      const content = deref(response as Json).content ?? {};
      for (const media of Object.values(content) as Json[]) {
        const set = byStatus.get(Number(status)) ?? new Set<string>();
        for (const code of codesIn(media.schema)) set.add(code);
        byStatus.set(Number(status), set);
      }
    }
  }
  return byStatus;
}

/** A thrown error of each code, shaped as the code that raises it shapes it. */
function sampleError(code: ErrorCode): VoxconfError {
  switch (code) {
    case 'invalid_request':
      return new ValidationError([
        { field: 'conference_name', rule: 'required', message: 'conference_name is required.' },
        { field: 'room', rule: 'unknown_field', message: 'room is not a known field.' },
      ]);
    case 'rule_not_allowed':
      return new RuleNotAllowedError(4243);
    case 'malformed_json':
    case 'unsupported_media_type':
    case 'body_too_large':
      return new PayloadError(code, ERROR_CATALOG[code].publicMessage);
    case 'voximplant_rejected_request':
    case 'voximplant_account_error':
    case 'voximplant_authorization_failed':
      return new VoximplantApiError(code, code === 'voximplant_authorization_failed' ? 100 : 147, 'Some reason');
    case 'voximplant_unavailable':
    case 'voximplant_throttled':
    case 'voximplant_timeout':
    case 'voximplant_unreachable':
    case 'voximplant_invalid_response':
    case 'voximplant_http_error':
      return new UpstreamError(code, 'upstream trouble', { retryAfterSeconds: 7 });
    case 'scheduler_throttled':
    case 'scheduler_unavailable':
      return new SchedulerError(code, 'Scheduler trouble', { retryAfterSeconds: 7 });
    default:
      return new VoxconfError(code, 'internal details that must not be shown');
  }
}

/** A compact structural schema of the OpenAPI 3.1 objects (the official schema is not a dependency here). */
function openApi31Schema() {
  const ext = { '^x-': true };
  const str = { type: 'string' };
  const map = (value: object) => ({ type: 'object', additionalProperties: value });
  const orRef = (name: string) => ({ oneOf: [{ $ref: '#/$defs/Reference' }, { $ref: `#/$defs/${name}` }] });
  const obj = (properties: object, required: string[] = []) => ({
    type: 'object',
    required,
    properties,
    patternProperties: ext,
    additionalProperties: false,
  });
  const example = obj({ summary: str, description: str, value: true, externalValue: str });
  const mediaType = obj({
    schema: { type: ['object', 'boolean'] },
    example: true,
    examples: map(orRef('Example')),
    encoding: map({ type: 'object' }),
  });
  const header = obj({
    description: str,
    required: { type: 'boolean' },
    deprecated: { type: 'boolean' },
    style: { const: 'simple' },
    explode: { type: 'boolean' },
    schema: { type: ['object', 'boolean'] },
    example: true,
    examples: map(orRef('Example')),
    content: map({ $ref: '#/$defs/MediaType' }),
  });
  const response = obj(
    {
      description: str,
      headers: map(orRef('Header')),
      content: map({ $ref: '#/$defs/MediaType' }),
      links: map({ type: 'object' }),
    },
    ['description'],
  );
  const requestBody = obj(
    { description: str, content: map({ $ref: '#/$defs/MediaType' }), required: { type: 'boolean' } },
    ['content'],
  );
  const securityRequirement = map({ type: 'array', items: str });
  const operation = obj({
    tags: { type: 'array', items: str },
    summary: str,
    description: str,
    externalDocs: { type: 'object' },
    operationId: str,
    parameters: { type: 'array' },
    requestBody: orRef('RequestBody'),
    responses: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^([1-5](\\d\\d|XX)|default)$' },
      additionalProperties: orRef('Response'),
    },
    callbacks: { type: 'object' },
    deprecated: { type: 'boolean' },
    security: { type: 'array', items: securityRequirement },
    servers: { type: 'array', items: { $ref: '#/$defs/Server' } },
  });
  const pathItem = obj({
    $ref: str,
    summary: str,
    description: str,
    servers: { type: 'array', items: { $ref: '#/$defs/Server' } },
    parameters: { type: 'array' },
    ...Object.fromEntries(METHODS.map((method) => [method, operation])),
  });
  const securityScheme = {
    ...obj(
      {
        type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] },
        description: str,
        name: str,
        in: { enum: ['query', 'header', 'cookie'] },
        scheme: str,
        bearerFormat: str,
        flows: { type: 'object' },
        openIdConnectUrl: str,
      },
      ['type'],
    ),
    // A scheme's own required fields, by type: apiKey needs name and in, http needs scheme.
    oneOf: [
      { properties: { type: { const: 'apiKey' } }, required: ['name', 'in'] },
      { properties: { type: { const: 'http' } }, required: ['scheme'] },
      { properties: { type: { enum: ['mutualTLS', 'oauth2', 'openIdConnect'] } } },
    ],
  };
  const componentMap = (value: object) => ({
    type: 'object',
    propertyNames: { pattern: '^[a-zA-Z0-9._-]+$' },
    additionalProperties: value,
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    ...obj(
      {
        openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
        info: obj(
          {
            title: str,
            summary: str,
            description: str,
            termsOfService: str,
            contact: { type: 'object' },
            license: obj({ name: str, identifier: str, url: str }, ['name']),
            version: str,
          },
          ['title', 'version'],
        ),
        jsonSchemaDialect: { type: 'string', format: 'uri' },
        servers: { type: 'array', items: { $ref: '#/$defs/Server' } },
        paths: {
          type: 'object',
          propertyNames: { pattern: '^/' },
          additionalProperties: pathItem,
          patternProperties: ext,
        },
        webhooks: { type: 'object' },
        components: obj({
          schemas: componentMap({ type: ['object', 'boolean'] }),
          responses: componentMap(orRef('Response')),
          parameters: componentMap({ type: 'object' }),
          examples: componentMap(orRef('Example')),
          requestBodies: componentMap(orRef('RequestBody')),
          headers: componentMap(orRef('Header')),
          securitySchemes: componentMap(orRef('SecurityScheme')),
          links: componentMap({ type: 'object' }),
          callbacks: componentMap({ type: 'object' }),
          pathItems: componentMap({ type: 'object' }),
        }),
        security: { type: 'array', items: securityRequirement },
        tags: {
          type: 'array',
          items: obj({ name: str, description: str, externalDocs: { type: 'object' } }, ['name']),
        },
        externalDocs: { type: 'object' },
      },
      ['openapi', 'info'],
    ),
    anyOf: [{ required: ['paths'] }, { required: ['components'] }, { required: ['webhooks'] }],
    $defs: {
      Reference: {
        type: 'object',
        required: ['$ref'],
        properties: { $ref: str, summary: str, description: str },
        additionalProperties: false,
      },
      Server: obj(
        {
          url: str,
          description: str,
          variables: map(
            obj({ enum: { type: 'array', items: str, minItems: 1 }, default: str, description: str }, ['default']),
          ),
        },
        ['url'],
      ),
      Example: example,
      MediaType: mediaType,
      Header: header,
      Response: response,
      RequestBody: requestBody,
      SecurityScheme: securityScheme,
    },
  };
}

describe('docs/openapi.yaml', () => {
  it('is an OpenAPI 3.1 document: every object has its required fields and no unknown ones', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    const validate = ajv.compile(openApi31Schema());
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
    expect(doc.info).toMatchObject({ title: 'voxconf', version: '0.1.0' });
  });

  it('declares JSON Schema 2020-12 as its dialect, so its schemas mean to a client what they mean to Ajv here', () => {
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('every $ref resolves', () => {
    const refs = [...walk(doc)].filter(([, node]) => typeof node.$ref === 'string');
    expect(refs.length).toBeGreaterThan(20);
    for (const [pointer, node] of refs) {
      expect(() => resolvePointer(node.$ref)).not.toThrow();
      expect([pointer, typeof resolvePointer(node.$ref)]).toEqual([pointer, 'object']);
    }
  });

  it('every component schema compiles in strict mode (no unknown keyword, no typo)', () => {
    const names = Object.keys(doc.components?.schemas ?? {});
    expect(names).toEqual(expect.arrayContaining(['ConferenceRequest', 'ConferenceStarted', 'ErrorResponse']));
    for (const name of names) expect(() => componentValidator(name)).not.toThrow();
  });

  it('security requirements name declared schemes; operation ids are unique; tags are declared', () => {
    const schemes = Object.keys(doc.components?.securitySchemes ?? {});
    expect(schemes.sort()).toEqual(['awsSigV4', 'jwt']);
    const requirements = [doc.security, ...operations().map(([, , op]) => op.security)]
      .flat()
      .filter(Boolean) as Json[];
    for (const requirement of requirements)
      for (const name of Object.keys(requirement)) expect(schemes).toContain(name);
    const ids = operations().map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set((doc.tags as Json[] | undefined)?.map((tag) => tag.name));
    for (const [, , op] of operations()) for (const tag of op.tags ?? []) expect(tags).toContain(tag);
  });

  it('every example validates against its schema, and request examples pass lib/validation.ts too', () => {
    let count = 0;
    for (const [pointer, node] of walk(doc)) {
      if (!node.schema || !(node.example !== undefined || node.examples)) continue;
      if (!/\/content\/[^/]+$/.test(pointer)) continue;
      const validate = schemaValidator(`example ${pointer}`, node.schema);
      const values = [
        ...(node.example !== undefined ? [node.example] : []),
        ...Object.values((node.examples ?? {}) as Json).map((example) => deref(example).value),
      ];
      for (const value of values) {
        expect([pointer, validate(value) ? [] : validate.errors]).toEqual([pointer, []]);
        if (pointer.includes('/requestBodies/ConferenceRequest/')) {
          expect(() => validateConferenceRequest(value)).not.toThrow();
        }
        if (pointer.includes('/requestBodies/ScheduleRequest/')) {
          const options = {
            now: EXAMPLES_NOW,
            horizonDays: 400,
            minIntervalMinutes: 5,
            validateRequest: validateConferenceRequest,
          };
          expect(() => validateScheduleRequest(value, options)).not.toThrow();
        }
        count += 1;
      }
    }
    expect(count).toBeGreaterThanOrEqual(10);
  });

  it('documents POST /conferences with every status the README promises, and 401/403/429 from API Gateway', () => {
    expect(operations().map(([method, path]) => `${method.toUpperCase()} ${path}`)).toEqual([
      'GET /conferences',
      'POST /conferences',
      'GET /conferences/{name}',
      'DELETE /conferences/{name}',
      'POST /conferences/{name}/commands',
      'GET /schedules',
      'POST /schedules',
      'GET /schedules/{name}',
      'PUT /schedules/{name}',
      'DELETE /schedules/{name}',
    ]);
    const responses = (doc.paths?.['/conferences']?.post as Json | undefined)?.responses as Json;
    expect(Object.keys(responses).sort()).toEqual(
      ['200', '400', '401', '403', '413', '415', '422', '429', '500', '502', '503', '504'].sort(),
    );
    const retryAfter = deref(deref(responses['503']).headers['Retry-After']);
    expect(retryAfter.required).toBe(true);
    expect(deref(deref(responses['200']).headers['Cache-Control']).required).toBe(true);
  });
});

describe('error codes: docs/openapi.yaml and lib/errors.ts ERROR_CATALOG', () => {
  const documented = documentedCodes();

  it('every documented code exists in the catalog, with the status it is documented under', () => {
    const pairs = [...documented].flatMap(([status, codes]) => [...codes].map((code) => [code, status] as const));
    expect(pairs.length).toBeGreaterThan(15);
    for (const [code, status] of pairs) {
      expect([code, ERROR_CATALOG[code as ErrorCode]?.status]).toEqual([code, status]);
    }
  });

  it('every catalog code an HTTP request can produce is documented under its status, and only there', () => {
    for (const [code, { status }] of Object.entries(ERROR_CATALOG) as [ErrorCode, { status: number }][]) {
      const under = [...documented].filter(([, codes]) => codes.has(code)).map(([s]) => s);
      expect([code, under]).toEqual([code, NOT_OVER_HTTP.has(code) ? [] : [status]]);
    }
  });

  /** The operations documenting `code`: [method, a concrete path]. */
  const operationsWith = (code: ErrorCode): [string, string][] =>
    operations()
      .filter(([, , operation]) => {
        const response = (operation.responses as Json)[String(ERROR_CATALOG[code].status)];
        if (!response) return false;
        const content = deref(response as Json).content ?? {};
        return (Object.values(content) as Json[]).some((media) => codesIn(media.schema).includes(code));
      })
      .map(([method, path]) => [method.toUpperCase(), path.replace('{name}', 'consult-4711')]);

  it.each((Object.keys(ERROR_CATALOG) as ErrorCode[]).filter((code) => !NOT_OVER_HTTP.has(code)))(
    'lib/http-api.ts answers %s as the document says, on every route that documents it',
    (code) => {
      const response = fromLambdaResult(httpErrorResponse(sampleError(code)));
      expect(response.status).toBe(ERROR_CATALOG[code].status);
      const routes = operationsWith(code);
      expect(routes.length).toBeGreaterThan(0);
      for (const [method, path] of routes) {
        expect(expectMatchesOpenApi(method, path, response)).toMatchObject({ error: { code } });
      }
    },
  );

  it('a 503 carries Retry-After unless the catalog says waiting does not help (schedule_quota_exceeded)', () => {
    const quota = httpErrorResponse(sampleError('schedule_quota_exceeded'));
    expect(quota.statusCode).toBe(503);
    expect(quota.headers).not.toHaveProperty('retry-after');
    expect(httpErrorResponse(sampleError('scheduler_throttled')).headers).toHaveProperty('retry-after', '7');
  });

  it('lib/http-api.ts answers a success as the document says', () => {
    const response = httpSuccessResponse({
      conference_name: 'Daily stand-up',
      media_session_access_url: 'http://203.0.113.10:12092/request/abc',
      media_session_access_secure_url: 'https://example.invalid:12093/request/abc',
      call_session_history_id: 42,
    });
    expect(expectMatchesOpenApi('POST', '/conferences', fromLambdaResult(response))).toMatchObject({
      call_session_history_id: 42,
    });
  });
});

describe('the checker fails when an answer does not match', () => {
  const json = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const answer = (status: number, body: unknown, headers: Record<string, string> = json): ObservedResponse => ({
    status,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const problems = (response: ObservedResponse, method = 'POST', path = '/conferences') =>
    openApiProblems(method, path, response).join('\n');
  const valid400 = {
    error: {
      code: 'invalid_request',
      message: 'm',
      field: 'body',
      details: [{ field: 'body', rule: 'required', message: 'm' }],
    },
  };

  it('accepts a correct answer (so the failures below are the checks, not noise)', () => {
    expect(problems(answer(400, valid400))).toBe('');
    expect(problems(answer(403, { message: 'Forbidden' }, { 'content-type': 'application/json' }))).toBe('');
    expect(
      problems(
        answer(200, {
          conference_name: 'a',
          media_session_access_url: 'u',
          media_session_access_secure_url: 'v',
          call_session_history_id: 1,
        }),
        'post',
        'http://127.0.0.1:1/conferences?x=1',
      ),
    ).toBe('');
  });

  it('an undocumented route, method or status', () => {
    expect(problems(answer(400, valid400), 'POST', '/meetings')).toMatch(/path \/meetings is not documented/);
    expect(problems(answer(400, valid400), 'PUT')).toMatch(/PUT \/conferences is not documented/);
    expect(problems(answer(418, valid400))).toMatch(/status 418 is not documented/);
  });

  it('a body without error.code, with an unknown property, or with a code of another status', () => {
    expect(problems(answer(400, { error: { message: 'm' } }))).toMatch(/must have required property 'code'/);
    expect(problems(answer(400, { error: { ...valid400.error, stack: 'at x' } }))).toMatch(
      /additional properties \("stack"\)/,
    );
    expect(problems(answer(422, valid400))).toMatch(
      /\/error\/code must be equal to one of the allowed values \(malformed_json, voximplant_rejected_request\)/,
    );
    expect(problems(answer(400, { error: { code: 'invalid_request', message: 'm' } }))).toMatch(
      /required property 'field'/,
    );
    expect(
      problems(answer(502, { error: { code: 'voximplant_http_error', message: 'm', voximplant_code: 1 } })),
    ).toMatch(/must NOT be valid/);
  });

  it('a missing required header, a wrong header value, a wrong content type, a body that is not JSON', () => {
    const throttled = { error: { code: 'voximplant_throttled', message: 'm' } };
    expect(problems(answer(503, throttled))).toMatch(/header Retry-After is required but missing/);
    expect(problems(answer(503, throttled, { ...json, 'retry-after': 'soon' }))).toMatch(
      /header Retry-After: "soon" .*must be integer/,
    );
    expect(problems(answer(503, throttled, { ...json, 'Retry-After': '3' }))).toBe('');
    expect(problems(answer(400, valid400, { 'content-type': 'application/json' }))).toMatch(
      /header Cache-Control is required but missing/,
    );
    expect(problems(answer(400, valid400, { ...json, 'cache-control': 'max-age=60' }))).toMatch(
      /header Cache-Control: .*must be equal to constant/,
    );
    expect(problems(answer(400, valid400, { ...json, 'content-type': 'text/plain' }))).toMatch(
      /Content-Type text\/plain is not documented/,
    );
    expect(problems(answer(400, 'not json'))).toMatch(/body is not JSON/);
    expect(problems(answer(400, ''))).toMatch(/has no body/);
  });

  it('throws naming the route and status, without printing a media session URL', () => {
    const leaky = {
      conference_name: 'a',
      media_session_access_url: 'http://h/media/abcdef123',
      media_session_access_secure_url: 'https://h/media/abcdef123',
      call_session_history_id: 'x',
    };
    expect(() => expectMatchesOpenApi('POST', '/conferences', answer(200, leaky))).toThrow(
      /POST \/conferences answered 200, which does not match docs\/openapi\.yaml:\n {2}- body \/call_session_history_id must be integer/,
    );
    try {
      expectMatchesOpenApi('POST', '/conferences', answer(200, leaky));
    } catch (error) {
      expect(String(error)).not.toContain('/media/');
      expect(String(error)).toContain('"media_session_access_url":"[redacted]"');
    }
  });
});

describe('the request schema agrees with lib/validation.ts', () => {
  const request = componentValidator('ConferenceRequest');
  /** The code's verdict; rule_id is optional in the document (a deployment may set a default rule). */
  const codeAccepts = (value: unknown) => {
    try {
      validateConferenceRequest(value, { defaultRuleId: 1 });
      return true;
    } catch {
      return false;
    }
  };

  /** A case's title: its JSON, long runs of one character shortened (`x{50}`). */
  const title = (value: unknown) =>
    JSON.stringify(value)
      .replace(/(.)\1{9,}/gu, (run, char: string) => `${char}{${[...run].length}}`)
      .replace(/\u007f/g, '\\u007f');

  it.each(
    (
      [
        [{ conference_name: 'Daily stand-up', rule_id: 4242, script_custom_data: { topic: 'release' } }, true],
        [{ conference_name: 'a' }, true],
        [{ conference_name: 'a', rule_id: '0042' }, true],
        [{ conference_name: 'a', rule_id: '0' }, false],
        [{ conference_name: 'a', rule_id: 0 }, false],
        [{ conference_name: 'a', rule_id: -1 }, false],
        [{ conference_name: 'a', rule_id: 1.5 }, false],
        [{ conference_name: 'a', rule_id: 9007199254740992 }, false],
        [{ conference_name: 'a', rule_id: '12abc' }, false],
        [{ conference_name: 'a', rule_id: `${'0'.repeat(15)}1` }, true],
        [{ conference_name: 'a', rule_id: `${'0'.repeat(16)}1` }, false],
        [{ conference_name: '' }, false],
        [{ conference_name: ' \u00a0 ' }, false],
        [{ conference_name: 'x'.repeat(49) }, true],
        [{ conference_name: 'x'.repeat(50) }, false],
        [{ conference_name: '😀'.repeat(49) }, true],
        [{ conference_name: '😀'.repeat(50) }, false],
        [{ conference_name: 'a\u0001b' }, false],
        [{ conference_name: 'a\u007f' }, false],
        [{ conference_name: 'a', user_id: 1, user_name: 'u' }, false],
        [{ conference_name: 'a', application_id: '7', application_name: 'app' }, false],
        [{ conference_name: 'a', user_name: 'u'.repeat(255), application_id: '7' }, true],
        [{ conference_name: 'a', server_location: 'u'.repeat(256) }, false],
        [{ conference_name: 'a', room: 1 }, false],
        [{ conference_name: 'a', script_custom_data: [1, 'two'] }, true],
        [{ conference_name: 'a', script_custom_data: '' }, true],
        [{ conference_name: 'a', script_custom_data: 1 }, false],
        [{ conference_name: 'a', script_custom_data: null }, false],
        [{ conference_name: 'a', reference_ip: '203.0.113.7' }, true],
        [{ conference_name: 'a', reference_ip: '2001:db8::1' }, true],
        [{ conference_name: 'a', reference_ip: 'fe80::1%eth0' }, true],
        [{ conference_name: 'a', reference_ip: '1.2.3.04' }, false],
        [{ conference_name: 'a', reference_ip: 'localhost' }, false],
        [[], false],
        ['a', false],
      ] as [unknown, boolean][]
    ).map(([value, accepted]) => [title(value), accepted, value] as const),
  )('%s: accepted %s', (_title, accepted, value) => {
    expect(request(value)).toBe(accepted);
    expect(codeAccepts(value)).toBe(accepted);
  });

  const wellFormed = (value: unknown): boolean =>
    typeof value === 'string'
      ? value.isWellFormed()
      : value !== null && typeof value === 'object'
        ? Object.entries(value).every(([key, item]) => key.isWellFormed() && wellFormed(item))
        : true;

  it('on generated requests, the document and the code give the same verdict', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom('', ' ', '\t', 'a\nb', '\u007f', 'x'.repeat(49), 'x'.repeat(50), 'y'.repeat(256)),
    );
    const id = fc.oneof(
      fc.integer({ min: -5, max: 2 ** 40 }),
      fc.double({ noNaN: true }),
      // (A 16-digit string above 2^53-1 is refused by the code, beyond what the schema says.)
      fc
        .stringMatching(/^[0-9]{1,17}$/)
        .filter((digits) => digits.length !== 16 || Number(digits) <= Number.MAX_SAFE_INTEGER),
      fc.constantFrom('0', '00', '1.0', '', ' 1', '1e3', null, true),
    );
    const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 20 }));
    const any = fc.oneof(text, id, fc.jsonValue({ maxDepth: 2 }));
    const requests = fc.record(
      {
        conference_name: fc.oneof(text, any),
        rule_id: fc.oneof(id, any),
        user_id: id,
        user_name: text,
        application_id: id,
        application_name: text,
        script_custom_data: fc.oneof(text, fc.jsonValue({ maxDepth: 3 })),
        reference_ip: fc.oneof(ip, any),
        server_location: text,
        unknown: any,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(requests, (value) => {
        // Outside JSON Schema: lone surrogates (well-formedness). (script_custom_data's UTF-8 byte limit is out of
        // reach of these sizes.)
        fc.pre(wellFormed(value));
        expect(request(value)).toBe(codeAccepts(value));
      }),
      { numRuns: 2_000 },
    );
  });
});
