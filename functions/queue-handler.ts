/**
 * The queue function's handler and its init (the warm-up). Loaded by functions/queue.ts, the function's entry, once the
 * connection to Voximplant is started (./connect-early.js): see there.
 */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { getDeadLetterSink } from '../lib/dead-letter.js';
import { deadlineFrom, RESERVE_MS } from '../lib/deadline.js';
import { getOutcomePublisher } from '../lib/event-bus.js';
import { getConferenceService, getConfig } from '../lib/index.js';
import { MIDDY_OPTIONS, observability } from '../lib/middleware.js';
import { logger } from '../lib/observability.js';
import { processQueueBatch } from '../lib/queue-batch.js';
import { getRedelivery } from '../lib/redelivery.js';
import { getStartRecorder } from '../lib/registry.js';
import { warmUp } from '../lib/warm-up.js';

// Init: the key, the token and the connection to Voximplant, ready before the first request (bounded;
// the connection was started by the function's entry, functions/queue.ts, before it imported this module).
await warmUp({ service: getConferenceService, logger });

/** SQS records, each a request in the shared schema; answers the records SQS must redeliver. */
export const handler = middy<SQSEvent, SQSBatchResponse>(MIDDY_OPTIONS)
  .use(observability())
  .handler((event, context) =>
    processQueueBatch(
      event.Records,
      {
        service: getConferenceService(),
        deadLetter: getDeadLetterSink(),
        redelivery: getRedelivery(),
        maxReceiveCount: getConfig().queueMaxReceiveCount,
        redeliveryBaseSeconds: getConfig().queueRedeliveryBaseSeconds,
        publisher: getOutcomePublisher(),
        stage: getConfig().stage,
        registry: getStartRecorder(),
        loggerFor: (correlationId) => logger.createChild({ persistentKeys: { correlation_id: correlationId } }),
      },
      { deadline: deadlineFrom(context, RESERVE_MS.queue) },
    ),
  );
