/**
 * One cold start in a fresh process: import the client (a bundled handler, the floor, or the official SDK),
 * then serve the first request (kind `import`: only the import, of a package bundled alone). The import and the first call are timed apart; the peak RSS is read at the
 * end. Writes its figures to spec.resultFile and exits (keep-alive sockets would hold the process open).
 *
 *   node bench/children/cold.mjs <spec.json>
 */
import { checkHandlerAnswer, lambdaContext, now, peakRssBytes, readSpec, writeResult } from './harness.mjs';

const { pathToFileURL } = process.getBuiltinModule('node:url');
const spec = readSpec();
const processStartMs = now(); // time since the process's timeOrigin: Node's own bootstrap and this harness
let importMs;
let invokeMs;
let answer;

const t0 = now();
if (spec.kind === 'voxconf') {
  const event = spec.event; // parsed from the spec file: a fresh object
  const context = lambdaContext(spec.functionName, spec.timeoutMs);
  const mod = await import(pathToFileURL(spec.module).href);
  const t1 = now();
  answer = await mod.handler(event, context);
  const t2 = now();
  importMs = t1 - t0;
  invokeMs = t2 - t1;
  checkHandlerAnswer(spec.handlerKind, answer);
} else if (spec.kind === 'floor') {
  const mod = await import(pathToFileURL(spec.module).href);
  const t1 = now();
  const client = mod.createFloorClient(spec.floor);
  answer = (await client.firstCall(spec.params)).result;
  const t2 = now();
  importMs = t1 - t0;
  invokeMs = t2 - t1;
} else if (spec.kind === 'import') {
  // A package bundled alone (bench/import-cost.ts): the import is all there is.
  await import(pathToFileURL(spec.module).href);
  importMs = now() - t0;
  invokeMs = 0;
} else if (spec.kind === 'peer') {
  const mod = await import(pathToFileURL(spec.module).href);
  const t1 = now();
  const client = await mod.createPeerClient(spec.peer);
  answer = await mod.startConference(client, spec.peer.request);
  const t2 = now();
  importMs = t1 - t0;
  invokeMs = t2 - t1;
} else {
  throw new Error(`unknown kind ${spec.kind}`);
}
const sinceProcessStartMs = now();

writeResult(spec, {
  kind: spec.kind,
  importMs,
  invokeMs,
  totalMs: importMs + invokeMs,
  bootstrapMs: processStartMs,
  sinceProcessStartMs,
  peakRssBytes: peakRssBytes(),
  // The process's start on the wall clock: the parent compares it with when the emulator got the request.
  timeOriginMs: performance.timeOrigin,
  node: process.version,
});
process.exit(0);
