/**
 * The packaged CloudFormation template of a deployed stage (`dev`, default parameters: IAM auth, no CORS, no
 * alarm topic), and the function bundles. Packaging runs once, offline, if no current package exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import facts from '../../lib/facts.json' with { type: 'json' };
import { STATUS_INDEX } from '../../lib/registry-record.js';
import { bundleLoadOrder } from '../../scripts/package.mjs';
import {
  actionsOf,
  allStatements,
  ensurePackaged,
  FUNCTION_IDS,
  FUNCTIONS,
  type FunctionName,
  getAtt,
  MAX_ZIP_BYTES,
  type Packaged,
  PLACEHOLDER_SECRET_ARN,
  type Resource,
  ROOT,
  resourcesOfType,
  STARTERS,
  statementsOf,
  type Template,
  zipEntries,
  zipEntryText,
} from './package-helper.js';

let packaged: Packaged;
let t: Template;

beforeAll(() => {
  packaged = ensurePackaged('dev', 'dev');
  t = packaged.template;
}, 180_000);

const fn = (name: (typeof FUNCTIONS)[number]): Resource => t.Resources[FUNCTION_IDS[name]];
const env = (name: (typeof FUNCTIONS)[number]): Record<string, unknown> => fn(name).Properties.Environment.Variables;
const roleOf = (name: (typeof FUNCTIONS)[number]): Resource => t.Resources[fn(name).Properties.Role['Fn::GetAtt'][0]];
const lateness = () => Number(env('schedule').SCHEDULE_MAX_LATENESS_SECONDS);

describe('functions', () => {
  test.each(FUNCTIONS)('%s runs on nodejs24.x, arm64', (name) => {
    expect(fn(name).Type).toBe('AWS::Lambda::Function');
    expect(fn(name).Properties.Runtime).toBe('nodejs24.x');
    expect(fn(name).Properties.Architectures).toEqual(['arm64']);
    expect(fn(name).Properties.Handler).toBe(`functions/${name}.handler`);
  });

  test('no other functions, no function URL (no way in without the authorizer)', () => {
    expect(
      resourcesOfType(t, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.values(FUNCTION_IDS).sort());
    expect(resourcesOfType(t, 'AWS::Lambda::Url')).toEqual([]);
  });

  test('http answers well within API Gateway 30 s, and the Voximplant budget fits in its timeout', () => {
    const timeoutMs = fn('http').Properties.Timeout * 1000;
    expect(timeoutMs).toBeLessThanOrEqual(10_000);
    const requestTimeout = Number(env('http').VOXIMPLANT_REQUEST_TIMEOUT_MS);
    const attempts = Number(env('http').VOXIMPLANT_MAX_ATTEMPTS ?? 3);
    expect(requestTimeout).toBeGreaterThan(0);
    expect(requestTimeout * attempts).toBeLessThan(timeoutMs);
  });

  test.each([
    ['queue', 30],
    ['schedule', 120],
  ] as const)('%s: %i s timeout, Voximplant attempts fit in it', (name, seconds) => {
    const timeoutMs = fn(name).Properties.Timeout * 1000;
    expect(timeoutMs).toBe(seconds * 1000);
    const attempts = Number(env(name).VOXIMPLANT_MAX_ATTEMPTS ?? 3);
    expect(Number(env(name).VOXIMPLANT_REQUEST_TIMEOUT_MS) * attempts).toBeLessThan(timeoutMs);
  });

  test('memory is chosen per function', () => {
    expect(fn('http').Properties.MemorySize).toBe(512);
    expect(fn('queue').Properties.MemorySize).toBe(256);
    expect(fn('schedule').Properties.MemorySize).toBe(256);
    expect(fn('schedules').Properties.MemorySize).toBe(512);
    expect(fn('lifecycle').Properties.MemorySize).toBe(512);
  });

  test('lifecycle answers well within API Gateway 30 s: stop, confirm, update, event and GetCallHistory fit', () => {
    const timeoutMs = fn('lifecycle').Properties.Timeout * 1000;
    expect(timeoutMs).toBeLessThanOrEqual(15_000);
    const session = Number(env('lifecycle').SESSION_REQUEST_TIMEOUT_MS);
    const voximplant =
      Number(env('lifecycle').VOXIMPLANT_REQUEST_TIMEOUT_MS) * Number(env('lifecycle').VOXIMPLANT_MAX_ATTEMPTS);
    // Two session requests (stop, the confirming one after probeConfirmDelayMs), then GetCallHistory.
    expect(2 * session + 1000 + voximplant).toBeLessThan(timeoutMs - 2000);
  });

  test('lifecycle: the registry table, its settings from lib/facts.json, the reference rules (none by default)', () => {
    expect(env('lifecycle')).toMatchObject({
      REGISTRY_TABLE_NAME: { Ref: 'RegistryTable' },
      REGISTRY_ACTIVE_RETENTION_HOURS: '48',
      REGISTRY_ENDED_RETENTION_DAYS: '30',
      REFERENCE_SCENARIO_RULE_IDS: '',
      SESSION_REQUEST_TIMEOUT_MS: '3000',
      EVENT_BUS_NAME: { Ref: 'EventBus' },
    });
    for (const name of ['http', 'queue', 'schedule', 'schedules'] as const) {
      expect(env(name)).not.toHaveProperty('REFERENCE_SCENARIO_RULE_IDS');
      expect(env(name)).not.toHaveProperty('SESSION_REQUEST_TIMEOUT_MS');
    }
  });

  test('schedules answers well within API Gateway 30 s', () => {
    expect(fn('schedules').Properties.Timeout).toBeLessThanOrEqual(15);
  });

  test.each(FUNCTIONS)('%s environment', (name) => {
    const variables = env(name);
    expect(variables.VOXIMPLANT_CREDENTIALS_SECRET_ID).toBe(PLACEHOLDER_SECRET_ARN);
    expect(variables.VOXIMPLANT_API_URL).toBe('https://api.voximplant.com/platform_api');
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('voxconf');
    expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe('voxconf');
    expect(variables.POWERTOOLS_LOG_LEVEL).toBe('INFO');
    expect(variables).toHaveProperty('VOXIMPLANT_DEFAULT_RULE_ID');
    expect(variables).toHaveProperty('VOXIMPLANT_ALLOWED_RULE_IDS');
    if (name === 'http' || name === 'schedules' || name === 'lifecycle') {
      expect(variables).not.toHaveProperty('DEAD_LETTER_QUEUE_URL');
    } else expect(variables.DEAD_LETTER_QUEUE_URL).toEqual({ Ref: 'DeadLetterQueue' });
    if (name === 'schedule' || name === 'schedules') expect(variables.SCHEDULE_MAX_LATENESS_SECONDS).toBe('600');
    else expect(variables).not.toHaveProperty('SCHEDULE_MAX_LATENESS_SECONDS');
    // The registry: the stack's table, retention from lib/facts.json (stage parameters).
    expect(variables.REGISTRY_TABLE_NAME).toEqual({ Ref: 'RegistryTable' });
    expect(variables.REGISTRY_ACTIVE_RETENTION_HOURS).toBe(
      String(facts.settings.REGISTRY_ACTIVE_RETENTION_HOURS.default),
    );
    expect(variables.REGISTRY_ENDED_RETENTION_DAYS).toBe(String(facts.settings.REGISTRY_ENDED_RETENTION_DAYS.default));
  });

  test('schedules: its groups, target, role, dead-letter queue and limits, from the stack and lib/facts.json', () => {
    expect(env('schedules')).toMatchObject({
      SCHEDULES_DEPLOY_GROUP: { Ref: 'ScheduleGroup' },
      SCHEDULES_API_GROUP: { Ref: 'ApiScheduleGroup' },
      SCHEDULES_TARGET_ARN: getAtt('ScheduleLambdaFunction'),
      SCHEDULES_ROLE_ARN: getAtt('ApiSchedulerExecutionRole'),
      SCHEDULES_DEAD_LETTER_ARN: getAtt('DeadLetterQueue'),
      SCHEDULES_MAX_COUNT: '10000',
      SCHEDULES_HORIZON_DAYS: '400',
      SCHEDULES_MIN_INTERVAL_MINUTES: '5',
    });
    for (const name of STARTERS)
      expect(Object.keys(env(name)).filter((key) => key.startsWith('SCHEDULES_'))).toEqual([]);
  });

  test('http requests time out sooner than queue and schedule requests', () => {
    expect(Number(env('http').VOXIMPLANT_REQUEST_TIMEOUT_MS)).toBeLessThan(
      Number(env('queue').VOXIMPLANT_REQUEST_TIMEOUT_MS),
    );
  });
});

describe('HTTP API', () => {
  test('POST /conferences on the http function, the schedules and lifecycle routes on theirs, payload 2.0', () => {
    const routes = resourcesOfType(t, 'AWS::ApiGatewayV2::Route');
    expect(routes.map(([, r]) => r.Properties.RouteKey).sort()).toEqual(
      [
        'POST /conferences',
        'GET /conferences',
        'GET /conferences/{name}',
        'DELETE /conferences/{name}',
        'POST /conferences/{name}/commands',
        'GET /schedules',
        'POST /schedules',
        'GET /schedules/{name}',
        'PUT /schedules/{name}',
        'DELETE /schedules/{name}',
      ].sort(),
    );
    const integrations = Object.fromEntries(resourcesOfType(t, 'AWS::ApiGatewayV2::Integration'));
    expect(Object.keys(integrations).sort()).toEqual([
      'HttpApiIntegrationHttp',
      'HttpApiIntegrationLifecycle',
      'HttpApiIntegrationSchedules',
    ]);
    expect(integrations.HttpApiIntegrationLifecycle.Properties.IntegrationUri).toEqual(
      getAtt('LifecycleLambdaFunction'),
    );
    expect(integrations.HttpApiIntegrationHttp.Properties.IntegrationUri).toEqual(getAtt('HttpLambdaFunction'));
    expect(integrations.HttpApiIntegrationSchedules.Properties.IntegrationUri).toEqual(
      getAtt('SchedulesLambdaFunction'),
    );
    for (const integration of Object.values(integrations))
      expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
    for (const [, route] of routes) {
      const target = JSON.stringify(route.Properties.Target);
      const key: string = route.Properties.RouteKey;
      expect(target).toContain(
        key.includes('/schedules')
          ? 'HttpApiIntegrationSchedules'
          : key === 'POST /conferences'
            ? 'HttpApiIntegrationHttp'
            : 'HttpApiIntegrationLifecycle',
      );
    }
  });

  test('every route requires AWS IAM authorization (default authMode=iam)', () => {
    const routes = resourcesOfType(t, 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const [id, route] of routes) {
      expect([id, route.Properties.AuthorizationType]).toEqual([id, 'AWS_IAM']);
      expect(route.Properties.RouteKey).not.toBe('$default');
    }
    // No JWT authorizer is created when unused.
    expect(resourcesOfType(t, 'AWS::ApiGatewayV2::Authorizer')).toEqual([]);
  });

  test('API Gateway may invoke only the http, schedules and lifecycle functions, only from this API', () => {
    const permissions = resourcesOfType(t, 'AWS::Lambda::Permission');
    expect(permissions.map(([, p]) => p.Properties.FunctionName)).toEqual([
      getAtt('HttpLambdaFunction'),
      getAtt('SchedulesLambdaFunction'),
      getAtt('LifecycleLambdaFunction'),
    ]);
    for (const [, permission] of permissions) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain('"Ref":"HttpApi"');
    }
  });

  test('no CORS by default', () => {
    const [[, api]] = resourcesOfType(t, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties.CorsConfiguration).toBeUndefined();
  });

  test('stage throttling (burst and rate) on the default route settings, access log on', () => {
    const [[, stage]] = resourcesOfType(t, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.StageName).toBe('$default');
    const settings = stage.Properties.DefaultRouteSettings;
    expect(settings.ThrottlingBurstLimit).toBe(20);
    expect(settings.ThrottlingRateLimit).toBe(10);
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual(getAtt('HttpApiLogGroup'));
    // The schedules and lifecycle routes have their own throttles, by route group; POST /conferences keeps the
    // stage default.
    const schedules = { DetailedMetricsEnabled: false, ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5 };
    const lookups = { DetailedMetricsEnabled: false, ThrottlingBurstLimit: 20, ThrottlingRateLimit: 10 };
    const changes = { DetailedMetricsEnabled: false, ThrottlingBurstLimit: 10, ThrottlingRateLimit: 5 };
    expect(stage.Properties.RouteSettings).toEqual({
      'GET /schedules': schedules,
      'GET /schedules/{name}': schedules,
      'POST /schedules': schedules,
      'PUT /schedules/{name}': schedules,
      'DELETE /schedules/{name}': schedules,
      'GET /conferences': lookups,
      'GET /conferences/{name}': lookups,
      'DELETE /conferences/{name}': changes,
      'POST /conferences/{name}/commands': changes,
    });
    // A route's settings need the route: the stage waits for every route it names.
    const routeIds = Object.fromEntries(
      resourcesOfType(t, 'AWS::ApiGatewayV2::Route').map(([id, r]) => [r.Properties.RouteKey, id]),
    );
    for (const key of Object.keys(stage.Properties.RouteSettings)) expect(stage.DependsOn).toContain(routeIds[key]);
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', caller: '$context.identity.userArn' });
  });
});

describe('SQS', () => {
  const queue = () => t.Resources.RequestQueue;
  const dlq = () => t.Resources.DeadLetterQueue;

  test('request queue redrives to the dead-letter queue after at least 5 receives', () => {
    expect(queue().Type).toBe('AWS::SQS::Queue');
    expect(queue().Properties.RedrivePolicy.deadLetterTargetArn).toEqual(getAtt('DeadLetterQueue'));
    expect(queue().Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
  });

  test('visibility timeout is at least 6 x the queue function timeout', () => {
    expect(queue().Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn('queue').Properties.Timeout);
  });

  test('retention: the dead-letter queue keeps messages 14 days, longer than the request queue', () => {
    expect(dlq().Properties.MessageRetentionPeriod).toBe(1_209_600);
    expect(queue().Properties.MessageRetentionPeriod).toBeLessThan(dlq().Properties.MessageRetentionPeriod);
  });

  test('both queues are encrypted (SSE-SQS)', () => {
    expect(queue().Properties.SqsManagedSseEnabled).toBe(true);
    expect(dlq().Properties.SqsManagedSseEnabled).toBe(true);
  });

  test('event source mapping: partial batch failures, batch of 10, concurrency capped well below 200', () => {
    const mappings = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0];
    expect(mapping.Properties.EventSourceArn).toEqual(getAtt('RequestQueue'));
    expect(mapping.Properties.FunctionName).toEqual(getAtt('QueueLambdaFunction'));
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.Properties.BatchSize).toBe(10);
    const cap = mapping.Properties.ScalingConfig.MaximumConcurrency;
    expect(cap).toBeGreaterThanOrEqual(2);
    expect(cap).toBeLessThanOrEqual(20);
  });
});

describe('IAM: least privilege', () => {
  /** The one Allow on Resource "*": scheduler:ListSchedules, which IAM cannot limit to a group (the code filters). */
  const LIST_SCHEDULES_EXCEPTION = {
    where: 'SchedulesFunctionRole/voxconf-schedules',
    action: 'scheduler:ListSchedules',
  };

  test('no statement allows a wildcard action, and no Allow has Resource "*" but the named exception', () => {
    const onEverything: { where: string; actions: string[] }[] = [];
    for (const { where, statement } of allStatements(t)) {
      for (const action of actionsOf(statement)) {
        if (statement.Effect === 'Allow') expect([where, action]).toEqual([where, expect.not.stringContaining('*')]);
      }
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
      if (statement.Effect === 'Allow') {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        if (resources.includes('*')) onEverything.push({ where, actions: actionsOf(statement) });
      }
    }
    expect(onEverything).toEqual([
      { where: LIST_SCHEDULES_EXCEPTION.where, actions: [LIST_SCHEDULES_EXCEPTION.action] },
    ]);
  });

  test('the only wildcard anywhere is the deployment bucket TLS-only Deny', () => {
    const wildcards = allStatements(t).filter(({ statement }) => actionsOf(statement).some((a) => a.includes('*')));
    expect(wildcards.map(({ where }) => where)).toEqual(['ServerlessDeploymentBucketPolicy']);
    expect(wildcards[0].statement.Effect).toBe('Deny');
    expect(wildcards[0].statement.Condition).toEqual({ Bool: { 'aws:SecureTransport': false } });
  });

  test('one role per function, no shared default role', () => {
    expect(t.Resources.IamRoleLambdaExecution).toBeUndefined();
    const roles = FUNCTIONS.map((name) => fn(name).Properties.Role['Fn::GetAtt'][0]);
    expect(new Set(roles).size).toBe(FUNCTIONS.length);
    for (const name of FUNCTIONS) {
      const trust = statementsOf(roleOf(name).Properties.AssumeRolePolicyDocument);
      expect(trust).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
      expect(roleOf(name).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  const permissions = (role: Resource) =>
    (role.Properties.Policies as { PolicyDocument: unknown }[])
      .flatMap((policy) => statementsOf(policy.PolicyDocument))
      .flatMap((statement) =>
        actionsOf(statement).map((action) => ({ action, resource: statement.Resource, statement })),
      );

  const expected: Record<(typeof FUNCTIONS)[number], string[]> = {
    // events:PutEvents only under the PublishesHttpEvents condition (checked below).
    http: [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
    ],
    queue: [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
    ],
    schedule: [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:SendMessage',
    ],
    // No secret, no queue, no bus: it starts nothing.
    schedules: [
      'iam:PassRole',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
      'scheduler:ListSchedules',
      'scheduler:UpdateSchedule',
    ],
    // The registry: get, query, update, never put or delete (only a start creates a record); no queue, no Scheduler.
    lifecycle: [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'kms:Decrypt',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
    ],
  };
  const scheduleArn = (group: string) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule/${group}/*`,
  });

  test.each(FUNCTIONS)('%s role: exactly the actions it uses, each on its one resource', (name) => {
    const granted = permissions(roleOf(name));
    expect([...new Set(granted.map((g) => g.action))].sort()).toEqual(expected[name]);
    const logGroup = `${name[0].toUpperCase()}${name.slice(1)}LogGroup`;
    for (const { action, resource, statement } of granted) {
      if (action.startsWith('logs:')) expect(resource).toEqual(getAtt(logGroup));
      if (action === 'secretsmanager:GetSecretValue') expect(resource).toBe(PLACEHOLDER_SECRET_ARN);
      if (action === 'sqs:SendMessage') expect(resource).toEqual(getAtt('DeadLetterQueue'));
      if (action === 'events:PutEvents') expect(resource).toEqual(getAtt('EventBus'));
      // The registry: the start roles write a start's record only (no read, no delete, no other table, no index);
      // the lifecycle role also queries the status index, and nothing else does.
      if (action === 'dynamodb:Query') {
        expect(name).toBe('lifecycle');
        expect(resource).toEqual([
          getAtt('RegistryTable'),
          { 'Fn::Join': ['', [getAtt('RegistryTable'), `/index/${STATUS_INDEX}`]] },
        ]);
      } else if (action.startsWith('dynamodb:')) expect(resource).toEqual(getAtt('RegistryTable'));
      if (action.startsWith('sqs:') && action !== 'sqs:SendMessage') expect(resource).toEqual(getAtt('RequestQueue'));
      if (['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'].includes(action)) {
        expect(resource).toEqual(scheduleArn('voxconf-dev-api'));
      }
      if (action === 'scheduler:GetSchedule') {
        expect([scheduleArn('voxconf-dev-api'), scheduleArn('voxconf-dev')]).toContainEqual(resource);
      }
      if (action === 'scheduler:ListSchedules') expect(resource).toBe('*');
      if (action === 'dynamodb:GetItem' || action === 'dynamodb:UpdateItem') {
        expect(resource).toEqual(getAtt('RegistryTable'));
      }
      if (action === 'dynamodb:Query') {
        expect(resource).toEqual([
          getAtt('RegistryTable'),
          { 'Fn::Join': ['', [getAtt('RegistryTable'), `/index/${STATUS_INDEX}`]] },
        ]);
      }
      if (action === 'iam:PassRole') {
        expect(resource).toEqual(getAtt('ApiSchedulerExecutionRole'));
        expect(statement.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
      }
      if (action === 'kms:Decrypt') {
        expect(resource).toEqual({ Ref: 'CredentialsKmsKeyArn' });
        expect(statement.Condition).toEqual({
          StringEquals: { 'kms:ViaService': { 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' } },
        });
      }
    }
  });
  test('the http role may publish only when the stage publishes HTTP outcomes (condition PublishesHttpEvents)', () => {
    const documents = (roleOf('http').Properties.Policies as { PolicyDocument: { Statement: unknown[] } }[]).map(
      (policy) => policy.PolicyDocument.Statement,
    );
    const conditional = documents.flat().find((statement) => JSON.stringify(statement).includes('events:PutEvents'));
    expect(conditional).toMatchObject({
      'Fn::If': ['PublishesHttpEvents', { Action: 'events:PutEvents' }, { Ref: 'AWS::NoValue' }],
    });
    expect(t.Conditions?.PublishesHttpEvents).toEqual({ 'Fn::Equals': ['false', 'true'] });
    expect(env('http').PUBLISH_HTTP_EVENTS).toBe('false');
  });

  test('kms:Decrypt only exists when a customer managed key is given (condition)', () => {
    const policy = roleOf('http').Properties.Policies[0].PolicyDocument.Statement;
    const kms = policy.find((s: Record<string, unknown>) => 'Fn::If' in s);
    expect(kms['Fn::If'][0]).toBe('HasCredentialsKmsKey');
    expect(kms['Fn::If'][2]).toEqual({ Ref: 'AWS::NoValue' });
    expect(t.Parameters?.CredentialsKmsKeyArn.Default).toBe('');
  });

  test('Scheduler execution role: invoke the schedule function, send to the DLQ, trusted only from this group', () => {
    const role = t.Resources.SchedulerExecutionRole;
    const granted = permissions(role);
    expect(granted.map(({ action, resource }) => ({ action, resource }))).toEqual([
      { action: 'lambda:InvokeFunction', resource: getAtt('ScheduleLambdaFunction') },
      { action: 'sqs:SendMessage', resource: getAtt('DeadLetterQueue') },
    ]);
    const [trust] = statementsOf(role.Properties.AssumeRolePolicyDocument);
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: { 'aws:SourceArn': getAtt('ScheduleGroup') },
    });
  });

  test('the schedules function may change only the API group, read the deploy group, and pass only its role', () => {
    const granted = permissions(roleOf('schedules'));
    const onDeployGroup = granted.filter(({ resource }) => JSON.stringify(resource).includes('schedule/voxconf-dev/*'));
    expect(onDeployGroup.map(({ action }) => action)).toEqual(['scheduler:GetSchedule']);
    expect(granted.filter(({ action }) => action === 'iam:PassRole')).toHaveLength(1);
    // No other role passes a role, and none but this one touches Scheduler.
    for (const name of STARTERS) {
      expect(permissions(roleOf(name)).filter(({ action }) => /^(scheduler|iam):/.test(action))).toEqual([]);
    }
  });

  test('API group execution role: invoke the schedule function, send to the DLQ, trusted only from its group', () => {
    const role = t.Resources.ApiSchedulerExecutionRole;
    expect(permissions(role).map(({ action, resource }) => ({ action, resource }))).toEqual([
      { action: 'lambda:InvokeFunction', resource: getAtt('ScheduleLambdaFunction') },
      { action: 'sqs:SendMessage', resource: getAtt('DeadLetterQueue') },
    ]);
    const [trust] = statementsOf(role.Properties.AssumeRolePolicyDocument);
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: { 'aws:SourceArn': getAtt('ApiScheduleGroup') },
    });
  });

  test('deployment bucket: encrypted, never public', () => {
    const bucket = t.Resources.ServerlessDeploymentBucket.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toBeDefined();
  });
});

describe('registry table', () => {
  const table = () => t.Resources.RegistryTable;

  test('on demand, point-in-time recovery, encrypted, TTL on expires_at, kept if the stack goes', () => {
    expect(table().Type).toBe('AWS::DynamoDB::Table');
    expect(table().Properties).toMatchObject({
      TableName: 'voxconf-dev-conferences',
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
    expect(table().Properties.ProvisionedThroughput).toBeUndefined();
    expect((table() as Resource & { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
  });

  test('keyed by conference_name; the by-status index lists a status newest first, without the media URLs', () => {
    const { KeySchema, GlobalSecondaryIndexes, AttributeDefinitions } = table().Properties;
    expect(KeySchema).toEqual([{ AttributeName: 'conference_name', KeyType: 'HASH' }]);
    expect(GlobalSecondaryIndexes).toHaveLength(1);
    const [index] = GlobalSecondaryIndexes;
    expect(index.IndexName).toBe(facts.registry.statusIndexName);
    expect(index.KeySchema).toEqual([
      { AttributeName: 'status', KeyType: 'HASH' },
      { AttributeName: 'started_at', KeyType: 'RANGE' },
    ]);
    expect(index.Projection.ProjectionType).toBe('INCLUDE');
    expect(index.Projection.NonKeyAttributes).not.toContain('media_session_access_url');
    expect(index.Projection.NonKeyAttributes).not.toContain('media_session_access_secure_url');
    expect(index.Projection.NonKeyAttributes).toContain('expires_at');
    expect(AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'conference_name', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'started_at', AttributeType: 'S' },
      ]),
    );
  });

  test('the start functions may only put and update its items', () => {
    for (const name of STARTERS) {
      const statements = (roleOf(name).Properties.Policies as { PolicyDocument: unknown }[])
        .flatMap((policy) => statementsOf(policy.PolicyDocument))
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
      expect(statements).toEqual([
        {
          Sid: 'RecordStarts',
          Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: getAtt('RegistryTable'),
        },
      ]);
    }
  });
});

describe('logs', () => {
  test('every log group has a retention (30 days by default)', () => {
    const groups = resourcesOfType(t, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(FUNCTIONS.length + 1);
    for (const [id, group] of groups) expect([id, group.Properties.RetentionInDays]).toEqual([id, 30]);
  });

  test.each(FUNCTIONS)('%s has its own log group, created before it', (name) => {
    const id = `${name[0].toUpperCase()}${name.slice(1)}LogGroup`;
    expect(t.Resources[id].Properties.LogGroupName).toBe(`/aws/lambda/${fn(name).Properties.FunctionName}`);
    expect(fn(name).DependsOn).toContain(id);
  });
});

describe('EventBridge Scheduler', () => {
  const schedules = () => resourcesOfType(t, 'AWS::Scheduler::Schedule');
  const file = () =>
    YAML.parse(readFileSync(path.join(ROOT, 'infra', 'schedules.yml'), 'utf8')) as {
      schedules: {
        name: string;
        schedule: string;
        timezone: string;
        enabled?: boolean;
        request: Record<string, unknown>;
      }[];
    };

  test('one schedule per entry of infra/schedules.yml, with its expression, zone and state', () => {
    const entries = file().schedules;
    expect(schedules()).toHaveLength(entries.length);
    for (const entry of entries) {
      const found = schedules().find(([, s]) => s.Properties.Name === entry.name);
      expect(found).toBeDefined();
      const p = found![1].Properties;
      expect(p.ScheduleExpression).toBe(entry.schedule);
      expect(p.ScheduleExpressionTimezone).toBe(entry.timezone);
      expect(p.State).toBe(entry.enabled === false ? 'DISABLED' : 'ENABLED');
      expect(JSON.parse(p.Target.Input).request).toEqual(entry.request);
    }
  });

  test('the shipped examples deploy disabled: weekday stand-up, 09:00 Europe/Berlin', () => {
    const [, standup] = schedules().find(([, s]) => s.Properties.Name === 'weekday-standup')!;
    expect(standup.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 9 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'DISABLED',
    });
    expect(schedules().map(([, s]) => s.Properties.State)).toEqual(schedules().map(() => 'DISABLED'));
  });

  test('every schedule: no flexible window, a time zone, its group, the schedule function, its own role', () => {
    expect(schedules().length).toBeGreaterThan(0);
    for (const [, schedule] of schedules()) {
      const p = schedule.Properties;
      expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
      expect(typeof p.ScheduleExpressionTimezone).toBe('string');
      expect(p.ScheduleExpressionTimezone.length).toBeGreaterThan(0);
      expect(['ENABLED', 'DISABLED']).toContain(p.State);
      expect(p.GroupName).toEqual({ Ref: 'ScheduleGroup' });
      expect(p.Target.Arn).toEqual(getAtt('ScheduleLambdaFunction'));
      expect(p.Target.RoleArn).toEqual(getAtt('SchedulerExecutionRole'));
    }
  });

  test('every schedule: retries end within the lateness limit, then the dead-letter queue', () => {
    expect(lateness()).toBe(600);
    for (const [, schedule] of schedules()) {
      const target = schedule.Properties.Target;
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeLessThanOrEqual(lateness());
      expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThanOrEqual(1);
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeLessThan(185);
      expect(target.DeadLetterConfig).toEqual({ Arn: getAtt('DeadLetterQueue') });
    }
  });

  test('every schedule: input is the {request, scheduled_time, execution_id, schedule_name} wrapper with placeholders', () => {
    for (const [, schedule] of schedules()) {
      const input = JSON.parse(schedule.Properties.Target.Input);
      expect(Object.keys(input).sort()).toEqual(['execution_id', 'request', 'schedule_name', 'scheduled_time']);
      expect(input.schedule_name).toBe(schedule.Properties.Name);
      expect(input.scheduled_time).toBe('<aws.scheduler.scheduled-time>');
      expect(input.execution_id).toBe('<aws.scheduler.execution-id>');
      expect(typeof input.request.conference_name).toBe('string');
    }
  });

  test('both schedule groups exist (voxconf-<stage>, voxconf-<stage>-api); no osls-made schedules or rules', () => {
    expect(t.Resources.ScheduleGroup).toMatchObject({
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: 'voxconf-dev' },
    });
    expect(t.Resources.ApiScheduleGroup).toMatchObject({
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: 'voxconf-dev-api' },
    });
    // Every deploy-time schedule is in the deploy group; none is created in the API's.
    for (const [, schedule] of resourcesOfType(t, 'AWS::Scheduler::Schedule')) {
      expect(schedule.Properties.GroupName).toEqual({ Ref: 'ScheduleGroup' });
    }
    expect(resourcesOfType(t, 'AWS::Events::Rule')).toEqual([]);
  });

  test('schedule function async invocations: no Lambda retries, the on-failure destination for crashes', () => {
    const configs = resourcesOfType(t, 'AWS::Lambda::EventInvokeConfig');
    expect(configs).toHaveLength(1);
    const [, config] = configs[0];
    expect(config.Properties.FunctionName).toEqual({ Ref: 'ScheduleLambdaFunction' });
    // The function retries inside the invocation and dead-letters with its reason (lib/schedule.ts).
    expect(config.Properties.MaximumRetryAttempts).toBe(0);
    expect(config.Properties.MaximumEventAgeInSeconds).toBeLessThanOrEqual(lateness());
    expect(config.Properties.DestinationConfig.OnFailure.Destination).toEqual(getAtt('DeadLetterQueue'));
  });
});

describe('alarms', () => {
  const alarms = () => resourcesOfType(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const find = (metric: string, dimension: unknown) =>
    alarms().filter((a) => a.MetricName === metric && JSON.stringify(a.Dimensions).includes(JSON.stringify(dimension)));

  test('dead-letter queue depth > 0', () => {
    const [alarm] = find('ApproximateNumberOfMessagesVisible', getAtt('DeadLetterQueue', 'QueueName'));
    expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  test.each(FUNCTIONS)('%s: errors and throttles', (name) => {
    for (const metric of ['Errors', 'Throttles']) {
      const found = find(metric, { Ref: FUNCTION_IDS[name] });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        Namespace: 'AWS/Lambda',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  test('schedule quota exceeded (ScheduleQuotaExceeded, the schedules function) > 0', () => {
    const [alarm] = find('ScheduleQuotaExceeded', { Name: 'service', Value: 'voxconf' });
    expect(alarm).toMatchObject({ Namespace: 'voxconf', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
  });

  test('registry write failures (RegistryWriteFailures, the start functions) > 0', () => {
    const [alarm] = find('RegistryWriteFailures', { Name: 'service', Value: 'voxconf' });
    expect(alarm).toMatchObject({
      AlarmName: 'voxconf-dev-registry-write-failures',
      Namespace: 'voxconf',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('without alarmTopicArn the alarms exist with no actions (condition on an empty parameter)', () => {
    expect(t.Parameters?.AlarmTopicArn.Default).toBe('');
    expect(t.Conditions?.HasAlarmTopic).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmTopicArn' }, ''] }] });
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual({
        'Fn::If': ['HasAlarmTopic', [{ Ref: 'AlarmTopicArn' }], { Ref: 'AWS::NoValue' }],
      });
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
      expect(alarm.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('bundles', () => {
  /** A function's files in its zip (name -> text), and how they load (scripts/package.mjs bundleLoadOrder). */
  function bundleOf(name: FunctionName) {
    const zip = path.join(packaged.dir, `${name}.zip`);
    const files = new Map(zipEntries(zip).map((entry) => [entry.name, zipEntryText(zip, entry.name)]));
    const load = bundleLoadOrder(files, `functions/${name}.mjs`);
    const text = (names: readonly string[]) => names.map((file) => files.get(file)!).join('\n');
    return {
      zip,
      files,
      load,
      firstText: text(load.first),
      startText: text(load.start),
      lazyText: text(load.lazy),
      allText: text([...files.keys()]),
    };
  }

  test.each(FUNCTIONS)(
    '%s.zip is below 450 KiB and holds only its own bundle: its main .mjs and chunks named after it, each one imported (no source map)',
    (name) => {
      const { files, load } = bundleOf(name);
      const artifact = packaged.manifest.artifacts.find((a) => a.function === name)!;
      expect(artifact.zipBytes).toBeLessThan(MAX_ZIP_BYTES);
      const names = [...files.keys()];
      expect(names).toContain(`functions/${name}.mjs`);
      // functions/http.chunk-<hash>.mjs, functions/http.registry-writer-<hash>.mjs: no other function's file (pack.js
      // leaves out of a zip what starts with another bundle's path and a dot), no esbuild default `chunk-<hash>.mjs`.
      const own = new RegExp(`^functions/${name}(?:\\.[a-z0-9_-]+-[A-Z0-9]{8})?\\.mjs$`);
      expect(names.filter((file) => !own.test(file))).toEqual([]);
      // Each chunk is imported by the bundle (esbuild makes chunks of dynamic imports in code it drops: pruned).
      expect(load.unreachable).toEqual([]);
      expect([...load.start, ...load.lazy].sort()).toEqual([...names].sort());
      expect(artifact.load).toEqual(load);
      expect(fn(name).Properties.Code.S3Key).toMatch(new RegExp(`/${name}\\.zip$`));
    },
  );

  test.each(FUNCTIONS)('%s bundle: ESM with the createRequire banner, minified, SDK and middy bundled', (name) => {
    const { files, startText, allText } = bundleOf(name);
    const main = files.get(`functions/${name}.mjs`)!;
    expect(main).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
    for (const [file, code] of files) {
      // Every file: a chunk's CommonJS code calls require() too.
      expect([
        file,
        code.startsWith("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"),
      ]).toEqual([file, true]);
      // Every import left in a file is a Node built-in or a chunk of this function: the AWS SDK, middy, jose...
      // are inside. (The SDK's error messages quote `[require("@aws-sdk/signature-v4-crt");]`: the lookbehind
      // skips those.)
      const specifiers = [
        ...code.matchAll(/(?<!\[)(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s*)["']([^"'\s]+)["']/g),
      ].map((m) => m[1]);
      expect(specifiers.length).toBeGreaterThan(0);
      const builtin =
        /^(?:node:.+|https?|crypto|os|fs|path|url|stream|buffer|util|events|zlib|net|tls|http2|process|child_process|dns|async_hooks|worker_threads|string_decoder|querystring|perf_hooks|timers)$/;
      const ownChunk = new RegExp(`^\\./${name}\\.[a-z0-9_-]+-[A-Z0-9]{8}\\.mjs$`);
      expect([file, specifiers.filter((specifier) => !builtin.test(specifier) && !ownChunk.test(specifier))]).toEqual([
        file,
        [],
      ]);
      expect(code).not.toMatch(/sourceMappingURL/);
      expect(code.split('\n').length).toBeLessThan(200); // minified
    }
    if (name === 'queue' || name === 'schedule') expect(startText).toContain('SendMessage'); // @aws-sdk/client-sqs
    if (name === 'schedules') {
      // The Scheduler client, and nothing of the conference path: no Secrets Manager, no JWT signing.
      expect(startText).toContain('CreateSchedule');
      expect(allText).not.toContain('GetSecretValue');
      expect(allText).not.toContain('RS256');
    } else if (name === 'lifecycle') {
      // The registry reads and updates, the session client, GetCallHistory; no Scheduler, no queue, no start.
      expect(startText).toContain('GetCallHistory');
      expect(startText).toContain('GetSecretValue');
      expect(allText).not.toContain('CreateSchedule');
      expect(allText).not.toContain('SendMessage');
    } else {
      expect(startText).toContain('GetSecretValue'); // @aws-sdk/client-secrets-manager is inside
      expect(allText).not.toContain('CreateSchedule'); // the Scheduler client is only in the schedules bundle
      // The lifecycle's parts are only in its bundle: no GetCallHistory.
      expect(allText).not.toContain('GetCallHistory');
    }
  });

  test.each(STARTERS)(
    '%s bundle: the entry evaluates connect-early first, then imports the handler chunk; no AWS SDK before it',
    (name) => {
      const { load, firstText } = bundleOf(name);
      const handlerChunk = new RegExp(`^functions/${name}\\.${name}-handler-[A-Z0-9]{8}\\.mjs$`);
      expect(load.first.filter((file) => handlerChunk.test(file))).toEqual([]);
      expect(load.start.filter((file) => handlerChunk.test(file))).toHaveLength(1);
      // lib/early-connection.ts (net.connect, the adopted sockets) is evaluated before the entry's own code.
      expect(firstText).toContain('node:net');
      for (const client of ['GetSecretValue', 'SendMessage', 'AWSEvents', 'DynamoDB_20120810', 'middy', 'smithy']) {
        expect([client, firstText.includes(client)]).toEqual([client, false]);
      }
      // What is read and compiled before the connection starts: connect-early's code, not the SDK (~18 KiB today).
      expect(Buffer.byteLength(firstText)).toBeLessThan(32 * 1024);
    },
  );

  test.each(['schedules', 'lifecycle'] as const)(
    '%s bundle: no early connection, no thin entry: what its main file imports statically is what loads',
    (name) => {
      const { load } = bundleOf(name);
      expect(load.first).toEqual(load.start);
    },
  );

  // The DynamoDB client's JSON protocol target prefix, in its command serializers: the client itself.
  const DYNAMODB = 'DynamoDB_20120810';
  // EventBridge's (PutEvents): the outcome events' client.
  const EVENTBRIDGE = 'AWSEvents';

  test.each(STARTERS)(
    '%s bundle: a cold start does not load the DynamoDB client; the registry writer is a chunk imported when first used',
    (name) => {
      const { files, load, startText } = bundleOf(name);
      expect(files.get(`functions/${name}.mjs`)).not.toContain(DYNAMODB);
      expect(startText).not.toContain(DYNAMODB);
      const withClient = load.lazy.filter((file) => files.get(file)!.includes(DYNAMODB));
      expect(withClient).toEqual([
        expect.stringMatching(new RegExp(`^functions/${name}\\.registry-writer-[A-Z0-9]{8}\\.mjs$`)),
      ]);
      if (name === 'http') {
        // The http function publishes outcome events only with PUBLISH_HTTP_EVENTS: the client loads then.
        expect(startText).not.toContain(EVENTBRIDGE);
        expect(load.lazy.some((file) => /\.event-bus-/.test(file) && files.get(file)!.includes(EVENTBRIDGE))).toBe(
          true,
        );
      } else {
        expect(startText).toContain(EVENTBRIDGE); // every queue and schedule outcome is published
      }
    },
  );

  test('the lifecycle bundle loads the DynamoDB client at import (it reads the registry); schedules has none', () => {
    expect(bundleOf('lifecycle').startText).toContain(DYNAMODB);
    const schedules = bundleOf('schedules');
    // lib/http-api.ts's start path (the registry writer, the event bus) is dropped from the schedules bundle, chunks too.
    expect(schedules.allText).not.toContain(DYNAMODB);
    expect(schedules.allText).not.toContain(EVENTBRIDGE);
  });

  test('the manifest counts the bytes a cold start imports apart from the lazy chunks', () => {
    for (const artifact of packaged.manifest.artifacts) {
      const { files, load } = bundleOf(artifact.function);
      const bytes = (names: readonly string[]) =>
        names.reduce((sum, file) => sum + Buffer.byteLength(files.get(file)!), 0);
      expect(artifact.mainBytes).toBe(Buffer.byteLength(files.get(`functions/${artifact.function}.mjs`)!));
      expect(artifact.startBytes).toBe(bytes(load.start));
      expect(artifact.firstBytes).toBe(bytes(load.first));
      expect(artifact.lazyBytes).toBe(bytes(load.lazy));
      expect(artifact.startBytes + artifact.lazyBytes).toBe(artifact.files.reduce((sum, file) => sum + file.bytes, 0));
    }
  });

  test('packaging took well under a minute', () => {
    expect(packaged.manifest.durationMs).toBeLessThan(60_000);
  });
});
