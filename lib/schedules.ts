/**
 * The schedules function's parts, wired from the environment once per process: the store on Scheduler, the
 * settings, the conference request's checks (the rule allow-list and default rule of getConfig()), the logger
 * and the quota metric. Tests wire ScheduleService themselves.
 */
import { getConfig } from './config.js';
import { logger, MetricUnit, metrics } from './observability.js';
import { ScheduleService } from './schedule-service.js';
import { getSchedulerStore } from './scheduler-store.js';
import { getSchedulesConfig } from './schedules-config.js';
import { validateStartableRequest } from './validation.js';

let shared: ScheduleService | undefined;

export function getScheduleService(): ScheduleService {
  if (shared) return shared;
  const { defaultRuleId, allowedRuleIds } = getConfig();
  shared = new ScheduleService({
    store: getSchedulerStore(),
    config: getSchedulesConfig(),
    validateRequest: (input) => validateStartableRequest(input, { defaultRuleId, allowedRuleIds }),
    logger,
    onQuotaExceeded: () => metrics.addMetric('ScheduleQuotaExceeded', MetricUnit.Count, 1),
  });
  return shared;
}
