import { describe, expect, it } from '@jest/globals';
import facts from '../../lib/facts.json' with { type: 'json' };
import { UpstreamError } from '../../lib/index.js';
import { backoffDelayMs, nextDelayMs, retryAfterSeconds } from '../../lib/retry.js';

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

  it('honours Retry-After when it fits, plus a jitter of up to half of it', () => {
    const wait = (random: number, retryAfter = 2) =>
      nextDelayMs({
        policy,
        attempt: 1,
        retryAfterSeconds: retryAfter,
        remainingMs: 5_000,
        minAttemptMs: 100,
        random: () => random,
      });
    expect(wait(0)).toBe(2000);
    expect(wait(0.5)).toBe(2500);
    expect(wait(0.999)).toBe(2999);
    expect(wait(0.5, 1)).toBe(1250);
    expect(wait(0.5, 9)).toBeUndefined();
  });

  it('never waits longer than the Retry-After bound, whatever the jitter', () => {
    const { max } = facts.retryAfterSeconds;
    const delay = nextDelayMs({
      policy,
      attempt: 1,
      retryAfterSeconds: max,
      remainingMs: 600_000,
      minAttemptMs: 100,
      random: () => 0.999,
    });
    expect(delay).toBe(max * 1000);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2030-01-01T00:00:00Z');
  const { min, max } = facts.retryAfterSeconds;

  it('is bounded to whole seconds from 1 to 30 in lib/facts.json', () => {
    expect({ min, max }).toEqual({ min: 1, max: 30 });
  });

  it.each([
    ['5', 5],
    [' 7 ', 7],
    ['0', min],
    ['30', 30],
    ['31', max],
    ['86400', max],
    ['99999999999999999999999', max],
    ['Tue, 01 Jan 2030 00:00:07 GMT', 7],
    ['Tue, 01 Jan 2030 00:00:07.200 GMT', 8],
    ['Thu, 01 Jan 2099 00:00:00 GMT', max],
    ['Mon, 31 Dec 2029 23:59:00 GMT', min],
  ])('%j becomes %i', (header, seconds) => {
    expect(retryAfterSeconds(header, now)).toBe(seconds);
  });

  it.each([undefined, '', 'soon', '-3', '1.5', '1e3', 'NaN', 'Infinity'])('%j is ignored', (header) => {
    expect(retryAfterSeconds(header, now)).toBeUndefined();
  });

  it('takes the first of repeated headers', () => {
    expect(retryAfterSeconds(['3', '9'], now)).toBe(3);
  });

  it('bounds a number of seconds the same way, so every error carries a valid value', () => {
    expect(retryAfterSeconds(1e23)).toBe(max);
    expect(retryAfterSeconds(0.2)).toBe(min);
    expect(retryAfterSeconds(2.1)).toBe(3);
    expect(retryAfterSeconds(Number.NaN)).toBeUndefined();
    expect(new UpstreamError('voximplant_throttled', 'x', { retryAfterSeconds: 1e23 }).retryAfterSeconds).toBe(max);
    expect(new UpstreamError('voximplant_throttled', 'x', { retryAfterSeconds: 0 }).retryAfterSeconds).toBe(min);
  });
});
