/** When and how long to wait before another attempt: one place decides. */

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(n-1))). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before attempt `attempt + 1`, or undefined to stop: attempts used up, or the wait plus
 * a minimal attempt would not fit before the deadline. A Retry-After from Voximplant is honoured.
 */
export function nextDelayMs(args: {
  policy: RetryPolicy;
  attempt: number;
  retryAfterSeconds?: number | undefined;
  remainingMs: number;
  minAttemptMs: number;
  random?: () => number;
}): number | undefined {
  const { policy, attempt, retryAfterSeconds, remainingMs, minAttemptMs } = args;
  if (attempt >= policy.maxAttempts) return undefined;
  const jitter = backoffDelayMs(policy, attempt, args.random);
  const delay = retryAfterSeconds === undefined ? jitter : Math.max(jitter, retryAfterSeconds * 1000);
  return delay + minAttemptMs <= remainingMs ? delay : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
