// @ts-check
'use strict';
/**
 * Turns infra/schedules.yml into AWS::Scheduler::Schedule resources (serverless.yml:
 * `${file(infra/schedules.cjs):resources}`).
 *
 * Declared here rather than with osls's `schedule` events because those set no RetryPolicy (AWS's default is
 * 185 retries over 24 hours: a stand-up started hours late) and no DeadLetterConfig (a run that cannot be
 * delivered is lost).
 *
 * Every entry is checked first; all problems are reported together, each naming the entry and the field.
 * The pure functions (parseSchedules, validateSchedules, buildScheduleResources) are exported for the tests.
 *
 * CommonJS on purpose: osls loads `${file(x.cjs)}` with require().
 */

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const facts = require('../lib/facts.json');
const { requireLib } = require('./core.cjs');

const SCHEDULES_FILE = path.join(__dirname, 'schedules.yml');
const DISPLAY_FILE = 'infra/schedules.yml';

/**
 * Scheduler retries a failed delivery to Lambda (throttling, service errors) this many times... (lib/facts.json: the
 * schedules API's schedules ask for the same).
 */
const SCHEDULER_MAXIMUM_RETRY_ATTEMPTS = facts.scheduleDelivery.maximumRetryAttempts;

/** Logical ids of resources declared in serverless.yml and infra/*.yml. */
const REFS = {
  function: 'ScheduleLambdaFunction',
  role: 'SchedulerExecutionRole',
  deadLetterQueue: 'DeadLetterQueue',
  group: 'ScheduleGroup',
};

const ENTRY_KEYS = ['name', 'description', 'schedule', 'timezone', 'enabled', 'correlation_id', 'request'];

/** What Scheduler puts in the target input at each run (its context attributes). */
const SCHEDULER_PLACEHOLDERS = {
  scheduledTime: '<aws.scheduler.scheduled-time>',
  executionId: '<aws.scheduler.execution-id>',
};

/**
 * An entry of schedules.yml, once validateSchedules has accepted it.
 * @typedef {object} ScheduleEntry
 * @property {string} name
 * @property {string} [description]
 * @property {string} schedule cron(...), rate(...) or at(...)
 * @property {string} timezone IANA time zone
 * @property {boolean} [enabled] false: DISABLED
 * @property {string} [correlation_id] the producer's id, echoed in the function's logs and outcome events
 * @property {Record<string, unknown>} request StartConference fields
 */

/**
 * The stage's rule parameters: an enabled entry needs a rule_id or a defaultRuleId, within allowedRuleIds
 * (checkRules: false skips that, for the local stage).
 * @typedef {object} RuleOptions
 * @property {number} [defaultRuleId]
 * @property {number[]} [allowedRuleIds]
 * @property {boolean} [checkRules]
 */

/**
 * @typedef {object} ResourceSettings
 * @property {number} maxEventAgeSeconds the lateness limit (scheduleMaxLatenessSeconds)
 */

/** @typedef {{ Type: 'AWS::Scheduler::Schedule', Properties: Record<string, unknown> }} ScheduleResource */

/** @typedef {import('./params.cjs').ResolverContext} ResolverContext */

class ScheduleConfigError extends Error {
  /**
   * @param {string[]} problems
   * @param {string} [fileName] as shown in the message
   */
  constructor(problems, fileName = DISPLAY_FILE) {
    super(
      `${fileName}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'ScheduleConfigError';
    this.problems = problems;
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The value for a message: its type, and itself when it is a scalar.
 * @param {unknown} value
 * @returns {string}
 */
function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * `${` would be taken for a Serverless variable when the resources are resolved.
 * @param {string} text
 * @returns {boolean}
 */
function hasVariableSyntax(text) {
  return text.includes('${');
}

const CRON_FIELD = /^[0-9A-Za-z*?,/#L W-]+$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const TIMEZONE = /^(?:UTC|[A-Za-z]+(?:[_-][A-Za-z]+)*(?:\/[A-Za-z0-9]+(?:[_+-][A-Za-z0-9]+)*){0,2})$/;

/**
 * @param {unknown} expression
 * @returns {string | undefined} the problem, to follow "schedule "
 */
function checkExpression(expression) {
  if (typeof expression !== 'string' || expression.trim() === '') {
    return `must be a cron(...), rate(...) or at(...) expression, got ${describe(expression)}`;
  }
  const text = expression.trim();
  if (text.startsWith('cron(')) {
    if (!text.endsWith(')')) return `"${text}" is missing its closing parenthesis`;
    const fields = text.slice(5, -1).trim().split(/\s+/);
    if (fields.length !== 6) {
      return `"${text}" must have 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
    }
    const bad = fields.find((field) => !CRON_FIELD.test(field));
    if (bad !== undefined) return `"${text}" has an invalid field "${bad}"`;
    if ((fields[2] === '?') === (fields[4] === '?')) {
      return `"${text}": exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?"`;
    }
    return undefined;
  }
  if (text.startsWith('rate(')) {
    const match = RATE.exec(text);
    if (!match) return `"${text}" must look like rate(5 minutes), rate(1 hour) or rate(2 days)`;
    const value = Number(match[1]);
    if (value < 1) return `"${text}": the rate must be at least 1`;
    const singular = !match[2].endsWith('s');
    if (value === 1 && !singular) return `"${text}": write rate(1 ${match[2].slice(0, -1)})`;
    if (value !== 1 && singular) return `"${text}": write rate(${value} ${match[2]}s)`;
    return undefined;
  }
  if (text.startsWith('at(')) {
    const match = AT.exec(text);
    if (!match) return `"${text}" must look like at(2030-01-15T14:00:00)`;
    const [, y, mo, d, h, mi, s] = match.map(Number);
    const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
    if (
      date.getUTCFullYear() !== y ||
      date.getUTCMonth() !== mo - 1 ||
      date.getUTCDate() !== d ||
      date.getUTCHours() !== h ||
      date.getUTCMinutes() !== mi ||
      date.getUTCSeconds() !== s
    ) {
      return `"${text}" is not a valid date and time`;
    }
    return undefined;
  }
  return `"${text}" must start with cron(, rate( or at(`;
}

/**
 * @param {unknown} timezone
 * @returns {string | undefined} the problem, to follow "timezone "
 */
function checkTimezone(timezone) {
  if (typeof timezone !== 'string' || timezone.trim() === '') {
    return `is required: an IANA time zone such as Europe/Berlin or UTC, got ${describe(timezone)}`;
  }
  if (!TIMEZONE.test(timezone)) {
    return `"${timezone}" is not an IANA time zone name (Area/Location, e.g. Europe/Berlin, or UTC)`;
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return `"${timezone}" is not a known time zone (e.g. Europe/Berlin, America/New_York, UTC)`;
  }
  return undefined;
}

/**
 * Checks one request; returns problems as "request.<field> ..." strings. The request's own rules are lib's
 * (the ones every trigger applies when it fires); what only a deploy knows is added here: the stage's
 * default and allowed rules, and no "${" (it would be read as a Serverless variable).
 * options.defaultRuleId / allowedRuleIds: the stage parameters (rule_id may be omitted when a default exists).
 * @param {unknown} request
 * @param {RuleOptions} options
 * @param {boolean} enabled whether the entry is enabled (only then are its rules checked)
 * @returns {string[]}
 */
function checkRequest(request, options, enabled) {
  if (!isPlainObject(request)) return [`request must be a mapping of StartConference fields, got ${describe(request)}`];
  const { validateConferenceRequest } = /** @type {typeof import('../lib/validation.js')} */ (requireLib('validation'));
  const problems = [];
  try {
    validateConferenceRequest(request);
  } catch (error) {
    // requireLib's bundle has its own ValidationError class: recognised by its code, not instanceof.
    const failure = /** @type {{ code?: unknown, details: readonly import('../lib/errors.js').FieldProblem[] }} */ (
      error
    );
    if (failure?.code !== 'invalid_request') throw error;
    // A missing rule_id is judged below, against the stage's parameters.
    for (const detail of failure.details) {
      if (!(detail.field === 'rule_id' && detail.rule === 'required')) problems.push(`request.${detail.message}`);
    }
  }
  if (hasVariableSyntax(JSON.stringify(request))) problems.push('request must not contain "${"');
  if (enabled && problems.length === 0 && options.checkRules !== false) {
    const ruleId = request.rule_id === undefined ? options.defaultRuleId : Number(request.rule_id);
    if (ruleId === undefined) {
      problems.push(
        'request.rule_id is missing and the stage has no defaultRuleId parameter: add rule_id, ' +
          'deploy with --param="defaultRuleId=<rule id>", or set enabled: false',
      );
    } else if (
      options.allowedRuleIds &&
      options.allowedRuleIds.length > 0 &&
      !options.allowedRuleIds.includes(ruleId)
    ) {
      problems.push(
        `request.rule_id ${ruleId} is not in the stage's allowedRuleIds (${options.allowedRuleIds.join(', ')})`,
      );
    }
  }
  return problems;
}

/**
 * Checks a correlation_id as the schedule function will (lib's validateCorrelationId); returns problems.
 * @param {unknown} value
 * @returns {string[]}
 */
function checkCorrelationId(value) {
  const { validateCorrelationId } = /** @type {typeof import('../lib/validation.js')} */ (requireLib('validation'));
  try {
    validateCorrelationId(value);
  } catch (error) {
    // requireLib's bundle has its own ValidationError class: recognised by its code, not instanceof.
    const failure = /** @type {{ code?: unknown, details: readonly import('../lib/errors.js').FieldProblem[] }} */ (
      error
    );
    if (failure?.code !== 'invalid_request') throw error;
    const got =
      typeof value === 'string' && value.length > 40 ? `a string of ${value.length} characters` : describe(value);
    return failure.details.map((detail) => `${detail.message.replace(/\.$/, '')}, got ${got}`);
  }
  return typeof value === 'string' && hasVariableSyntax(value) ? ['correlation_id must not contain "${"'] : [];
}

/**
 * The input of an entry's schedule: the wrapper the schedule function reads (lib/schedule.ts), with this run's
 * scheduled time and execution id (Scheduler's placeholders in the deployed schedule; real values locally).
 * @param {ScheduleEntry} entry
 * @param {{ scheduledTime: string, executionId: string }} run
 * @returns {Record<string, unknown>}
 */
function scheduleInput(entry, run = SCHEDULER_PLACEHOLDERS) {
  return {
    request: entry.request,
    scheduled_time: run.scheduledTime,
    execution_id: run.executionId,
    schedule_name: entry.name,
    ...(entry.correlation_id === undefined ? {} : { correlation_id: entry.correlation_id }),
  };
}

/**
 * Checks the parsed document; returns a list of problems (empty when valid).
 * @param {unknown} doc the parsed schedules.yml
 * @param {RuleOptions} [options] the stage's rule parameters
 * @returns {string[]}
 */
function validateSchedules(doc, options = {}) {
  if (doc === null || doc === undefined) return [];
  if (!isPlainObject(doc)) return [`the file must be a mapping with a "schedules" list, got ${describe(doc)}`];
  const problems = [];
  for (const key of Object.keys(doc)) {
    if (key !== 'schedules') problems.push(`unknown top-level key "${key}" (only "schedules" is allowed)`);
  }
  const list = doc.schedules;
  if (list === null || list === undefined) return problems;
  if (!Array.isArray(list)) return [...problems, `"schedules" must be a list, got ${describe(list)}`];

  /** @type {Map<string, number>} name -> index */
  const names = new Map();
  /** @type {Map<string, string>} logical id -> name */
  const logicalIds = new Map();
  list.forEach((/** @type {unknown} */ entry, index) => {
    const label =
      isPlainObject(entry) && typeof entry.name === 'string' && entry.name !== ''
        ? `schedule #${index + 1} "${entry.name}"`
        : `schedule #${index + 1}`;
    const add = (/** @type {string} */ message) => problems.push(`${label}: ${message}`);
    if (!isPlainObject(entry)) {
      add(`must be a mapping (name, schedule, timezone, request, ...), got ${describe(entry)}`);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!ENTRY_KEYS.includes(key)) add(`unknown key "${key}" (allowed: ${ENTRY_KEYS.join(', ')})`);
    }
    const { name } = entry;
    if (name === undefined) {
      add('name is required');
    } else if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(name)) {
      add(`name must be 1-64 letters, digits, "-" or "_", starting with a letter or digit, got ${describe(name)}`);
    } else if (names.has(name)) {
      add(`name is already used by schedule #${/** @type {number} */ (names.get(name)) + 1}`);
    } else {
      names.set(name, index);
      const id = logicalId(name);
      if (logicalIds.has(id)) {
        add(`name is too similar to "${logicalIds.get(id)}" (both become ${id}); rename one`);
      } else {
        logicalIds.set(id, name);
      }
    }
    if (entry.description !== undefined) {
      if (typeof entry.description !== 'string')
        add(`description must be a string, got ${describe(entry.description)}`);
      else if (entry.description.length > 512) add('description must be at most 512 characters');
      else if (hasVariableSyntax(entry.description)) add('description must not contain "${"');
    }
    if (entry.schedule === undefined) {
      add('schedule is required (cron(...), rate(...) or at(...))');
    } else {
      const problem = checkExpression(entry.schedule);
      if (problem) add(`schedule ${problem}`);
    }
    if (entry.correlation_id !== undefined) {
      for (const problem of checkCorrelationId(entry.correlation_id)) add(problem);
    }
    const tzProblem = checkTimezone(entry.timezone);
    if (tzProblem) add(`timezone ${tzProblem}`);
    if (entry.enabled !== undefined && typeof entry.enabled !== 'boolean') {
      add(`enabled must be true or false, got ${describe(entry.enabled)}`);
    }
    if (entry.request === undefined) {
      add('request is required (at least conference_name)');
    } else {
      for (const problem of checkRequest(entry.request, options, entry.enabled !== false)) add(problem);
    }
  });
  return problems;
}

/**
 * Schedule<PascalCaseName>: a CloudFormation logical id (alphanumeric).
 * @param {string} name
 * @returns {string}
 */
function logicalId(name) {
  return `Schedule${name
    .split(/[-_]+/)
    .filter((part) => part !== '')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('')}`;
}

/**
 * Parses schedules.yml text and validates it; throws ScheduleConfigError listing every problem.
 * @param {string} text
 * @param {RuleOptions} [options]
 * @param {string} [fileName] as shown in messages
 * @returns {ScheduleEntry[]}
 */
function parseSchedules(text, options = {}, fileName = DISPLAY_FILE) {
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ScheduleConfigError(
      doc.errors.map((error) => `YAML: ${error.message.split('\n')[0]}`),
      fileName,
    );
  }
  /** @type {unknown} */
  const value = doc.toJS();
  const problems = validateSchedules(value, options);
  if (problems.length > 0) throw new ScheduleConfigError(problems, fileName);
  // Valid: empty (null), or a mapping whose schedules list, if any, holds valid entries.
  return isPlainObject(value) && Array.isArray(value.schedules) ? value.schedules : [];
}

/**
 * The CloudFormation resources of validated entries.
 * @param {ScheduleEntry[]} entries
 * @param {ResourceSettings} settings
 * @returns {Record<string, ScheduleResource>} by logical id
 */
function buildScheduleResources(entries, settings) {
  const maxEventAge = settings.maxEventAgeSeconds;
  const { min, max } = facts.settings.SCHEDULE_MAX_LATENESS_SECONDS;
  if (!Number.isInteger(maxEventAge) || maxEventAge < min || maxEventAge > max) {
    throw new Error(`maxEventAgeSeconds must be an integer between ${min} and ${max}, got ${maxEventAge}`);
  }
  /** @type {Record<string, ScheduleResource>} */
  const resources = {};
  for (const entry of entries) {
    /** @type {Record<string, unknown>} */
    const properties = {
      Name: entry.name,
      GroupName: { Ref: REFS.group },
      ScheduleExpression: entry.schedule.trim(),
      ScheduleExpressionTimezone: entry.timezone,
      State: entry.enabled === false ? 'DISABLED' : 'ENABLED',
      // OFF: start at the scheduled minute, not somewhere in a window after it.
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [REFS.function, 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [REFS.role, 'Arn'] },
        // Passed verbatim to the function; Scheduler fills in the two placeholders at each run.
        Input: JSON.stringify(scheduleInput(entry)),
        // Delivery retries (Lambda throttling or unavailable) stop at the lateness limit: a conference that would
        // start later than that is not wanted. Undeliverable runs go to the dead-letter queue.
        RetryPolicy: {
          MaximumEventAgeInSeconds: maxEventAge,
          MaximumRetryAttempts: SCHEDULER_MAXIMUM_RETRY_ATTEMPTS,
        },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [REFS.deadLetterQueue, 'Arn'] } },
      },
    };
    if (entry.description !== undefined) properties.Description = entry.description;
    resources[logicalId(entry.name)] = { Type: 'AWS::Scheduler::Schedule', Properties: properties };
  }
  return resources;
}

/**
 * @param {unknown} value a resolved parameter
 * @returns {string | undefined} undefined when unset or blank
 */
function optionalParam(value) {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

module.exports = {
  SCHEDULES_FILE,
  SCHEDULER_MAXIMUM_RETRY_ATTEMPTS,
  ScheduleConfigError,
  validateSchedules,
  parseSchedules,
  buildScheduleResources,
  scheduleInput,
  logicalId,

  /**
   * osls hook: `${file(infra/schedules.cjs):resources}`.
   * @param {ResolverContext} context
   */
  async resources({ resolveVariable }) {
    const params = require('./params.cjs');
    const context = { resolveVariable };
    // The local stage (serverless offline) runs no schedules: check their shape, not the stage's rules.
    const checkRules = String(await resolveVariable('sls:stage')) !== params.LOCAL_STAGE;
    const defaultRuleId = optionalParam(await params.defaultRuleId(context));
    const allowed = optionalParam(await params.allowedRuleIds(context));
    const entries = parseSchedules(fs.readFileSync(SCHEDULES_FILE, 'utf8'), {
      defaultRuleId: defaultRuleId === undefined ? undefined : Number(defaultRuleId),
      allowedRuleIds: allowed === undefined ? [] : allowed.split(',').map(Number),
      checkRules,
    });
    const maxEventAgeSeconds = await params.scheduleMaxLatenessSeconds(context);
    return { Resources: buildScheduleResources(entries, { maxEventAgeSeconds }) };
  },
};
