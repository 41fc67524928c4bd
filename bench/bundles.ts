/**
 * The deployable bundles: the exact .mjs files inside the zips that `npm run package` (osls +
 * serverless-esbuild, settings from serverless.yml custom.esbuild) builds for deployment.
 *
 * `.serverless/{http,queue,schedule}.zip` are used when they are newer than every source file; otherwise the
 * functions are packaged once into `.cache/bench/package` (reused while a hash of the sources is unchanged).
 * The .mjs of each function is then extracted to the run's temp dir and imported from there.
 *
 * The same esbuild options, read from serverless.yml, also build the official SDK peer bundle and the
 * metafile used to attribute bundle bytes to packages (checked byte-for-byte against the packaged .mjs).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireCjs = createRequire(import.meta.url);
export const FUNCTIONS = ['http', 'queue', 'schedule'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export interface FunctionBundle {
  readonly name: FunctionName;
  /** Absolute path of the extracted .mjs. */
  readonly file: string;
  readonly bytes: number;
  readonly zip: string;
  readonly zipBytes: number;
  /** Entries of the zip (name, uncompressed size). */
  readonly zipEntries: readonly { name: string; bytes: number }[];
}

export interface Bundles {
  readonly source: 'serverless' | 'bench-package';
  readonly packageDir: string;
  /** ms spent packaging in this run (0 when reused). */
  readonly packagedMs: number;
  readonly functions: Record<FunctionName, FunctionBundle>;
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
  for (const file of ['serverless.yml', 'package-lock.json', 'tsconfig.json']) files.push(path.join(ROOT, file));
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

interface ZipEntry {
  name: string;
  size: number;
  compressedSize: number;
  method: number;
  localOffset: number;
}

/** Central directory of a zip (no zip64: the bundles are far below 4 GiB). */
export function readZipEntries(buffer: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buffer.length - 22; i >= Math.max(0, buffer.length - 22 - 65535); i--) {
    if (buffer.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file');
  const count = buffer.readUInt16LE(eocd + 10);
  let offset = buffer.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (buffer.readUInt32LE(offset) !== 0x02014b50) throw new Error('bad zip central directory');
    const nameLength = buffer.readUInt16LE(offset + 28);
    entries.push({
      method: buffer.readUInt16LE(offset + 10),
      compressedSize: buffer.readUInt32LE(offset + 20),
      size: buffer.readUInt32LE(offset + 24),
      localOffset: buffer.readUInt32LE(offset + 42),
      name: buffer.toString('utf8', offset + 46, offset + 46 + nameLength),
    });
    offset += 46 + nameLength + buffer.readUInt16LE(offset + 30) + buffer.readUInt16LE(offset + 32);
  }
  return entries;
}

/** The bytes of one stored or deflated entry. */
export function readZipEntry(buffer: Buffer, entry: ZipEntry): Buffer {
  const local = entry.localOffset;
  if (buffer.readUInt32LE(local) !== 0x04034b50) throw new Error(`bad local header for ${entry.name}`);
  const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
  const data = buffer.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return Buffer.from(data);
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`unsupported zip method ${entry.method} for ${entry.name}`);
}

function extract(zip: string, name: FunctionName, outDir: string): FunctionBundle {
  const buffer = readFileSync(zip);
  const entries = readZipEntries(buffer);
  const entry = entries.find((e) => e.name === `functions/${name}.mjs`);
  if (!entry) throw new Error(`${zip} has no functions/${name}.mjs (entries: ${entries.map((e) => e.name).join(', ')})`);
  const data = readZipEntry(buffer, entry);
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${name}.mjs`);
  writeFileSync(file, data);
  return {
    name,
    file,
    bytes: data.length,
    zip,
    zipBytes: buffer.length,
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
    const fresh = !options.repackage && zipsIn(packageDir) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash;
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
  ) as Record<FunctionName, FunctionBundle>;
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
  const doc = parseYaml(readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), { logLevel: 'silent', customTags: [
    { tag: '!GetAtt', resolve: (value: string) => value },
    { tag: '!Ref', resolve: (value: string) => value },
    { tag: '!Sub', resolve: (value: string) => value },
  ] }) as { custom?: { esbuild?: Record<string, unknown> } };
  const custom = doc.custom?.esbuild;
  if (!custom) throw new Error('serverless.yml has no custom.esbuild');
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(custom)) {
    if (PLUGIN_ONLY_OPTIONS.has(key)) continue;
    if (JSON.stringify(value).includes('${')) throw new Error(`custom.esbuild.${key} uses a variable the bench cannot resolve`);
    options[key] = value;
  }
  // serverless-esbuild loads `plugins` from a file and resolves paths from the service directory.
  if (typeof options.plugins === 'string') options.plugins = requireCjs(path.resolve(ROOT, options.plugins));
  if (options.alias && typeof options.alias === 'object') {
    options.alias = Object.fromEntries(
      Object.entries(options.alias as Record<string, string>).map(([from, to]) => [from, to.startsWith('.') ? path.resolve(ROOT, to) : to]),
    );
  }
  const extension = custom.outputFileExtension;
  if (typeof extension === 'string' && extension !== '.js') options.outExtension = { '.js': extension };
  return options;
}
