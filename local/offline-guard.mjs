/**
 * Preloaded (node --import) into the serverless-offline process that local/offline.ts starts in its own process
 * group. The stack keeps this process's stdin open; when the stack goes away in any manner (Ctrl-C, a crash,
 * even SIGKILL), stdin ends, and this process stops as if told SIGTERM: serverless-offline halts and its process
 * group (esbuild's service included) goes with it. No orphan keeps the ports.
 *
 * Plain JavaScript on purpose: it runs before serverless, without tsx.
 */
import process from 'node:process';

if (process.env.VOXCONF_OFFLINE_GUARD === '1' && !process.stdin.isTTY) {
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
