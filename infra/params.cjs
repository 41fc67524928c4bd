// @ts-check
'use strict';
/**
 * Stage parameters, checked at package time.
 *
 * serverless.yml reads every parameter through this file (`${file(infra/params.cjs):<name>}`) so that a
 * wrong value stops `serverless package|deploy` with a message naming the parameter, instead of producing a
 * stack that fails at deploy time or, worse, at the first request. Defaults live in serverless.yml under
 * `params:`; values come from `--param="name=value"` on the command line (or a stage block in `params:`).
 *
 * CommonJS on purpose: osls loads `${file(x.cjs)}` with require().
 */

const facts = require('../lib/facts.json');

/**
 * What osls passes to a `${file(infra/params.cjs):<name>}` function (the part used here). resolveVariable takes a
 * variable address without `${}` (`sls:stage`, `param:name, null`) and resolves to its value.
 * @typedef {{ resolveVariable: (address: string) => Promise<unknown> }} ResolverContext
 */

/** The only stage whose HTTP route may be unauthenticated: serverless-offline on 127.0.0.1. */
const LOCAL_STAGE = 'local';
const AUTH_MODES = ['iam', 'jwt', 'none'];
/** CloudWatch Logs accepts only these retention periods. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const EVENT_BUS_NAME = /^[.\-_A-Za-z0-9]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
/** An OAuth scope as a JWT carries it (`scope` claim items): printable ASCII without spaces or quotes. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

/**
 * The schedules API's routes (functions/schedules.ts), by route group: a JWT scope and a throttle per group, so
 * that "may read schedules" and "may change schedules" are granted apart, and a dashboard polling the GETs
 * cannot use up what the changes (or POST /conferences) need.
 */
/** @type {{ method: string, path: string, group: 'read' | 'write' }[]} */
const SCHEDULES_ROUTES = [
  { method: 'GET', path: '/schedules', group: 'read' },
  { method: 'GET', path: '/schedules/{name}', group: 'read' },
  { method: 'POST', path: '/schedules', group: 'write' },
  { method: 'PUT', path: '/schedules/{name}', group: 'write' },
  { method: 'DELETE', path: '/schedules/{name}', group: 'write' },
];

/**
 * The lifecycle API's routes (functions/lifecycle.ts), by route group as for the schedules: "may look conferences
 * up" and "may end them or send them commands" are granted apart (JWT scopes), and throttled apart, so that a
 * dashboard polling the GETs cannot use up what an end or a command needs.
 * @type {{ method: string, path: string, group: 'read' | 'write' }[]}
 */
const LIFECYCLE_ROUTES = [
  { method: 'GET', path: '/conferences', group: 'read' },
  { method: 'GET', path: '/conferences/{name}', group: 'read' },
  { method: 'DELETE', path: '/conferences/{name}', group: 'write' },
  { method: 'POST', path: '/conferences/{name}/commands', group: 'write' },
];

/** Per API: its routes, and the prefix of its scope and throttling parameters. */
const ROUTE_GROUPS = {
  schedules: {
    routes: SCHEDULES_ROUTES,
    scopesParam: 'jwtSchedules',
    throttlingParam: 'schedules',
    scopePrefix: 'schedules',
  },
  lifecycle: {
    routes: LIFECYCLE_ROUTES,
    scopesParam: 'jwtConferences',
    throttlingParam: 'lifecycle',
    scopePrefix: 'conferences',
  },
};

class ParameterError extends Error {
  /**
   * @param {string} name the parameter
   * @param {string} message what is wrong with it, completing "Parameter "<name>" ..."
   */
  constructor(name, message) {
    super(`Parameter "${name}" ${message} (set it with --param="${name}=...")`);
    this.name = 'ParameterError';
  }
}

/**
 * Reads `${param:name}`; an unset parameter (no default, no --param) is undefined, '' counts as unset.
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {string} name
 * @returns {Promise<string | undefined>}
 */
async function param(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}, null`);
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/**
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @returns {Promise<string>}
 */
async function stage(resolveVariable) {
  return String(await resolveVariable('sls:stage'));
}

/**
 * @param {string} name the parameter, for the message
 * @param {string} raw its value
 * @param {number} min
 * @param {number} max
 * @returns {number}
 */
function integer(name, raw, min, max) {
  if (!/^\d+$/.test(raw)) throw new ParameterError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ParameterError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/**
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {string} name
 * @param {number} min
 * @param {number} max
 * @returns {Promise<number>}
 */
async function requiredInteger(resolveVariable, name, min, max) {
  const raw = await param(resolveVariable, name);
  if (raw === undefined) throw new ParameterError(name, 'is required');
  return integer(name, raw, min, max);
}

/**
 * A parameter that sets one of the functions' settings: its default and range are the setting's, from
 * lib/facts.json.
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {string} name
 * @param {keyof typeof facts.settings} setting
 * @returns {Promise<number>}
 */
async function settingParam(resolveVariable, name, setting) {
  const { default: fallback, min, max } = facts.settings[setting];
  const raw = await param(resolveVariable, name);
  return raw === undefined ? fallback : integer(name, raw, min, max);
}

/**
 * The items of a list parameter (separated by commas, semicolons or white space); unset is an empty list.
 * @param {string | undefined} raw
 * @returns {string[]}
 */
function list(raw) {
  return raw === undefined
    ? []
    : raw
        .split(/[\s,;]+/)
        .map((part) => part.trim())
        .filter((part) => part !== '');
}

/**
 * @param {string} name the parameter, for the message
 * @param {string | undefined} raw a list of rule ids
 * @returns {number[]}
 */
function ruleIds(name, raw) {
  return list(raw).map((part) => {
    if (!/^\d{1,16}$/.test(part) || Number(part) < 1 || !Number.isSafeInteger(Number(part))) {
      throw new ParameterError(name, `contains "${part}", which is not a positive integer rule id`);
    }
    return Number(part);
  });
}

/**
 * Is this command one that builds a template for AWS? `serverless offline --stage local` is the only use of an
 * unauthenticated route; packaging or deploying it is refused, so an open route can never reach AWS.
 */
function isPackagingCommand() {
  const args = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  return args.includes('deploy') || args.includes('package');
}

/**
 * @param {ResolverContext} context
 * @returns {Promise<string>} iam, jwt or none
 */
async function authMode({ resolveVariable }) {
  if ((await stage(resolveVariable)) === LOCAL_STAGE && isPackagingCommand()) {
    // Whatever its authMode: its parameters (http:// API URL, loopback queue) are for 127.0.0.1 only.
    throw new Error(
      `The "${LOCAL_STAGE}" stage is for serverless offline only: it cannot be packaged or deployed. ` +
        'Use another stage name for AWS.',
    );
  }
  const mode = (await param(resolveVariable, 'authMode')) ?? 'iam';
  if (!AUTH_MODES.includes(mode)) throw new ParameterError('authMode', `must be one of iam, jwt, none; got "${mode}"`);
  if (mode === 'none') {
    const current = await stage(resolveVariable);
    if (current !== LOCAL_STAGE) {
      throw new ParameterError(
        'authMode',
        `"none" is allowed only on the "${LOCAL_STAGE}" stage (serverless offline on 127.0.0.1), not on "${current}"`,
      );
    }
  }
  if (mode === 'jwt') {
    const issuer = await param(resolveVariable, 'jwtIssuerUrl');
    if (issuer === undefined) throw new ParameterError('jwtIssuerUrl', 'is required when authMode=jwt');
    let url;
    try {
      url = new URL(issuer);
    } catch {
      throw new ParameterError('jwtIssuerUrl', `is not a URL: "${issuer}"`);
    }
    if (url.protocol !== 'https:') throw new ParameterError('jwtIssuerUrl', `must be an https URL, got "${issuer}"`);
    if (list(await param(resolveVariable, 'jwtAudience')).length === 0) {
      throw new ParameterError('jwtAudience', 'is required when authMode=jwt (one or more audiences, comma-separated)');
    }
  }
  return mode;
}

/**
 * The JWT scopes a route group asks for (parameters jwtSchedules{Read,Write}Scopes, jwtConferences{Read,Write}Scopes;
 * defaults `schedules/read` ..., `conferences/read` ...).
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {keyof typeof ROUTE_GROUPS} api
 * @param {'read' | 'write'} group
 * @returns {Promise<string[]>}
 */
async function groupScopes(resolveVariable, api, group) {
  const { scopesParam, scopePrefix } = ROUTE_GROUPS[api];
  const name = `${scopesParam}${group === 'read' ? 'Read' : 'Write'}Scopes`;
  const scopes = list((await param(resolveVariable, name)) ?? `${scopePrefix}/${group}`);
  if (scopes.length === 0) throw new ParameterError(name, 'must name at least one scope');
  const bad = scopes.find((scope) => !SCOPE.test(scope));
  if (bad !== undefined) throw new ParameterError(name, `contains "${bad}", which is not an OAuth scope`);
  return scopes;
}

/**
 * The httpApi events of an API's routes, authorized like POST /conferences (IAM, or the JWT authorizer with the
 * route group's scopes; none only on the local stage).
 * @param {ResolverContext} context
 * @param {keyof typeof ROUTE_GROUPS} api
 */
async function routeEvents(context, api) {
  const mode = await authMode(context);
  const scopes = {
    read: mode === 'jwt' ? await groupScopes(context.resolveVariable, api, 'read') : [],
    write: mode === 'jwt' ? await groupScopes(context.resolveVariable, api, 'write') : [],
  };
  return ROUTE_GROUPS[api].routes.map(({ method, path, group }) => {
    const route = { method, path };
    if (mode === 'iam') return { httpApi: { ...route, authorizer: { type: 'aws_iam' } } };
    if (mode === 'jwt') return { httpApi: { ...route, authorizer: { name: 'jwt', scopes: scopes[group] } } };
    return { httpApi: route };
  });
}

/**
 * An API's RouteSettings: a throttle per route, by route group (parameters
 * <api>{Read,Write}Throttling{Burst,Rate}Limit).
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {keyof typeof ROUTE_GROUPS} api
 */
async function routeSettings(resolveVariable, api) {
  const { routes, throttlingParam } = ROUTE_GROUPS[api];
  /** @type {Record<string, { burst: number, rate: number }>} */
  const limits = {};
  for (const group of ['read', 'write']) {
    const Group = group[0].toUpperCase() + group.slice(1);
    limits[group] = {
      burst: await requiredInteger(resolveVariable, `${throttlingParam}${Group}ThrottlingBurstLimit`, 1, 5000),
      rate: await requiredInteger(resolveVariable, `${throttlingParam}${Group}ThrottlingRateLimit`, 1, 10000),
    };
  }
  return Object.fromEntries(
    routes.map(({ method, path, group }) => [
      `${method} ${path}`,
      {
        DetailedMetricsEnabled: false,
        ThrottlingBurstLimit: limits[group].burst,
        ThrottlingRateLimit: limits[group].rate,
      },
    ]),
  );
}

/**
 * On a deployed stage, a CloudFormation value; on the local stage (serverless offline, no CloudFormation), the
 * local parameter or a placeholder of the same shape.
 * @param {ResolverContext['resolveVariable']} resolveVariable
 * @param {unknown} deployed
 * @param {string} localParam
 * @param {(stage: string, region: string) => string} placeholder
 */
async function deployedOrLocal(resolveVariable, deployed, localParam, placeholder) {
  const current = await stage(resolveVariable);
  if (current !== LOCAL_STAGE) return deployed;
  return (
    (await param(resolveVariable, localParam)) ??
    placeholder(current, String(await resolveVariable('self:provider.region')))
  );
}

module.exports = {
  LOCAL_STAGE,
  SCHEDULES_ROUTES,
  LIFECYCLE_ROUTES,

  authMode,

  /**
   * The httpApi event of the http function: POST /conferences with its authorizer. The event is built here as a
   * whole because "no authorizer" (authMode=none, local stage under serverless offline only) must mean no
   * `authorizer` key at all.
   * @param {ResolverContext} context
   */
  async conferencesRoute(context) {
    const mode = await authMode(context);
    const route = { method: 'POST', path: '/conferences' };
    if (mode === 'iam') return { ...route, authorizer: { type: 'aws_iam' } };
    if (mode === 'jwt') return { ...route, authorizer: { name: 'jwt' } };
    return route;
  },

  /**
   * The httpApi events of the schedules function: every route of SCHEDULES_ROUTES with the authorization of POST
   * /conferences (IAM, or the JWT authorizer with the route group's scopes; none only on the local stage).
   * @param {ResolverContext} context
   */
  async schedulesEvents(context) {
    return routeEvents(context, 'schedules');
  },

  /**
   * The schedules routes' RouteSettings: a throttle per route, by route group (parameters
   * schedules{Read,Write}Throttling{Burst,Rate}Limit). POST /conferences keeps the stage default.
   * @param {ResolverContext} context
   */
  async schedulesRouteSettings({ resolveVariable }) {
    return routeSettings(resolveVariable, 'schedules');
  },

  /**
   * The httpApi events of the lifecycle function: every route of LIFECYCLE_ROUTES, authorized like the others
   * (JWT scopes jwtConferences{Read,Write}Scopes, default conferences/read and conferences/write).
   * @param {ResolverContext} context
   */
  async lifecycleEvents(context) {
    return routeEvents(context, 'lifecycle');
  },

  /**
   * The lifecycle routes' RouteSettings (parameters lifecycle{Read,Write}Throttling{Burst,Rate}Limit).
   * @param {ResolverContext} context
   */
  async lifecycleRouteSettings({ resolveVariable }) {
    return routeSettings(resolveVariable, 'lifecycle');
  },

  /**
   * The HTTP API stage's RouteSettings: the schedules routes' and the lifecycle routes' own throttles.
   * POST /conferences keeps the stage default.
   * @param {ResolverContext} context
   */
  async httpApiRouteSettings({ resolveVariable }) {
    return {
      ...(await routeSettings(resolveVariable, 'schedules')),
      ...(await routeSettings(resolveVariable, 'lifecycle')),
    };
  },

  /**
   * REFERENCE_SCENARIO_RULE_IDS: the rules that run the reference scenario (voximplant/), the only sessions voxconf
   * asks for their status and ends; a comma list of rule ids, may be empty.
   * @param {ResolverContext} context
   */
  async referenceScenarioRuleIds({ resolveVariable }) {
    const name = 'referenceScenarioRuleIds';
    return ruleIds(name, await param(resolveVariable, name)).join(',');
  },

  /**
   * SESSION_REQUEST_TIMEOUT_MS: the bound of one request to a media session URL (lifecycle function).
   * @param {ResolverContext} context
   */
  async sessionRequestTimeoutMs({ resolveVariable }) {
    return settingParam(resolveVariable, 'sessionRequestTimeoutMs', 'SESSION_REQUEST_TIMEOUT_MS');
  },

  /**
   * SCHEDULES_DEPLOY_GROUP: the group of infra/schedules.yml.
   * @param {ResolverContext} context
   */
  async schedulesDeployGroup({ resolveVariable }) {
    return deployedOrLocal(
      resolveVariable,
      { Ref: 'ScheduleGroup' },
      'localSchedulesDeployGroup',
      (s) => `voxconf-${s}`,
    );
  },

  /**
   * SCHEDULES_API_GROUP: the group the schedules API owns.
   * @param {ResolverContext} context
   */
  async schedulesApiGroup({ resolveVariable }) {
    return deployedOrLocal(
      resolveVariable,
      { Ref: 'ApiScheduleGroup' },
      'localSchedulesApiGroup',
      (s) => `voxconf-${s}${facts.schedulesApi.apiGroupSuffix}`,
    );
  },

  /**
   * SCHEDULES_TARGET_ARN: the schedule function, every schedule's target.
   * @param {ResolverContext} context
   */
  async schedulesTargetArn({ resolveVariable }) {
    return deployedOrLocal(
      resolveVariable,
      { 'Fn::GetAtt': ['ScheduleLambdaFunction', 'Arn'] },
      'localSchedulesTargetArn',
      (s, region) => `arn:aws:lambda:${region}:000000000000:function:voxconf-${s}-schedule`,
    );
  },

  /**
   * SCHEDULES_ROLE_ARN: the API group's execution role (Scheduler invokes the target and dead-letters with it).
   * @param {ResolverContext} context
   */
  async schedulesRoleArn({ resolveVariable }) {
    return deployedOrLocal(
      resolveVariable,
      { 'Fn::GetAtt': ['ApiSchedulerExecutionRole', 'Arn'] },
      'localSchedulesRoleArn',
      (s) => `arn:aws:iam::000000000000:role/voxconf-${s}-scheduler-api`,
    );
  },

  /**
   * SCHEDULES_DEAD_LETTER_ARN: where Scheduler puts a run it could not deliver.
   * @param {ResolverContext} context
   */
  async schedulesDeadLetterArn({ resolveVariable }) {
    return deployedOrLocal(
      resolveVariable,
      { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] },
      'localDeadLetterQueueArn',
      (s, region) => `arn:aws:sqs:${region}:000000000000:voxconf-${s}-dead-letter`,
    );
  },

  /**
   * SCHEDULES_MAX_COUNT: voxconf's cap on schedules created through the API.
   * @param {ResolverContext} context
   */
  async schedulesMaxCount({ resolveVariable }) {
    return settingParam(resolveVariable, 'schedulesMaxCount', 'SCHEDULES_MAX_COUNT');
  },

  /**
   * SCHEDULES_HORIZON_DAYS: how far ahead an `at` may be.
   * @param {ResolverContext} context
   */
  async schedulesHorizonDays({ resolveVariable }) {
    return settingParam(resolveVariable, 'schedulesHorizonDays', 'SCHEDULES_HORIZON_DAYS');
  },

  /**
   * SCHEDULES_MIN_INTERVAL_MINUTES: how often a recurring schedule may fire at most.
   * @param {ResolverContext} context
   */
  async schedulesMinIntervalMinutes({ resolveVariable }) {
    return settingParam(resolveVariable, 'schedulesMinIntervalMinutes', 'SCHEDULES_MIN_INTERVAL_MINUTES');
  },

  /**
   * provider.httpApi.authorizers: the JWT authorizer exists only when it is used.
   * @param {ResolverContext} context
   */
  async httpApiAuthorizers(context) {
    const mode = await authMode(context);
    if (mode !== 'jwt') return {};
    const { resolveVariable } = context;
    return {
      jwt: {
        type: 'jwt',
        identitySource: '$request.header.Authorization',
        issuerUrl: await param(resolveVariable, 'jwtIssuerUrl'),
        audience: list(await param(resolveVariable, 'jwtAudience')),
      },
    };
  },

  /**
   * provider.httpApi.cors: off unless corsAllowedOrigins lists origins.
   * @param {ResolverContext} context
   */
  async cors({ resolveVariable }) {
    const origins = list(await param(resolveVariable, 'corsAllowedOrigins'));
    if (origins.length === 0) return false;
    for (const origin of origins) {
      if (origin === '*') {
        throw new ParameterError('corsAllowedOrigins', 'must list origins; "*" is not accepted');
      }
      let url;
      try {
        url = new URL(origin);
      } catch {
        throw new ParameterError(
          'corsAllowedOrigins',
          `contains "${origin}", which is not an origin (https://host[:port])`,
        );
      }
      if (url.origin !== origin) {
        throw new ParameterError('corsAllowedOrigins', `contains "${origin}"; write just the origin: "${url.origin}"`);
      }
    }
    return {
      allowedOrigins: origins,
      // SigV4 (authMode=iam) and bearer tokens (authMode=jwt) both travel in headers; a browser booking page
      // sends an Idempotency-Key with its creates.
      allowedHeaders: [
        'content-type',
        'authorization',
        'x-amz-date',
        'x-amz-security-token',
        'x-amz-content-sha256',
        'idempotency-key',
      ],
      // POST /conferences; the schedules routes.
      allowedMethods: ['GET', 'POST', 'PUT', 'DELETE'],
      // 503 answers carry Retry-After, a create its Location; let browser callers read them.
      exposedResponseHeaders: ['retry-after', 'location'],
      maxAge: 600,
    };
  },

  /** @param {ResolverContext} context */
  async credentialsSecretArn({ resolveVariable }) {
    const arn = await param(resolveVariable, 'credentialsSecretArn');
    if (arn === undefined) {
      throw new ParameterError(
        'credentialsSecretArn',
        'is required: the full ARN of the Secrets Manager secret that holds credentials.json ' +
          '(aws secretsmanager describe-secret --secret-id voxconf/credentials --query ARN)',
      );
    }
    if (!SECRET_ARN.test(arn)) {
      throw new ParameterError(
        'credentialsSecretArn',
        `must be a complete secret ARN ending in the 6-character suffix ` +
          `(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf); a secret name is not accepted; got "${arn}"`,
      );
    }
    // The functions read the secret through their own region's endpoint (and the KMS condition names that
    // region): a secret elsewhere would only fail at the first request, so refuse it here.
    const region = String(await resolveVariable('self:provider.region'));
    const secretRegion = arn.split(':')[3];
    // The local stage reads a loopback stand-in, whatever region its placeholder ARN names.
    if (secretRegion !== region && (await stage(resolveVariable)) !== LOCAL_STAGE) {
      throw new ParameterError(
        'credentialsSecretArn',
        `is in region ${secretRegion} but the stack deploys to ${region}: create (or replicate) the secret in ${region}`,
      );
    }
    return arn;
  },

  /**
   * '' when the secret uses the AWS managed key (no kms permission needed).
   * @param {ResolverContext} context
   */
  async credentialsKmsKeyArn({ resolveVariable }) {
    const arn = await param(resolveVariable, 'credentialsKmsKeyArn');
    if (arn === undefined) return '';
    if (!KMS_KEY_ARN.test(arn)) throw new ParameterError('credentialsKmsKeyArn', `must be a KMS key ARN, got "${arn}"`);
    return arn;
  },

  /** @param {ResolverContext} context */
  async alarmTopicArn({ resolveVariable }) {
    const arn = await param(resolveVariable, 'alarmTopicArn');
    if (arn === undefined) return '';
    if (!SNS_TOPIC_ARN.test(arn)) throw new ParameterError('alarmTopicArn', `must be an SNS topic ARN, got "${arn}"`);
    return arn;
  },

  /** @param {ResolverContext} context */
  async apiUrl({ resolveVariable }) {
    const raw = (await param(resolveVariable, 'apiUrl')) ?? facts.voximplant.apiUrl;
    let url;
    try {
      url = new URL(raw);
    } catch {
      throw new ParameterError('apiUrl', `is not a URL: "${raw}"`);
    }
    const local = (await stage(resolveVariable)) === LOCAL_STAGE;
    if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) {
      throw new ParameterError('apiUrl', `must be an https URL (http only on the local stage), got "${raw}"`);
    }
    return raw.replace(/\/+$/, '');
  },

  /** @param {ResolverContext} context */
  async defaultRuleId({ resolveVariable }) {
    const ids = ruleIds('defaultRuleId', await param(resolveVariable, 'defaultRuleId'));
    if (ids.length > 1) throw new ParameterError('defaultRuleId', 'must be a single rule id');
    const allowed = ruleIds('allowedRuleIds', await param(resolveVariable, 'allowedRuleIds'));
    if (ids.length === 1 && allowed.length > 0 && !allowed.includes(ids[0])) {
      throw new ParameterError('defaultRuleId', `${ids[0]} is not in allowedRuleIds`);
    }
    return ids.length === 1 ? String(ids[0]) : '';
  },

  /** @param {ResolverContext} context */
  async allowedRuleIds({ resolveVariable }) {
    return ruleIds('allowedRuleIds', await param(resolveVariable, 'allowedRuleIds')).join(',');
  },

  /** @param {ResolverContext} context */
  async logLevel({ resolveVariable }) {
    const level = ((await param(resolveVariable, 'logLevel')) ?? 'INFO').toUpperCase();
    const levels = facts.logLevels;
    if (!levels.includes(level))
      throw new ParameterError('logLevel', `must be one of ${levels.join(', ')}; got "${level}"`);
    return level;
  },

  /** @param {ResolverContext} context */
  async logRetentionInDays({ resolveVariable }) {
    const days = await requiredInteger(resolveVariable, 'logRetentionInDays', 1, 3653);
    if (!RETENTION_DAYS.includes(days)) {
      throw new ParameterError('logRetentionInDays', `must be one of ${RETENTION_DAYS.join(', ')}; got ${days}`);
    }
    return days;
  },

  /** @param {ResolverContext} context */
  async throttlingBurstLimit({ resolveVariable }) {
    return requiredInteger(resolveVariable, 'throttlingBurstLimit', 1, 5000);
  },

  /** @param {ResolverContext} context */
  async throttlingRateLimit({ resolveVariable }) {
    return requiredInteger(resolveVariable, 'throttlingRateLimit', 1, 10000);
  },

  /**
   * Cap on concurrent queue-function instances. Each instance sends at most one StartConference at a time, and
   * Voximplant allows 200 concurrent requests per account (shared with the HTTP and schedule functions), so the
   * cap must stay well below 200. SQS event sources accept 2..1000.
   * @param {ResolverContext} context
   */
  async queueMaximumConcurrency({ resolveVariable }) {
    // 15 instances x 10 records = 150 concurrent calls: under Voximplant's 200, with room for the HTTP API.
    return requiredInteger(resolveVariable, 'queueMaximumConcurrency', 2, 15);
  },

  /**
   * Scheduled runs later than this are not started; also bounds every retry window on the schedule path.
   * @param {ResolverContext} context
   */
  async scheduleMaxLatenessSeconds({ resolveVariable }) {
    return settingParam(resolveVariable, 'scheduleMaxLatenessSeconds', 'SCHEDULE_MAX_LATENESS_SECONDS');
  },

  /**
   * EVENT_BUS_NAME: an existing bus named by the eventBusName parameter, else the stack's own `voxconf-<stage>`.
   * @param {ResolverContext} context
   */
  async eventBusName({ resolveVariable }) {
    const name = await param(resolveVariable, 'eventBusName');
    // The local stage publishes only to the local stack's EventBridge stand-in, when it names a bus.
    if (name === undefined) return (await stage(resolveVariable)) === LOCAL_STAGE ? '' : { Ref: 'EventBus' };
    if (!EVENT_BUS_NAME.test(name) || name === 'default') {
      throw new ParameterError(
        'eventBusName',
        `must name an existing custom event bus (1-256 letters, digits, ".", "-", "_"), got "${name}"`,
      );
    }
    return name;
  },

  /**
   * The bus's ARN for the functions' events:PutEvents permission.
   * @param {ResolverContext} context
   */
  async eventBusArn({ resolveVariable }) {
    const name = await param(resolveVariable, 'eventBusName');
    if (name === undefined) return { 'Fn::GetAtt': ['EventBus', 'Arn'] };
    // Fn::Join, not Fn::Sub: a returned "${...}" would be read as a Serverless variable.
    const partOf = (/** @type {string} */ pseudo) => ({ Ref: `AWS::${pseudo}` });
    return {
      'Fn::Join': [
        '',
        ['arn:', partOf('Partition'), ':events:', partOf('Region'), ':', partOf('AccountId'), `:event-bus/${name}`],
      ],
    };
  },

  /**
   * Whether the stack creates its own bus (no eventBusName parameter).
   * @param {ResolverContext} context
   */
  async createsEventBus({ resolveVariable }) {
    return (await param(resolveVariable, 'eventBusName')) === undefined;
  },

  /**
   * PUBLISH_HTTP_EVENTS: whether the http function publishes outcome events too (default false).
   * @param {ResolverContext} context
   */
  async publishHttpEvents({ resolveVariable }) {
    const raw = ((await param(resolveVariable, 'publishHttpEvents')) ?? 'false').toLowerCase();
    if (raw !== 'true' && raw !== 'false')
      throw new ParameterError('publishHttpEvents', `must be true or false, got "${raw}"`);
    return raw;
  },

  /**
   * The request queue's maxReceiveCount: its redrive policy and the queue function's QUEUE_MAX_RECEIVE_COUNT.
   * @param {ResolverContext} context
   */
  async queueMaxReceiveCount({ resolveVariable }) {
    return settingParam(resolveVariable, 'queueMaxReceiveCount', 'QUEUE_MAX_RECEIVE_COUNT');
  },

  /**
   * First redelivery delay of a retryable queue failure (QUEUE_REDELIVERY_BASE_SECONDS).
   * @param {ResolverContext} context
   */
  async queueRedeliveryBaseSeconds({ resolveVariable }) {
    return settingParam(resolveVariable, 'queueRedeliveryBaseSeconds', 'QUEUE_REDELIVERY_BASE_SECONDS');
  },

  /**
   * REQUEST_QUEUE_URL: the stack's queue, or on the local stage the loopback queue given as a parameter.
   * @param {ResolverContext} context
   */
  async requestQueueUrl({ resolveVariable }) {
    if ((await stage(resolveVariable)) !== LOCAL_STAGE) return { Ref: 'RequestQueue' };
    return (await param(resolveVariable, 'localRequestQueueUrl')) ?? '';
  },

  /**
   * REGISTRY_TABLE_NAME: the stack's registry table; on the local stage the local stack's dynalite table (parameter
   * localRegistryTableName), else none: the registry is off.
   * @param {ResolverContext} context
   */
  async registryTableName({ resolveVariable }) {
    if ((await stage(resolveVariable)) !== LOCAL_STAGE) return { Ref: 'RegistryTable' };
    return (await param(resolveVariable, 'localRegistryTableName')) ?? '';
  },

  /**
   * REGISTRY_ACTIVE_RETENTION_HOURS: an active record expires this long after its last start, join or probe.
   * @param {ResolverContext} context
   */
  async registryActiveRetentionHours({ resolveVariable }) {
    return settingParam(resolveVariable, 'registryActiveRetentionHours', 'REGISTRY_ACTIVE_RETENTION_HOURS');
  },

  /**
   * REGISTRY_ENDED_RETENTION_DAYS: an ended record expires this long after its end.
   * @param {ResolverContext} context
   */
  async registryEndedRetentionDays({ resolveVariable }) {
    return settingParam(resolveVariable, 'registryEndedRetentionDays', 'REGISTRY_ENDED_RETENTION_DAYS');
  },

  /**
   * DEAD_LETTER_QUEUE_URL: the stack's queue, or on the local stage the loopback queue given as a parameter.
   * @param {ResolverContext} context
   */
  async deadLetterQueueUrl({ resolveVariable }) {
    if ((await stage(resolveVariable)) !== LOCAL_STAGE) return { Ref: 'DeadLetterQueue' };
    return (await param(resolveVariable, 'localDeadLetterQueueUrl')) ?? '';
  },
};
