/**
 * infra/schedules.yml's schedules as a deploy creates them: infra/schedules.cjs buildScheduleResources (the very
 * AWS::Scheduler::Schedule properties CloudFormation gets), their references resolved to the local stack's, created
 * in the Scheduler stand-in's group `voxconf-local` with the real SDK client. So the schedules API sees them as it
 * does deployed: listed with `managed_by: deploy`, a name it will not give (409 schedule_exists), a change it
 * refuses (409 schedule_managed_by_deploy). The local scheduler fires them from infra/schedules.yml itself
 * (local/scheduler.ts), not from the stand-in.
 */
import { createRequire } from 'node:module';
import { CreateScheduleCommand, type CreateScheduleCommandInput, SchedulerClient } from '@aws-sdk/client-scheduler';
import facts from '../lib/facts.json' with { type: 'json' };
import type { ScheduleEntry } from './scheduler.js';

interface SchedulesModule {
  buildScheduleResources(
    entries: readonly ScheduleEntry[],
    settings: { maxEventAgeSeconds: number },
  ): Record<string, { Properties: Record<string, unknown> }>;
}

const require = createRequire(import.meta.url);

export interface DeploySchedulesOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly entries: readonly ScheduleEntry[];
  /** What the template's references name on the local stack. */
  readonly group: string;
  readonly targetArn: string;
  readonly roleArn: string;
  readonly deadLetterArn: string;
}

/** The template's value with `Ref` / `Fn::GetAtt` replaced; any other intrinsic is a mistake here. */
function resolveReferences(value: unknown, refs: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, refs));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::'))) {
    const key = JSON.stringify(value);
    const resolved = refs.get(key);
    if (resolved === undefined) throw new Error(`infra/schedules.cjs: no local value for ${key}`);
    return resolved;
  }
  return Object.fromEntries(
    Object.entries(value).map(([name, item]) => [name, resolveReferences(item, refs)] as const),
  );
}

/** Creates every entry's schedule in the stand-in, as the deploy would; resolves with their names. */
export async function createDeploySchedules(options: DeploySchedulesOptions): Promise<string[]> {
  if (options.entries.length === 0) return [];
  const { buildScheduleResources } = require('../infra/schedules.cjs') as SchedulesModule;
  const resources = buildScheduleResources(options.entries, {
    maxEventAgeSeconds: facts.settings.SCHEDULE_MAX_LATENESS_SECONDS.default,
  });
  const refs = new Map<string, string>([
    [JSON.stringify({ Ref: 'ScheduleGroup' }), options.group],
    [JSON.stringify({ 'Fn::GetAtt': ['ScheduleLambdaFunction', 'Arn'] }), options.targetArn],
    [JSON.stringify({ 'Fn::GetAtt': ['SchedulerExecutionRole', 'Arn'] }), options.roleArn],
    [JSON.stringify({ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] }), options.deadLetterArn],
  ]);
  const client = new SchedulerClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: options.credentials,
    maxAttempts: 1,
  });
  try {
    const names: string[] = [];
    for (const resource of Object.values(resources)) {
      const input = resolveReferences(resource.Properties, refs) as CreateScheduleCommandInput;
      await client.send(new CreateScheduleCommand(input));
      names.push(input.Name as string);
    }
    return names;
  } finally {
    client.destroy();
  }
}
