/** When and how long to wait before another attempt: one place decides. */
import facts from './facts.json' with { type: 'json' };

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** Bounds of a Retry-After, in whole seconds: what callers are told, and the longest wait voxconf makes. */
export const RETRY_AFTER_SECONDS: { readonly min: number; readonly max: number } = facts.retryAfterSeconds;

/**
 * A honoured Retry-After is lengthened by a random share of itself, up to this fraction: callers throttled
 * together then come back spread over that window instead of all at the same millisecond.
 */
export const RETRY_AFTER_JITTER = 0.5;

/** An HTTP-date starts with a day name (IMF-fixdate, RFC 850, asctime); anything else is not a date. */
const HTTP_DATE = /^[A-Za-z]{3}/;

/**
 * A Retry-After as whole seconds within RETRY_AFTER_SECONDS, or undefined when it says nothing usable.
 * Takes the header (delay-seconds or an HTTP-date, relative to `now`) or a number of seconds.
 */
export function retryAfterSeconds(
  value: string | readonly string[] | number | undefined,
  now: number = Date.now(),
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  let seconds: number;
  if (typeof raw === 'number') {
    seconds = raw;
  } else if (typeof raw !== 'string') {
    return undefined;
  } else if (/^\d+$/.test(raw.trim())) {
    seconds = Number(raw.trim());
  } else if (HTTP_DATE.test(raw.trim())) {
    seconds = (Date.parse(raw) - now) / 1000;
  } else {
    return undefined;
  }
  if (Number.isNaN(seconds)) return undefined;
  return Math.min(RETRY_AFTER_SECONDS.max, Math.max(RETRY_AFTER_SECONDS.min, Math.ceil(seconds)));
}

/** Exponential backoff with full jitter: a random wait in [0, min(max, base * 2^(n-1))). */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before attempt `attempt + 1`, or undefined to stop: attempts used up, or the wait plus
 * a minimal attempt would not fit before the deadline. A Retry-After from Voximplant is honoured,
 * plus up to RETRY_AFTER_JITTER of itself, and never past RETRY_AFTER_SECONDS.max.
 */
export function nextDelayMs(args: {
  policy: RetryPolicy;
  attempt: number;
  retryAfterSeconds?: number | undefined;
  remainingMs: number;
  minAttemptMs: number;
  random?: () => number;
}): number | undefined {
  const { policy, attempt, remainingMs, minAttemptMs } = args;
  if (attempt >= policy.maxAttempts) return undefined;
  const random = args.random ?? Math.random;
  const backoff = backoffDelayMs(policy, attempt, random);
  const retryAfter = retryAfterSeconds(args.retryAfterSeconds);
  let delay = backoff;
  if (retryAfter !== undefined) {
    const honoured = retryAfter * 1000 + Math.floor(random() * retryAfter * 1000 * RETRY_AFTER_JITTER);
    delay = Math.max(backoff, Math.min(honoured, RETRY_AFTER_SECONDS.max * 1000));
  }
  return delay + minAttemptMs <= remainingMs ? delay : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
