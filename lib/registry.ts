/**
 * What the trigger policies (lib/http-api.ts, lib/queue-batch.ts, lib/schedule.ts) call around a start to record it
 * in the registry. Cheap to load: the DynamoDB client lives in lib/registry-writer.ts, imported only when asked
 * for, after a start's request is on its way (`prepare()`), so that no cold start pays for it before Voximplant is
 * called, and a stage without the registry (REGISTRY_TABLE_NAME unset) never loads it at all.
 *
 * A failed write never undoes or repeats a start: `record()` never throws. The failure is logged (error, with the
 * conference name and why; never the media URLs), counted in the metric RegistryWriteFailures, which an alarm watches
 * (infra/alarms.yml RegistryWriteFailuresAlarm).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { getConfig } from './config.js';
import { logger as defaultLogger, MetricUnit, metrics } from './observability.js';
import type { RecordedStart, RegistryStart } from './registry-writer.js';

export type { RegistryStart } from './registry-writer.js';

type RecorderLogger = Pick<Logger, 'debug' | 'error'>;

/** The part of lib/registry-writer.ts the recorder uses. */
export interface RegistryWrite {
  record(start: RegistryStart): Promise<RecordedStart>;
}

export interface StartRecorder {
  /** Starts loading the writer (once per process), without waiting: call it right after the start is sent. */
  prepare(): void;
  /** Records a successful start; never throws (a failure is logged and counted). */
  record(start: RegistryStart, logger?: RecorderLogger): Promise<void>;
}

export interface RegistryRecorderOptions {
  /** Loads the writer (lazily: a dynamic import). */
  readonly load: () => Promise<RegistryWrite>;
  readonly logger?: RecorderLogger;
  /** One failed write (the metric). */
  readonly onFailed?: () => void;
}

/** setImmediate: after the microtasks that write the start's request, so the import's CPU work never precedes it. */
const afterPendingWork = () => new Promise<void>((resolve) => setImmediate(resolve));

export class RegistryRecorder implements StartRecorder {
  private readonly options: RegistryRecorderOptions;
  private writer: Promise<RegistryWrite> | undefined;

  constructor(options: RegistryRecorderOptions) {
    this.options = options;
  }

  /** Whether the writer was asked for (tests and the bench: nothing is loaded before a start). */
  get loading(): boolean {
    return this.writer !== undefined;
  }

  prepare(): void {
    if (this.writer) return;
    this.writer = afterPendingWork().then(() => this.options.load());
    // A failed load is reported by the record() that awaits it; retried by the next start.
    this.writer.catch(() => {
      this.writer = undefined;
    });
  }

  async record(start: RegistryStart, logger: RecorderLogger | undefined = this.options.logger): Promise<void> {
    const name = start.result.conference_name;
    try {
      this.prepare();
      const recorded = await (this.writer as Promise<RegistryWrite>).then((writer) => writer.record(start));
      logger?.debug('conference recorded in the registry', {
        conference_name: name,
        registry_outcome: recorded.outcome,
        registry_rounds: recorded.rounds,
      });
    } catch (error) {
      try {
        this.options.onFailed?.();
      } catch {
        // A metric that cannot be written must not turn a recorded failure into a thrown one.
      }
      logger?.error('conference not recorded in the registry; the start stands', {
        conference_name: name,
        reason: reasonOf(error, start),
      });
    }
  }
}

/** The error's name and message, with the session's URLs cut out should a message ever quote one. */
function reasonOf(error: unknown, start: RegistryStart): string {
  let text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  for (const url of [start.result.media_session_access_secure_url, start.result.media_session_access_url]) {
    if (url) text = text.split(url).join('[media URL]');
  }
  return text;
}

let shared: StartRecorder | undefined | null;

/**
 * The process's recorder on REGISTRY_TABLE_NAME, or undefined when the registry is off. Writes with the shared
 * DynamoDB client (lib/dynamodb.ts), bounded by facts.registry.writeTimeoutMs.
 */
export function getStartRecorder(): StartRecorder | undefined {
  if (shared !== undefined) return shared ?? undefined;
  const { registryTableName, registryActiveRetentionHours, registryEndedRetentionDays } = getConfig();
  shared =
    registryTableName === undefined
      ? null
      : new RegistryRecorder({
          load: async () => {
            const { RegistryWriter } = await import('./registry-writer.js');
            return new RegistryWriter({
              tableName: registryTableName,
              retention: { activeHours: registryActiveRetentionHours, endedDays: registryEndedRetentionDays },
            });
          },
          logger: defaultLogger,
          onFailed: () => metrics.addMetric('RegistryWriteFailures', MetricUnit.Count, 1),
        });
  return shared ?? undefined;
}

/**
 * What a trigger policy awaits after a successful start: the record when the registry is on, nothing otherwise.
 * Never rejects, whatever the recorder does: a start that succeeded is never retried for its record.
 */
export async function recordStart(
  recorder: StartRecorder | undefined,
  start: RegistryStart,
  logger?: RecorderLogger,
): Promise<void> {
  await recorder?.record(start, logger).catch(() => undefined);
}
