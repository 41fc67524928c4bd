/**
 * The HTTP APIs over a service (schedules, lifecycle) log a failure of the service itself (5xx: an upstream down,
 * throttled, misconfigured) with its reason before the HTTP edge answers it: the caller sees only its code. One
 * place, so that both APIs log it the same way. The edge logs what is not voxconf's own error, and a
 * configuration error, itself.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { catalogEntry, toVoxconfError, VoxconfError } from './errors.js';

export function logServiceFailure(
  logger: Pick<Logger, 'warn' | 'error'> | undefined,
  message: string,
  route: string,
  thrown: unknown,
): void {
  if (!(thrown instanceof VoxconfError)) return;
  const error = toVoxconfError(thrown);
  const { status, logLevel } = catalogEntry(error.code);
  if (status < 500 || error.code === 'configuration_error') return;
  logger?.[logLevel === 'error' ? 'error' : 'warn'](message, {
    route,
    error_code: error.code,
    error_message: error.message,
    cause: error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined,
  });
}
