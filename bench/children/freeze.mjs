/**
 * Init, freeze, invoke: import the bundled handler (Lambda's init phase, the function's warm-up included),
 * tell the parent on fd 3, and wait. The parent freezes this process (SIGSTOP) as Lambda freezes a sandbox
 * between init and its first request, thaws it (SIGCONT) and writes a line to stdin: then the first
 * invocation, then warm ones, each timed on its own. Writes its figures to spec.resultFile and exits.
 *
 *   node bench/children/freeze.mjs <spec.json>      (stdio: stdin pipe, fd 3 pipe)
 */
import { checkHandlerAnswer, cloneEvent, lambdaContext, now, peakRssBytes, readSpec, writeResult } from './harness.mjs';

const { pathToFileURL } = process.getBuiltinModule('node:url');
const { writeSync } = process.getBuiltinModule('node:fs');
const spec = readSpec();

const t0 = now();
const mod = await import(pathToFileURL(spec.module).href);
const initMs = now() - t0;
const initEndMs = now();

writeSync(3, 'ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.pause();

const invoke = async () => {
  const event = cloneEvent(spec.event, spec.handlerKind);
  const context = lambdaContext(spec.functionName, spec.timeoutMs);
  const t = now();
  const answer = await mod.handler(event, context);
  const ms = now() - t;
  checkHandlerAnswer(spec.handlerKind, answer);
  return ms;
};
const firstMs = await invoke();
const warmMs = [];
for (let i = 0; i < spec.warmInvocations; i++) warmMs.push(await invoke());

writeResult(spec, { initMs, initEndMs, firstMs, warmMs, peakRssBytes: peakRssBytes(), node: process.version });
process.exit(0);
