/**
 * The queue function's entry (serverless.yml `functions/queue.handler`). Its one static import is ./connect-early.js, and
 * the handler (./queue-handler.ts: the SDK clients, middy, the warm-up) is imported after it: see connect-early.ts.
 */
import './connect-early.js';

export const { handler } = await import('./queue-handler.js');
