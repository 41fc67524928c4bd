/**
 * Bundle size per function. A bundle is its main .mjs and chunks (serverless.yml `splitting`): what an import reads
 * and compiles (the row's figure: the main file and its static chunks, and a start function's handler chunk, which
 * its entry awaits after connect-early's code: that part is given apart), and apart from it the chunks loaded when
 * code first imports them (the registry writer, the event bus); raw, gzipped, and the zip. Then what is inside: the same
 * esbuild build (options from serverless.yml) with a metafile, checked byte-for-byte against the packaged files,
 * attributes the output bytes to packages, and flags packages a function does not use in Lambda.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  type Bundles,
  bytesOf,
  CONFERENCE_FUNCTIONS,
  esbuildOptionsFromServerless,
  FUNCTIONS,
  type FunctionName,
  ROOT,
} from './bundles.js';

/**
 * Packages no voxconf function uses when it runs in Lambda. Credentials there come from the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), which the SDK's default chain tries first,
 * so the rest of the chain (shared ini files, SSO, login, credential_process, web identity, container and
 * instance metadata, and the STS/SSO clients they bring) is bundled but never runs.
 */
const UNUSED_IN_LAMBDA: Record<string, string> = {
  '@aws-sdk/credential-provider-ini': 'shared config/credentials files: Lambda has none',
  '@aws-sdk/credential-provider-sso': 'SSO: not in Lambda',
  '@aws-sdk/credential-provider-login': 'console login credentials: not in Lambda',
  '@aws-sdk/credential-provider-process': 'credential_process: not in Lambda',
  '@aws-sdk/credential-provider-web-identity': 'web identity token: not in Lambda',
  '@aws-sdk/credential-provider-http': 'container credentials endpoint: not in Lambda',
  '@smithy/credential-provider-imds': 'EC2 instance metadata: not in Lambda',
  '@aws-sdk/token-providers': 'SSO bearer tokens: not in Lambda',
  '@aws-sdk/nested-clients': 'STS/SSO/SSO-OIDC clients for the providers above',
  '@aws-sdk/credential-provider-node': 'the default chain itself; only its first step (environment) runs',
};

/**
 * Packages that only some functions need. The schedules API books schedules (Scheduler, croner for the
 * expressions) and never starts a conference itself: no Secrets Manager, no token, no SQS, no outcome events. The
 * lifecycle API (when serverless.yml has it) reads the registry, asks Voximplant for call history and publishes
 * Conference Ended: no SQS, no Scheduler.
 */
export const FUNCTION_ONLY: Record<string, readonly FunctionName[]> = {
  '@aws-sdk/client-sqs': ['queue', 'schedule'],
  '@aws-sdk/middleware-sdk-sqs': ['queue', 'schedule'],
  // The lifecycle API reads the credentials and signs a token too (GetCallHistory after an end).
  '@aws-sdk/client-secrets-manager': [...CONFERENCE_FUNCTIONS, 'lifecycle'],
  // http publishes only with PUBLISH_HTTP_EVENTS, but carries the client for it; lifecycle: Conference Ended.
  '@aws-sdk/client-eventbridge': [...CONFERENCE_FUNCTIONS, 'lifecycle'],
  // The registry's writer, loaded lazily after a start's request is sent (lib/registry.ts); the lifecycle's reads.
  '@aws-sdk/client-dynamodb': [...CONFERENCE_FUNCTIONS, 'lifecycle'],
  jose: [...CONFERENCE_FUNCTIONS, 'lifecycle'],
  '@aws-sdk/client-scheduler': ['schedules'],
  croner: ['schedules'],
};

export interface PackageShare {
  readonly name: string;
  /** In every file of the bundle. */
  readonly bytes: number;
  /** Of those, in the chunks loaded on first use. */
  readonly lazyBytes: number;
  readonly unusedReason?: string;
}

export interface FunctionSize {
  readonly function: FunctionName;
  /** What an import of the bundle reads and compiles: the main file and its static chunks. */
  readonly startBytes: number;
  readonly startFiles: number;
  /** Of those, what is evaluated before the main file's code (a start function: before the connection starts). */
  readonly firstBytes: number;
  readonly firstFiles: number;
  /** The main file alone. */
  readonly mainBytes: number;
  /** The chunks loaded when code first imports them (dynamic import()). */
  readonly lazyBytes: number;
  readonly lazyFiles: readonly { name: string; bytes: number }[];
  /** The files loaded at import, each gzipped, summed. */
  readonly gzipBytes: number;
  readonly zipBytes: number;
  readonly zipEntries: readonly string[];
  /** The metafile build produced exactly the packaged files (so the attribution below is exact). */
  readonly metafileIdentical: boolean;
  readonly packages: readonly PackageShare[];
  readonly unusedBytes: number;
}

function packageOf(input: string): string {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (match) return match[1]!;
  return input.split('/')[0]!;
}

export async function measureSizes(bundles: Bundles): Promise<FunctionSize[]> {
  const esbuild = await import('esbuild');
  const options = esbuildOptionsFromServerless();
  const results: FunctionSize[] = [];
  for (const name of FUNCTIONS) {
    const bundle = bundles.functions[name];
    if (!bundle) throw new Error(`no bundle of function ${name}`);
    // Packaged files by file name (the zip has them all under functions/).
    const packaged = new Map(
      [...bundle.start, ...bundle.lazy].map((file) => [
        path.basename(file.name),
        readFileSync(path.join(bundle.dir, file.name)),
      ]),
    );
    const lazyNames = new Set(bundle.lazy.map((file) => path.basename(file.name)));
    const outdir = path.join(ROOT, '.cache', 'bench', 'metafile');
    const built = await esbuild.build({
      ...options,
      entryPoints: [path.join(ROOT, 'functions', `${name}.ts`)],
      outdir,
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: ROOT,
    });
    const outputs = built.outputFiles.filter((file) => /\.(mjs|js)$/.test(file.path));
    const identical =
      outputs.length === packaged.size &&
      outputs.every((file) => packaged.get(path.basename(file.path))?.equals(Buffer.from(file.contents)) === true);
    const shares = new Map<string, { bytes: number; lazyBytes: number }>();
    for (const [output, meta] of Object.entries(built.metafile.outputs)) {
      const lazy = lazyNames.has(path.basename(output));
      for (const [input, info] of Object.entries(meta.inputs)) {
        const share = shares.get(packageOf(input)) ?? { bytes: 0, lazyBytes: 0 };
        share.bytes += info.bytesInOutput;
        if (lazy) share.lazyBytes += info.bytesInOutput;
        shares.set(packageOf(input), share);
      }
    }
    const packages = [...shares]
      .map(([pkg, { bytes, lazyBytes }]): PackageShare => {
        const only = FUNCTION_ONLY[pkg];
        const unusedReason =
          UNUSED_IN_LAMBDA[pkg] ?? (only && !only.includes(name) ? `only ${only.join('/')} use it` : undefined);
        return unusedReason ? { name: pkg, bytes, lazyBytes, unusedReason } : { name: pkg, bytes, lazyBytes };
      })
      .sort((a, b) => b.bytes - a.bytes);
    const startData = bundle.start.map((file) => packaged.get(path.basename(file.name))!);
    results.push({
      function: name,
      startBytes: bytesOf(bundle.start),
      startFiles: bundle.start.length,
      firstBytes: bytesOf(bundle.first),
      firstFiles: bundle.first.length,
      mainBytes: bundle.bytes,
      lazyBytes: bytesOf(bundle.lazy),
      lazyFiles: bundle.lazy,
      gzipBytes: startData.reduce((sum, data) => sum + gzipSync(data, { level: 9 }).length, 0),
      zipBytes: bundle.zipBytes,
      zipEntries: bundle.zipEntries.map((e) => e.name),
      metafileIdentical: identical,
      packages,
      unusedBytes: packages.reduce((sum, p) => sum + (p.unusedReason ? p.bytes : 0), 0),
    });
  }
  return results;
}
