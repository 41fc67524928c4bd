/**
 * voxconf reference conference scenario (VoxEngine, plain JavaScript: upload this file as it is).
 *
 * What it does (voximplant/README.md has the whole story):
 * - creates a video conference when the session starts (StartConference from voxconf, or the first call);
 * - answers every call routed to it and adds it to the conference;
 * - answers voxconf's commands sent to the session URL: `status`, `stop`, anything else goes to handleCommand below;
 * - ends itself a grace period after the last participant left (default 30 s, script_custom_data may change it).
 *
 * VoxEngine facts relied on (Voximplant's typings, voximplant/voxengine-ci typings/voxengine.d.ts, and the docs):
 * - AppEvents.Started is the first event of a session and carries conference_name (StartConference's name).
 * - The AppEvents.HttpRequest handler's return value is the HTTP answer's body; the status is always 200, so every
 *   outcome is in the body. The handler cannot await anything: a callback may run for at most 1 s.
 * - VoxEngine.terminate() does not leave the current block (so it is the last thing its function does); after it
 *   only AppEvents.Terminating and AppEvents.Terminated fire, and no timer runs.
 * - A session without calls is ended by Voximplant after 60 s: a session nobody ever joins ends that way, and a
 *   grace period longer than 60 s cannot be honoured (it is capped at 60).
 * - Conference.add needs a rule with the video conference option on, else ConferenceEvents.ConferenceError code 102
 *   (logged here). A call's end fires CallEvents.Disconnected ("triggered when a call is terminated").
 * Tests: test/unit/reference-scenario.test.ts runs this file on a fake of these objects (test/helpers/voxengine-fake.ts).
 */
require(Modules.Conference);

// ---------------------------------------------------------------------------------------------------------------
// The hook: edit this function to give the session your own commands.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Answers every command other than `status` and `stop` (POST /conferences/{name}/commands in voxconf).
 *
 * @param {string} command the body's `command`
 * @param {*} args the body's `args` (any JSON value; undefined when the body has none)
 * @param {object} context `conference` (the VoxEngine Conference), `conference_name`, `started_at`,
 *   `participants` (a copy: [{id, display_name, joined_at}]), `custom_data` (the raw script_custom_data string)
 * @returns a JSON-serializable value, answered as {"ok":true,"command":...,"result":<value>};
 *   undefined answers {"ok":false,"command":...,"error":"unknown_command"}. A throw answers
 *   {"ok":false,...,"error":"command_failed","message":<the error's message>}.
 *
 * It must answer synchronously (VoxEngine's 1 s callback limit; a returned Promise is refused as command_failed).
 * Example (Endpoint.setDisplayName is VoxEngine's; args come from the caller, so check them):
 *   if (command === 'rename' && args && typeof args.id === 'string' && typeof args.name === 'string') {
 *     const endpoint = context.conference.get(args.id);
 *     if (!endpoint) throw new Error('no such participant');
 *     endpoint.setDisplayName(args.name);
 *     return { renamed: args.id };
 *   }
 */
function handleCommand(_command, _args, _context) {
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The rest is voxconf's contract (voximplant/README.md): change it only together with voxconf.
// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_GRACE_SECONDS = 30;
/** Voximplant ends a session without calls after 60 s: a longer grace period would never run out. */
const MAX_GRACE_SECONDS = 60;
/**
 * voxconf sends at most 16 KiB of body and reads at most 16 KiB of answer (lib/facts.json, block registry). The body
 * is measured in characters, never more than its UTF-8 bytes, so every body voxconf sends is read.
 */
const MAX_REQUEST_CHARS = 16384;
const MAX_ANSWER_BYTES = 16384;
/** Display names are cut so that `status` with 100 participants (the conference maximum) stays within 16 KiB. */
const MAX_DISPLAY_NAME_CHARS = 64;
const MAX_MESSAGE_CHARS = 300;

const session = {
  conference: null,
  conferenceName: '',
  startedAt: '',
  customData: '',
  settings: { graceSeconds: DEFAULT_GRACE_SECONDS, hdAudio: false },
  /** [{id, display_name, joined_at, call}] in joining order. */
  participants: [],
  graceTimer: null,
  ending: false,
};

/**
 * script_custom_data: any string. If it parses as a JSON object, `grace_seconds` (a number from 0; above 60 means 60)
 * and `hd_audio` (a boolean) are read; anything else (other keys, other types, text that is not JSON) is ignored.
 */
function readSettings(raw) {
  const settings = { graceSeconds: DEFAULT_GRACE_SECONDS, hdAudio: false };
  let data;
  try {
    data = JSON.parse(raw);
  } catch (_error) {
    return settings;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return settings;
  const grace = data.grace_seconds;
  if (typeof grace === 'number' && Number.isFinite(grace) && grace >= 0) {
    settings.graceSeconds = Math.min(grace, MAX_GRACE_SECONDS);
  }
  if (typeof data.hd_audio === 'boolean') settings.hdAudio = data.hd_audio;
  return settings;
}

function customDataText() {
  try {
    const value = VoxEngine.customData();
    return typeof value === 'string' ? value : '';
  } catch (_error) {
    return '';
  }
}

function ensureConference() {
  if (session.conference) return session.conference;
  // hd_audio true is 48 kHz and billed extra (ConferenceParameters in the typings).
  const conference = VoxEngine.createConference({ hd_audio: session.settings.hdAudio });
  conference.addEventListener(ConferenceEvents.ConferenceError, (event) => {
    Logger.write(`voxconf: conference error ${event.code}: ${event.error}`);
  });
  session.conference = conference;
  return conference;
}

VoxEngine.addEventListener(AppEvents.Started, (event) => {
  session.conferenceName = typeof event.conference_name === 'string' ? event.conference_name : '';
  session.startedAt = new Date().toISOString();
  session.customData = customDataText();
  session.settings = readSettings(session.customData);
  ensureConference();
  // No timer here: a session nobody joins is ended by Voximplant after 60 s without calls.
});

VoxEngine.addEventListener(AppEvents.CallAlerting, (event) => {
  const call = event.call;
  if (session.ending) {
    // A caller arriving while the session ends is turned away (Call.reject: "Rejects the incoming call"; 603 Decline).
    call.reject(603);
    return;
  }
  const conference = ensureConference();
  call.answer();
  const displayName = String(event.displayName || event.callerid || '');
  let endpoint;
  try {
    endpoint = conference.add({
      call: call,
      mode: 'FORWARD',
      direction: 'BOTH',
      scheme: event.scheme,
      displayName: displayName,
    });
  } catch (error) {
    // An uncaught error would end the whole session (a "JS session error") for everyone already in it.
    Logger.write(`voxconf: could not add a caller: ${errorText(error)}`);
    call.hangup();
    return;
  }
  const participant = {
    id: endpoint ? endpoint.id() : call.id(),
    display_name: displayName.slice(0, MAX_DISPLAY_NAME_CHARS),
    joined_at: new Date().toISOString(),
    call: call,
  };
  session.participants.push(participant);
  cancelGrace();
  // A participant leaves when its call ends: CallEvents.Disconnected is "triggered when a call is terminated".
  // ConferenceEvents.EndpointRemoved is not used: the docs do not say that a call's end fires it.
  call.addEventListener(CallEvents.Disconnected, () => {
    removeParticipant((candidate) => candidate.call === call);
  });
});

VoxEngine.addEventListener(AppEvents.HttpRequest, (event) => answer(event));

VoxEngine.addEventListener(AppEvents.Terminating, () => {
  session.ending = true;
  cancelGrace();
});

function removeParticipant(matches) {
  const before = session.participants.length;
  session.participants = session.participants.filter((participant) => !matches(participant));
  if (before > 0 && session.participants.length === 0) startGrace();
}

function startGrace() {
  if (session.ending) return;
  cancelGrace();
  session.graceTimer = setTimeout(() => {
    session.graceTimer = null;
    if (session.participants.length === 0) endSession('the last participant left');
  }, session.settings.graceSeconds * 1000);
}

function cancelGrace() {
  if (session.graceTimer === null) return;
  clearTimeout(session.graceTimer);
  session.graceTimer = null;
}

function endSession(reason) {
  if (session.ending) return;
  session.ending = true;
  cancelGrace();
  Logger.write(`voxconf: ending the session: ${reason}`);
  VoxEngine.terminate();
}

// ---------------------------------------------------------------------------------------------------------------
// Commands over the media session URL.
// ---------------------------------------------------------------------------------------------------------------

/** The answer body (a JSON string) to one request; never throws. */
function answer(event) {
  const request = parseRequest(event ? event.content : undefined);
  if (request.error) return JSON.stringify({ ok: false, error: 'bad_request', message: request.error });
  const command = request.command;
  if (command === 'status') return statusAnswer();
  if (command === 'stop') {
    // The answer is this handler's return value, so it exists only once the handler has returned: terminate on
    // the next turn, not here (a timer with no delay; `ending` already refuses new callers and the grace timer).
    if (!session.ending) {
      session.ending = true;
      cancelGrace();
      Logger.write('voxconf: ending the session: stop command');
      setTimeout(() => {
        VoxEngine.terminate();
      }, 0);
    }
    return JSON.stringify({ ok: true, command: 'stop', stopping: true });
  }
  return hookAnswer(command, request.args);
}

function parseRequest(content) {
  if (typeof content !== 'string' || content.length === 0) return { error: 'the request has no body' };
  if (content.length > MAX_REQUEST_CHARS) return { error: `the body is over ${MAX_REQUEST_CHARS} characters` };
  let body;
  try {
    body = JSON.parse(content);
  } catch (_error) {
    return { error: 'the body is not JSON' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { error: 'the body must be a JSON object' };
  }
  if (typeof body.command !== 'string') return { error: 'the body has no string "command"' };
  return { command: body.command, args: body.args };
}

function publicParticipants() {
  return session.participants.map((participant) => ({
    id: participant.id,
    display_name: participant.display_name,
    joined_at: participant.joined_at,
  }));
}

/**
 * participant_count is always the full count; if the list would take the answer over 16 KiB (very long endpoint
 * ids), it keeps the participants that fit, in joining order.
 */
function statusAnswer() {
  const participants = publicParticipants();
  const build = (list) =>
    JSON.stringify({
      ok: true,
      command: 'status',
      conference_name: session.conferenceName,
      started_at: session.startedAt,
      participant_count: participants.length,
      participants: list,
    });
  let text = build(participants);
  let kept = participants.length;
  while (utf8Bytes(text) > MAX_ANSWER_BYTES && kept > 0) {
    kept -= 1;
    text = build(participants.slice(0, kept));
  }
  return text;
}

function hookAnswer(command, args) {
  if (typeof handleCommand !== 'function') return unknownCommand(command);
  let result;
  try {
    result = handleCommand(command, args, {
      conference: session.conference,
      conference_name: session.conferenceName,
      started_at: session.startedAt,
      participants: publicParticipants(),
      custom_data: session.customData,
    });
  } catch (error) {
    return commandFailed(command, errorText(error));
  }
  if (result === undefined) return unknownCommand(command);
  if (result !== null && typeof result.then === 'function') {
    return commandFailed(command, 'handleCommand must answer synchronously (it returned a Promise)');
  }
  if (typeof result === 'function' || typeof result === 'symbol') {
    return commandFailed(command, 'handleCommand returned a value that is not JSON');
  }
  let text;
  try {
    text = JSON.stringify({ ok: true, command: command, result: result });
  } catch (error) {
    return commandFailed(command, `handleCommand returned a value that is not JSON: ${errorText(error)}`);
  }
  if (utf8Bytes(text) > MAX_ANSWER_BYTES) {
    return commandFailed(command, `the answer would be over ${MAX_ANSWER_BYTES} bytes`);
  }
  return text;
}

function unknownCommand(command) {
  return JSON.stringify({ ok: false, command: command, error: 'unknown_command' });
}

function commandFailed(command, message) {
  return JSON.stringify({ ok: false, command: command, error: 'command_failed', message: message });
}

function errorText(error) {
  let text;
  try {
    text = error && typeof error.message === 'string' ? error.message : String(error);
  } catch (_error) {
    text = 'handleCommand threw';
  }
  return text.slice(0, MAX_MESSAGE_CHARS);
}

/** UTF-8 length without TextEncoder (not promised in VoxEngine); a lone surrogate counts as 3 bytes, as U+FFFD. */
function utf8Bytes(text) {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        index += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
