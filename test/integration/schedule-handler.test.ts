/** functions/schedule.ts with Scheduler input, EventBridge rule input and a bare envelope. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { attribute, drainQueue } from '../helpers/dlq.js';
import { lambdaContext, scheduledEventEnvelope, schedulerInput } from '../helpers/events.js';
import { startTriggerFixture, type TriggerFixture } from '../helpers/fixture.js';

let fx: TriggerFixture;
let sqs: TriggerFixture['sqs'];
let handler: (event: unknown, context: unknown) => Promise<unknown>;

beforeAll(async () => {
  fx = await startTriggerFixture({ SCHEDULE_MAX_LATENESS_SECONDS: '600', VOXIMPLANT_MAX_ATTEMPTS: '1' });
  sqs = fx.sqs;
  ({ handler } = (await import('../../functions/schedule.js')) as never);
});
afterAll(() => fx.close());
beforeEach(async () => {
  fx.emulator.clearFaults();
  await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
});

const request = (name: string) => ({ conference_name: name, rule_id: fx.account.ruleId });
const invoke = (event: unknown) => handler(event, lambdaContext(30_000, 'voxconf-dev-schedule'));

describe('schedule handler', () => {
  it('starts a conference from the Scheduler wrapper', async () => {
    const outcome = await invoke(schedulerInput(request('s-wrapper'), new Date(Date.now() - 5_000), 'exec-1'));
    expect(outcome).toMatchObject({ outcome: 'started', conference_name: 's-wrapper' });
    expect(fx.emulator.conferences().some((c) => c.name === 's-wrapper')).toBe(true);
  });

  it("starts a conference from a bare request (a rule's input)", async () => {
    expect(await invoke(request('s-bare'))).toMatchObject({ outcome: 'started', conference_name: 's-bare' });
  });

  it('dead-letters a conference more than 10 minutes late as too_late, and does not start it', async () => {
    const event = schedulerInput(request('s-late'), new Date(Date.now() - 11 * 60_000), 'exec-late');
    expect(await invoke(event)).toEqual({ outcome: 'dead_lettered', error_code: 'too_late' });
    expect(fx.emulator.conferences().some((c) => c.name === 's-late')).toBe(false);
    const [dead] = await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
    expect(JSON.parse(dead!.Body!)).toEqual(event);
    expect(attribute(dead!, 'error_code')).toBe('too_late');
    expect(attribute(dead!, 'source_id')).toBe('exec-late');
  });

  it('dead-letters a bare Scheduled Event envelope with a clear permanent error', async () => {
    expect(await invoke(scheduledEventEnvelope())).toEqual({ outcome: 'dead_lettered', error_code: 'invalid_request' });
    const [dead] = await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
    expect(attribute(dead!, 'error_message')).toContain('Scheduled Event');
  });

  it('dead-letters a request Voximplant will never accept', async () => {
    fx.emulator.fault({ type: 'error', code: 375, times: 1 } as never);
    expect(await invoke(schedulerInput(request('s-375')))).toEqual({
      outcome: 'dead_lettered',
      error_code: 'voximplant_rejected_request',
    });
  });

  it('tries a retryable failure again within the invocation and starts, with nothing dead-lettered', async () => {
    fx.emulator.fault({ type: 'http', status: 503, times: 1 } as never);
    expect(await invoke(schedulerInput(request('s-503')))).toMatchObject({ outcome: 'started' });
    expect(await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint)).toEqual([]);
  });

  it('dead-letters the original event with its reason when the invocation runs out of time', async () => {
    fx.emulator.fault({ type: 'http', status: 503 } as never);
    const event = schedulerInput(request('s-503-always'), new Date(), 'exec-out');
    // 4 s left, 2 s kept back: one or two rounds fit, then the run is final.
    const outcome = await handler(event, lambdaContext(4_000, 'voxconf-dev-schedule'));
    expect(outcome).toEqual({ outcome: 'dead_lettered', error_code: 'voximplant_unavailable' });
    const [dead] = await drainQueue(sqs.deadLetterQueueUrl, sqs.endpoint);
    expect(JSON.parse(dead!.Body!)).toEqual(event);
    expect(attribute(dead!, 'error_code')).toBe('voximplant_unavailable');
    expect(attribute(dead!, 'source_id')).toBe('exec-out');
  });
});
