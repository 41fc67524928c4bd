import type { Context } from 'aws-lambda';

/**
 * Time kept back from the invocation for answering, logging and flushing metrics, per trigger.
 * HTTP: the caller must get an answer before the function (10 s) and the gateway (30 s) give up.
 */
export const RESERVE_MS = { http: 1_000, queue: 2_000, schedule: 2_000 } as const;

/** Epoch ms by which the core must have answered, from the invocation's remaining time. */
export function deadlineFrom(
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  reserveMs: number,
): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && Number.isFinite(remaining) ? Date.now() + remaining - reserveMs : undefined;
}
