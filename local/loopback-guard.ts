import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Refuses requests a web browser could make on behalf of some page: any request carrying `Origin`
 * (a form POST needs no preflight), or addressed to a host name other than loopback (DNS rebinding).
 * The local stack's servers have no authentication: only local tools (curl, the SDK, the stack) may call them.
 * Returns true when it answered 403.
 */
export function refuseBrowserRequest(req: IncomingMessage, res: ServerResponse): boolean {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const loopbackHost = host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '';
  if (req.headers.origin === undefined && loopbackHost) return false;
  res.writeHead(403, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      error: 'local stack: requests from web pages (Origin) or to non-loopback host names are refused',
    }),
  );
  req.resume();
  return true;
}
