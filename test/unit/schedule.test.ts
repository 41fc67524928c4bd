import { describe, expect, it } from '@jest/globals';
import type { StartOptions } from '../../lib/conference.js';
import type { DeadLetterSink } from '../../lib/dead-letter.js';
import { UpstreamError, ValidationError, VoxconfError, VoximplantApiError } from '../../lib/index.js';
import type { OutcomeEvent } from '../../lib/outcome-events.js';
import { parseScheduledEvent, processScheduledEvent } from '../../lib/schedule.js';

const request = { conference_name: 'standup', rule_id: 1 };

describe('parseScheduledEvent', () => {
  it('takes a bare request as it is', () => {
    expect(parseScheduledEvent(request)).toEqual({ request });
  });

  it('reads the wrapper', () => {
    const parsed = parseScheduledEvent({ request, scheduled_time: '2026-11-26T09:00:00Z', execution_id: 'e-1' });
    expect(parsed.request).toBe(request);
    expect(parsed.executionId).toBe('e-1');
    expect(parsed.scheduledTime?.toISOString()).toBe('2026-11-26T09:00:00.000Z');
  });

  it('refuses a bare Scheduled Event envelope, naming request', () => {
    const envelope = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    expect(() => parseScheduledEvent(envelope)).toThrow(ValidationError);
    try {
      parseScheduledEvent(envelope);
    } catch (error) {
      expect((error as ValidationError).field).toBe('request');
    }
  });

  it('accepts ISO 8601 times with an offset and refuses loose date strings', () => {
    expect(
      parseScheduledEvent({ request, scheduled_time: '2026-11-26T10:00:00+01:00' }).scheduledTime?.toISOString(),
    ).toBe('2026-11-26T09:00:00.000Z');
    for (const loose of ['0', '2026', 'Nov 26 2026', '2026-11-26', '2026-11-26T09:00:00']) {
      expect(() => parseScheduledEvent({ request, scheduled_time: loose })).toThrow(ValidationError);
    }
  });

  it('refuses unknown wrapper keys and a bad scheduled_time', () => {
    try {
      parseScheduledEvent({ request, scheduled_time: 'yesterday', extra: 1 });
      throw new Error('passed');
    } catch (error) {
      expect((error as ValidationError).details?.map((d) => d.field)).toEqual(['extra', 'scheduled_time']);
    }
  });
});

describe('processScheduledEvent', () => {
  function sink() {
    const sent: Array<{ body: string; code: string }> = [];
    const deadLetter: DeadLetterSink = {
      send: async (body, error) => {
        sent.push({ body, code: error.code });
      },
    };
    return { sent, deadLetter };
  }
  const started = {
    start: async (input: unknown) => ({
      conference_name: (input as typeof request).conference_name,
      media_session_access_url: 'http://x',
      media_session_access_secure_url: 'https://x',
      call_session_history_id: 9,
    }),
  };
  const now = () => Date.parse('2026-11-26T09:05:00Z');

  it('starts a conference that is on time, without the URLs in its result', async () => {
    const { deadLetter, sent } = sink();
    const event = { request, scheduled_time: '2026-11-26T09:00:00Z', execution_id: 'e' };
    const outcome = await processScheduledEvent(event, {
      service: started,
      deadLetter,
      maxLatenessSeconds: 600,
      maxEarlinessSeconds: 300,
      now,
    });
    expect(outcome).toEqual({ outcome: 'started', conference_name: 'standup', call_session_history_id: 9 });
    expect(JSON.stringify(outcome)).not.toContain('http');
    expect(sent).toEqual([]);
  });

  it('dead-letters a conference more than the limit late, with the event unchanged', async () => {
    const { deadLetter, sent } = sink();
    const event = { request, scheduled_time: '2026-11-26T08:54:59Z', execution_id: 'e' };
    const outcome = await processScheduledEvent(event, {
      service: started,
      deadLetter,
      maxLatenessSeconds: 600,
      maxEarlinessSeconds: 300,
      now,
    });
    expect(outcome).toEqual({ outcome: 'dead_lettered', error_code: 'too_late' });
    expect(sent).toEqual([{ body: JSON.stringify(event), code: 'too_late' }]);
  });

  it('dead-letters an event far ahead of its time as too_early (Scheduler never fires early), starts a near one', async () => {
    const { deadLetter, sent } = sink();
    const deps = { service: started, deadLetter, maxLatenessSeconds: 600, maxEarlinessSeconds: 300, now };
    const future = { request, scheduled_time: '2099-01-01T09:00:00Z', execution_id: 'e' };
    expect(await processScheduledEvent(future, deps)).toEqual({ outcome: 'dead_lettered', error_code: 'too_early' });
    expect(sent).toEqual([{ body: JSON.stringify(future), code: 'too_early' }]);
    // Clocks differ by seconds, not minutes: 300 s ahead is still a start.
    const soon = { request, scheduled_time: '2026-11-26T09:10:00Z', execution_id: 'e' };
    expect(await processScheduledEvent(soon, deps)).toMatchObject({ outcome: 'started' });
    const justTooSoon = { request, scheduled_time: '2026-11-26T09:10:01Z', execution_id: 'e' };
    expect(await processScheduledEvent(justTooSoon, deps)).toMatchObject({ error_code: 'too_early' });
  });

  /** A service that fails with these errors in turn, then starts; counts its calls. */
  function flaky(errors: VoxconfError[]) {
    let calls = 0;
    return {
      calls: () => calls,
      start: async (input: unknown, options?: StartOptions) => {
        calls++;
        options?.onSettled?.({ conferenceName: 'standup', ruleId: 1, attempts: 2, durationMs: 5 });
        const error = errors.shift();
        if (error) throw error;
        return started.start(input);
      },
    };
  }

  function recorder() {
    const events: OutcomeEvent[] = [];
    return { events, publisher: { publish: async (batch: readonly OutcomeEvent[]) => void events.push(...batch) } };
  }

  it('tries a retryable failure again in the same invocation (Lambda retries are off), then starts', async () => {
    const { deadLetter, sent } = sink();
    const { events, publisher } = recorder();
    const service = flaky([new UpstreamError('voximplant_unavailable', 'HTTP 503')]);
    const waits: number[] = [];
    const outcome = await processScheduledEvent(
      { request, scheduled_time: '2026-11-26T09:00:00Z', execution_id: 'e', schedule_name: 'standup' },
      {
        service,
        deadLetter,
        maxLatenessSeconds: 600,
        maxEarlinessSeconds: 300,
        now,
        publisher,
        stage: 'prod',
        sleep: async (ms) => void waits.push(ms),
        random: () => 0.5,
      },
    );
    expect(outcome).toMatchObject({ outcome: 'started' });
    expect(service.calls()).toBe(2);
    expect(waits).toEqual([1000]);
    expect(sent).toEqual([]);
    expect(events).toEqual([
      {
        detailType: 'Conference Started',
        detail: expect.objectContaining({
          schedule_name: 'standup',
          scheduled_time: '2026-11-26T09:00:00Z',
          attempts: 4,
          source: 'schedule',
          source_id: 'e',
          stage: 'prod',
        }),
      },
    ]);
  });

  it('a round that may have reached Voximplant keeps the final outcome unknown, whatever the later rounds said', async () => {
    const { deadLetter, sent } = sink();
    const { events, publisher } = recorder();
    let clock = Date.parse('2026-11-26T09:05:00Z');
    const rounds = [
      new UpstreamError('voximplant_timeout', 'slow', { outcome: 'unknown' }),
      new UpstreamError('voximplant_unavailable', 'HTTP 503'),
    ];
    const service = {
      start: async () => Promise.reject(rounds.shift() ?? new UpstreamError('voximplant_unavailable', '503')),
    };
    await processScheduledEvent(
      request,
      {
        service,
        deadLetter: {
          send: async (body, error, context) => {
            sent.push({ body, code: `${error.code}/${error.outcome}` });
            return deadLetter.send(body, error, context);
          },
        },
        maxLatenessSeconds: 600,
        maxEarlinessSeconds: 300,
        now: () => clock,
        publisher,
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 1,
      },
      { deadline: clock + 5_000 },
    );
    expect(sent[0]?.code).toBe('voximplant_unavailable/unknown');
    expect(events[0]?.detail).toMatchObject({ error_code: 'voximplant_unavailable', outcome: 'unknown', final: true });
  });

  it('an authorization failure is tried again too (a key rotation in progress)', async () => {
    const { deadLetter } = sink();
    const refused = new VoximplantApiError('voximplant_authorization_failed', 100, 'Authorization failed');
    const service = flaky([refused]);
    const deps = { service, deadLetter, maxLatenessSeconds: 600, maxEarlinessSeconds: 300, now, sleep: async () => {} };
    expect(await processScheduledEvent(request, deps)).toMatchObject({ outcome: 'started' });
    expect(service.calls()).toBe(2);
  });

  it('when the time runs out, dead-letters with its reason and publishes one final event', async () => {
    const { deadLetter, sent } = sink();
    const { events, publisher } = recorder();
    let clock = Date.parse('2026-11-26T09:05:00Z');
    const failing = {
      start: async (_input: unknown, options?: StartOptions) => {
        options?.onSettled?.({ conferenceName: 'standup', ruleId: 1, attempts: 3, durationMs: 1 });
        throw new UpstreamError('voximplant_timeout', 'slow', { outcome: 'unknown' });
      },
    };
    const outcome = await processScheduledEvent(
      request,
      {
        service: failing,
        deadLetter,
        maxLatenessSeconds: 600,
        maxEarlinessSeconds: 300,
        now: () => clock,
        publisher,
        sleep: async (ms) => {
          clock += ms;
        },
        random: () => 1,
      },
      { deadline: clock + 10_000 },
    );
    expect(outcome).toEqual({ outcome: 'dead_lettered', error_code: 'voximplant_timeout' });
    expect(sent).toEqual([{ body: JSON.stringify(request), code: 'voximplant_timeout' }]);
    // Waits of 2 s and 4 s fit in 10 s; the next (8 s) would not.
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detailType: 'Conference Start Failed',
      detail: { error_code: 'voximplant_timeout', outcome: 'unknown', final: true, retryable: true, attempts: 9 },
    });
  });

  it('throws when the dead-letter send fails, so the event is not lost', async () => {
    const deadLetter: DeadLetterSink = {
      send: async () => Promise.reject(new VoxconfError('dead_letter_failed', 'down')),
    };
    await expect(
      processScheduledEvent(
        { not: 'a request' },
        {
          service: { start: async () => Promise.reject(new ValidationError([])) },
          deadLetter,
          maxLatenessSeconds: 600,
          maxEarlinessSeconds: 300,
          now,
        },
      ),
    ).rejects.toMatchObject({ code: 'dead_letter_failed' });
  });
});
