/**
 * The official SDK as a peer: `bench/children/peer-entry.mjs` (which calls @voximplant/apiclient-nodejs)
 * bundled with the functions' own esbuild settings from serverless.yml, so that both sides load one
 * minified bundle. The unbundled entry (SDK from node_modules) is measured too, for information.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { esbuildOptionsFromServerless } from './bundles.js';
import { CHILDREN_DIR } from './child.js';

export async function buildPeerBundle(workDir: string): Promise<{ file: string; bytes: number }> {
  const esbuild = await import('esbuild');
  const outdir = path.join(workDir, 'peer');
  await esbuild.build({
    ...esbuildOptionsFromServerless(),
    entryPoints: [path.join(CHILDREN_DIR, 'peer-entry.mjs')],
    outdir,
    write: true,
    logLevel: 'silent',
  });
  const file = path.join(outdir, 'peer-entry.mjs');
  return { file, bytes: statSync(file).size };
}
