/**
 * The lifecycle function's own settings (functions/lifecycle.ts), read once from the environment; the Voximplant
 * settings (credentials, API URL, token), VOXCONF_STAGE and EVENT_BUS_NAME (where `Conference Ended` goes) are
 * getConfig()'s, as for every function. A missing or bad one stops the function at its first
 * request with a ConfigurationError naming the variable.
 */
import { type Env, integer, text } from './config.js';
import { ConfigurationError } from './errors.js';

export interface LifecycleConfig {
  /** The registry table (required: the lifecycle API is the registry's). */
  readonly registryTableName: string;
  /**
   * Rules declared to run the reference scenario (voximplant/): only their sessions are probed (`status`) and
   * stopped; another rule's scenario may end its session on any request (Voximplant's own example does).
   */
  readonly referenceScenarioRuleIds: ReadonlySet<number>;
  /** Upper bound of one request to a media session URL. */
  readonly sessionRequestTimeoutMs: number;
  readonly registryActiveRetentionHours: number;
  readonly registryEndedRetentionDays: number;
}

function ruleIds(env: Env, name: string): ReadonlySet<number> {
  const raw = text(env, name);
  if (raw === undefined) return new Set();
  const ids = new Set<number>();
  for (const part of raw.split(/[\s,;]+/)) {
    if (part === '') continue;
    if (!/^\d+$/.test(part) || Number(part) < 1 || !Number.isSafeInteger(Number(part))) {
      throw new ConfigurationError(name, `"${part}" is not a positive integer rule id.`);
    }
    ids.add(Number(part));
  }
  return ids;
}

export function loadLifecycleConfig(env: Env = process.env): LifecycleConfig {
  const registryTableName = text(env, 'REGISTRY_TABLE_NAME');
  if (registryTableName === undefined) {
    throw new ConfigurationError('REGISTRY_TABLE_NAME', 'is required (the conference registry table).');
  }
  return {
    registryTableName,
    referenceScenarioRuleIds: ruleIds(env, 'REFERENCE_SCENARIO_RULE_IDS'),
    sessionRequestTimeoutMs: integer(env, 'SESSION_REQUEST_TIMEOUT_MS'),
    registryActiveRetentionHours: integer(env, 'REGISTRY_ACTIVE_RETENTION_HOURS'),
    registryEndedRetentionDays: integer(env, 'REGISTRY_ENDED_RETENTION_DAYS'),
  };
}

let cached: LifecycleConfig | undefined;

/** The process's lifecycle settings, read from process.env on first use and kept. */
export function getLifecycleConfig(): LifecycleConfig {
  cached ??= loadLifecycleConfig(process.env);
  return cached;
}
