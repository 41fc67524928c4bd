// @ts-check
/**
 * The local stack's one guard against web pages. Its servers have no authentication: only local tools (curl,
 * the AWS SDK or CLI, the stack itself) may call them. A page the developer visits can send requests to
 * 127.0.0.1 too, and with DNS rebinding even read the answers; so every server of the stack refuses
 *
 *   - a `Host` other than loopback (127.x.x.x, localhost, [::1], any port): 403 `forbidden_host`. A rebound
 *     name (`evil.example` resolving to 127.0.0.1) still carries the page's host name;
 *   - any request with an `Origin` header, unless the origin is configured (`corsOrigins`): 403
 *     `forbidden_origin`. Browsers send `Origin` with every cross-origin POST and every CORS request, preflights
 *     included; local tools never do;
 *   - where the policy says so (the Lambda API), the content types a page can POST without a preflight
 *     (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`): 415 `unsupported_media_type`;
 *
 * and no answer carries a CORS header (`Access-Control-*`) unless the request came from a configured origin,
 * whatever the server behind would add (serverless offline echoes any origin with credentials; some stand-ins
 * answer `Access-Control-Allow-Origin: *`). Refusals have the API's error shape:
 * `{"error":{"code":"forbidden_host","message":"..."}}` (docs/local-stack.md).
 *
 * Two ways in, one check:
 *   createLocalServer(listener, { policy, tls })   every server the stack process runs is made with it
 *   guardAllServers(policyForPort)                 every server of a process whose servers are not ours
 *                                                  (serverless offline: local/offline-guard.mjs installs it)
 *
 * Plain JavaScript: local/offline-guard.mjs loads it into serverless offline, which runs without tsx.
 */
import { createServer as createHttpServer, Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';

/**
 * @typedef {object} GuardPolicy
 * @property {readonly string[]} [corsOrigins] origins (`https://app.example`) whose browser requests are let
 *   through, with the CORS headers the server gives them; none by default.
 * @property {boolean} [refuseBrowserContentTypes] 415 for the content types a page can send without a
 *   preflight (the Lambda API: its invocations are JSON, or have no content type).
 */

/** @typedef {{ status: 403 | 415; code: string; message: string }} Refusal */

/** `Host` names of loopback (a request without one, HTTP/1.0, is a local tool's too). */
const isLoopbackName = (/** @type {string} */ host) =>
  host === 'localhost' || host === '[::1]' || host === '' || /^127(?:\.\d{1,3}){3}$/.test(host);

/** What a form, `navigator.sendBeacon` or a no-cors `fetch` can send without asking the server first. */
const SIMPLE_CONTENT_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);

/** Marks a request already checked, so that a server made with createLocalServer under guardAllServers checks once. */
const CHECKED = Symbol.for('voxconf.loopbackGuard.checked');
/** Marks a prototype whose `emit` guardAllServers replaced, with the original. */
const ORIGINAL_EMIT = Symbol.for('voxconf.loopbackGuard.originalEmit');

/**
 * The host name of a `Host` header, without its port, lowercased (`[::1]:47800` -> `[::1]`).
 * @param {string | undefined} header
 */
function hostName(header) {
  const host = (header ?? '').trim().toLowerCase();
  if (!host.startsWith('[')) return host.replace(/:\d*$/, '');
  const end = host.indexOf(']');
  return end < 0 ? host : host.slice(0, end + 1);
}

/**
 * Why the guard refuses this request, or undefined when it may pass.
 * @param {import('node:http').IncomingMessage} req
 * @param {GuardPolicy} [policy]
 * @returns {Refusal | undefined}
 */
export function refusalOf(req, policy = {}) {
  if (!isLoopbackName(hostName(req.headers.host))) {
    return {
      status: 403,
      code: 'forbidden_host',
      message:
        'local stack: only loopback host names (127.0.0.1, localhost, [::1]) are served; this request was addressed to another (DNS rebinding?)',
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !(policy.corsOrigins ?? []).includes(origin)) {
    return {
      status: 403,
      code: 'forbidden_origin',
      message:
        'local stack: requests from web pages (with an Origin header) are refused; local tools send none (VOXCONF_CORS_ALLOWED_ORIGINS lets an origin call the HTTP API)',
    };
  }
  if (policy.refuseBrowserContentTypes) {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (SIMPLE_CONTENT_TYPES.has(type)) {
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: `local stack: the Lambda API takes JSON invocations; "${type}" is what a web page sends without asking, and is refused`,
      };
    }
  }
  return undefined;
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {Refusal} refusal
 */
function refuse(res, refusal) {
  const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
  res.writeHead(refusal.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** @param {unknown} name */
const isCorsHeader = (name) => typeof name === 'string' && name.toLowerCase().startsWith('access-control-');

/**
 * Drops every `Access-Control-*` header from this response, however the server sets it (setHeader, or the
 * headers of writeHead, which Node also calls for implicit headers).
 * @param {import('node:http').ServerResponse} res
 */
function withoutCorsHeaders(res) {
  const writeHead = res.writeHead;
  /** @type {(this: import('node:http').ServerResponse, ...args: any[]) => import('node:http').ServerResponse} */
  const guarded = function (...args) {
    for (const name of this.getHeaderNames()) if (isCorsHeader(name)) this.removeHeader(name);
    const last = args.length > 1 ? args[args.length - 1] : undefined;
    if (Array.isArray(last)) {
      // [[name, value], ...] or [name, value, name, value, ...]
      args[args.length - 1] = Array.isArray(last[0])
        ? last.filter((pair) => !isCorsHeader(pair[0]))
        : last.filter((_, i, all) => !isCorsHeader(i % 2 === 0 ? all[i] : all[i - 1]));
    } else if (last !== null && typeof last === 'object') {
      args[args.length - 1] = Object.fromEntries(Object.entries(last).filter(([name]) => !isCorsHeader(name)));
    }
    return writeHead.apply(this, /** @type {any} */ (args));
  };
  res.writeHead = /** @type {any} */ (guarded);
}

/**
 * Checks one request: answers the refusal and returns true, or prepares the response (no CORS headers unless the
 * origin is configured) and returns false. A request is checked once, however many guards it passes.
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {GuardPolicy} [policy]
 * @returns {boolean}
 */
export function guardRequest(req, res, policy = {}) {
  const marked = /** @type {Record<symbol, unknown>} */ (/** @type {unknown} */ (req));
  if (marked[CHECKED]) return false;
  marked[CHECKED] = true;
  const refusal = refusalOf(req, policy);
  if (refusal) {
    refuse(res, refusal);
    // The body is not read: drain it, so that the connection can serve the next request.
    req.resume();
    return true;
  }
  if (req.headers.origin === undefined) withoutCorsHeaders(res);
  return false;
}

/** @typedef {(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void} Listener */

/**
 * @param {Listener} listener
 * @param {GuardPolicy} [policy]
 * @returns {Listener}
 */
export function guardListener(listener, policy = {}) {
  return (req, res) => {
    if (!guardRequest(req, res, policy)) listener(req, res);
  };
}

/**
 * An HTTP (or, with `tls`, HTTPS) server whose every request passes the guard first. The only way a server of
 * the local stack is made (test/unit/loopback-guard.test.ts checks local/ for others).
 * @param {Listener} listener
 * @param {{ policy?: GuardPolicy; tls?: import('node:https').ServerOptions }} [options]
 * @returns {import('node:http').Server}
 */
export function createLocalServer(listener, options = {}) {
  const guarded = guardListener(listener, options.policy);
  return options.tls
    ? /** @type {import('node:http').Server} */ (/** @type {unknown} */ (createHttpsServer(options.tls, guarded)))
    : createHttpServer(guarded);
}

/**
 * Guards every HTTP and HTTPS server of this process, made now or later, by whatever code: a request is
 * checked before any 'request' listener sees it (and before any server-side CORS handling can answer a
 * preflight). `policyForPort` gives the policy of the server listening on that local port.
 * @param {(port: number | undefined) => GuardPolicy} policyForPort
 */
export function guardAllServers(policyForPort) {
  for (const proto of [HttpServer.prototype, HttpsServer.prototype]) {
    const target = /** @type {Record<PropertyKey, any>} */ (/** @type {unknown} */ (proto));
    if (Object.hasOwn(target, ORIGINAL_EMIT)) continue;
    const emit = target.emit;
    target[ORIGINAL_EMIT] = Object.hasOwn(target, 'emit') ? emit : undefined;
    /** @type {(this: any, event: string | symbol, ...args: any[]) => boolean} */
    const guardedEmit = function (event, ...args) {
      if (event === 'request' || event === 'checkContinue' || event === 'checkExpectation') {
        const [req, res] = args;
        if (guardRequest(req, res, policyForPort(req.socket?.localPort))) return true;
      } else if (event === 'upgrade' || event === 'connect') {
        const [req, socket] = args;
        const refusal = refusalOf(req, policyForPort(req.socket?.localPort));
        if (refusal) {
          socket.end(`HTTP/1.1 ${refusal.status} Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
          return true;
        }
      }
      return emit.call(this, event, ...args);
    };
    Object.defineProperty(target, 'emit', { value: guardedEmit, writable: true, configurable: true });
  }
}

/** Undoes guardAllServers (for tests). */
export function unguardAllServers() {
  for (const proto of [HttpServer.prototype, HttpsServer.prototype]) {
    const target = /** @type {Record<PropertyKey, any>} */ (/** @type {unknown} */ (proto));
    if (!Object.hasOwn(target, ORIGINAL_EMIT)) continue;
    const original = target[ORIGINAL_EMIT];
    delete target[ORIGINAL_EMIT];
    if (original === undefined) delete target.emit;
    else target.emit = original;
  }
}
