import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { toVoxconfError, VoxconfError } from './errors.js';
import { httpErrorResponse } from './http-api.js';
import { logger, metrics } from './observability.js';

/** Options every voxconf handler passes to middy: our own deadlines answer in time, no early-timeout timer. */
export const MIDDY_OPTIONS = { timeoutEarlyInMillis: 0 } as const;

/** Powertools logger context (cold start, request id) and EMF metrics flushed after every invocation. */
export function observability(): MiddlewareObj[] {
  return [injectLambdaContext(logger, { resetKeys: true }), logMetrics(metrics)];
}

/** Correlation id for every log line of the invocation. */
export function correlationId<TEvent>(pick: (event: TEvent) => string | undefined): MiddlewareObj<TEvent> {
  return {
    before: (request) => {
      const id = pick(request.event);
      if (id !== undefined) logger.appendKeys({ correlation_id: id });
    },
  };
}

/**
 * The HTTP edge: turns any error into the documented JSON error answer (it sets the response instead of
 * returning it, so the metrics and logger middlewares still run their onError).
 */
export function httpEdge(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  return {
    onError: (request) => {
      const response = httpErrorResponse(request.error);
      // The body says only "misconfigured": the operator needs the real reason (e.g. which variable). The core
      // logs its own failures; what did not pass through it (configuration, a raw error) is logged here.
      const fromOutsideCore = !(request.error instanceof VoxconfError) || request.error.code === 'configuration_error';
      if (response.statusCode === 500 && fromOutsideCore) {
        const error = toVoxconfError(request.error);
        logger.error('request failed', {
          error_code: error.code,
          error_message: error.message,
          cause: error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined,
        });
      }
      request.response = response;
    },
  };
}
