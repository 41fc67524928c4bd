/**
 * The schedules API over API Gateway's HTTP API (payload 2.0): the route, its path and query, the body, the
 * caller from the authorizer, and the answer (201 with Location, 200, 204), around lib/schedule-service.ts.
 * Errors are thrown: the HTTP edge (lib/middleware.ts) answers them in the documented shape.
 *
 *   POST /schedules            create (Idempotency-Key optional)        201 + Location
 *   GET /schedules             list (prefix, limit, next_token)         200
 *   GET /schedules/{name}      show                                     200
 *   PUT /schedules/{name}      replace                                  200
 *   DELETE /schedules/{name}   cancel                                   204
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ValidationError, VoxconfError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import { readJsonBody } from './http-api.js';
import { callerOf } from './http-caller.js';
import { pagingOf } from './list-query.js';
import { validateIdempotencyKey } from './schedule-idempotency.js';
import { SCHEDULE_NAME } from './schedule-request.js';
import type { ScheduleService } from './schedule-service.js';
import { logServiceFailure } from './service-failure-log.js';

export interface SchedulesHttpDeps {
  readonly service: Pick<ScheduleService, 'create' | 'get' | 'replace' | 'remove' | 'list'>;
  /** Where a failure of the service itself (5xx) is logged with its reason: the answer carries only its code. */
  readonly logger?: Pick<Logger, 'warn' | 'error'> | undefined;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;
/** The listing's own filter, besides paging (lib/list-query.ts). */
const FILTERS = new Set(['prefix']);

/** `GET /schedules/{name}`: the event's route key, or the same worked out from its method and path. */
export function routeOf(event: Pick<APIGatewayProxyEventV2, 'routeKey' | 'rawPath' | 'requestContext'>): string {
  if (event.routeKey && event.routeKey !== '$default') return event.routeKey;
  const method = event.requestContext?.http?.method?.toUpperCase() ?? '';
  return `${method} ${/^\/schedules\/?$/.test(event.rawPath ?? '') ? '/schedules' : '/schedules/{name}'}`;
}

function nameOf(event: APIGatewayProxyEventV2): string {
  const name = event.pathParameters?.name ?? decodeURIComponent((event.rawPath ?? '').split('/')[2] ?? '');
  if (!SCHEDULE_NAME.test(name)) {
    throw new ValidationError([
      {
        field: 'name',
        rule: 'schedule_name',
        message: 'The name must be 1 to 64 of letters, digits, "_", "." and "-".',
      },
    ]);
  }
  return name;
}

function listQuery(event: APIGatewayProxyEventV2): { prefix?: string; limit: number; nextToken?: string } {
  const query = event.queryStringParameters ?? {};
  const { listDefaultLimit: defaultLimit, listMaxLimit: maxLimit } = facts.schedulesApi;
  const { paging, problems } = pagingOf(query, { allowed: FILTERS, defaultLimit, maxLimit });
  const { prefix } = query;
  if (prefix !== undefined && !SCHEDULE_NAME.test(prefix)) {
    problems.push({
      field: 'prefix',
      rule: 'schedule_name',
      message: 'prefix must be 1 to 64 of letters, digits, "_", "." and "-".',
    });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { ...(prefix !== undefined ? { prefix } : {}), ...paging };
}

const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { ...JSON_HEADERS, ...headers },
  body: JSON.stringify(body),
});

/**
 * One request of the schedules routes, answered (or thrown for the HTTP edge). A failure of the service itself
 * (Scheduler throttled, down, out of quota, access denied) is logged here with its reason first: the caller
 * sees only its code (the edge logs what is not voxconf's own error, and a configuration error, itself).
 */
export async function handleSchedulesRequest(
  event: APIGatewayProxyEventV2,
  deps: SchedulesHttpDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  try {
    return await answer(event, deps);
  } catch (thrown) {
    logServiceFailure(deps.logger, 'schedules request failed', routeOf(event), thrown);
    throw thrown;
  }
}

async function answer(
  event: APIGatewayProxyEventV2,
  deps: SchedulesHttpDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const caller = callerOf(event);
  switch (routeOf(event)) {
    case 'POST /schedules': {
      const idempotencyKey = validateIdempotencyKey(event.headers?.['idempotency-key']);
      const { schedule } = await deps.service.create(readJsonBody(event), { idempotencyKey, caller });
      return json(201, schedule, { location: `/schedules/${encodeURIComponent(schedule.name)}` });
    }
    case 'GET /schedules':
      return json(200, await deps.service.list(listQuery(event)));
    case 'GET /schedules/{name}':
      return json(200, await deps.service.get(nameOf(event)));
    case 'PUT /schedules/{name}': {
      const name = nameOf(event);
      return json(200, await deps.service.replace(name, readJsonBody(event), { caller }));
    }
    case 'DELETE /schedules/{name}':
      await deps.service.remove(nameOf(event), { caller });
      return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
    default:
      throw new VoxconfError('internal_error', `The schedules function does not serve ${routeOf(event)}.`);
  }
}
