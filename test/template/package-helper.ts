/**
 * Shared by the template tests: packages the stack with scripts/package.mjs (offline, ~5 s) into a folder of
 * its own under .cache/template/, unless a package made from the current sources with the same parameters is
 * already there, and reads the template, the manifest and the zips.
 *
 * Own folders, not .serverless: `npm run package` or a developer's `serverless package` may rewrite
 * .serverless at any time, and a variant packaged with other parameters must not be mistaken for the default.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readZipEntry } from '../../scripts/package.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const requireCjs = createRequire(import.meta.url);

/** The placeholder secret ARN scripts/package.mjs passes unless told otherwise. */
export const PLACEHOLDER_SECRET_ARN =
  'arn:aws:secretsmanager:eu-central-1:123456789012:secret:voxconf/credentials-AbCdEf';
export const FUNCTIONS = ['http', 'queue', 'schedule', 'schedules', 'lifecycle'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];
/** The functions that start conferences (schedules only manages schedules: no secret, no Voximplant). */
export const STARTERS = ['http', 'queue', 'schedule'] as const;
/** Logical ids osls gives the functions. */
export const FUNCTION_IDS: Record<FunctionName, string> = {
  http: 'HttpLambdaFunction',
  queue: 'QueueLambdaFunction',
  schedule: 'ScheduleLambdaFunction',
  schedules: 'SchedulesLambdaFunction',
  lifecycle: 'LifecycleLambdaFunction',
};
export const MAX_ZIP_BYTES = 450 * 1024;

/**
 * The package with every option on (variants.test.ts, cfn-schema.test.ts): JWT authorizer, CORS, alarm topic,
 * KMS key, other limits. Shared so that both files find the same current package instead of repackaging it
 * with their own parameters in turn.
 */
export const ALL_OPTIONS = {
  variant: 'prod-jwt',
  stage: 'prod',
  params: {
    authMode: 'jwt',
    jwtIssuerUrl: 'https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Example',
    jwtAudience: 'client-a,client-b',
    corsAllowedOrigins: 'https://app.example.com,https://admin.example.com',
    alarmTopicArn: 'arn:aws:sns:eu-central-1:123456789012:voxconf-alarms',
    credentialsKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    credentialsSecretArn: 'arn:aws:secretsmanager:eu-central-1:210987654321:secret:prod/voxconf-Zy9Xw8',
    allowedRuleIds: '1000001,1000002',
    throttlingBurstLimit: '50',
    throttlingRateLimit: '25',
    queueMaximumConcurrency: '5',
    scheduleMaxLatenessSeconds: '300',
    logRetentionInDays: '90',
    logLevel: 'debug',
  },
} as const;

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface Resource {
  Type: string;
  Properties?: any;
  Condition?: string;
  DependsOn?: string | string[];
}
export interface Template {
  Parameters?: Record<string, any>;
  Conditions?: Record<string, any>;
  Resources: Record<string, Resource>;
  Outputs?: Record<string, any>;
}
export interface Manifest {
  stage: string;
  cliParams: Record<string, string>;
  params: Record<string, string>;
  durationMs: number;
  template: string;
  artifacts: {
    function: FunctionName;
    zip: string;
    zipBytes: number;
    files: { name: string; bytes: number }[];
    /**
     * The main file; what is evaluated before its code (main + static chunks); what a cold start imports (that and a
     * thin entry's handler chunk); the chunks loaded on first use (scripts/package.mjs bundleLoadOrder).
     */
    mainBytes: number;
    firstBytes: number;
    startBytes: number;
    lazyBytes: number;
    load: { first: string[]; start: string[]; lazy: string[]; unreachable: string[] };
  }[];
}
export interface Packaged {
  dir: string;
  template: Template;
  manifest: Manifest;
  /** True when this test run packaged (false: an up-to-date package was reused). */
  fresh: boolean;
}

/** Files whose change makes a package stale. */
function inputFiles(): string[] {
  const files = ['serverless.yml', 'package-lock.json', 'scripts/package.mjs'];
  const walk = (dir: string, pattern: RegExp) => {
    const full = path.join(ROOT, dir);
    if (!existsSync(full)) return;
    for (const entry of readdirSync(full, { withFileTypes: true })) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative, pattern);
      else if (pattern.test(entry.name)) files.push(relative);
    }
  };
  walk('infra', /./);
  walk('functions', /\.ts$/);
  walk('lib', /\.ts$/);
  return files.filter((file) => existsSync(path.join(ROOT, file)));
}

function newestInputMs(): number {
  return Math.max(...inputFiles().map((file) => statSync(path.join(ROOT, file)).mtimeMs));
}

function sameParams(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (!a) return false;
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((key) => a[key] === b[key]);
}

function isCurrent(dir: string, stage: string, params: Record<string, string>): boolean {
  const manifestFile = path.join(dir, 'voxconf-package.json');
  const templateFile = path.join(dir, 'cloudformation-template-update-stack.json');
  if (!existsSync(manifestFile) || !existsSync(templateFile)) return false;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  return (
    manifest.stage === stage &&
    sameParams(manifest.cliParams, params) &&
    statSync(manifestFile).mtimeMs >= newestInputMs()
  );
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The package of `variant` (stage + parameters), made by scripts/package.mjs if missing or stale.
 * A lock folder keeps two jest workers from packaging the same variant at once.
 */
export function ensurePackaged(variant: string, stage: string, params: Record<string, string> = {}): Packaged {
  const relativeDir = path.join('.cache', 'template', variant);
  const dir = path.join(ROOT, relativeDir);
  const lock = `${dir}.lock`;
  mkdirSync(path.dirname(dir), { recursive: true });
  let fresh = false;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock older than 3 minutes belongs to a killed run.
      let heldMs: number;
      try {
        heldMs = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released between our mkdir and this stat: try to take it again
      }
      if (heldMs > 180_000) rmdirSync(lock);
      else if (Date.now() > deadline) throw new Error(`${lock} held for too long`);
      else sleep(250);
    }
  }
  try {
    if (!isCurrent(dir, stage, params)) {
      const env = { ...process.env };
      delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for osls
      const result = spawnSync(
        process.execPath,
        [
          path.join(ROOT, 'scripts', 'package.mjs'),
          '--stage',
          stage,
          '--out',
          relativeDir,
          ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
        ],
        { cwd: ROOT, env, encoding: 'utf8', timeout: 150_000 },
      );
      if (result.status !== 0) {
        throw new Error(
          `scripts/package.mjs failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
        );
      }
      fresh = true;
    }
  } finally {
    rmdirSync(lock);
  }
  return {
    dir,
    fresh,
    template: JSON.parse(readFileSync(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template,
    manifest: JSON.parse(readFileSync(path.join(dir, 'voxconf-package.json'), 'utf8')) as Manifest,
  };
}

/** Resources of one type, as [logicalId, resource] pairs. */
export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function getAtt(logicalId: string, attribute = 'Arn') {
  return { 'Fn::GetAtt': [logicalId, attribute] };
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Policy statements with any `Fn::If` resolved to its "true" branch (the worst case for permissions). */
export function statementsOf(document: any): Statement[] {
  const list = Array.isArray(document?.Statement) ? document.Statement : [document?.Statement];
  return list
    .map((statement: any) => (statement?.['Fn::If'] ? statement['Fn::If'][1] : statement))
    .filter((statement: any) => statement && typeof statement === 'object' && !statement.Ref);
}

export function actionsOf(statement: Statement): string[] {
  const action = statement.Action ?? [];
  return Array.isArray(action) ? action : [action];
}

/** Every policy statement of the template, with where it comes from. */
export function allStatements(template: Template): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of p.Policies ?? []) {
        for (const statement of statementsOf(policy.PolicyDocument))
          found.push({ where: `${id}/${policy.PolicyName}`, statement });
      }
      for (const statement of statementsOf(p.AssumeRolePolicyDocument)) found.push({ where: `${id}/trust`, statement });
    } else if (['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type)) {
      for (const statement of statementsOf(p.PolicyDocument)) found.push({ where: id, statement });
    } else if (/::(BucketPolicy|QueuePolicy|TopicPolicy)$/.test(resource.Type)) {
      for (const statement of statementsOf(p.PolicyDocument)) found.push({ where: id, statement });
    }
  }
  return found;
}

export { readZipEntries as zipEntries } from '../../scripts/package.mjs';

/** The text of one zip entry. */
export function zipEntryText(file: string, name: string): string {
  return readZipEntry(file, name).toString('utf8');
}
