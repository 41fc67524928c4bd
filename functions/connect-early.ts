/**
 * The first import of each function that starts conferences (http, queue, schedule): it starts the
 * connection to Voximplant before the rest of the bundle is evaluated, so that the TCP handshake runs while
 * the code loads (only the DNS lookup is waited for, bounded). Imported first, it is evaluated first: an
 * ES module's imports run in order. The function's warm-up then adopts the connection. This is the one
 * side effect of loading a function; lib/ has none on import.
 */
import { connectEarly } from '../lib/warm-up.js';

await connectEarly();
