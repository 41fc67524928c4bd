import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { correlationIdOf } from '../lib/http-api.js';
import { correlationId, httpEdge, MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';
import { getScheduleService } from '../lib/schedules.js';
import { handleSchedulesRequest } from '../lib/schedules-http.js';

/** The schedules API (API Gateway HTTP API, payload 2.0): POST/GET /schedules, GET/PUT/DELETE /schedules/{name}. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(MIDDY_OPTIONS)
  .use(observability())
  // Every line of the request, the audit line included, carries the caller's X-Correlation-Id or the request id.
  .use(correlationId<APIGatewayProxyEventV2>((event) => correlationIdOf(event) ?? event.requestContext?.requestId))
  .use(httpEdge())
  .handler((event) => handleSchedulesRequest(event, { service: getScheduleService(), logger }));
