/**
 * The schedule function's handler and its init (the warm-up). Loaded by functions/schedule.ts, the function's entry, once the
 * connection to Voximplant is started (./connect-early.js): see there.
 */
import middy from '@middy/core';
import { getDeadLetterSink } from '../lib/dead-letter.js';
import { deadlineFrom, RESERVE_MS } from '../lib/deadline.js';
import { getOutcomePublisher } from '../lib/event-bus.js';
import { getConferenceService, getConfig } from '../lib/index.js';
import { MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';
import { getStartRecorder } from '../lib/registry.js';
import { processScheduledEvent, type ScheduleOutcome } from '../lib/schedule.js';
import { warmUp } from '../lib/warm-up.js';

// Init: the key, the token and the connection to Voximplant, ready before the first request (bounded;
// the connection was started by the function's entry, functions/schedule.ts, before it imported this module).
await warmUp({ service: getConferenceService, logger });

/**
 * EventBridge Scheduler (or rule) invocations: a bare request or the
 * {request, scheduled_time, execution_id, schedule_name?, correlation_id?} wrapper.
 */
export const handler = middy<unknown, ScheduleOutcome>(MIDDY_OPTIONS)
  .use(observability())
  .handler((event, context) =>
    processScheduledEvent(
      event,
      {
        service: getConferenceService(),
        deadLetter: getDeadLetterSink(),
        maxLatenessSeconds: getConfig().scheduleMaxLatenessSeconds,
        maxEarlinessSeconds: getConfig().scheduleMaxEarlinessSeconds,
        publisher: getOutcomePublisher(),
        stage: getConfig().stage,
        registry: getStartRecorder(),
        loggerFor: (correlationId) => logger.createChild({ persistentKeys: { correlation_id: correlationId } }),
      },
      { deadline: deadlineFrom(context, RESERVE_MS.schedule), logger },
    ),
  );
