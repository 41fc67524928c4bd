import type { Context } from 'aws-lambda';

/**
 * Time kept back from the invocation, after the starts' own deadline, for what follows them: a dead-letter send
 * (at most 1.5 s), the outcome events' put (at most 1.5 s), logging and flushing metrics. HTTP: the caller must get
 * an answer before the function (10 s) and the gateway (30 s) give up; it publishes only when the stage says so.
 */
export const RESERVE_MS = { http: 2_000, queue: 3_500, schedule: 3_500 } as const;

/** Epoch ms by which the core must have answered, from the invocation's remaining time. */
export function deadlineFrom(
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  reserveMs: number,
): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  return typeof remaining === 'number' && Number.isFinite(remaining) ? Date.now() + remaining - reserveMs : undefined;
}
