// @ts-check
/**
 * Local only: makes the payload 2.0 event serverless offline hands the http function the one API Gateway sends.
 * Loaded into the serverless offline process by local/offline-guard.mjs; the product code (lib/, functions/)
 * never sees the difference and has no local case.
 *
 * serverless-offline 14 builds the event (src/events/http/lambda-events/LambdaProxyIntegrationEventV2.js) from
 * a request it has already half parsed, and cannot be told otherwise:
 *
 *   - without a Content-Type it adds `content-type: application/json`, so a request API Gateway delivers
 *     without one (and the function answers 415) was answered 200 locally;
 *   - for a JSON content type it JSON.parse()s the body first and hands on the parsed value when that is a
 *     string or a falsy value: the body `"walk"` arrived as `walk` (422 malformed_json locally, 400 deployed),
 *     `0`, `false` or `null` as a number, a boolean or null instead of text (a 500 locally);
 *   - it base64-encodes only application/octet-stream and multipart/form-data bodies;
 *   - every event has the same `requestContext.requestId`, "offlineContext_resourceId": every start then had the
 *     same `source_id` (the registry's `started_by`, outcome events' deduplication key, the correlation id of a
 *     request without its own). API Gateway gives each request its own id.
 *
 * API Gateway (HTTP API, payload 2.0) passes the headers as sent and the body exactly as sent: as text for text
 * media types (text/*, application/json, application/xml, application/javascript), base64 with
 * `isBase64Encoded: true` for any other type or none; no `body` when there is none. So this module rebuilds
 * `headers['content-type']`, `body` and `isBase64Encoded` from the raw request (its headers and the raw body
 * bytes serverless offline keeps in `req.payload`), after serverless offline has built the rest of the event.
 *
 * If serverless offline changes so that this no longer applies (the file moves, the raw body is not there), it
 * fails loudly: start-up stops, or the request is answered 500 and test/e2e/http-fidelity.test.ts says which.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** API Gateway's text media types; the body of any other type (or of none) is delivered base64-encoded. */
const TEXT_TYPE = /^(text\/[^;\s]+|application\/(json|xml|javascript))\s*(;|$)/i;

/** The request being handled, for the event builder (which sees only serverless offline's own request object). */
const current = new AsyncLocalStorage();

/**
 * @param {import('node:http').IncomingMessage & { payload?: unknown }} req
 * @param {{ headers: Record<string, string>; body?: unknown; isBase64Encoded: boolean; requestContext?: { requestId?: string } }} event
 */
export function asApiGatewaySendsIt(req, event) {
  if (event.requestContext) event.requestContext.requestId = randomUUID();
  const raw = req.payload;
  if (raw !== undefined && raw !== null && !Buffer.isBuffer(raw)) {
    throw new Error(
      'local/offline-http-event.mjs: serverless offline no longer keeps the raw body in req.payload; update the shim',
    );
  }
  const contentType = req.headers['content-type'];
  if (contentType === undefined) delete event.headers['content-type'];
  if (!raw || raw.length === 0) {
    delete event.body;
    event.isBase64Encoded = false;
  } else if (contentType !== undefined && TEXT_TYPE.test(contentType)) {
    event.body = raw.toString('utf8');
    event.isBase64Encoded = false;
  } else {
    event.body = raw.toString('base64');
    event.isBase64Encoded = true;
  }
  return event;
}

/**
 * Installs the correction: every HTTP request of this process is handled with itself as the async context, and
 * serverless offline's payload 2.0 events are rebuilt from it. `root` is the service folder (serverless.yml).
 * @param {string} root
 */
export async function correctHttpApiEvents(root) {
  const entry = createRequire(join(root, 'package.json')).resolve('serverless-offline');
  // The very module serverless offline loads (the loader keys modules by real path).
  const file = realpathSync(
    join(dirname(entry), 'events', 'http', 'lambda-events', 'LambdaProxyIntegrationEventV2.js'),
  );
  const { default: EventV2 } = await import(pathToFileURL(file).href);
  const create = EventV2?.prototype?.create;
  if (typeof create !== 'function') {
    throw new Error(
      `local/offline-http-event.mjs: ${file} has no LambdaProxyIntegrationEventV2.create(); update the shim`,
    );
  }
  EventV2.prototype.create = function createAsApiGateway() {
    const event = create.call(this);
    const req = current.getStore();
    if (req === undefined) {
      throw new Error('local/offline-http-event.mjs: no HTTP request in context while building an event');
    }
    return asApiGatewaySendsIt(req, event);
  };

  const proto = /** @type {Record<string, any>} */ (/** @type {unknown} */ (HttpServer.prototype));
  const emit = proto.emit;
  proto.emit = function emitInContext(/** @type {string | symbol} */ event, /** @type {any[]} */ ...args) {
    return event === 'request'
      ? current.run(args[0], () => emit.call(this, event, ...args))
      : emit.call(this, event, ...args);
  };
}
