/**
 * docs/openapi.yaml as a test oracle: every HTTP answer a test receives is checked against the document
 * (the route and method are documented, the status is documented for them, the documented headers are there
 * and valid, the content type is a documented one, and the body matches its schema), so neither can drift.
 *
 *   expectMatchesOpenApi('POST', '/conferences', { status, headers, body })   throws, naming every problem
 *   fetchDocumented(url, init)                                                  fetch + that check
 *   fromLambdaResult(result)                                                    an API Gateway v2 handler result
 *
 * Schemas are compiled with Ajv (JSON Schema 2020-12, strict mode, ajv-formats) once per module instance (in
 * jest: once per test file) and cached per route, status and media type.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import YAML from 'yaml';

export const OPENAPI_FILE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'docs', 'openapi.yaml');

/** $id under which components.schemas are registered (as $defs) so that schema $refs resolve. */
const SCHEMAS_ID = 'https://voxconf.invalid/openapi/components/schemas';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

export type OpenApiDocument = {
  openapi: string;
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

interface HeaderObject {
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | { $ref: string }>;
  content?: Record<string, { schema?: Record<string, unknown> }>;
}

/** What a test saw of one HTTP answer. */
export interface ObservedResponse {
  readonly status: number;
  /**
   * The response headers as received. `undefined` only when the client could not see them (a `curl -sS` that
   * prints the body): header and content-type checks are then skipped.
   */
  readonly headers: Headers | Readonly<Record<string, string | number | boolean | undefined>> | undefined;
  /** The body as received, as text; parsed here according to its content type. */
  readonly body: string | undefined;
}

let document: OpenApiDocument | undefined;
let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** The parsed document (read once). */
export function openApiDocument(): OpenApiDocument {
  document ??= YAML.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
  return document;
}

/** The value at a local JSON pointer (`#/components/...`) of the document; throws if there is none. */
export function resolvePointer(ref: string, doc: unknown = openApiDocument()): unknown {
  if (!ref.startsWith('#')) throw new Error(`${OPENAPI_FILE}: only local $refs are supported, got ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) {
      throw new Error(`${OPENAPI_FILE}: $ref ${ref} does not resolve (no "${key}")`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** An OpenAPI object that may be a Reference Object, followed to what it points at. */
function deref<T>(node: T | { $ref: string }): T {
  let current: unknown = node;
  for (let hops = 0; current && typeof current === 'object' && '$ref' in current; hops++) {
    if (hops > 20) throw new Error(`${OPENAPI_FILE}: $ref cycle at ${(node as { $ref: string }).$ref}`);
    current = resolvePointer((current as { $ref: string }).$ref);
  }
  return current as T;
}

/** A schema with `#/components/schemas/X` refs pointed at the registered $defs document. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')
        ? `${SCHEMAS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`
        : rebase(value);
  }
  return out;
}

/** Ajv for this document: JSON Schema 2020-12 (the document's jsonSchemaDialect), strict, with formats. */
export function openApiAjv(): Ajv2020 {
  if (ajv) return ajv;
  const instance = new Ajv2020({
    strict: true,
    // `required` in if/then/not subschemas names properties declared by the parent, which strictRequired refuses.
    strictRequired: false,
    allErrors: true,
    allowUnionTypes: true,
  });
  addFormats(instance);
  instance.addSchema({ $id: SCHEMAS_ID, $defs: rebase(openApiDocument().components?.schemas ?? {}) } as never);
  ajv = instance;
  return instance;
}

/** A compiled validator for a schema of the document, cached under `key`. */
export function schemaValidator(key: string, schema: unknown): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = openApiAjv().compile(rebase(schema) as never);
    validators.set(key, validate);
  }
  return validate;
}

/** The validator of a named component schema (`ConferenceRequest`, `ErrorResponse`, ...). */
export function componentValidator(name: string): ValidateFunction {
  resolvePointer(`#/components/schemas/${name}`);
  return schemaValidator(`components/schemas/${name}`, { $ref: `#/components/schemas/${name}` });
}

export function formatAjvErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => {
    const where = error.instancePath === '' ? '(root)' : error.instancePath;
    const allowed =
      error.keyword === 'enum'
        ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
        : error.keyword === 'const'
          ? ` (${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)})`
          : error.keyword === 'additionalProperties'
            ? ` ("${(error.params as { additionalProperty: string }).additionalProperty}")`
            : '';
    return `${where} ${error.message ?? error.keyword}${allowed} [${error.schemaPath}]`;
  });
}

/** `/conferences`, or the path of a full URL, matched against the document's paths (`{param}` is one segment). */
function findPath(pathOrUrl: string): string | undefined {
  const segments = new URL(pathOrUrl, 'http://placeholder.invalid').pathname.split('/');
  return Object.keys(openApiDocument().paths ?? {}).find((template) => {
    const parts = template.split('/');
    return (
      parts.length === segments.length &&
      parts.every((part, i) => part === segments[i] || (/^\{[^}]+\}$/.test(part) && segments[i] !== ''))
    );
  });
}

function headerValue(headers: NonNullable<ObservedResponse['headers']>, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return String(value);
  }
  return undefined;
}

/** A header's text as the value its schema describes (simple style: integers and numbers as numbers). */
function headerAsValue(text: string, schema: Record<string, unknown> | undefined): unknown {
  const type = schema?.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(text.trim())) return Number(text.trim());
  if (type === 'boolean' && /^(true|false)$/.test(text.trim())) return text.trim() === 'true';
  return text;
}

const isJsonMediaType = (mediaType: string) => /^application\/([a-z0-9.+-]+\+)?json$/i.test(mediaType);

/** Media session URLs control a running conference: never print them, not even in a failure. */
function redact(text: string): string {
  return text.replace(/("media_session_access(?:_secure)?_url"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[redacted]"');
}

/** Every way the answer departs from the document (empty: it matches). */
export function openApiProblems(method: string, pathOrUrl: string, response: ObservedResponse): string[] {
  const doc = openApiDocument();
  const path = findPath(pathOrUrl);
  if (path === undefined) return [`path ${pathOrUrl} is not documented (paths: ${Object.keys(doc.paths ?? {})})`];
  const lower = method.toLowerCase() as (typeof METHODS)[number];
  const operation = deref(doc.paths?.[path] ?? {})[lower] as
    | { responses?: Record<string, ResponseObject | { $ref: string }> }
    | undefined;
  if (!METHODS.includes(lower) || !operation) return [`${method.toUpperCase()} ${path} is not documented`];
  const responses = operation.responses ?? {};
  const status = String(response.status);
  const statusKey = [status, `${status[0]}XX`, 'default'].find((key) => Object.hasOwn(responses, key));
  if (statusKey === undefined) {
    return [
      `status ${status} is not documented for ${method.toUpperCase()} ${path} (documented: ${Object.keys(responses)})`,
    ];
  }
  const documented = deref(responses[statusKey] as ResponseObject | { $ref: string });
  const problems: string[] = [];
  const key = `${lower} ${path} ${statusKey}`;

  if (response.headers !== undefined) {
    for (const [name, ref] of Object.entries(documented.headers ?? {})) {
      if (name.toLowerCase() === 'content-type') continue; // OpenAPI: described by `content`, not here
      const header = deref(ref);
      const text = headerValue(response.headers, name);
      if (text === undefined) {
        if (header.required) problems.push(`header ${name} is required but missing`);
        continue;
      }
      if (header.schema) {
        const validate = schemaValidator(`${key} header ${name.toLowerCase()}`, header.schema);
        if (!validate(headerAsValue(text, header.schema))) {
          problems.push(...formatAjvErrors(validate.errors).map((e) => `header ${name}: ${JSON.stringify(text)} ${e}`));
        }
      }
    }
  }

  const content = documented.content ?? {};
  const mediaTypes = Object.keys(content);
  const hasBody = response.body !== undefined && response.body !== '';
  if (mediaTypes.length === 0) {
    if (hasBody) problems.push('has a body, but the document describes none for this status');
    return problems;
  }
  if (!hasBody) return [...problems, `has no body; documented: ${mediaTypes.join(', ')}`];
  const received = response.headers === undefined ? undefined : headerValue(response.headers, 'content-type');
  const receivedType = received?.split(';')[0]?.trim().toLowerCase();
  let mediaType: string | undefined;
  if (response.headers === undefined) mediaType = mediaTypes[0];
  else if (receivedType === undefined) problems.push(`Content-Type is missing; documented: ${mediaTypes.join(', ')}`);
  else {
    mediaType = mediaTypes.find((type) => type.toLowerCase() === receivedType);
    if (mediaType === undefined) problems.push(`Content-Type ${received} is not documented (${mediaTypes.join(', ')})`);
  }
  if (mediaType === undefined) return problems;
  const schema = content[mediaType]?.schema;
  if (!schema) return problems;
  let body: unknown = response.body;
  if (isJsonMediaType(mediaType)) {
    try {
      body = JSON.parse(response.body as string);
    } catch (error) {
      return [...problems, `body is not JSON (${(error as Error).message})`];
    }
  }
  const validate = schemaValidator(`${key} ${mediaType}`, schema);
  if (!validate(body)) problems.push(...formatAjvErrors(validate.errors).map((e) => `body ${e}`));
  return problems;
}

/**
 * Throws unless the answer matches docs/openapi.yaml, listing every problem (media session URLs redacted).
 * Returns the body, parsed when it is JSON.
 */
export function expectMatchesOpenApi(method: string, pathOrUrl: string, response: ObservedResponse): unknown {
  const problems = openApiProblems(method, pathOrUrl, response);
  if (problems.length > 0) {
    const path = new URL(pathOrUrl, 'http://placeholder.invalid').pathname;
    throw new Error(
      [
        `${method.toUpperCase()} ${path} answered ${response.status}, which does not match docs/openapi.yaml:`,
        ...problems.map((problem) => `  - ${problem}`),
        `  body: ${redact(String(response.body ?? '(none)')).slice(0, 1_000)}`,
      ].join('\n'),
    );
  }
  const type = response.headers === undefined ? 'application/json' : headerValue(response.headers, 'content-type');
  if (response.body && type && isJsonMediaType(type.split(';')[0]!.trim())) return JSON.parse(response.body);
  return response.body;
}

/** An API Gateway payload 2.0 handler result, as API Gateway turns it into an HTTP answer. */
export function fromLambdaResult(result: APIGatewayProxyStructuredResultV2): ObservedResponse {
  const headers: Record<string, string | number | boolean> = { ...result.headers };
  const body =
    result.body !== undefined && result.isBase64Encoded
      ? Buffer.from(result.body, 'base64').toString('utf8')
      : result.body;
  return { status: result.statusCode ?? 200, headers, body };
}

/** fetch(), then the answer checked against the document; `json` is the parsed body. */
export async function fetchDocumented(
  url: string,
  init: RequestInit & { method: string },
): Promise<{ status: number; headers: Headers; json: any }> {
  const response = await fetch(url, init);
  const body = await response.text();
  const json = expectMatchesOpenApi(init.method, url, { status: response.status, headers: response.headers, body });
  return { status: response.status, headers: response.headers, json };
}
