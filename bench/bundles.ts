/**
 * The deployable bundles: the exact .mjs files inside the zips that `npm run package` (osls +
 * serverless-esbuild, settings from serverless.yml custom.esbuild) builds for deployment.
 *
 * `.serverless/<function>.zip` are used when they are newer than every source file; otherwise the functions are
 * packaged once into `.cache/bench/package` (reused while a hash of the sources is unchanged). The functions are the
 * four the bench always measures, plus those of OPTIONAL_FUNCTIONS that serverless.yml declares (FUNCTIONS).
 * Each zip is then extracted whole to the run's temp dir (`bundles/<function>/functions/<function>.mjs` and its chunks
 * beside it, as Lambda unpacks it) and imported from there.
 *
 * The same esbuild options, read from serverless.yml, also build the official SDK peer bundle and the
 * metafile used to attribute bundle bytes to packages (checked byte-for-byte against the packaged .mjs).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { bundleLoadOrder, extractZip, readZipEntries, readZipEntry } from '../scripts/package.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireCjs = createRequire(import.meta.url);
/** The functions every phase relies on (a missing one is an error). */
export const REQUIRED_FUNCTIONS = ['http', 'queue', 'schedule', 'schedules'] as const;
/**
 * Functions measured when serverless.yml declares them (bundle size, import cost, a cold start): the lifecycle API
 * (functions/lifecycle.ts) lands apart from the bench, so the bench neither needs it nor misses it once it is there.
 */
export const OPTIONAL_FUNCTIONS = ['lifecycle'] as const;
export type RequiredFunctionName = (typeof REQUIRED_FUNCTIONS)[number];
export type OptionalFunctionName = (typeof OPTIONAL_FUNCTIONS)[number];
export type FunctionName = RequiredFunctionName | OptionalFunctionName;
/** The names under `functions:` in serverless.yml, in their order. */
export function declaredFunctions(file = path.join(ROOT, 'serverless.yml')): string[] {
  const doc = parseYaml(readFileSync(file, 'utf8'), {
    logLevel: 'silent',
    customTags: ['!GetAtt', '!Ref', '!Sub'].map((tag) => ({ tag, resolve: (value: string) => value })),
  }) as { functions?: Record<string, unknown> };
  return Object.keys(doc.functions ?? {});
}

/** The required functions, then the optional ones serverless.yml declares; other functions are not measured. */
export function measuredFunctions(declared: readonly string[]): FunctionName[] {
  return [...REQUIRED_FUNCTIONS, ...OPTIONAL_FUNCTIONS.filter((fn) => declared.includes(fn))];
}

/** What this checkout measures (read once). */
export const FUNCTIONS: readonly FunctionName[] = measuredFunctions(declaredFunctions());

/** The functions that start conferences (Secrets Manager, the token, Voximplant); `schedules` only books them. */
export const CONFERENCE_FUNCTIONS = ['http', 'queue', 'schedule'] as const satisfies readonly FunctionName[];

export interface BundleFile {
  /** The zip entry's name (`functions/http.chunk-<hash>.mjs`). */
  readonly name: string;
  readonly bytes: number;
}

export interface FunctionBundle {
  readonly name: FunctionName;
  /** The folder the zip was extracted to (its entries' paths below it). */
  readonly dir: string;
  /** Absolute path of the extracted main .mjs (its chunks beside it). */
  readonly file: string;
  /** Bytes of the main file alone. */
  readonly bytes: number;
  /**
   * The files evaluated before the main file's own code: it and its static chunks (bundleLoadOrder). For a start
   * function, the entry and connect-early's code: what is read and compiled before the connection to Voximplant starts.
   */
  readonly first: readonly BundleFile[];
  /**
   * The files an import of the bundle reads and compiles: `first`, and the handler chunk a thin entry awaits with its
   * static chunks (bundleLoadOrder).
   */
  readonly start: readonly BundleFile[];
  /** The chunks read only when code imports them (the registry writer, the event bus, the SDK's lazy parts). */
  readonly lazy: readonly BundleFile[];
  readonly zip: string;
  readonly zipBytes: number;
  /** Entries of the zip (name, uncompressed size). */
  readonly zipEntries: readonly { name: string; bytes: number }[];
}

/** Bytes of some files. */
export const bytesOf = (files: readonly BundleFile[]): number => files.reduce((sum, file) => sum + file.bytes, 0);

/**
 * Another copy of an extracted bundle, main file and chunks, in a folder of its own: imported, it is another module
 * instance all through (a copy of the main file alone would share its chunks', and their state, with the original).
 */
export function copyBundle(bundle: FunctionBundle, label: string): string {
  const from = path.dirname(path.dirname(bundle.file)); // <bundles>/<function>, holding functions/
  const to = path.join(path.dirname(from), label);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
  return path.join(to, path.relative(from, bundle.file));
}

export interface Bundles {
  readonly source: 'serverless' | 'bench-package';
  readonly packageDir: string;
  /** ms spent packaging in this run (0 when reused). */
  readonly packagedMs: number;
  /** Every function of FUNCTIONS: the required ones always, an optional one when serverless.yml declares it. */
  readonly functions: Record<RequiredFunctionName, FunctionBundle> &
    Partial<Record<OptionalFunctionName, FunctionBundle>>;
}

/** Files whose change changes a bundle. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|mts|js|mjs|cjs|json)$/.test(entry.name)) files.push(full);
    }
  };
  walk(path.join(ROOT, 'functions'));
  walk(path.join(ROOT, 'lib'));
  // The esbuild plugins and the packaging script shape the bundles too.
  walk(path.join(ROOT, 'infra'));
  for (const file of ['serverless.yml', 'package-lock.json', 'tsconfig.json', 'scripts/package.mjs'])
    files.push(path.join(ROOT, file));
  return files.filter((file) => existsSync(file)).sort();
}

function sourcesHash(files: string[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(path.relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function zipsIn(dir: string): string[] | undefined {
  const zips = FUNCTIONS.map((name) => path.join(dir, `${name}.zip`));
  return zips.every((zip) => existsSync(zip)) ? zips : undefined;
}

/** Runs `node scripts/package.mjs --out <dir>` (the `npm run package` script) with a time limit. */
function runPackage(outDir: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), '--out', outDir], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`npm run package failed (${code ?? signal}):\n${output}`));
    });
  });
}

function extract(zip: string, name: FunctionName, outDir: string): FunctionBundle {
  const entries = readZipEntries(zip);
  const main = `functions/${name}.mjs`;
  if (!entries.some((e) => e.name === main)) {
    throw new Error(`${zip} has no ${main} (entries: ${entries.map((e) => e.name).join(', ')})`);
  }
  const dir = path.join(outDir, name);
  rmSync(dir, { recursive: true, force: true });
  extractZip(zip, dir);
  const contents = new Map(entries.map((e) => [e.name, readZipEntry(zip, e)]));
  const load = bundleLoadOrder(contents, main);
  const files = (names: readonly string[]) => names.map((n) => ({ name: n, bytes: contents.get(n)!.length }));
  return {
    name,
    dir,
    file: path.join(dir, main),
    bytes: contents.get(main)!.length,
    first: files(load.first),
    start: files(load.start),
    lazy: files(load.lazy),
    zip,
    zipBytes: statSync(zip).size,
    zipEntries: entries.map((e) => ({ name: e.name, bytes: e.size })),
  };
}

export async function prepareBundles(options: {
  workDir: string;
  log: (line: string) => void;
  /** Package again even when a fresh package exists. */
  repackage?: boolean;
}): Promise<Bundles> {
  const files = sourceFiles();
  const newestSource = Math.max(...files.map((file) => statSync(file).mtimeMs));
  const serverlessDir = path.join(ROOT, '.serverless');
  const serverlessZips = zipsIn(serverlessDir);
  let source: Bundles['source'];
  let packageDir: string;
  let packagedMs = 0;
  if (!options.repackage && serverlessZips && serverlessZips.every((zip) => statSync(zip).mtimeMs >= newestSource)) {
    source = 'serverless';
    packageDir = serverlessDir;
    options.log(`bundles: using .serverless/*.zip (newer than every source file)`);
  } else {
    source = 'bench-package';
    packageDir = path.join(ROOT, '.cache', 'bench', 'package');
    const stampFile = path.join(packageDir, 'bench-sources.sha256');
    const hash = sourcesHash(files);
    const fresh =
      !options.repackage && zipsIn(packageDir) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash;
    if (fresh) {
      options.log(`bundles: using .cache/bench/package (sources unchanged since it was packaged)`);
    } else {
      options.log(`bundles: npm run package -- --out .cache/bench/package ...`);
      const started = Date.now();
      await runPackage(packageDir, 120_000);
      packagedMs = Date.now() - started;
      writeFileSync(stampFile, hash);
      options.log(`bundles: packaged in ${(packagedMs / 1000).toFixed(1)} s`);
    }
  }
  const outDir = path.join(options.workDir, 'bundles');
  const functions = Object.fromEntries(
    FUNCTIONS.map((name) => [name, extract(path.join(packageDir, `${name}.zip`), name, outDir)]),
  ) as Bundles['functions'];
  return { source, packageDir, packagedMs, functions };
}

/** Options only serverless-esbuild reads; it strips them before calling esbuild (its bundle.js). */
const PLUGIN_ONLY_OPTIONS = new Set([
  'concurrency',
  'zipConcurrency',
  'exclude',
  'nativeZip',
  'packager',
  'packagePath',
  'watch',
  'keepOutputDirectory',
  'packagerOptions',
  'installExtraArgs',
  'outputFileExtension',
  'outputBuildFolder',
  'outputWorkFolder',
  'nodeExternals',
  'skipBuild',
  'skipRebuild',
  'skipBuildExcludeFns',
  'stripEntryResolveExtensions',
  'disposeContext',
]);

/** esbuild options as serverless-esbuild derives them from serverless.yml `custom.esbuild`. */
export function esbuildOptionsFromServerless(): Record<string, unknown> {
  const doc = parseYaml(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), {
    logLevel: 'silent',
    customTags: [
      { tag: '!GetAtt', resolve: (value: string) => value },
      { tag: '!Ref', resolve: (value: string) => value },
      { tag: '!Sub', resolve: (value: string) => value },
    ],
  }) as { custom?: { esbuild?: Record<string, unknown> } };
  const custom = doc.custom?.esbuild;
  if (!custom) throw new Error('serverless.yml has no custom.esbuild');
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(custom)) {
    if (PLUGIN_ONLY_OPTIONS.has(key)) continue;
    if (JSON.stringify(value).includes('${'))
      throw new Error(`custom.esbuild.${key} uses a variable the bench cannot resolve`);
    options[key] = value;
  }
  // serverless-esbuild loads `plugins` from a file and resolves paths from the service directory.
  if (typeof options.plugins === 'string') options.plugins = requireCjs(path.resolve(ROOT, options.plugins));
  if (options.alias && typeof options.alias === 'object') {
    options.alias = Object.fromEntries(
      Object.entries(options.alias as Record<string, string>).map(([from, to]) => [
        from,
        to.startsWith('.') ? path.resolve(ROOT, to) : to,
      ]),
    );
  }
  const extension = custom.outputFileExtension;
  if (typeof extension === 'string' && extension !== '.js') options.outExtension = { '.js': extension };
  return options;
}
