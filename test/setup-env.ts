import { appendFileSync } from 'node:fs';

// Quiet, loopback-only defaults for every test file; a test that reads logs or metrics sets its own.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';

// The leak scan (`npm test`, last run) sends everything a test process writes to a capture file, to be
// searched for keys, tokens and session URLs afterwards. Patched once per worker, not once per test file.
const captureDir = process.env.VOXCONF_CAPTURE_DIR;
const patched = Symbol.for('voxconf.capture');
if (captureDir && !(process.stdout as unknown as Record<symbol, boolean>)[patched]) {
  const file = `${captureDir}/worker-${process.pid}.log`;
  for (const stream of [process.stdout, process.stderr]) {
    (stream as unknown as Record<symbol, boolean>)[patched] = true;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      appendFileSync(file, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}
