/**
 * The schedule function's entry (serverless.yml `functions/schedule.handler`). Its one static import is ./connect-early.js, and
 * the handler (./schedule-handler.ts: the SDK clients, middy, the warm-up) is imported after it: see connect-early.ts.
 */
import './connect-early.js';

export const { handler } = await import('./schedule-handler.js');
