/**
 * A small multipart/form-data parser (RFC 7578 / RFC 2046 section 5.1) over a fully buffered body.
 * The body is capped well below anything that would make buffering a problem, and working on one
 * Buffer keeps boundary handling simple: a delimiter is CRLF + "--" + boundary, wherever the
 * transport chunks happened to split it.
 */
import { parseHeaderValue } from './header-values.js';

export class MalformedBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedBodyError';
  }
}

export interface MultipartPart {
  readonly name: string;
  readonly filename?: string;
  /** Part header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** RFC 2046: 1 to 70 characters from a restricted set, not ending in a space. */
export function isValidBoundary(boundary: string): boolean {
  return /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary);
}

export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  if (!isValidBoundary(boundary)) throw new MalformedBodyError('invalid multipart boundary');
  const dashBoundary = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.concat([CRLF, dashBoundary]);

  // The first boundary may open the body or follow a preamble, which is ignored.
  let pos: number;
  if (body.subarray(0, dashBoundary.length).equals(dashBoundary)) {
    pos = 0;
  } else {
    const found = body.indexOf(delimiter);
    if (found < 0) throw new MalformedBodyError('multipart boundary not found');
    pos = found + CRLF.length;
  }

  const parts: MultipartPart[] = [];
  for (;;) {
    pos += dashBoundary.length;
    if (body[pos] === DASH && body[pos + 1] === DASH) return parts; // close delimiter; the epilogue is ignored
    // Transport padding (spaces/tabs) may follow a delimiter before its CRLF.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] !== CR || body[pos + 1] !== LF) throw new MalformedBodyError('expected CRLF after a boundary');
    pos += 2;

    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new MalformedBodyError('missing closing multipart boundary');

    let headerText = '';
    let dataStart: number;
    if (body[pos] === CR && body[pos + 1] === LF) {
      dataStart = pos + 2; // a part without headers
    } else {
      const headerEnd = body.indexOf(HEADER_END, pos);
      if (headerEnd < 0 || headerEnd > next) throw new MalformedBodyError('unterminated part headers');
      headerText = body.toString('utf8', pos, headerEnd);
      dataStart = headerEnd + HEADER_END.length;
    }
    if (dataStart > next) throw new MalformedBodyError('unterminated part headers');

    const part = toPart(parsePartHeaders(headerText), body.subarray(dataStart, next));
    if (part) parts.push(part);
    pos = next + CRLF.length;
  }
}

function parsePartHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  if (text === '') return headers;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MalformedBodyError('malformed part header');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Parts without a form-data name carry no parameter, so they are skipped rather than refused. */
function toPart(headers: Record<string, string>, data: Buffer): MultipartPart | undefined {
  const disposition = headers['content-disposition'];
  if (disposition === undefined) return undefined;
  const parsed = parseHeaderValue(disposition);
  if (parsed.value !== 'form-data' || parsed.params.name === undefined) return undefined;
  const filename = parsed.params.filename;
  return { name: parsed.params.name, headers, data, ...(filename !== undefined ? { filename } : {}) };
}
