// @ts-check
'use strict';
/**
 * lib/ modules for deploy-time code. serverless.yml loads CommonJS and lib/ is TypeScript (ESM); rather than
 * keep a second copy of a rule here, esbuild (already the functions' bundler) turns one lib entry into
 * CommonJS in memory, once per process.
 *
 * CommonJS on purpose: osls loads `${file(x.cjs)}` with require().
 */
const path = require('node:path');

const LIB = path.join(__dirname, '..', 'lib');
/** @type {Map<string, unknown>} */
const loaded = new Map();

/**
 * The exports of lib/<name>.ts; the caller states their type (`typeof import('../lib/<name>.js')`).
 * @param {string} name
 * @returns {unknown}
 */
function requireLib(name) {
  if (!loaded.has(name)) {
    const esbuild = require('esbuild');
    const { outputFiles } = esbuild.buildSync({
      entryPoints: [path.join(LIB, `${name}.ts`)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const module = { exports: {} };
    new Function('module', 'exports', 'require', outputFiles[0].text)(module, module.exports, require);
    loaded.set(name, module.exports);
  }
  return loaded.get(name);
}

module.exports = { requireLib };
