/**
 * Minimal raw access to the emulator for tests: sign a JWT with any claims (also invalid ones) and
 * send StartConference in each encoding the official SDKs use, byte for byte under the test's control.
 * Not a Voximplant client: it never retries and it hides nothing.
 */

import { randomInt } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { importPKCS8, type JWTPayload, SignJWT } from 'jose';
import type { Credentials } from './types.js';

export interface TokenOptions {
  /** Header alg (default RS256); the key is imported for it, so PS256 etc. sign with the same RSA key. */
  readonly alg?: string;
  /** Header kid; default the credentials' key_id, null leaves it out. */
  readonly kid?: string | null;
  /** Default the account id as a number; null leaves it out; any JSON value is sent as given. */
  readonly iss?: unknown;
  /** Unix seconds; default now. null leaves it out. */
  readonly iat?: number | null;
  /** Unix seconds; default iat + lifetimeSeconds. null leaves it out. */
  readonly exp?: number | null;
  /** Default 60. */
  readonly lifetimeSeconds?: number;
  readonly extraClaims?: Readonly<Record<string, unknown>>;
  /** Sign with another PKCS#8 key than the credentials' one. */
  readonly privateKey?: string;
}

export async function signToken(credentials: Credentials, options: TokenOptions = {}): Promise<string> {
  const alg = options.alg ?? 'RS256';
  const iat = options.iat === undefined ? Math.floor(Date.now() / 1000) : options.iat;
  const exp =
    options.exp === undefined ? (iat ?? Math.floor(Date.now() / 1000)) + (options.lifetimeSeconds ?? 60) : options.exp;
  const claims: Record<string, unknown> = { ...options.extraClaims };
  const iss = options.iss === undefined ? credentials.account_id : options.iss;
  if (iss !== null) claims.iss = iss;
  if (iat !== null) claims.iat = iat;
  if (exp !== null) claims.exp = exp;
  const kid = options.kid === undefined ? credentials.key_id : options.kid;
  const header = kid === null ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid };
  const key = await importPKCS8(options.privateKey ?? credentials.private_key, alg);
  // jose types iss as a string; Voximplant's documented form is a number, so the claims go in raw.
  return new SignJWT(claims as JWTPayload).setProtectedHeader(header).sign(key);
}

export type Encoding = 'query' | 'urlencoded' | 'multipart' | 'multipart-chunked';

export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** A raw Authorization header (overrides token). */
  readonly authorization?: string;
  /** Default urlencoded; GET always sends the query. */
  readonly encoding?: Encoding;
  readonly method?: 'GET' | 'POST' | string;
  /** Default `/platform_api/StartConference`. */
  readonly path?: string;
  /** Trusted CA for an HTTPS emulator. */
  readonly ca?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Size of the pieces a chunked body is written in (default 7 bytes, to split boundaries and characters). */
  readonly chunkSize?: number;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** Sends params to the emulator at origin (e.g. `http://127.0.0.1:1234`) and returns the raw answer. */
export function callEmulator(
  origin: string,
  params: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>,
  options: CallOptions = {},
): Promise<RawResponse> {
  const entries: [string, string][] = Array.isArray(params)
    ? params.map(([name, value]) => [name, value])
    : Object.entries(params as Record<string, string>);
  const method = options.method ?? 'POST';
  const encoding = method === 'GET' ? 'query' : (options.encoding ?? 'urlencoded');
  const path = options.path ?? '/platform_api/StartConference';
  const headers: Record<string, string> = { ...options.headers };
  const authorization = options.authorization ?? (options.token !== undefined ? `Bearer ${options.token}` : undefined);
  if (authorization !== undefined) headers.authorization = authorization;

  let target = path;
  let pieces: Buffer[] = [];
  if (encoding === 'query') {
    const query = new URLSearchParams(entries).toString();
    if (query !== '') target += `${path.includes('?') ? '&' : '?'}${query}`;
  } else if (encoding === 'urlencoded') {
    const body = Buffer.from(new URLSearchParams(entries).toString());
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
    headers['content-length'] = String(body.length);
    pieces = [body];
  } else {
    const form = buildMultipart(entries);
    headers['content-type'] ??= form.contentType;
    if (encoding === 'multipart') {
      headers['content-length'] = String(form.body.length);
      pieces = [form.body];
    } else {
      // No Content-Length: Node then sends Transfer-Encoding: chunked, like the official SDK (form-data).
      pieces = split(form.body, options.chunkSize ?? 7);
    }
  }
  return send(new URL(target, origin), method, headers, pieces, options.ca);
}

/** A multipart/form-data body as the `form-data` package (official Node SDK) writes it. */
export function buildMultipart(
  fields: ReadonlyArray<readonly [string, string]>,
  boundary = `${'-'.repeat(26)}${Array.from({ length: 24 }, () => randomInt(10)).join('')}`,
): { contentType: string; body: Buffer } {
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
      Buffer.from(value, 'utf8'),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

/** Sends a request with the body written piece by piece (each piece its own write, hence its own chunk). */
export function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  pieces: readonly Buffer[],
  ca?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false so that no keep-alive socket outlives the test.
    const req = requestFn(url, { method, headers, agent: false, ...(ca !== undefined ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    const writeNext = (i: number) => {
      if (i >= pieces.length) return void req.end();
      req.write(pieces[i], () => setImmediate(() => writeNext(i + 1)));
    };
    writeNext(0);
  });
}

function split(body: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) pieces.push(body.subarray(i, i + size));
  return pieces;
}

/**
 * Sends one request to a media session URL as voxconf does (`POST`, JSON): a value is JSON-encoded, a string
 * is sent as it is (to send a body that is not JSON). Returns the raw answer.
 */
export function callMediaSession(
  url: string,
  body: unknown,
  options: { readonly method?: string; readonly ca?: string } = {},
): Promise<RawResponse> {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers = { 'content-type': 'application/json', 'content-length': String(bytes.length) };
  return send(new URL(url), options.method ?? 'POST', headers, [bytes], options.ca);
}
