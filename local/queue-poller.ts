/**
 * A local stand-in for Lambda's SQS event source mapping with ReportBatchItemFailures (serverless.yml's
 * `sqs` event of the queue function):
 *
 *   - long-polls the queue (ReceiveMessage, up to 10 messages, every system and message attribute);
 *   - invokes the queue function synchronously with the batch as real `SQSRecord`s;
 *   - deletes only the records the function did not report in `batchItemFailures`;
 *   - deletes nothing when the invocation failed (handler threw, timed out) or its answer cannot be read.
 *
 * Records left in the queue come back after the visibility timeout, and the queue's own redrive policy
 * moves one to the dead-letter queue after maxReceiveCount receives: nothing here counts receives.
 * (serverless-offline-sqs deletes the whole batch whatever the function answers; this does not.)
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { describeFunctionError, type InvokeResult } from './lambda-invoke.js';
import type { LogSink } from './log.js';
import { readBatchResponse, toSqsRecord } from './sqs-event.js';

export interface QueuePollerOptions {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  /** Invokes the queue function (RequestResponse) with an SQSEvent. */
  readonly invoke: (event: { Records: unknown[] }, signal: AbortSignal) => Promise<InvokeResult>;
  /** serverless.yml: batchSize 10. */
  readonly batchSize?: number;
  /**
   * Wait per ReceiveMessage. Default 0 (short polls, `idleDelayMs` apart): local-aws-sqs answers a long poll only
   * when MaxNumberOfMessages are there or the wait is over (AWS answers as soon as any are), and within one
   * long poll it hands out again a message whose visibility timeout ran out.
   */
  readonly waitTimeSeconds?: number;
  /** Pause between empty polls. Default 200 ms. */
  readonly idleDelayMs?: number;
  /** For the log line: when a reported record comes back, and after how many receives it goes to the DLQ. */
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  readonly log: LogSink;
}

export interface BatchOutcome {
  readonly messageIds: readonly string[];
  readonly deleted: readonly string[];
  readonly kept: readonly string[];
  readonly reason?: string;
}

export interface QueuePoller {
  /** Batches handled so far (for tests and the control API). */
  readonly batches: number;
  /** Resolves when the loop has stopped; an invocation in flight is abandoned (its records are redelivered). */
  stop(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function receiveCounts(messages: readonly Message[]): string {
  const counts = messages.map((m) => m.Attributes?.ApproximateReceiveCount ?? '?');
  return counts.every((count) => count === counts[0]) ? `receive #${counts[0]}` : `receives #${counts.join(',#')}`;
}

export function startQueuePoller(options: QueuePollerOptions): QueuePoller {
  const controller = new AbortController();
  const { signal } = controller;
  const log = (message: string) => options.log('queue', message);
  let batches = 0;

  const handleBatch = async (messages: Message[]): Promise<BatchOutcome> => {
    const records = messages.map((message) =>
      toSqsRecord(message, { queueArn: options.queueArn, region: options.region }),
    );
    const ids = records.map((record) => record.messageId);
    const keepAll = (reason: string): BatchOutcome => ({ messageIds: ids, deleted: [], kept: ids, reason });

    let result: InvokeResult;
    try {
      result = await options.invoke({ Records: records }, signal);
    } catch (error) {
      return keepAll(`invocation failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (result.functionError !== undefined || result.statusCode >= 300) {
      return keepAll(`the function failed: ${describeFunctionError(result)}`);
    }
    const verdict = readBatchResponse(result.payload, ids);
    if (verdict.kind === 'batch_failure') return keepAll(verdict.reason);

    const toDelete = messages.filter((message) => !verdict.failed.has(message.MessageId as string));
    const deleted: string[] = [];
    if (toDelete.length > 0) {
      const answer = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: toDelete.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      for (const entry of answer.Successful ?? []) deleted.push(toDelete[Number(entry.Id)].MessageId as string);
      for (const failure of answer.Failed ?? []) {
        log(`could not delete ${toDelete[Number(failure.Id)].MessageId}: ${failure.Code} ${failure.Message ?? ''}`);
      }
    }
    return { messageIds: ids, deleted, kept: ids.filter((id) => !deleted.includes(id)) };
  };

  const describe = (messages: Message[], outcome: BatchOutcome): string => {
    const n = messages.length;
    const head = `${n} record${n === 1 ? '' : 's'} (${receiveCounts(messages)}) →`;
    const kept = outcome.kept.length;
    const exhausted = messages.filter(
      (m) =>
        outcome.kept.includes(m.MessageId as string) &&
        Number(m.Attributes?.ApproximateReceiveCount) >= options.maxReceiveCount,
    ).length;
    const fate =
      exhausted === kept && kept > 0
        ? `received ${options.maxReceiveCount} times (maxReceiveCount): the redrive policy moves ${kept === 1 ? 'it' : 'them'} to the dead-letter queue`
        : `redelivered after the ${options.visibilityTimeoutSeconds} s visibility timeout, ` +
          `to the dead-letter queue after ${options.maxReceiveCount} receives`;
    if (outcome.reason !== undefined) return `${head} nothing deleted, ${outcome.reason}; ${fate}`;
    if (kept === 0) return `${head} ${outcome.deleted.length} done (deleted)`;
    return `${head} ${outcome.deleted.length} done (deleted), ${kept} in batchItemFailures (${outcome.kept.join(', ')}): ${fate}`;
  };

  const loop = async () => {
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const answer = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 0,
            MessageSystemAttributeNames: ['All'],
            // The older name of the same parameter: local-aws-sqs reads only this one.
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        // One record per message: keep the latest receipt handle if a message came twice.
        messages = [...new Map((answer.Messages ?? []).map((m) => [m.MessageId, m])).values()];
      } catch (error) {
        if (signal.aborted) break;
        log(`ReceiveMessage failed (${error instanceof Error ? error.message : String(error)}); polling again in 1 s`);
        await sleep(1000, signal);
        continue;
      }
      if (messages.length === 0) {
        await sleep(options.idleDelayMs ?? 200, signal);
        continue;
      }
      batches += 1;
      let outcome: BatchOutcome;
      try {
        outcome = await handleBatch(messages);
      } catch (error) {
        if (signal.aborted) break;
        log(
          `batch not settled (${error instanceof Error ? error.message : String(error)}); its records will be redelivered`,
        );
        continue;
      }
      if (signal.aborted && outcome.reason !== undefined) break;
      log(describe(messages, outcome));
    }
  };

  const done = loop();
  return {
    get batches() {
      return batches;
    },
    async stop() {
      controller.abort();
      await done;
    },
  };
}
