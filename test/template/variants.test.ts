/**
 * The documented alternatives, packaged for real: JWT authorization, CORS for listed origins, an alarm topic,
 * a customer managed KMS key for the secret, other limits. Plus the parameter checks of infra/params.cjs
 * (called directly, as osls does), including the rule that an unauthenticated route exists only on the local
 * stage under serverless offline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import {
  ALL_OPTIONS,
  ensurePackaged,
  getAtt,
  type Packaged,
  ROOT,
  requireCjs,
  resourcesOfType,
  statementsOf,
  type Template,
} from './package-helper.js';

const {
  jwtIssuerUrl: ISSUER,
  alarmTopicArn: TOPIC,
  credentialsKmsKeyArn: KEY,
  credentialsSecretArn: SECRET,
} = ALL_OPTIONS.params;

describe('packaged with authMode=jwt, CORS, alarm topic, KMS key and other limits (stage prod)', () => {
  let packaged: Packaged;
  let t: Template;

  beforeAll(() => {
    packaged = ensurePackaged(ALL_OPTIONS.variant, ALL_OPTIONS.stage, ALL_OPTIONS.params);
    t = packaged.template;
  }, 180_000);

  test('every route has the JWT authorizer', () => {
    const routes = resourcesOfType(t, 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const [, route] of routes) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
      expect(route.Properties.AuthorizerId).toEqual({ Ref: 'HttpApiAuthorizerJwt' });
    }
    // The schedules and lifecycle routes ask for a scope per route group; POST /conferences for none (any valid
    // token).
    const scopes = Object.fromEntries(
      routes.map(([, route]) => [route.Properties.RouteKey, route.Properties.AuthorizationScopes]),
    );
    expect(scopes).toEqual({
      'POST /conferences': undefined,
      'GET /schedules': ['schedules/read'],
      'GET /schedules/{name}': ['schedules/read'],
      'POST /schedules': ['schedules/write'],
      'PUT /schedules/{name}': ['schedules/write'],
      'DELETE /schedules/{name}': ['schedules/write'],
      'GET /conferences': ['conferences/read'],
      'GET /conferences/{name}': ['conferences/read'],
      'DELETE /conferences/{name}': ['conferences/write'],
      'POST /conferences/{name}/commands': ['conferences/write'],
    });
    const [[, authorizer]] = resourcesOfType(t, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ISSUER, Audience: ['client-a', 'client-b'] },
    });
  });

  test("CORS allows only the listed origins, the routes' methods, the auth headers", () => {
    const [[, api]] = resourcesOfType(t, 'AWS::ApiGatewayV2::Api');
    const cors = api.Properties.CorsConfiguration;
    expect(cors.AllowOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
    expect(cors.AllowMethods).toEqual(['GET', 'POST', 'PUT', 'DELETE']);
    expect(cors.AllowHeaders).toEqual(
      expect.arrayContaining(['content-type', 'authorization', 'x-amz-date', 'idempotency-key']),
    );
    expect(cors.ExposeHeaders).toEqual(['retry-after', 'location']);
    expect(cors.AllowCredentials).toBeUndefined();
  });

  test('alarms notify the topic', () => {
    expect(t.Parameters?.AlarmTopicArn.Default).toBe(TOPIC);
    const alarms = resourcesOfType(t, 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(7);
  });

  test('secret ARN and KMS key reach the environment and the roles', () => {
    expect(t.Parameters?.CredentialsKmsKeyArn.Default).toBe(KEY);
    const fn = t.Resources.HttpLambdaFunction.Properties;
    expect(fn.Environment.Variables.VOXIMPLANT_CREDENTIALS_SECRET_ID).toBe(SECRET);
    expect(fn.Environment.Variables.VOXIMPLANT_ALLOWED_RULE_IDS).toBe('1000001,1000002');
    expect(fn.Environment.Variables.POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
    const statements = statementsOf(t.Resources.HttpFunctionRole.Properties.Policies[0].PolicyDocument);
    expect(statements.find((s) => s.Action === 'secretsmanager:GetSecretValue')?.Resource).toBe(SECRET);
  });

  test('limits follow the parameters', () => {
    const [[, stage]] = resourcesOfType(t, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingBurstLimit: 50, ThrottlingRateLimit: 25 });
    const [[, mapping]] = resourcesOfType(t, 'AWS::Lambda::EventSourceMapping');
    expect(mapping.Properties.ScalingConfig.MaximumConcurrency).toBe(5);
    for (const [, group] of resourcesOfType(t, 'AWS::Logs::LogGroup'))
      expect(group.Properties.RetentionInDays).toBe(90);
    expect(t.Resources.ScheduleLambdaFunction.Properties.Environment.Variables.SCHEDULE_MAX_LATENESS_SECONDS).toBe(
      '300',
    );
    expect(t.Resources.ScheduleLambdaEvConf.Properties.MaximumEventAgeInSeconds).toBe(300);
    for (const [, schedule] of resourcesOfType(t, 'AWS::Scheduler::Schedule')) {
      expect(schedule.Properties.Target.RetryPolicy.MaximumEventAgeInSeconds).toBe(300);
      expect(schedule.Properties.Target.DeadLetterConfig).toEqual({ Arn: getAtt('DeadLetterQueue') });
    }
  });

  test('names carry the stage', () => {
    expect(t.Resources.RequestQueue.Properties.QueueName).toBe('voxconf-prod-requests');
    expect(t.Resources.ScheduleGroup.Properties.Name).toBe('voxconf-prod');
    expect(t.Resources.ApiScheduleGroup.Properties.Name).toBe('voxconf-prod-api');
    const statements = statementsOf(t.Resources.SchedulesFunctionRole.Properties.Policies[0].PolicyDocument);
    expect(JSON.stringify(statements)).toContain('schedule/voxconf-prod-api/*');
    expect(t.Resources.HttpLambdaFunction.Properties.FunctionName).toBe('voxconf-prod-http');
  });
});

type Params = Record<string, string | undefined>;

/** What osls hands to `${file(infra/params.cjs):name}` functions. */
function context(stage: string, params: Params) {
  return {
    options: {},
    resolveConfigurationProperty: async () => undefined,
    resolveVariable: async (expression: string) => {
      if (expression === 'sls:stage') return stage;
      if (expression === 'self:provider.region') return 'eu-central-1';
      const match = /^param:([A-Za-z]+)(?:, null)?$/.exec(expression);
      if (!match) throw new Error(`unexpected variable ${expression}`);
      return params[match[1]] ?? null;
    },
  };
}

const params = requireCjs('../../infra/params.cjs') as Record<
  string,
  (ctx: ReturnType<typeof context>) => Promise<unknown>
> & {
  LOCAL_STAGE: string;
};

async function withArgv<T>(args: string[], run: () => Promise<T>): Promise<T> {
  const saved = process.argv;
  process.argv = [saved[0], 'serverless', ...args];
  try {
    return await run();
  } finally {
    process.argv = saved;
  }
}

describe('infra/params.cjs: authentication', () => {
  test('default route: AWS IAM', async () => {
    await expect(params.conferencesRoute(context('prod', {}))).resolves.toEqual({
      method: 'POST',
      path: '/conferences',
      authorizer: { type: 'aws_iam' },
    });
    await expect(params.httpApiAuthorizers(context('prod', {}))).resolves.toEqual({});
  });

  test('authMode=jwt needs an https issuer and an audience', async () => {
    await expect(params.conferencesRoute(context('prod', { authMode: 'jwt' }))).rejects.toThrow(
      /jwtIssuerUrl.*required/,
    );
    await expect(
      params.conferencesRoute(
        context('prod', { authMode: 'jwt', jwtIssuerUrl: 'http://issuer.example.com', jwtAudience: 'a' }),
      ),
    ).rejects.toThrow(/https/);
    await expect(params.conferencesRoute(context('prod', { authMode: 'jwt', jwtIssuerUrl: ISSUER }))).rejects.toThrow(
      /jwtAudience/,
    );
  });

  test('authMode=none is refused on any stage but local', async () => {
    for (const stage of ['dev', 'prod', 'staging', 'local2', 'Local']) {
      await expect(params.conferencesRoute(context(stage, { authMode: 'none' }))).rejects.toThrow(
        /only on the "local" stage/,
      );
    }
  });

  test('the local stage: an open route under serverless offline, refused for package and deploy', async () => {
    const local = context('local', { authMode: 'none' });
    await withArgv(['offline', '--stage', 'local'], async () => {
      await expect(params.conferencesRoute(local)).resolves.toEqual({ method: 'POST', path: '/conferences' });
    });
    for (const command of ['package', 'deploy']) {
      await withArgv([command, '--stage', 'local'], async () => {
        await expect(params.conferencesRoute(local)).rejects.toThrow(/cannot be packaged or deployed/);
        // Not even with authentication: the local stage's parameters are for 127.0.0.1.
        await expect(params.conferencesRoute(context('local', { authMode: 'iam' }))).rejects.toThrow(
          /cannot be packaged or deployed/,
        );
      });
    }
  });

  test('serverless.yml: the local stage defaults to authMode none, every other stage to iam', () => {
    const config = YAML.parse(
      readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8').replace(/!(GetAtt|Ref|Sub|If|Not|Equals)\b/g, ''),
    );
    expect(config.params.default.authMode).toBe('iam');
    expect(config.params.local.authMode).toBe('none');
    expect(Object.keys(config.params).sort()).toEqual(['default', 'local']);
    expect(config.functions.http.events).toEqual([{ httpApi: '${file(infra/params.cjs):conferencesRoute}' }]);
    expect(config.provider.httpApi.authorizers).toBe('${file(infra/params.cjs):httpApiAuthorizers}');
  });

  test('the schedules routes: authorized like POST /conferences, with a scope per route group under JWT', async () => {
    const jwt = { authMode: 'jwt', jwtIssuerUrl: ISSUER, jwtAudience: 'a' };
    const iam = (await params.schedulesEvents(context('prod', {}))) as { httpApi: Record<string, unknown> }[];
    expect(iam.map(({ httpApi }) => `${httpApi.method} ${httpApi.path}`)).toEqual([
      'GET /schedules',
      'GET /schedules/{name}',
      'POST /schedules',
      'PUT /schedules/{name}',
      'DELETE /schedules/{name}',
    ]);
    for (const { httpApi } of iam) expect(httpApi.authorizer).toEqual({ type: 'aws_iam' });
    const scoped = (await params.schedulesEvents(
      context('prod', { ...jwt, jwtSchedulesReadScopes: 'api/read, api/admin', jwtSchedulesWriteScopes: 'api/admin' }),
    )) as { httpApi: Record<string, unknown> }[];
    expect(scoped.map(({ httpApi }) => httpApi.authorizer)).toEqual([
      { name: 'jwt', scopes: ['api/read', 'api/admin'] },
      { name: 'jwt', scopes: ['api/read', 'api/admin'] },
      { name: 'jwt', scopes: ['api/admin'] },
      { name: 'jwt', scopes: ['api/admin'] },
      { name: 'jwt', scopes: ['api/admin'] },
    ]);
    await expect(
      params.schedulesEvents(context('prod', { ...jwt, jwtSchedulesWriteScopes: 'has"quote' })),
    ).rejects.toThrow(/jwtSchedulesWriteScopes.*not an OAuth scope/);
    await expect(params.schedulesEvents(context('prod', { authMode: 'none' }))).rejects.toThrow(/only on the "local"/);
    await withArgv(['offline', '--stage', 'local'], async () => {
      const open = (await params.schedulesEvents(context('local', { authMode: 'none' }))) as {
        httpApi: Record<string, unknown>;
      }[];
      for (const { httpApi } of open) expect(httpApi).not.toHaveProperty('authorizer');
    });
  });

  test('the lifecycle routes: authorized like POST /conferences, conferences/read and conferences/write under JWT', async () => {
    const jwt = { authMode: 'jwt', jwtIssuerUrl: ISSUER, jwtAudience: 'a' };
    const iam = (await params.lifecycleEvents(context('prod', {}))) as { httpApi: Record<string, unknown> }[];
    expect(iam.map(({ httpApi }) => `${httpApi.method} ${httpApi.path}`)).toEqual([
      'GET /conferences',
      'GET /conferences/{name}',
      'DELETE /conferences/{name}',
      'POST /conferences/{name}/commands',
    ]);
    for (const { httpApi } of iam) expect(httpApi.authorizer).toEqual({ type: 'aws_iam' });
    const defaults = (await params.lifecycleEvents(context('prod', jwt))) as { httpApi: Record<string, unknown> }[];
    expect(defaults.map(({ httpApi }) => httpApi.authorizer)).toEqual([
      { name: 'jwt', scopes: ['conferences/read'] },
      { name: 'jwt', scopes: ['conferences/read'] },
      { name: 'jwt', scopes: ['conferences/write'] },
      { name: 'jwt', scopes: ['conferences/write'] },
    ]);
    const scoped = (await params.lifecycleEvents(
      context('prod', { ...jwt, jwtConferencesReadScopes: 'ops/read', jwtConferencesWriteScopes: 'ops/admin ops/end' }),
    )) as { httpApi: Record<string, unknown> }[];
    expect(scoped.map(({ httpApi }) => httpApi.authorizer)).toEqual([
      { name: 'jwt', scopes: ['ops/read'] },
      { name: 'jwt', scopes: ['ops/read'] },
      { name: 'jwt', scopes: ['ops/admin', 'ops/end'] },
      { name: 'jwt', scopes: ['ops/admin', 'ops/end'] },
    ]);
    await expect(
      params.lifecycleEvents(context('prod', { ...jwt, jwtConferencesReadScopes: 'bad scope"' })),
    ).rejects.toThrow(/jwtConferencesReadScopes.*not an OAuth scope/);
    await withArgv(['offline', '--stage', 'local'], async () => {
      const open = (await params.lifecycleEvents(context('local', { authMode: 'none' }))) as {
        httpApi: Record<string, unknown>;
      }[];
      for (const { httpApi } of open) expect(httpApi).not.toHaveProperty('authorizer');
    });
  });

  test('unknown authMode is refused', async () => {
    await expect(params.conferencesRoute(context('prod', { authMode: 'open' }))).rejects.toThrow(/iam, jwt, none/);
  });
});

describe('infra/params.cjs: other parameters', () => {
  test('credentialsSecretArn: required, a full ARN with its suffix, not a name', async () => {
    await expect(params.credentialsSecretArn(context('prod', {}))).rejects.toThrow(/credentialsSecretArn" is required/);
    await expect(
      params.credentialsSecretArn(context('prod', { credentialsSecretArn: 'voxconf/credentials' })),
    ).rejects.toThrow(/secret name is not accepted/);
    await expect(
      params.credentialsSecretArn(
        context('prod', {
          credentialsSecretArn: 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:voxconf/credentials',
        }),
      ),
    ).rejects.toThrow(/6-character suffix/);
    await expect(params.credentialsSecretArn(context('prod', { credentialsSecretArn: SECRET }))).resolves.toBe(SECRET);
    await expect(
      params.credentialsSecretArn(
        context('prod', { credentialsSecretArn: SECRET.replace('eu-central-1', 'eu-west-1') }),
      ),
    ).rejects.toThrow(/is in region eu-west-1 but the stack deploys to eu-central-1/);
  });

  test('CORS: off when empty; origins only, no "*"', async () => {
    await expect(params.cors(context('prod', { corsAllowedOrigins: '' }))).resolves.toBe(false);
    await expect(params.cors(context('prod', { corsAllowedOrigins: '*' }))).rejects.toThrow(/"\*" is not accepted/);
    await expect(params.cors(context('prod', { corsAllowedOrigins: 'https://app.example.com/path' }))).rejects.toThrow(
      /just the origin/,
    );
  });

  test('numbers and lists are checked', async () => {
    await expect(params.logRetentionInDays(context('prod', { logRetentionInDays: '31' }))).rejects.toThrow(
      /must be one of/,
    );
    await expect(params.queueMaximumConcurrency(context('prod', { queueMaximumConcurrency: '16' }))).rejects.toThrow(
      /between 2 and 15/,
    );
    await expect(
      params.scheduleMaxLatenessSeconds(context('prod', { scheduleMaxLatenessSeconds: '30' })),
    ).rejects.toThrow(/between 60/);
    await expect(params.allowedRuleIds(context('prod', { allowedRuleIds: '1, 2;x' }))).rejects.toThrow(/"x"/);
    await expect(params.defaultRuleId(context('prod', { defaultRuleId: '7', allowedRuleIds: '1,2' }))).rejects.toThrow(
      /not in allowedRuleIds/,
    );
    await expect(params.alarmTopicArn(context('prod', { alarmTopicArn: 'my-topic' }))).rejects.toThrow(/SNS topic ARN/);
    await expect(params.apiUrl(context('prod', { apiUrl: 'http://127.0.0.1:9000' }))).rejects.toThrow(/https/);
    await expect(params.apiUrl(context('local', { apiUrl: 'http://127.0.0.1:9000/' }))).resolves.toBe(
      'http://127.0.0.1:9000',
    );
  });

  test('the schedules routes: a throttle per route group, checked', async () => {
    const limits = {
      schedulesReadThrottlingBurstLimit: '40',
      schedulesReadThrottlingRateLimit: '20',
      schedulesWriteThrottlingBurstLimit: '4',
      schedulesWriteThrottlingRateLimit: '2',
    };
    const settings = (await params.schedulesRouteSettings(context('prod', limits))) as Record<string, unknown>;
    expect(settings['GET /schedules']).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingBurstLimit: 40,
      ThrottlingRateLimit: 20,
    });
    expect(settings['DELETE /schedules/{name}']).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingBurstLimit: 4,
      ThrottlingRateLimit: 2,
    });
    await expect(
      params.schedulesRouteSettings(context('prod', { ...limits, schedulesWriteThrottlingRateLimit: '0' })),
    ).rejects.toThrow(/schedulesWriteThrottlingRateLimit.*between 1 and 10000/);
  });

  test("the lifecycle routes: a throttle per route group, checked; the stage gets both APIs' settings", async () => {
    const limits = {
      schedulesReadThrottlingBurstLimit: '10',
      schedulesReadThrottlingRateLimit: '5',
      schedulesWriteThrottlingBurstLimit: '10',
      schedulesWriteThrottlingRateLimit: '5',
      lifecycleReadThrottlingBurstLimit: '30',
      lifecycleReadThrottlingRateLimit: '15',
      lifecycleWriteThrottlingBurstLimit: '3',
      lifecycleWriteThrottlingRateLimit: '1',
    };
    const settings = (await params.httpApiRouteSettings(context('prod', limits))) as Record<string, unknown>;
    const setting = (burst: number, rate: number) => ({
      DetailedMetricsEnabled: false,
      ThrottlingBurstLimit: burst,
      ThrottlingRateLimit: rate,
    });
    expect(Object.keys(settings)).toHaveLength(9);
    expect(settings['GET /conferences']).toEqual(setting(30, 15));
    expect(settings['GET /conferences/{name}']).toEqual(setting(30, 15));
    expect(settings['DELETE /conferences/{name}']).toEqual(setting(3, 1));
    expect(settings['POST /conferences/{name}/commands']).toEqual(setting(3, 1));
    expect(settings).not.toHaveProperty('POST /conferences');
    await expect(
      params.lifecycleRouteSettings(context('prod', { ...limits, lifecycleReadThrottlingBurstLimit: '' })),
    ).rejects.toThrow(/lifecycleReadThrottlingBurstLimit" is required/);
  });

  test('the lifecycle function: reference rules and registry settings, checked; the local table', async () => {
    await expect(params.referenceScenarioRuleIds(context('prod', {}))).resolves.toBe('');
    await expect(
      params.referenceScenarioRuleIds(context('prod', { referenceScenarioRuleIds: '4242, 4243;4244' })),
    ).resolves.toBe('4242,4243,4244');
    await expect(
      params.referenceScenarioRuleIds(context('prod', { referenceScenarioRuleIds: '4242,rule-7' })),
    ).rejects.toThrow(/referenceScenarioRuleIds.*"rule-7".*not a positive integer rule id/);
    await expect(params.referenceScenarioRuleIds(context('prod', { referenceScenarioRuleIds: '0' }))).rejects.toThrow(
      /referenceScenarioRuleIds/,
    );
    await expect(params.registryEndedRetentionDays(context('prod', {}))).resolves.toBe(30);
    await expect(
      params.registryActiveRetentionHours(context('prod', { registryActiveRetentionHours: '0' })),
    ).rejects.toThrow(/registryActiveRetentionHours.*between 1/);
    await expect(params.sessionRequestTimeoutMs(context('prod', { sessionRequestTimeoutMs: '20000' }))).rejects.toThrow(
      /sessionRequestTimeoutMs.*between 100 and 10000/,
    );
    await expect(params.registryTableName(context('prod', {}))).resolves.toEqual({ Ref: 'RegistryTable' });
    // The local stage: the local stack's table when it passes one, else none (the registry off).
    await expect(params.registryTableName(context('local', {}))).resolves.toBe('');
    await expect(
      params.registryTableName(context('local', { localRegistryTableName: 'voxconf-local-conferences' })),
    ).resolves.toBe('voxconf-local-conferences');
  });

  test('the schedules function: its limits from lib/facts.json, checked; the local stage gets placeholders', async () => {
    await expect(params.schedulesMaxCount(context('prod', {}))).resolves.toBe(10_000);
    await expect(params.schedulesMaxCount(context('prod', { schedulesMaxCount: '0' }))).rejects.toThrow(/between 1/);
    await expect(params.schedulesHorizonDays(context('prod', { schedulesHorizonDays: '30' }))).resolves.toBe(30);
    await expect(
      params.schedulesMinIntervalMinutes(context('prod', { schedulesMinIntervalMinutes: 'five' })),
    ).rejects.toThrow(/whole number/);
    await expect(params.schedulesApiGroup(context('prod', {}))).resolves.toEqual({ Ref: 'ApiScheduleGroup' });
    await expect(params.schedulesRoleArn(context('prod', {}))).resolves.toEqual(getAtt('ApiSchedulerExecutionRole'));
    const local = context('local', {});
    await expect(params.schedulesDeployGroup(local)).resolves.toBe('voxconf-local');
    await expect(params.schedulesApiGroup(local)).resolves.toBe('voxconf-local-api');
    await expect(params.schedulesTargetArn(local)).resolves.toBe(
      'arn:aws:lambda:eu-central-1:000000000000:function:voxconf-local-schedule',
    );
    await expect(params.schedulesDeadLetterArn(local)).resolves.toBe(
      'arn:aws:sqs:eu-central-1:000000000000:voxconf-local-dead-letter',
    );
    await expect(
      params.schedulesDeadLetterArn(
        context('local', { localDeadLetterQueueArn: 'arn:aws:sqs:us-east-1:000000000000:dlq' }),
      ),
    ).resolves.toBe('arn:aws:sqs:us-east-1:000000000000:dlq');
  });

  test('DEAD_LETTER_QUEUE_URL: the stack queue, or a loopback URL on the local stage', async () => {
    await expect(params.deadLetterQueueUrl(context('prod', {}))).resolves.toEqual({ Ref: 'DeadLetterQueue' });
    await expect(
      params.deadLetterQueueUrl(
        context('local', { localDeadLetterQueueUrl: 'http://127.0.0.1:9324/000000000000/dlq' }),
      ),
    ).resolves.toBe('http://127.0.0.1:9324/000000000000/dlq');
  });
});
