/**
 * The media session URL (`/media/<session id>`), answering as the scenario bound to the session's rule does.
 *
 * - `reference` rules speak voxconf's media session contract (the reference scenario in `voximplant/`):
 *   POST JSON `{"command", "args"}`; `status` and `stop` built in, other commands go to a hook (here a canned
 *   answer per command set through the control API, or `unknown_command`); the outcome is in the body, always
 *   HTTP 200, because a VoxEngine HttpRequest handler cannot choose its status.
 * - `example` rules behave as Voximplant's own example scenario: any request gets 200 with an empty body and
 *   the session ends.
 * - An unknown or ended session answers 404 `{"error":"session_not_found"}` (on Voximplant the session is gone,
 *   so expect 404 or a refused connection there).
 *
 * Every request to a running session is counted (`mediaRequests`, `mediaCommands`), so a test can prove that a
 * session was never probed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody } from './body.js';
import type { ConferenceRegistry, Session } from './conferences.js';
import { dropConnection, sendBody, sendJson } from './respond.js';
import type { CommandHookAnswer } from './types.js';

export const MEDIA_PREFIX = '/media/';

export interface MediaContext {
  readonly conferences: ConferenceRegistry;
  readonly maxBodyBytes: number;
  readonly now: () => number;
  readonly hooks: ReadonlyMap<string, CommandHookAnswer>;
}

type Parsed = { readonly ok: true; readonly command: string; readonly args: unknown } | { ok: false; message: string };

export async function handleMediaRequest(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  ctx: MediaContext,
): Promise<void> {
  let sessionId: string;
  try {
    sessionId = decodeURIComponent(pathname.slice(MEDIA_PREFIX.length));
  } catch {
    sessionId = '';
  }
  // Refused before the body is read: nothing is listening there any more.
  if (!ctx.conferences.runningSession(sessionId)) return sendJson(res, 404, { error: 'session_not_found' });

  let body: Buffer;
  try {
    body = await readBody(req, ctx.maxBodyBytes);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) return dropConnection(res);
    return sendBody(res, 413, 'Payload Too Large', 'text/plain; charset=utf-8', { connection: 'close' });
  }
  const parsed = parseCommand(body);
  // The session may have ended while the body arrived (a stop on another connection, a timer).
  const session = ctx.conferences.mediaRequest(sessionId, parsed.ok ? parsed.command : null);
  if (!session) return sendJson(res, 404, { error: 'session_not_found' });

  if (session.rule.scenarioKind === 'example') {
    sendBody(res, 200, '', 'text/plain; charset=utf-8');
    ctx.conferences.endSession(session, ctx.now(), 'example_request');
    return;
  }
  if (!parsed.ok) return sendJson(res, 200, { ok: false, error: 'bad_request', message: parsed.message });
  const { command, args } = parsed;
  switch (command) {
    case 'status':
      return sendJson(res, 200, statusBody(ctx.conferences, session));
    case 'stop':
      // VoxEngine.terminate() right after the answer is returned: every later request finds no session.
      sendJson(res, 200, { ok: true, command: 'stop', stopping: true });
      ctx.conferences.endSession(session, ctx.now(), 'stop');
      return;
    default:
      return sendJson(res, 200, hookAnswer(command, args, ctx.hooks.get(command)));
  }
}

function parseCommand(body: Buffer): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, message: 'the body is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'the body must be a JSON object' };
  }
  const { command, args } = value as Record<string, unknown>;
  if (typeof command !== 'string' || command === '') {
    return { ok: false, message: 'the body needs a string "command"' };
  }
  return { ok: true, command, args };
}

function statusBody(conferences: ConferenceRegistry, session: Session) {
  const info = conferences.info(session);
  return {
    ok: true,
    command: 'status',
    conference_name: info.name,
    started_at: info.createdAt,
    participant_count: info.participants.length,
    participants: info.participants.map((participant) => ({
      id: participant.id,
      display_name: participant.displayName,
      joined_at: participant.joinedAt,
    })),
  };
}

/** The reference scenario's `handleCommand` hook, played by a canned answer (or its absence). */
function hookAnswer(command: string, _args: unknown, answer: CommandHookAnswer | undefined) {
  if (answer === undefined) return { ok: false, command, error: 'unknown_command' };
  if ('error' in answer) return { ok: false, command, error: 'command_failed', message: answer.error };
  if (answer.result === undefined) return { ok: false, command, error: 'unknown_command' };
  return { ok: true, command, result: answer.result };
}
