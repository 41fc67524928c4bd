/**
 * The schedules function's own settings (functions/schedules.ts), read once from the environment: where its
 * schedules live and fire, and its limits. The stack sets them (serverless.yml); a missing one stops the
 * function at its first request with a ConfigurationError naming the variable.
 */
import { type Env, integer, text } from './config.js';
import { ConfigurationError } from './errors.js';
import facts from './facts.json' with { type: 'json' };

export interface SchedulesConfig {
  /** The group of infra/schedules.yml (`voxconf-<stage>`): read, never changed. */
  readonly deployGroup: string;
  /** The group this API owns (`voxconf-<stage>-api`). */
  readonly apiGroup: string;
  /** The schedule function, every schedule's target. */
  readonly targetArn: string;
  /** The API group's execution role: Scheduler assumes it to invoke the target and to dead-letter. */
  readonly roleArn: string;
  /** Where Scheduler puts a run it could not deliver. */
  readonly deadLetterArn: string;
  /** Scheduler's delivery retries stop at the lateness limit (RetryPolicy.MaximumEventAgeInSeconds). */
  readonly maxEventAgeSeconds: number;
  readonly horizonDays: number;
  readonly minIntervalMinutes: number;
  /** voxconf's cap on API-created schedules. */
  readonly maxCount: number;
}

const GROUP = /^[0-9A-Za-z_.-]{1,64}$/;
const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:\S+$/;

function required(env: Env, name: string, pattern: RegExp, what: string): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigurationError(name, `is required (${what}).`);
  if (!pattern.test(value)) throw new ConfigurationError(name, `is not ${what}: "${value}".`);
  return value;
}

export function loadSchedulesConfig(env: Env = process.env): SchedulesConfig {
  const deployGroup = required(env, 'SCHEDULES_DEPLOY_GROUP', GROUP, 'a schedule group name');
  const apiGroup = required(env, 'SCHEDULES_API_GROUP', GROUP, 'a schedule group name');
  if (apiGroup === deployGroup) {
    throw new ConfigurationError('SCHEDULES_API_GROUP', 'must differ from SCHEDULES_DEPLOY_GROUP.');
  }
  return {
    deployGroup,
    apiGroup,
    targetArn: required(env, 'SCHEDULES_TARGET_ARN', ARN, 'the schedule function ARN'),
    roleArn: required(env, 'SCHEDULES_ROLE_ARN', ARN, "the API group's execution role ARN"),
    deadLetterArn: required(env, 'SCHEDULES_DEAD_LETTER_ARN', ARN, 'the dead-letter queue ARN'),
    maxEventAgeSeconds: integer(env, 'SCHEDULE_MAX_LATENESS_SECONDS'),
    horizonDays: integer(env, 'SCHEDULES_HORIZON_DAYS'),
    minIntervalMinutes: integer(env, 'SCHEDULES_MIN_INTERVAL_MINUTES'),
    maxCount: integer(env, 'SCHEDULES_MAX_COUNT'),
  };
}

let cached: SchedulesConfig | undefined;

/** The process's schedules settings, read from process.env on first use and kept. */
export function getSchedulesConfig(): SchedulesConfig {
  cached ??= loadSchedulesConfig(process.env);
  return cached;
}

/** `voxconf-<stage>` and `voxconf-<stage>-api`: the two groups of a stage (infra/ names them the same way). */
export function scheduleGroupsOf(stage: string): { deployGroup: string; apiGroup: string } {
  return { deployGroup: `voxconf-${stage}`, apiGroup: `voxconf-${stage}${facts.schedulesApi.apiGroupSuffix}` };
}
