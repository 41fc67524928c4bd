/**
 * Request parameters the way the Management API takes them: from the query string and from an
 * application/x-www-form-urlencoded or multipart/form-data body (official SDKs use all three).
 * Other body types are ignored, as the documented curl examples send a stray `-d '{}'`.
 */
import { parseHeaderValue } from './header-values.js';
import { MalformedBodyError, parseMultipart } from './multipart.js';

export { MalformedBodyError } from './multipart.js';

export type Params = Record<string, string>;
export type BodyKind = 'none' | 'urlencoded' | 'multipart' | 'ignored';

export interface ParsedParams {
  /** Query parameters overlaid by body parameters; for a repeated name the last value wins. */
  readonly params: Params;
  readonly bodyKind: BodyKind;
}

/**
 * Parses the raw query (without `?`) and body. Precedence between query and body is not documented by
 * Voximplant; the body wins here because that is where every official SDK puts its parameters.
 */
export function parseParams(rawQuery: string, contentType: string | undefined, body: Buffer): ParsedParams {
  const params: Params = Object.create(null);
  assign(params, new URLSearchParams(rawQuery));
  const bodyKind = parseBody(params, contentType, body);
  return { params, bodyKind };
}

/**
 * Query parameters only, for requests refused before their body is read. (Raw non-ASCII bytes never get
 * here: Node's HTTP parser refuses them in the request target, so queries are percent-encoded UTF-8.)
 */
export function parseQuery(rawQuery: string): Params {
  const params: Params = Object.create(null);
  assign(params, new URLSearchParams(rawQuery));
  return params;
}

function parseBody(params: Params, contentType: string | undefined, body: Buffer): BodyKind {
  if (body.length === 0) return 'none';
  if (contentType === undefined) return 'ignored';
  const type = parseHeaderValue(contentType);
  if (type.value === 'application/x-www-form-urlencoded') {
    assign(params, new URLSearchParams(body.toString('utf8')));
    return 'urlencoded';
  }
  if (type.value === 'multipart/form-data') {
    const boundary = type.params.boundary;
    if (boundary === undefined || boundary === '') throw new MalformedBodyError('multipart body without a boundary');
    for (const part of parseMultipart(body, boundary)) {
      params[part.name] = decodeText(part.data, part.headers['content-type']);
    }
    return 'multipart';
  }
  return 'ignored';
}

function assign(params: Params, source: URLSearchParams): void {
  for (const [name, value] of source) params[name] = value;
}

/** Parts are UTF-8 unless a part declares another charset (form-data sends none). */
function decodeText(data: Buffer, partContentType: string | undefined): string {
  const charset = partContentType === undefined ? undefined : parseHeaderValue(partContentType).params.charset;
  if (charset !== undefined) {
    try {
      return new TextDecoder(charset).decode(data);
    } catch {
      // An unknown label falls back to UTF-8 rather than failing the whole request.
    }
  }
  return data.toString('utf8');
}
