/**
 * EventBridge Scheduler expressions for the local scheduler: the same reading the schedules API uses at run time,
 * from lib/schedule-expression.ts (local/ may import lib/, never the other way round).
 */
export {
  type CompiledSchedule,
  compileSchedule,
  cronerPattern,
  formatInZone,
  ScheduleExpressionError,
  schedulerTime,
} from '../lib/schedule-expression.js';
