/**
 * The http function's handler and its init (the warm-up). Loaded by functions/http.ts, the function's entry, once the
 * connection to Voximplant is started (./connect-early.js): see there.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { deadlineFrom, RESERVE_MS } from '../lib/deadline.js';
import { correlationIdOf, httpOutcomePublisher, startFromHttp } from '../lib/http-api.js';
import { getConferenceService, getConfig } from '../lib/index.js';
import { correlationId, httpEdge, MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';
import { getStartRecorder } from '../lib/registry.js';
import { warmUp } from '../lib/warm-up.js';

// Init: the key, the token and the connection to Voximplant, ready before the first request (bounded;
// the connection was started by the function's entry, functions/http.ts, before it imported this module).
await warmUp({ service: getConferenceService, logger });

/** POST /conferences (API Gateway HTTP API, payload 2.0): start or join the conference in the body. */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>(MIDDY_OPTIONS)
  .use(observability())
  .use(correlationId<APIGatewayProxyEventV2>((event) => correlationIdOf(event) ?? event.requestContext?.requestId))
  .use(httpEdge())
  .handler((event, context) =>
    startFromHttp(
      event,
      {
        service: getConferenceService(),
        publisher: httpOutcomePublisher,
        stage: getConfig().stage,
        registry: getStartRecorder(),
      },
      { deadline: deadlineFrom(context, RESERVE_MS.http) },
    ),
  );
