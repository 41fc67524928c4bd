import { describe, expect, it } from '@jest/globals';
import { backoffDelayMs, nextDelayMs } from '../../lib/retry.js';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

describe('backoff with full jitter', () => {
  it('draws from [0, min(max, base * 2^(n-1)))', () => {
    expect(backoffDelayMs(policy, 1, () => 0.999)).toBe(99);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(200);
    expect(backoffDelayMs(policy, 10, () => 0.999)).toBe(999);
    expect(backoffDelayMs(policy, 2, () => 0)).toBe(0);
  });

  it('stops when attempts are used up', () => {
    expect(nextDelayMs({ policy, attempt: 4, remainingMs: 60_000, minAttemptMs: 100 })).toBeUndefined();
    expect(nextDelayMs({ policy, attempt: 3, remainingMs: 60_000, minAttemptMs: 100, random: () => 0.5 })).toBe(200);
  });

  it('stops when the wait and a minimal attempt would pass the deadline', () => {
    expect(nextDelayMs({ policy, attempt: 1, remainingMs: 120, minAttemptMs: 100, random: () => 0.5 })).toBeUndefined();
    expect(nextDelayMs({ policy, attempt: 1, remainingMs: 150, minAttemptMs: 100, random: () => 0.5 })).toBe(50);
  });

  it('honours Retry-After when it is longer than the jitter and fits', () => {
    expect(nextDelayMs({ policy, attempt: 1, retryAfterSeconds: 2, remainingMs: 5_000, minAttemptMs: 100 })).toBe(2000);
    expect(
      nextDelayMs({ policy, attempt: 1, retryAfterSeconds: 9, remainingMs: 5_000, minAttemptMs: 100 }),
    ).toBeUndefined();
  });
});
