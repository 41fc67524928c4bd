/**
 * Which API method a request calls. Two URL forms exist: `/platform_api/<Method>[/]` (docs, Go, PHP,
 * Java, .NET) and `/platform_api[/]` with a `cmd` parameter (Node and Python SDKs). When both name a
 * method the path wins (.NET sends both, always equal).
 */

export const API_PREFIX = '/platform_api';

/** The methods this emulator implements; every other name is "Unknown command". */
export const IMPLEMENTED_METHODS: ReadonlySet<string> = new Set(['StartConference', 'GetCallHistory']);

export const MISSING_CMD = 102;
export const UNKNOWN_COMMAND = 103;

export type Route =
  | { readonly ok: true; readonly method: string; readonly via: 'path' | 'cmd' }
  | { readonly ok: false; readonly code: typeof MISSING_CMD | typeof UNKNOWN_COMMAND; readonly method?: string };

export function isApiPath(pathname: string): boolean {
  return pathname === API_PREFIX || pathname.startsWith(`${API_PREFIX}/`);
}

export function resolveRoute(pathname: string, params: Readonly<Record<string, string>>): Route {
  const rest = pathname.slice(API_PREFIX.length).replace(/^\/+/, '').replace(/\/+$/, '');
  if (rest === '') {
    const cmd = params.cmd;
    if (cmd === undefined || cmd === '') return { ok: false, code: MISSING_CMD };
    return IMPLEMENTED_METHODS.has(cmd)
      ? { ok: true, method: cmd, via: 'cmd' }
      : { ok: false, code: UNKNOWN_COMMAND, method: cmd };
  }
  let method: string;
  try {
    method = decodeURIComponent(rest);
  } catch {
    return { ok: false, code: UNKNOWN_COMMAND };
  }
  return IMPLEMENTED_METHODS.has(method)
    ? { ok: true, method, via: 'path' }
    : { ok: false, code: UNKNOWN_COMMAND, method };
}
