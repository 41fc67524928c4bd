/**
 * The first import of each function that starts conferences (http, queue, schedule): it starts the
 * connection to Voximplant before the rest of the function is evaluated, so that the TCP handshake runs while
 * the code loads (only the DNS lookup is waited for, bounded). The function's warm-up then adopts the
 * connection. This is the one side effect of loading a function; lib/ has none on import.
 *
 * Imported first, evaluated first: each start function's entry (functions/http.ts, queue.ts, schedule.ts) imports
 * this module and nothing else statically, and imports its handler (functions/<fn>-handler.ts) with a dynamic
 * import() after it. Static imports alone would not do: Node evaluates every statically imported module of the
 * graph, in order, before the importer, and in the deployed bundle (esbuild `splitting`) the AWS SDK's chunks are
 * static imports of the main file, evaluated before the code of its first import. With the handler behind import(),
 * the bundle's main file statically imports only this code's chunk (lib/warm-up.ts, lib/early-connection.ts, the
 * config); the handler's chunks are read, compiled and evaluated while the handshake runs.
 */
import { connectEarly } from '../lib/warm-up.js';

await connectEarly();
