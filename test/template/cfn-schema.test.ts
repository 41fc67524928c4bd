/**
 * The packaged templates against the resource schemas AWS publishes (test/template/cfn-schema.ts): the closest
 * check to a deploy that runs here. The default package and the one with every option on (JWT authorizer,
 * CORS, alarm topic, KMS key) together hold every resource and property the stack can have.
 *
 * Then one defect of each kind, injected into a copy of the real template, to show that each rule can fail
 * and names the resource and the property path.
 */
import { checkTemplate, loadSpec, type SpecDatabase } from './cfn-schema.js';
import { ALL_OPTIONS, ensurePackaged, getAtt, type Template } from './package-helper.js';

let db: SpecDatabase;
let dev: Template;

beforeAll(() => {
  db = loadSpec();
  dev = ensurePackaged('dev', 'dev').template;
}, 180_000);

describe.each([
  ['dev (defaults: IAM auth, no CORS, no alarm topic)', () => ensurePackaged('dev', 'dev')],
  [
    `${ALL_OPTIONS.variant} (JWT, CORS, alarm topic, KMS key)`,
    () => ensurePackaged(ALL_OPTIONS.variant, ALL_OPTIONS.stage, ALL_OPTIONS.params),
  ],
])('the packaged template of %s', (_name, pack) => {
  let t: Template;
  beforeAll(() => {
    t = pack().template;
  }, 180_000);

  test('has no problem: types, properties, shapes, required properties, references', () => {
    expect(Object.keys(t.Resources).length).toBeGreaterThan(30);
    // toEqual([]) prints every problem when there are any.
    expect(checkTemplate(t, db)).toEqual([]);
  });
});

/** The problems of a copy of the default template after `inject` changed it. */
function problemsAfter(inject: (t: any) => void): string[] {
  const copy = structuredClone(dev);
  inject(copy);
  return checkTemplate(copy, db);
}
const R = (t: any, id: string) => t.Resources[id];
const P = (t: any, id: string) => t.Resources[id].Properties;

describe('each kind of defect is reported with its resource and property path', () => {
  test('the copy is clean before anything is injected', () => {
    expect(problemsAfter(() => {})).toEqual([]);
  });

  test.each<[string, (t: any) => void, string]>([
    [
      'unknown resource type',
      (t) => {
        R(t, 'RequestQueue').Type = 'AWS::SQS::Queueue';
      },
      'RequestQueue.Type: AWS::SQS::Queueue is not a resource type',
    ],
    [
      'unknown resource attribute',
      (t) => {
        R(t, 'HttpApiStage').DependOn = 'HttpApiLogGroup';
      },
      'HttpApiStage.DependOn: not a resource attribute',
    ],
    [
      'unknown property',
      (t) => {
        P(t, 'RequestQueue').VisibilityTimeOut = 180;
      },
      'RequestQueue.Properties.VisibilityTimeOut: not a property of AWS::SQS::Queue',
    ],
    [
      'unknown property in a nested property type',
      (t) => {
        P(t, 'ScheduleWeekdayStandup').Target.RetryPolicy.MaximumRetries = 3;
      },
      'ScheduleWeekdayStandup.Properties.Target.RetryPolicy.MaximumRetries: ' +
        'not a property of AWS::Scheduler::Schedule.RetryPolicy',
    ],
    [
      'object where a string goes',
      (t) => {
        P(t, 'HttpApiStage').AccessLogSettings.Format = { requestId: '$context.requestId' };
      },
      'HttpApiStage.Properties.AccessLogSettings.Format: expected string, got object',
    ],
    [
      'wrong scalar two property types deep',
      (t) => {
        P(t, 'ScheduleWeekdayStandup').Target.RetryPolicy.MaximumRetryAttempts = 'twice';
      },
      'ScheduleWeekdayStandup.Properties.Target.RetryPolicy.MaximumRetryAttempts: expected number, got string "twice"',
    ],
    [
      'value outside the allowed values',
      (t) => {
        P(t, 'ScheduleWeekdayStandup').State = 'PAUSED';
      },
      'ScheduleWeekdayStandup.Properties.State: expected one of ENABLED | DISABLED, got "PAUSED"',
    ],
    [
      'missing required property',
      (t) => {
        delete P(t, 'HttpLambdaFunction').Code;
      },
      'HttpLambdaFunction.Properties.Code: required by AWS::Lambda::Function, missing',
    ],
    [
      'missing required property of a nested property type',
      (t) => {
        delete P(t, 'ScheduleWeekdayStandup').FlexibleTimeWindow.Mode;
      },
      'ScheduleWeekdayStandup.Properties.FlexibleTimeWindow.Mode: ' +
        'required by AWS::Scheduler::Schedule.FlexibleTimeWindow, missing',
    ],
    [
      'required property that a Fn::If branch removes',
      (t) => {
        const schedule = P(t, 'ScheduleWeekdayStandup');
        schedule.FlexibleTimeWindow = {
          'Fn::If': ['HasAlarmTopic', schedule.FlexibleTimeWindow, { Ref: 'AWS::NoValue' }],
        };
      },
      'ScheduleWeekdayStandup.Properties.FlexibleTimeWindow: ' +
        'required by AWS::Scheduler::Schedule, but AWS::NoValue may remove it',
    ],
    [
      'object where a list goes',
      (t) => {
        P(t, 'HttpLambdaFunction').Tags = { service: 'voxconf' };
      },
      'HttpLambdaFunction.Properties.Tags: expected list of tag, got object',
    ],
    [
      'list where an object goes',
      (t) => {
        const fn = P(t, 'HttpLambdaFunction');
        fn.Environment = [fn.Environment];
      },
      'HttpLambdaFunction.Properties.Environment: expected Environment, got list',
    ],
    [
      'a Fn::If branch of the wrong shape',
      (t) => {
        P(t, 'DeadLetterQueueAlarm').OKActions['Fn::If'][1] = 'arn:aws:sns:eu-central-1:123456789012:t';
      },
      'DeadLetterQueueAlarm.Properties.OKActions.Fn::If[1]: ' +
        'expected list of string, got string "arn:aws:sns:eu-central-1:123456789012:t"',
    ],
    [
      'Ref to nothing',
      (t) => {
        P(t, 'HttpApiIntegrationHttp').ApiId = { Ref: 'HttpApii' };
      },
      'HttpApiIntegrationHttp.Properties.ApiId: Ref HttpApii names no resource, parameter or pseudo parameter',
    ],
    [
      'Fn::GetAtt of no resource',
      (t) => {
        P(t, 'HttpLambdaFunction').Role = getAtt('HttpRole');
      },
      'HttpLambdaFunction.Properties.Role: Fn::GetAtt HttpRole.Arn names no resource',
    ],
    [
      'Fn::GetAtt ("A.B" form) of no resource, inside a policy document',
      (t) => {
        P(t, 'HttpFunctionRole').Policies[0].PolicyDocument.Statement[0].Resource = { 'Fn::GetAtt': 'HttpLogs.Arn' };
      },
      'HttpFunctionRole.Properties.Policies[0].PolicyDocument.Statement[0].Resource: ' +
        'Fn::GetAtt HttpLogs.Arn names no resource',
    ],
    [
      'Fn::GetAtt of an attribute the type does not have',
      (t) => {
        P(t, 'QueueEventSourceMappingSQSRequestQueue').EventSourceArn = getAtt('RequestQueue', 'Url');
      },
      'QueueEventSourceMappingSQSRequestQueue.Properties.EventSourceArn: ' +
        'Fn::GetAtt RequestQueue.Url: AWS::SQS::Queue has no attribute Url (it has Arn, QueueName, QueueUrl)',
    ],
    [
      'DependsOn no resource',
      (t) => {
        R(t, 'HttpApiStage').DependsOn = 'HttpApiLogGroupp';
      },
      'HttpApiStage.DependsOn: HttpApiLogGroupp is not a resource',
    ],
    [
      'Fn::Sub of no pseudo parameter (${!Literal} is not one)',
      (t) => {
        const condition = P(t, 'HttpFunctionRole').Policies[0].PolicyDocument.Statement[2]['Fn::If'][1].Condition;
        condition.StringEquals['kms:ViaService'] = { 'Fn::Sub': 'secretsmanager.${AWS::Regoin}.${!Suffix}' };
      },
      'HttpFunctionRole.Properties.Policies[0].PolicyDocument.Statement[2].Fn::If[1].Condition.StringEquals.' +
        'kms:ViaService: Fn::Sub ${AWS::Regoin} names no resource, parameter or pseudo parameter',
    ],
    [
      'Fn::Sub of an attribute the type does not have',
      (t) => {
        P(t, 'HttpLambdaFunction').Environment.Variables.DEAD_LETTER_QUEUE_URL = {
          'Fn::Sub': '${DeadLetterQueue.Url}',
        };
      },
      'HttpLambdaFunction.Properties.Environment.Variables.DEAD_LETTER_QUEUE_URL: Fn::Sub ${DeadLetterQueue.Url}: ' +
        'AWS::SQS::Queue has no attribute Url (it has Arn, QueueName, QueueUrl)',
    ],
    [
      'Condition on a resource that names no condition',
      (t) => {
        R(t, 'DeadLetterQueueAlarm').Condition = 'HasAlarmTopik';
      },
      'DeadLetterQueueAlarm.Condition: HasAlarmTopik is not a condition',
    ],
    [
      'Fn::If on no condition',
      (t) => {
        P(t, 'HttpErrorsAlarm').AlarmActions['Fn::If'][0] = 'HasTopic';
      },
      'HttpErrorsAlarm.Properties.AlarmActions.Fn::If[0]: Fn::If condition HasTopic is not a condition',
    ],
    [
      'a condition that refers to a resource',
      (t) => {
        t.Conditions.HasAlarmTopic['Fn::Not'][0]['Fn::Equals'][0] = { Ref: 'RequestQueue' };
      },
      'Conditions.HasAlarmTopic.Fn::Not[0].Fn::Equals[0]: Ref RequestQueue: a condition may refer to parameters only',
    ],
    [
      'output of no resource',
      (t) => {
        t.Outputs.RequestQueueArn.Value = getAtt('RequestQ');
      },
      'Outputs.RequestQueueArn.Value: Fn::GetAtt RequestQ.Arn names no resource',
    ],
  ])('%s', (_kind, inject, expected) => {
    expect(problemsAfter(inject)).toEqual([expected]);
  });

  test('CloudFormation turns scalars into one another: "180" for an integer, 5 for a string, "true" for a boolean', () => {
    expect(
      problemsAfter((t) => {
        P(t, 'RequestQueue').VisibilityTimeout = '180';
        P(t, 'HttpLambdaFunction').Environment.Variables.VOXIMPLANT_MAX_ATTEMPTS = 2;
        P(t, 'RequestQueue').SqsManagedSseEnabled = 'true';
      }),
    ).toEqual([]);
  });
});
