// @ts-check
/**
 * esbuild plugins of the deployed bundles (serverless.yml `custom.esbuild.plugins`; serverless-esbuild
 * `require`s this file and passes the array to esbuild; scripts/package.mjs and the bench load it too).
 *
 * builtinsViaRequire:
 * Node builtins through `require()` (the banner's createRequire) instead of ESM `import`. On Node 22 an ESM
 * import of a builtin builds its module namespace, which evaluates every lazy getter of the builtin:
 * `import ... from "node:http"` (the AWS SDK's node-http-handler, lib/voximplant-client.ts) then loads all of
 * undici for http.WebSocket/MessageEvent/CloseEvent, ~13 ms and ~4.5 MiB of a cold start for nothing; the
 * same happens, smaller, for node:util, node:fs, node:process, node:crypto (WebCrypto). require() returns
 * the builtin without touching its getters. Named imports still work: esbuild's CommonJS interop reads the
 * properties when used.
 */
const { isBuiltin } = require('node:module');
const { readdirSync, rmSync } = require('node:fs');
const path = require('node:path');

/** @type {import('esbuild').Plugin} */
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_0-9/]+$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      const path = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      // The stub's own require() is the real one (external), not this stub again.
      if (args.namespace === 'builtin-require') return { path, external: true };
      return { path, namespace: 'builtin-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/**
 * With `splitting` (serverless.yml): every chunk's name starts with its function's bundle name
 * (`functions/http.chunk-<hash>.mjs`, `functions/http.registry-writer-<hash>.mjs`), so that each zip holds its own
 * chunks and no other function's. serverless-esbuild builds one function per esbuild build, all into one folder, and
 * leaves out of a function's zip exactly the files that start with another function's bundle path and a dot
 * (its pack.js, `bundleExcludedFiles`); esbuild's default chunk names (`chunk-<hash>.mjs`) would go into every zip.
 * esbuild reads the options after the plugins' setup, so the name set here applies to this build only.
 *
 * And no chunk that nothing imports: esbuild makes a chunk of every dynamic import() it reads, also of one in code
 * it then drops (lib/http-api.ts's start path in the schedules bundle: the registry writer with the DynamoDB client,
 * the event bus; the AWS SDK's browser-only bowser everywhere). Such a file can never be loaded (the build's
 * metafile lists every import of every output), so it is deleted and left out of the result: the zips hold what
 * their function can run.
 *
 * And nothing of an earlier build: serverless-esbuild zips every file of its build folder (and `serverless offline`
 * rebuilds into one on every change), so this function's files from an earlier build (its entry and chunks, whose
 * hashed names change with the code) are deleted before each build writes its own.
 *
 * Why split at all: a module the start path imports lazily (lib/registry.ts: the registry writer and the DynamoDB
 * client; lib/http-api.ts: the event bus) is then its own file, read and compiled only when imported, after the
 * start's request is sent. In one file (no splitting) esbuild inlines it and every cold start parses it.
 */
/** @type {import('esbuild').Plugin} */
const chunksOfTheirFunction = {
  name: 'chunks-of-their-function',
  setup(build) {
    const options = build.initialOptions;
    if (!options.splitting) return;
    const entries = options.entryPoints ?? [];
    const inputs = Array.isArray(entries)
      ? entries.map((entry) => (typeof entry === 'string' ? entry : entry.in))
      : Object.values(entries);
    if (inputs.length !== 1) {
      throw new Error(
        `chunks-of-their-function: one entry point per build with splitting (got ${inputs.length}): ` +
          'shared chunks would belong to no one function',
      );
    }
    const outName = Array.isArray(entries)
      ? typeof entries[0] === 'string'
        ? entries[0]
        : (entries[0].out ?? entries[0].in)
      : Object.keys(entries)[0];
    const name = path.basename(outName, path.extname(outName));
    // [name] is `chunk` for a shared chunk, the module's file name for a dynamic import's own chunk.
    options.chunkNames = `${name}.[name]-[hash]`;
    // The metafile tells which outputs the entry reaches (serverless-esbuild writes its own copy of it only when
    // its `metafile` option is set, which this does not change).
    options.metafile = true;
    const cwd = options.absWorkingDir ?? process.cwd();
    const entryFile = path.resolve(cwd, inputs[0]);
    build.onStart(() => {
      if (options.write === false || options.outdir === undefined) return;
      const outdir = path.resolve(cwd, options.outdir);
      const extension = options.outExtension?.['.js'] ?? '.js';
      let files;
      try {
        files = readdirSync(outdir);
      } catch {
        return; // no folder yet: nothing earlier to remove
      }
      for (const file of files) {
        // `<name>.mjs` and `<name>.<chunk>-<hash>.mjs`; `schedules.mjs` is not `schedule`'s (the dot).
        if ((file === `${name}${extension}` || file.startsWith(`${name}.`)) && file.endsWith(extension)) {
          rmSync(path.join(outdir, file), { force: true });
        }
      }
    });
    build.onEnd((result) => {
      if (result.errors.length > 0 || !result.metafile) return;
      const outputs = result.metafile.outputs;
      const main = Object.keys(outputs).find((out) => {
        const entryPoint = outputs[out].entryPoint;
        return entryPoint !== undefined && path.resolve(cwd, entryPoint) === entryFile;
      });
      if (main === undefined) throw new Error(`chunks-of-their-function: no output for ${inputs[0]}`);
      const reachable = new Set();
      const pending = [main];
      while (pending.length > 0) {
        const out = /** @type {string} */ (pending.pop());
        if (reachable.has(out)) continue;
        reachable.add(out);
        for (const imported of outputs[out].imports) {
          if (!imported.external && imported.path in outputs) pending.push(imported.path);
        }
      }
      for (const out of Object.keys(outputs)) {
        if (reachable.has(out)) continue;
        if (options.write !== false) rmSync(path.resolve(cwd, out), { force: true });
        delete outputs[out];
      }
      const files = result.outputFiles;
      if (files) {
        const kept = files.filter((file) => reachable.has(path.relative(cwd, file.path).split(path.sep).join('/')));
        files.splice(0, files.length, ...kept);
      }
    });
  },
};

module.exports = [builtinsViaRequire, chunksOfTheirFunction];
