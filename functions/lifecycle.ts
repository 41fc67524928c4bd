import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { correlationIdOf } from '../lib/http-api.js';
import { handleLifecycleRequest } from '../lib/lifecycle-http.js';
import { getLifecycleService } from '../lib/lifecycle-wiring.js';
import { correlationId, httpEdge, MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';

/**
 * The lifecycle API (API Gateway HTTP API, payload 2.0): GET /conferences, GET/DELETE /conferences/{name},
 * POST /conferences/{name}/commands. Its own function, so that the start path's bundles carry neither the
 * registry reads nor the session client.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(MIDDY_OPTIONS)
  .use(observability())
  // Every line of the request, the audit line included, carries the caller's X-Correlation-Id or the request id.
  .use(correlationId<APIGatewayProxyEventV2>((event) => correlationIdOf(event) ?? event.requestContext?.requestId))
  .use(httpEdge())
  .handler((event) => handleLifecycleRequest(event, { service: getLifecycleService(), logger }));
