// @ts-check
/**
 * esbuild plugins of the deployed bundles (serverless.yml `custom.esbuild.plugins`; serverless-esbuild
 * `require`s this file and passes the array to esbuild; scripts/package.mjs and the bench load it too).
 *
 * Node builtins through `require()` (the banner's createRequire) instead of ESM `import`. On Node 22 an ESM
 * import of a builtin builds its module namespace, which evaluates every lazy getter of the builtin:
 * `import ... from "node:http"` (the AWS SDK's node-http-handler, lib/voximplant-client.ts) then loads all of
 * undici for http.WebSocket/MessageEvent/CloseEvent, ~13 ms and ~4.5 MiB of a cold start for nothing; the
 * same happens, smaller, for node:util, node:fs, node:process, node:crypto (WebCrypto). require() returns
 * the builtin without touching its getters. Named imports still work: esbuild's CommonJS interop reads the
 * properties when used.
 */
const { isBuiltin } = require('node:module');

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

module.exports = [builtinsViaRequire];
