/**
 * The lifecycle API over API Gateway's HTTP API (payload 2.0): the route, the conference name in the path, the
 * query, the command body, the caller from the authorizer, and the answer, around lib/lifecycle-service.ts.
 * Errors are thrown: the HTTP edge (lib/middleware.ts) answers them in the documented shape.
 *
 *   GET /conferences                          list (status, limit, next_token)      200
 *   GET /conferences/{name}                   show (asks the session, at most every 10 s)   200
 *   DELETE /conferences/{name}                end (`stop`, recorded ended)          204
 *   POST /conferences/{name}/commands         a command for the running session     200 {status, body}
 *
 * Names in the path. API Gateway's HTTP API decodes the request path before it routes it and decodes it once
 * more before it hands `pathParameters` and `rawPath` to Lambda (observed; AWS documents only "decodes"): a `/`
 * sent as `%2F` is a second path segment there (404 before voxconf runs), and a `%` sent as `%25` followed by
 * anything but two hex digits is refused, and a `?` sent as `%3F` cuts the path there (the rest becomes a query,
 * which these routes refuse). A client therefore percent-encodes the name twice
 * (`encodeURIComponent(encodeURIComponent(name))`); once is enough for a name without `/`, `%` and `?`. serverless
 * offline (the local stack) decodes the path once and passes `rawPath` as sent: the name is decoded once more
 * here, so the same request names the same conference on both. docs/openapi.yaml says it for clients.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PayloadError, SessionNotConfirmedError, ValidationError, VoxconfError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import { httpErrorResponse, readJsonBody } from './http-api.js';
import { callerOf } from './http-caller.js';
import type { LifecycleService } from './lifecycle-service.js';
import { pagingOf } from './list-query.js';
import { logServiceFailure } from './service-failure-log.js';
import { validateConferenceName } from './validation.js';

export interface LifecycleHttpDeps {
  readonly service: Pick<LifecycleService, 'get' | 'list' | 'end' | 'command'>;
  /** Where a failure of the service itself (5xx) is logged with its reason: the answer carries only its code. */
  readonly logger?: Pick<Logger, 'warn' | 'error'> | undefined;
}

const NO_STORE = { 'cache-control': 'no-store' } as const;
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', ...NO_STORE } as const;
/** The listing's own filter, besides paging (lib/list-query.ts). */
const FILTERS = new Set(['status']);
const STATUSES = ['active', 'ended'] as const;
const COMMANDS_SUFFIX = '/commands';

/** The route: the event's route key, or the same worked out from its method and path. */
export function lifecycleRouteOf(
  event: Pick<APIGatewayProxyEventV2, 'routeKey' | 'rawPath' | 'requestContext'>,
): string {
  if (event.routeKey && event.routeKey !== '$default') return event.routeKey;
  const method = event.requestContext?.http?.method?.toUpperCase() ?? '';
  const path = event.rawPath ?? '';
  if (/^\/conferences\/?$/.test(path)) return `${method} /conferences`;
  if (method === 'POST' && path.endsWith(COMMANDS_SUFFIX)) return 'POST /conferences/{name}/commands';
  return `${method} /conferences/{name}`;
}

const nameProblem = (rule: string, message: string): ValidationError =>
  new ValidationError([{ field: 'name', rule, message }]);

function decodeOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (cause) {
    throw new ValidationError(
      [
        {
          field: 'name',
          rule: 'percent_encoding',
          message: 'name must be percent-encoded UTF-8 (a "%" in a name is sent as "%2525").',
        },
      ],
      { cause },
    );
  }
}

/**
 * The conference name of a `/conferences/{name}[/commands]` request, decoded as API Gateway decodes it (twice),
 * then checked by the rules of `conference_name` (lib/validation.ts), a problem naming `name`.
 *
 * API Gateway hands over `rawPath` decoded like the parameter: the path then ends with the parameter as it is.
 * serverless offline hands over `rawPath` as sent and the parameter decoded once: it is decoded once more.
 */
export function conferenceNameOf(
  event: Pick<APIGatewayProxyEventV2, 'rawPath' | 'pathParameters'> &
    Partial<Pick<APIGatewayProxyEventV2, 'rawQueryString'>>,
  commands = false,
): string {
  // These routes take no query. A `?` of a name encoded once is decoded by API Gateway and cuts the path there
  // (observed): `team%3Fx` would name the conference `team`. Refused, rather than acting on another conference.
  if (event.rawQueryString !== undefined && event.rawQueryString !== '') {
    throw nameProblem(
      'query',
      'This route takes no query; a "?" in a name is percent-encoded twice ("%253F"), as a "/" or a "%".',
    );
  }
  const suffix = commands ? COMMANDS_SUFFIX : '';
  const rawPath = event.rawPath ?? '';
  const parameter = event.pathParameters?.name;
  let name: string;
  if (parameter !== undefined && rawPath.endsWith(`/conferences/${parameter}${suffix}`)) {
    name = parameter;
  } else if (parameter !== undefined) {
    name = decodeOnce(parameter);
  } else {
    // No parameter (a catch-all route): the path as sent, between the prefix and the suffix, decoded twice.
    const start = rawPath.indexOf('/conferences/');
    const end = suffix !== '' && rawPath.endsWith(suffix) ? rawPath.length - suffix.length : rawPath.length;
    if (start < 0 || end <= start + '/conferences/'.length) throw nameProblem('required', 'name is required.');
    name = decodeOnce(decodeOnce(rawPath.slice(start + '/conferences/'.length, end)));
  }
  return validateConferenceName(name);
}

export interface ListQuery {
  readonly status: 'active' | 'ended';
  readonly limit: number;
  readonly nextToken?: string;
}

/** `status` (active by default), `limit` (1..listMaxLimit) and `next_token`; any other field is refused by name. */
export function lifecycleListQuery(event: Pick<APIGatewayProxyEventV2, 'queryStringParameters'>): ListQuery {
  const query = event.queryStringParameters ?? {};
  const { listDefaultLimit: defaultLimit, listMaxLimit: maxLimit } = facts.registry;
  const { paging, problems } = pagingOf(query, { allowed: FILTERS, defaultLimit, maxLimit });
  const { status = 'active' } = query;
  if (!(STATUSES as readonly string[]).includes(status)) {
    problems.push({ field: 'status', rule: 'enum', message: 'status must be "active" or "ended".' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { status: status as ListQuery['status'], ...paging };
}

/** A command body's size before it is read: the commands' own cap, lower than POST /conferences's. */
function checkCommandBodySize(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): void {
  const { body, isBase64Encoded } = event;
  if (body === undefined || body === null) return;
  const max = facts.registry.commandBodyMaxBytes;
  if (Buffer.byteLength(body, isBase64Encoded ? 'base64' : 'utf8') > max) {
    throw new PayloadError('body_too_large', `The body must be at most ${max} bytes.`);
  }
}

/**
 * The command body as JSON, within the commands' own size cap (lower than POST /conferences's): its fields
 * (`command`, `args`, nothing else) are the service's to check (lib/lifecycle-service.ts validateCommand).
 */
export function readCommandBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  checkCommandBodySize(event);
  return readJsonBody(event);
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { ...JSON_HEADERS },
  body: JSON.stringify(body),
});

/**
 * One request of the lifecycle routes, answered (or thrown for the HTTP edge). A failure of the service itself
 * (the registry or a session down) is logged here with its reason first: the caller sees only its code. A stop
 * the session did not confirm is answered here, with what the session answered (`error.session`).
 */
export async function handleLifecycleRequest(
  event: APIGatewayProxyEventV2,
  deps: LifecycleHttpDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return await answer(event, deps);
  } catch (thrown) {
    logServiceFailure(deps.logger, 'lifecycle request failed', lifecycleRouteOf(event), thrown);
    if (thrown instanceof SessionNotConfirmedError) return notConfirmed(thrown);
    throw thrown;
  }
}

/** The edge's error answer, with what the session answered (never its URL: the session client keeps it out). */
function notConfirmed(error: SessionNotConfirmedError): APIGatewayProxyStructuredResultV2 {
  const response = httpErrorResponse(error);
  const body = JSON.parse(String(response.body)) as { error: Record<string, unknown> };
  body.error.session = error.session;
  return { ...response, body: JSON.stringify(body) };
}

async function answer(
  event: APIGatewayProxyEventV2,
  deps: LifecycleHttpDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  switch (lifecycleRouteOf(event)) {
    case 'GET /conferences':
      return json(200, await deps.service.list(lifecycleListQuery(event)));
    case 'GET /conferences/{name}':
      return json(200, await deps.service.get(conferenceNameOf(event)));
    case 'DELETE /conferences/{name}':
      await deps.service.end(conferenceNameOf(event), callerOf(event));
      return { statusCode: 204, headers: { ...NO_STORE } };
    case 'POST /conferences/{name}/commands': {
      const name = conferenceNameOf(event, true);
      return json(200, await deps.service.command(name, readCommandBody(event), callerOf(event)));
    }
    default:
      throw new VoxconfError('internal_error', `The lifecycle function does not serve ${lifecycleRouteOf(event)}.`);
  }
}
