import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from '@jest/globals';
import { EventBridgePublisher } from '../../lib/event-bus.js';
import { UpstreamError, ValidationError, VoximplantApiError } from '../../lib/index.js';
import { batchEntries, failedEvent, startedEvent } from '../../lib/outcome-events.js';
import { eventProblems, expectEventsMatchSchemas } from '../helpers/event-schemas.js';

const report = { conferenceName: 'class-42', ruleId: 7, attempts: 1, durationMs: 120 };
const origin = { source: 'queue' as const, sourceId: 'm-1', correlationId: 'booking-42' };

describe('outcome events', () => {
  it('Conference Started: the history id and where it came from, never the URLs', () => {
    const event = startedEvent('prod', origin, report, {
      call_session_history_id: 99,
      media_session_access_url: 'http://media.example/secret',
    } as never);
    expect(event).toEqual({
      detailType: 'Conference Started',
      detail: {
        stage: 'prod',
        source: 'queue',
        source_id: 'm-1',
        correlation_id: 'booking-42',
        conference_name: 'class-42',
        rule_id: 7,
        attempts: 1,
        duration_ms: 120,
        call_session_history_id: 99,
      },
    });
    expect(JSON.stringify(event)).not.toContain('media');
    expectEventsMatchSchemas([event]);
  });

  it('Conference Start Failed: the shown message, Voximplant code, outcome and final', () => {
    const refused = new VoximplantApiError('voximplant_account_error', 127, 'Insufficient money');
    const timeout = new UpstreamError('voximplant_timeout', 'slow', { outcome: 'unknown' });
    const events = [
      failedEvent('prod', origin, report, refused, true),
      failedEvent('prod', origin, report, timeout, true),
      failedEvent(
        'prod',
        origin,
        { ...report, conferenceName: undefined, ruleId: undefined, attempts: 0 },
        new ValidationError([{ field: 'rule_id', rule: 'type', message: 'x'.repeat(3000) }]),
        true,
      ),
    ];
    expect(events[0]?.detail).toMatchObject({
      error_code: 'voximplant_account_error',
      voximplant_code: 127,
      retryable: false,
      outcome: 'failed',
      final: true,
    });
    // Only the message a caller may see: the timeout's generic one, not its internal text.
    expect(events[1]?.detail).toMatchObject({
      outcome: 'unknown',
      error_message: expect.stringContaining('may have started'),
    });
    expect(String(events[2]?.detail.error_message)).toHaveLength(1024);
    expect(events[2]?.detail).not.toHaveProperty('conference_name');
    expectEventsMatchSchemas(events);
  });

  it('the schemas refuse what an event must never carry', () => {
    const event = startedEvent('prod', origin, report, { call_session_history_id: 1 });
    const leaked = { ...event, detail: { ...event.detail, media_session_access_url: 'http://x' } };
    expect(eventProblems(leaked)).not.toEqual([]);
  });

  it('batches entries by 10 and by 256 KB a PutEvents call', () => {
    const entry = (bytes: number): PutEventsRequestEntry => ({
      Source: 'voxconf',
      DetailType: 'x',
      Detail: 'a'.repeat(bytes),
    });
    expect(batchEntries(Array.from({ length: 23 }, () => entry(10))).map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batchEntries([entry(200_000), entry(100_000), entry(10)]).map((b) => b.length)).toEqual([1, 2]);
  });
});

describe('EventBridgePublisher', () => {
  const event = startedEvent('prod', origin, report, { call_session_history_id: 1 });

  it('counts entries EventBridge refused although the call answered normally (FailedEntryCount)', async () => {
    const failed: number[] = [];
    const logged: unknown[] = [];
    const client = {
      send: async () => ({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'x' }],
      }),
    };
    const publisher = new EventBridgePublisher({
      busName: 'voxconf-prod',
      client: client as never,
      logger: { error: (...args: unknown[]) => void logged.push(args) } as never,
      onFailed: (n) => void failed.push(n),
    });
    await publisher.publish([event, event]);
    expect(failed).toEqual([1]);
    expect(JSON.stringify(logged)).toContain('InternalFailure');
  });

  it('never throws: a failed call is logged and counted, the start stands', async () => {
    const failed: number[] = [];
    const client = {
      send: async () => Promise.reject(Object.assign(new Error('down'), { name: 'ThrottlingException' })),
    };
    const publisher = new EventBridgePublisher({
      busName: 'b',
      client: client as never,
      onFailed: (n) => void failed.push(n),
    });
    await expect(publisher.publish([event])).resolves.toBeUndefined();
    expect(failed).toEqual([1]);
  });

  it('sends Source voxconf, the detail type and the bus, one call per batch', async () => {
    const calls: Array<{ Entries?: PutEventsRequestEntry[] }> = [];
    const client = {
      send: async (command: { input: { Entries?: PutEventsRequestEntry[] } }) => {
        calls.push(command.input);
        return { FailedEntryCount: 0, Entries: [] };
      },
    };
    await new EventBridgePublisher({ busName: 'voxconf-prod', client: client as never }).publish(
      Array.from({ length: 12 }, () => event),
    );
    expect(calls.map((c) => c.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]?.Entries?.[0]).toMatchObject({
      EventBusName: 'voxconf-prod',
      Source: 'voxconf',
      DetailType: 'Conference Started',
    });
  });
});
