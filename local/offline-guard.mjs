/**
 * Preloaded (node --import) into the serverless-offline process that local/offline.ts starts in its own process
 * group. It does two things there:
 *
 * 1. Guards every server of that process (the HTTP API and the Lambda API) with the local stack's one guard,
 *    local/loopback-guard.mjs, before serverless offline (hapi) sees a request: a non-loopback `Host` or an
 *    `Origin` is refused with 403, serverless offline's own CORS never answers (it would echo any origin, with
 *    credentials), and the Lambda API refuses the content types a page can POST without a preflight (415).
 *    The policy of each port comes from VOXCONF_OFFLINE_GUARD_POLICY (JSON, `{"<port>": {...}}`, set by
 *    local/offline.ts); a port it does not name gets the strictest one.
 *
 * 2. Makes the payload 2.0 event serverless offline builds for the HTTP API the one API Gateway sends
 *    (local/offline-http-event.mjs: no invented Content-Type, the body exactly as sent).
 *
 * 3. Ends serverless offline with the stack. The stack keeps this process's stdin open; when the stack goes
 *    away in any manner (Ctrl-C, a crash, even SIGKILL), stdin ends, and this process stops as if told SIGTERM:
 *    serverless-offline halts and its process group (esbuild's service included) goes with it. No orphan keeps
 *    the ports.
 *
 * Plain JavaScript on purpose: it runs before serverless, without tsx.
 */
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';
import { guardAllServers } from './loopback-guard.mjs';
import { correctHttpApiEvents } from './offline-http-event.mjs';

if (isMainThread) {
  /** @type {Record<string, import('./loopback-guard.mjs').GuardPolicy>} */
  const policies = JSON.parse(process.env.VOXCONF_OFFLINE_GUARD_POLICY ?? '{}');
  guardAllServers((port) => policies[String(port)] ?? {});
  // serverless offline runs in the service folder (local/offline.ts): its serverless-offline is the one patched.
  await correctHttpApiEvents(process.cwd());
}

if (isMainThread && process.env.VOXCONF_OFFLINE_GUARD === '1' && !process.stdin.isTTY) {
  let ending = false;
  const end = () => {
    if (ending) return;
    ending = true;
    process.kill(process.pid, 'SIGTERM');
    // serverless-offline normally exits within a second; do not let a stuck shutdown linger.
    setTimeout(() => {
      try {
        process.kill(-process.pid, 'SIGKILL');
      } catch {
        process.exit(1);
      }
    }, 5000).unref();
  };
  process.stdin.on('data', () => {});
  process.stdin.on('end', end);
  process.stdin.on('close', end);
  process.stdin.on('error', end);
  // Watching stdin must not keep the process alive by itself.
  process.stdin.unref?.();
}
