import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpEdge, MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';
import { getScheduleService } from '../lib/schedules.js';
import { handleSchedulesRequest } from '../lib/schedules-http.js';

/** The schedules API (API Gateway HTTP API, payload 2.0): POST/GET /schedules, GET/PUT/DELETE /schedules/{name}. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(MIDDY_OPTIONS)
  .use(observability())
  .use(httpEdge())
  .handler((event) => handleSchedulesRequest(event, { service: getScheduleService(), logger }));
