#!/usr/bin/env node
/**
 * npm run package [-- --stage dev] [--param name=value ...] [--out .serverless] [--timeout 90]
 *
 * Builds the CloudFormation template and the four function bundles offline, exactly as `serverless deploy`
 * would before uploading: `serverless package --stage <stage>` with placeholder-but-valid parameters, dummy
 * AWS credentials (nothing can reach AWS), telemetry off, inside a timeout (a failing esbuild build makes
 * osls print the error and hang). Before that, the handlers are built once with esbuild directly, so a build
 * error fails in a second with esbuild's own message.
 *
 * Output: <out>/cloudformation-template-update-stack.json, <out>/{http,queue,schedule,schedules,lifecycle}.zip, and
 * <out>/voxconf-package.json (stage, parameters, duration, per-function zip size and contents, and which files load
 * at import and which later: bundleLoadOrder) for the template tests. Prints the bundle sizes.
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { acquireDirLock } from './dir-lock.mjs';

const require = createRequire(import.meta.url);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FUNCTIONS = ['http', 'queue', 'schedule', 'schedules', 'lifecycle'];
/** Each zip must stay below this (the template tests check it too). */
const MAX_ZIP_BYTES = 450 * 1024;

/**
 * Placeholders that make a valid template: the secret ARN has the 6-character suffix a real one has, and a
 * default rule lets the enabled example schedule (infra/schedules.yml) validate. --param overrides them.
 */
const PLACEHOLDER_PARAMS = {
  credentialsSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:voxconf/credentials-AbCdEf',
  defaultRuleId: '1000001',
};

function usage(message) {
  if (message) console.error(`package: ${message}`);
  console.error(
    'usage: node scripts/package.mjs [--stage <stage>] [--region <region>] [--param <name>=<value>]... ' +
      '[--out <dir>] [--timeout <seconds>]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = { stage: 'dev', region: undefined, params: {}, out: '.serverless', timeoutSeconds: 90 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') && !arg.startsWith('--param=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) usage(`${flag} needs a value`);
      return argv[++i];
    };
    if (flag === '--stage') options.stage = value();
    else if (flag === '--region') options.region = value();
    else if (flag === '--out' || flag === '--package') options.out = value();
    else if (flag === '--timeout') options.timeoutSeconds = Number(value());
    else if (flag === '--param' || arg.startsWith('--param=')) {
      const pair = arg.startsWith('--param=') ? arg.slice('--param='.length) : value();
      const eq = pair.indexOf('=');
      if (eq < 1) usage(`--param expects name=value, got "${pair}"`);
      options.params[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else if (flag === '--help' || flag === '-h') usage();
    else usage(`unknown argument "${arg}"`);
  }
  if (!/^[a-zA-Z0-9-]+$/.test(options.stage)) usage(`invalid stage "${options.stage}"`);
  if (!(options.timeoutSeconds > 0)) usage('--timeout must be a positive number of seconds');
  return options;
}

/** An environment in which the AWS SDK inside osls cannot find real credentials or call anything. */
function offlineEnv(workFolder) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^AWS_/.test(name) || name === 'SERVERLESS_ACCESS_KEY' || name === 'SLS_ORG_ID') delete env[name];
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'AKIAPACKAGEOFFLINE00',
    AWS_SECRET_ACCESS_KEY: 'package-offline-dummy-secret-not-valid-anywhere',
    AWS_REGION: 'eu-central-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_TRACKING_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    SLS_INTERACTIVE_SETUP_DISABLE: '1',
    // serverless-esbuild's work folder for this run (serverless.yml reads it): never the `.esbuild` that a
    // running `serverless offline` uses, which packaging would otherwise delete under its feet.
    VOXCONF_ESBUILD_WORK_FOLDER: workFolder,
  };
}

/** Fails fast with esbuild's message if a handler does not build (osls would hang instead). */
async function preflightBuild() {
  const missing = FUNCTIONS.filter((name) => !existsSync(path.join(ROOT, 'functions', `${name}.ts`)));
  if (missing.length > 0) {
    throw new Error(`missing handler file(s): ${missing.map((name) => `functions/${name}.ts`).join(', ')}`);
  }
  const esbuild = await import('esbuild');
  // One build per function, as serverless-esbuild builds them: with `splitting` (serverless.yml), a function's
  // chunks are its own (infra/esbuild-plugins.cjs names them after it), and one build of every entry would share them.
  const results = await Promise.allSettled(
    FUNCTIONS.map((name) =>
      esbuild.build({
        entryPoints: [path.join(ROOT, 'functions', `${name}.ts`)],
        bundle: true,
        write: false,
        format: 'esm',
        splitting: true,
        platform: 'node',
        target: 'node22',
        mainFields: ['module', 'main'],
        plugins: require(path.join(ROOT, 'infra', 'esbuild-plugins.cjs')),
        alias: { '@aws-sdk/credential-provider-node': path.join(ROOT, 'lib', 'aws-credentials.ts') },
        outdir: path.join(ROOT, '.cache', 'preflight', 'functions'),
        logLevel: 'silent',
      }),
    ),
  );
  const failed = results.filter((result) => result.status === 'rejected').map((result) => result.reason);
  if (failed.length > 0) {
    const messages = failed.flatMap((error) =>
      (error.errors ?? []).map(
        (e) => `  ${e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ` : ''}${e.text}`,
      ),
    );
    // The same source error fails several functions: say it once.
    throw new Error(
      `esbuild failed, not packaging:\n${[...new Set(messages)].join('\n') || failed.map((e) => e.message).join('\n')}`,
    );
  }
  return results.map((result) => result.value);
}

function run(command, args, { env, timeoutSeconds }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // Detached (its own process group, so the timeout can stop everything it started): pass on Ctrl-C.
    const forward = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
      process.exit(130);
    };
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      // The whole process group: osls and anything it started.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      reject(new Error(`serverless package did not finish in ${timeoutSeconds} s; its output:\n${output}`));
    }, timeoutSeconds * 1000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (code === 0) resolve(output);
      else reject(new Error(`serverless package exited with ${code}:\n${output}`));
    });
  });
}

/**
 * Names and uncompressed sizes of a zip's entries, from its central directory (no zip64: the bundles are
 * far below 4 GiB). Used by the template tests and the bench too: one zip reader for the project.
 * @param {string | Buffer} zip a file path or the zip's bytes
 * @returns {{ name: string; size: number; compressedSize: number; method: number; localOffset: number }[]}
 */
export function readZipEntries(zip) {
  const buffer = typeof zip === 'string' ? readFileSync(zip) : zip;
  const label = typeof zip === 'string' ? `${zip}: ` : '';
  let eocd = -1;
  for (let i = buffer.length - 22; i >= Math.max(0, buffer.length - 22 - 65535); i--) {
    if (buffer.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${label}not a zip file`);
  const count = buffer.readUInt16LE(eocd + 10);
  let offset = buffer.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (buffer.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${label}bad central directory`);
    const method = buffer.readUInt16LE(offset + 10);
    const compressedSize = buffer.readUInt32LE(offset + 20);
    const size = buffer.readUInt32LE(offset + 24);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const localOffset = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.push({ name, size, compressedSize, method, localOffset });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The bytes of one entry (stored or deflated).
 * @param {string | Buffer} zip a file path or the zip's bytes
 * @param {string | { name: string; compressedSize: number; method: number; localOffset: number }} which its name or entry
 * @returns {Buffer}
 */
export function readZipEntry(zip, which) {
  const buffer = typeof zip === 'string' ? readFileSync(zip) : zip;
  const entry =
    typeof which === 'string' ? readZipEntries(buffer).find((candidate) => candidate.name === which) : which;
  if (!entry) throw new Error(`${typeof zip === 'string' ? zip : 'zip'}: no entry ${String(which)}`);
  const local = entry.localOffset;
  if (buffer.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${entry.name}`);
  const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
  const data = buffer.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`unsupported zip method ${entry.method} for ${entry.name}`);
}

/**
 * Writes every entry of a zip under `dir`, keeping its path (`functions/http.mjs` and its chunks side by side, as
 * Lambda unpacks them), and returns the files written. A bundle imports its chunks by relative path: run a packaged
 * function from the folder this fills, never from a copy of its main file alone.
 * @param {string | Buffer} zip a file path or the zip's bytes
 * @param {string} dir
 * @returns {string[]} the absolute paths written, in the zip's order
 */
export function extractZip(zip, dir) {
  const buffer = typeof zip === 'string' ? readFileSync(zip) : zip;
  const root = path.resolve(dir);
  return readZipEntries(buffer)
    .filter((entry) => !entry.name.endsWith('/'))
    .map((entry) => {
      const file = path.resolve(root, entry.name);
      if (!file.startsWith(`${root}${path.sep}`)) throw new Error(`zip entry outside its folder: ${entry.name}`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, readZipEntry(buffer, entry));
      return file;
    });
}

/** `import ... from "./x.mjs"`, `import "./x.mjs"` and `export ... from "./x.mjs"`: loaded with the module. */
const STATIC_CHUNK_IMPORT = /(?:\bfrom\s*|\bimport\s*)["'](\.\/[^"'\s]+)["']/g;
/** `import("./x.mjs")`: loaded when that code runs. */
const DYNAMIC_CHUNK_IMPORT = /\bimport\s*\(\s*["'](\.\/[^"'\s]+)["']\s*\)/g;
/**
 * A start function's entry (functions/http.ts: `export const { handler } = await import('./http-handler.js')`),
 * minified: `var{handler:a}=await import("./http.http-handler-<hash>.mjs")`. That chunk loads at import too, after
 * the entry's static chunks (./connect-early.js) are evaluated.
 */
const HANDLER_IMPORT = /\{\s*handler\s*:\s*[\w$]+\s*\}\s*=\s*await\s+import\s*\(\s*["'](\.\/[^"'\s]+)["']\s*\)/;

/**
 * How a function's files load (serverless.yml `splitting`: a bundle is its main file and its chunks).
 * `first`: the main file and every chunk it imports statically, transitively: evaluated before the main file's own
 * code (for a start function, the entry: connect-early's code, which opens the connection to Voximplant).
 * `start`: what an import of the bundle reads and compiles, which a cold start waits for: `first`, and, when the
 * main file is a thin entry that awaits its handler's import(), that chunk and its static chunks.
 * `lazy`: the chunks reached only through other dynamic import()s (the registry writer, the event bus, the AWS SDK's
 * lazy parts), read when that code first runs. `unreachable`: files of the zip that nothing imports.
 * @param {ReadonlyMap<string, string | Buffer>} files zip entry name -> contents
 * @param {string} main the main file's entry name (`functions/<name>.mjs`)
 * @returns {{ first: string[]; start: string[]; lazy: string[]; unreachable: string[] }} entry names, each sorted
 */
export function bundleLoadOrder(files, main) {
  if (!files.has(main)) throw new Error(`no ${main} among ${[...files.keys()].join(', ')}`);
  const target = (name, specifier) => {
    const file = path.posix.join(path.posix.dirname(name), specifier);
    if (!files.has(file)) throw new Error(`${name} imports ${specifier}, which is not in the bundle`);
    return file;
  };
  const importsOf = (name, pattern) =>
    [...String(files.get(name)).matchAll(pattern)].map((match) => target(name, match[1]));
  const closure = (roots, seen) => {
    const pending = [...roots];
    while (pending.length > 0) {
      const name = pending.pop();
      if (seen.has(name)) continue;
      seen.add(name);
      pending.push(...importsOf(name, STATIC_CHUNK_IMPORT));
    }
    return seen;
  };
  const first = closure([main], new Set());
  const handler = String(files.get(main)).match(HANDLER_IMPORT);
  const start = handler ? closure([target(main, handler[1])], new Set(first)) : new Set(first);
  const reached = new Set(start);
  let frontier = [...start];
  while (frontier.length > 0) {
    const dynamic = frontier.flatMap((name) => importsOf(name, DYNAMIC_CHUNK_IMPORT)).filter((n) => !reached.has(n));
    const before = new Set(reached);
    closure(dynamic, reached);
    frontier = [...reached].filter((name) => !before.has(name));
  }
  const sorted = (names) => [...names].sort();
  return {
    first: sorted(first),
    start: sorted(start),
    lazy: sorted([...reached].filter((name) => !start.has(name))),
    unreachable: sorted([...files.keys()].filter((name) => !reached.has(name))),
  };
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export async function packageStack(options) {
  const outDir = path.resolve(ROOT, options.out);
  const params = { ...PLACEHOLDER_PARAMS, ...options.params };
  const started = Date.now();

  await preflightBuild();
  const preflightMs = Date.now() - started;

  const workFolder = path.join('.cache', `esbuild-package-${process.pid}`);
  const args = [
    path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
    'package',
    '--stage',
    options.stage,
    '--package',
    outDir,
    ...(options.region ? ['--region', options.region] : []),
    ...Object.entries(params).map(([name, value]) => `--param=${name}=${value}`),
  ];
  // osls keeps intermediate state in the service's .serverless folder whatever --package says: two packagings
  // at once (the template tests and the bench, say) would overwrite each other's. One at a time.
  // Shared by every packaging process of this checkout (template tests, bench, npm run package).
  const timeoutMs = options.timeoutSeconds * 1000;
  const unlock = await acquireDirLock(path.join(ROOT, '.cache', 'package.lock'), {
    staleMs: timeoutMs,
    timeoutMs,
    what: 'packaging',
  });
  try {
    await run(process.execPath, args, { env: offlineEnv(workFolder), timeoutSeconds: options.timeoutSeconds });
  } finally {
    rmSync(path.join(ROOT, workFolder), { recursive: true, force: true });
    unlock();
  }
  const durationMs = Date.now() - started;

  const templateFile = path.join(outDir, 'cloudformation-template-update-stack.json');
  if (!existsSync(templateFile)) throw new Error(`serverless package succeeded but wrote no ${templateFile}`);
  const artifacts = FUNCTIONS.map((name) => {
    const zip = path.join(outDir, `${name}.zip`);
    if (!existsSync(zip)) throw new Error(`missing artifact ${zip}`);
    const entries = readZipEntries(zip);
    const files = entries.map(({ name: file, size }) => ({ name: file, bytes: size }));
    const contents = new Map(entries.map((entry) => [entry.name, readZipEntry(zip, entry)]));
    const load = bundleLoadOrder(contents, `functions/${name}.mjs`);
    const bytesOf = (names) => names.reduce((sum, file) => sum + contents.get(file).length, 0);
    return {
      function: name,
      zip: path.relative(ROOT, zip),
      zipBytes: statSync(zip).size,
      files,
      /** Bytes of the main file, of what is evaluated before its code (main + static chunks), of what a cold start
       * imports (that and the handler's chunks), of the lazy chunks. */
      mainBytes: contents.get(`functions/${name}.mjs`).length,
      firstBytes: bytesOf(load.first),
      startBytes: bytesOf(load.start),
      lazyBytes: bytesOf(load.lazy),
      load,
    };
  });
  const manifest = {
    stage: options.stage,
    /** As given on the command line (the tests compare them to decide whether to package again). */
    cliParams: options.params,
    params,
    durationMs,
    preflightMs,
    packagedAt: new Date().toISOString(),
    template: path.relative(ROOT, templateFile),
    artifacts,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'voxconf-package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const manifest = await packageStack(options);
  console.log(
    `Packaged stage "${manifest.stage}" in ${(manifest.durationMs / 1000).toFixed(1)} s -> ${manifest.template}`,
  );
  let tooBig = false;
  for (const artifact of manifest.artifacts) {
    const unpacked = artifact.files.reduce((sum, file) => sum + file.bytes, 0);
    const over = artifact.zipBytes >= MAX_ZIP_BYTES;
    tooBig ||= over;
    console.log(
      `  ${artifact.function.padEnd(9)} ${artifact.zip.padEnd(24)} zip ${kib(artifact.zipBytes).padStart(10)}` +
        `   unpacked ${kib(unpacked).padStart(10)}: main ${kib(artifact.mainBytes)}, first ${kib(artifact.firstBytes)}` +
        ` (${artifact.load.first.length} files), loaded at import` +
        ` ${kib(artifact.startBytes)} (${artifact.load.start.length} files), lazy ${kib(artifact.lazyBytes)}` +
        ` (${artifact.load.lazy.length} files)` +
        (over ? `   OVER ${kib(MAX_ZIP_BYTES)}` : ''),
    );
  }
  if (tooBig) {
    console.error(`package: a bundle is ${kib(MAX_ZIP_BYTES)} or more`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`package: ${error.message}`);
    process.exit(1);
  });
}
