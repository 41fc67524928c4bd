/**
 * What each package costs a cold start to import: every package a function imports (read from the
 * sources each bundle is made of, per esbuild's metafile) is bundled alone, with the functions' esbuild
 * settings from serverless.yml and exactly the names the sources import from it, then imported in fresh
 * processes on the bench's Node (the packages interleaved, the order rotating), median of the runs. An empty
 * bundle (the banner alone) is the baseline of any import. Shared dependencies (the AWS SDK clients'
 * @smithy/* core) count in each package that pulls them in, so the figures do not add up to the bundle's.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { esbuildOptionsFromServerless, FUNCTIONS, type FunctionName, ROOT } from './bundles.js';
import { runChild } from './child.js';
import { CHILD_TIMEOUT_MS } from './config.js';
import type { BenchContext } from './context.js';

export interface PackageImport {
  /** The package, e.g. `@aws-sdk/client-secrets-manager`. */
  readonly name: string;
  /** What the sources import from it, e.g. `GetSecretValueCommand`, `logger/middleware: injectLambdaContext`. */
  readonly names: readonly string[];
  /** The functions whose bundle contains it. */
  readonly functions: readonly FunctionName[];
  /** The package bundled alone (minified bytes). */
  readonly bytes: number;
  readonly importMs: number[];
}

export interface ImportCost {
  readonly packages: PackageImport[];
  /** An empty bundle (the banner only): the floor of any import. */
  readonly baselineMs: number[];
}

interface ImportedNames {
  /** specifier -> imported names (`default` for a default import). */
  readonly bySpecifier: Map<string, Set<string>>;
  readonly functions: Set<FunctionName>;
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`); undefined for relative and builtins. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The value imports (and re-exports) of a TypeScript source: specifier -> names. Type-only imports and
 * `type` names are left out: they are erased and cost nothing.
 */
export function valueImports(source: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (specifier: string, name: string) => {
    const names = found.get(specifier) ?? new Set<string>();
    names.add(name);
    found.set(specifier, names);
  };
  const statement = /\b(import|export)\s+(type\s+)?([\w*\s{},$]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(statement)) {
    const [, keyword, typeOnly, clause = '', specifier = ''] = match;
    if (typeOnly) continue;
    const braces = clause.match(/\{([^}]*)\}/);
    const outside = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,/g, ' ')
      .trim();
    if (keyword === 'import' && outside.startsWith('*')) add(specifier, '*');
    else if (keyword === 'import' && outside !== '') add(specifier, 'default');
    for (const part of braces?.[1]?.split(',') ?? []) {
      const item = part.trim();
      if (item === '' || item.startsWith('type ')) continue;
      add(specifier, item.split(/\s+as\s+/)[0]!.trim());
    }
  }
  return found;
}

/** Per package, what the functions' own sources import from it, from the esbuild metafile of each function. */
async function packagesOfFunctions(): Promise<Map<string, ImportedNames>> {
  const esbuild = await import('esbuild');
  const options = esbuildOptionsFromServerless();
  const packages = new Map<string, ImportedNames>();
  for (const fn of FUNCTIONS) {
    const built = await esbuild.build({
      ...options,
      entryPoints: [path.join(ROOT, 'functions', `${fn}.ts`)],
      outdir: path.join(ROOT, '.cache', 'bench', 'metafile'),
      write: false,
      metafile: true,
      logLevel: 'silent',
      absWorkingDir: ROOT,
    });
    // Packages with bytes in the bundle (any of its files: the main one or a chunk): a source esbuild read but
    // tree-shook away (lib/event-bus.ts in the schedules API) does not put its imports in this function.
    const bundled = new Set(
      Object.values(built.metafile.outputs)
        .flatMap((output) => Object.entries(output.inputs))
        .filter(([input, info]) => info.bytesInOutput > 0 && input.includes('node_modules/'))
        .map(([input]) => packageName(input.slice(input.lastIndexOf('node_modules/') + 'node_modules/'.length))),
    );
    const ours = Object.keys(built.metafile.inputs).filter(
      (input) => !input.includes('node_modules') && /\.(ts|mts|js|mjs)$/.test(input),
    );
    for (const input of ours) {
      for (const [specifier, names] of valueImports(readFileSync(path.join(ROOT, input), 'utf8'))) {
        const name = packageName(specifier);
        if (!name || !bundled.has(name)) continue;
        const entry = packages.get(name) ?? { bySpecifier: new Map(), functions: new Set() };
        packages.set(name, entry);
        entry.functions.add(fn);
        const known = entry.bySpecifier.get(specifier) ?? new Set<string>();
        for (const n of names) known.add(n);
        entry.bySpecifier.set(specifier, known);
      }
    }
  }
  return packages;
}

/** The entry module that imports exactly these names and keeps them (re-exported, so not tree-shaken). */
export function entryFor(bySpecifier: ReadonlyMap<string, ReadonlySet<string>>): string {
  const lines: string[] = [];
  let i = 0;
  for (const [specifier, names] of bySpecifier) {
    const quoted = JSON.stringify(specifier);
    if (names.has('*')) lines.push(`export * as m${i++} from ${quoted};`);
    if (names.has('default')) lines.push(`export { default as d${i++} } from ${quoted};`);
    const named = [...names].filter((n) => n !== '*' && n !== 'default');
    if (named.length) lines.push(`export { ${named.map((n) => `${n} as n${i++}_${n}`).join(', ')} } from ${quoted};`);
  }
  return `${lines.join('\n')}\n`;
}

async function buildAlone(contents: string, outfile: string): Promise<number> {
  const esbuild = await import('esbuild');
  // One file (no splitting, which needs an outdir): a package bundled alone is imported whole, as the cost is meant.
  const { outExtension: _unused, splitting: _oneFile, ...options } = esbuildOptionsFromServerless();
  await esbuild.build({
    ...options,
    stdin: { contents, resolveDir: ROOT, sourcefile: 'import-cost-entry.mjs', loader: 'js' },
    outfile,
    write: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  return statSync(outfile).size;
}

interface ImportChildResult {
  importMs: number;
}

export async function runImportCost(ctx: BenchContext, runs: number): Promise<ImportCost | undefined> {
  if (runs <= 0) return undefined;
  const dir = path.join(ctx.workDir, 'import-cost');
  mkdirSync(dir, { recursive: true });
  const found = await packagesOfFunctions();
  const targets: { name: string; file: string; bytes: number; names: string[]; functions: FunctionName[] }[] = [];
  for (const [name, imported] of [...found].sort(([a], [b]) => a.localeCompare(b))) {
    const file = path.join(dir, `${name.replace(/[@/]/g, '_')}.mjs`);
    const bytes = await buildAlone(entryFor(imported.bySpecifier), file);
    const names = [...imported.bySpecifier].flatMap(([specifier, set]) => {
      const sub = specifier === name ? '' : `${specifier.slice(name.length + 1)}: `;
      return [...set].map((n) => `${sub}${n}`);
    });
    targets.push({ name, file, bytes, names, functions: FUNCTIONS.filter((fn) => imported.functions.has(fn)) });
  }
  const emptyFile = path.join(dir, 'empty.mjs');
  await buildAlone('export {};\n', emptyFile);
  ctx.log(`  import cost: ${targets.length} packages bundled alone, ${runs} fresh processes each`);
  const all = [...targets.map((t) => t.file), emptyFile];
  const times = new Map<string, number[]>(all.map((file) => [file, []]));
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < all.length; k++) {
      const file = all[(r + k) % all.length]!;
      const run = await runChild<ImportChildResult>({
        node: ctx.node.bin,
        script: 'cold.mjs',
        spec: { kind: 'import', module: file },
        env: ctx.stack.plainEnv(),
        workDir: ctx.workDir,
        timeoutMs: CHILD_TIMEOUT_MS,
        label: `import ${path.basename(file)} #${r + 1} (${ctx.node.version})`,
      });
      times.get(file)!.push(run.result.importMs);
    }
  }
  return {
    packages: targets.map(({ name, bytes, names, functions, file }) => ({
      name,
      names,
      functions,
      bytes,
      importMs: times.get(file)!,
    })),
    baselineMs: times.get(emptyFile)!,
  };
}
