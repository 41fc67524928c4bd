/**
 * Conference sessions: start, join, participants, and the end (asked for, or on their own).
 *
 * Documented by Voximplant (voximplant-api.md, lifecycle-api.md A.1–A.3):
 * - StartConference with a name that has a running session joins it ("all further method calls with the same
 *   conference_name ... join the existing one");
 * - a session with no call is terminated after 60 s (`emptySessionTimeoutMs`, default 60 000);
 * - finish_reason takes one of the documented values ('Normal termination', ...).
 *
 * Assumptions (not documented; tests can choose where an option exists):
 * - what a join answers: the same media URLs (it is the same session), and either the **same**
 *   call_session_history_id (`joinAnswers: 'same'`, default) or a **new** one (`'new-id'`); under 'new-id' the
 *   session keeps the first id as its own (GetCallHistory lists it under that one, a filter on any of its ids
 *   finds it);
 * - the empty-session clock restarts when the last participant leaves (the documented 60 s counts from "no
 *   calls"); a reference-scenario session ends after the grace period (`graceMs`, default 30 000) or that
 *   timeout, whichever comes first;
 * - every end the emulator makes is 'Normal termination' (the scenario terminated itself, or the platform
 *   ended an idle session), unless a control call says otherwise;
 * - a running session is not in GetCallHistory (see call-history.ts).
 *
 * Timers run on the real monotonic clock (the `now` option only stamps dates), are unref'd so they never
 * keep a process alive, and close()/clear() cancel them.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RuleContext } from './accounts.js';
import type {
  AddParticipantOptions,
  ConferenceInfo,
  EndCause,
  FinishReason,
  ParticipantInfo,
  SessionRef,
  SessionSettings,
} from './types.js';

/** Each session keeps the parameters of its most recent calls, bounded for long benchmark runs. */
const MAX_CALLS_KEPT = 50;
const MAX_MEDIA_COMMANDS_KEPT = 50;
const FIRST_CALL_SESSION_HISTORY_ID = 3_100_000_001;
const MAX_PARTICIPANTS = 100; // Conference.add's documented endpoint limit

/** A session named by a control call does not exist, is not running, or is ambiguous (status for the control API). */
export class SessionLookupError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'SessionLookupError';
  }
}

interface Participant {
  readonly id: string;
  readonly displayName: string;
  readonly joinedAt: number;
}

/** The internal session, handed to the media handler and GetCallHistory (read-only for them). */
export interface Session {
  readonly sessionId: string;
  readonly accountId: number;
  readonly name: string;
  readonly ruleId: number;
  readonly rule: RuleContext;
  readonly createdAt: number;
  endedAt: number | null;
  endCause: EndCause | null;
  finishReason: FinishReason | null;
  readonly callSessionHistoryIds: number[];
  joinCount: number;
  readonly calls: Record<string, string>[];
  mediaRequests: number;
  readonly mediaCommands: (string | null)[];
  readonly participants: Map<string, Participant>;
  everJoined: boolean;
  /** performance.now() when the session became empty (start, or the last participant left); null while occupied. */
  emptySince: number | null;
  timer: NodeJS.Timeout | null;
  nextParticipant: number;
}

export interface StartResult {
  readonly session: ConferenceInfo;
  readonly joined: boolean;
  /** The call_session_history_id this call answers (differs from the session's under 'new-id' joins). */
  readonly callSessionHistoryId: number;
}

export interface ConferenceRegistryOptions {
  /** The http/https origins used in media_session_access_(secure_)url. */
  readonly mediaOrigins: { readonly http: string; readonly https: string };
  readonly settings: SessionSettings;
  /** The emulator's clock (ms), for the end a timer stamps. */
  readonly now: () => number;
}

export class ConferenceRegistry {
  private readonly sessions: Session[] = [];
  private readonly running = new Map<string, Session>();
  private readonly byId = new Map<string, Session>();
  private readonly mediaOrigins: ConferenceRegistryOptions['mediaOrigins'];
  private readonly now: () => number;
  private current: SessionSettings;
  private nextHistoryId = FIRST_CALL_SESSION_HISTORY_ID;
  private sequence = 0;
  private closed = false;

  constructor(options: ConferenceRegistryOptions) {
    this.mediaOrigins = options.mediaOrigins;
    this.now = options.now;
    this.current = checkSettings(options.settings);
  }

  get settings(): SessionSettings {
    return this.current;
  }

  /** Applies new settings; every running timer is re-armed, counting from when its session became empty. */
  setSettings(settings: Partial<SessionSettings>): SessionSettings {
    this.current = checkSettings({ ...this.current, ...settings });
    for (const session of this.running.values()) this.arm(session);
    return this.current;
  }

  startOrJoin(
    accountId: number,
    name: string,
    ruleId: number,
    rule: RuleContext,
    params: Record<string, string>,
    nowMs: number,
  ): StartResult {
    const existing = this.running.get(runningKey(accountId, name));
    if (existing) {
      existing.joinCount++;
      keepCall(existing, params);
      let id = existing.callSessionHistoryIds[0];
      if (this.current.joinAnswers === 'new-id') {
        id = this.nextHistoryId++;
        existing.callSessionHistoryIds.push(id);
      }
      return { session: this.info(existing), joined: true, callSessionHistoryId: id };
    }
    const session: Session = {
      sessionId: `${randomBytes(8).toString('hex')}.${Math.floor(nowMs / 1000)}.${++this.sequence}`,
      accountId,
      name,
      ruleId,
      rule,
      createdAt: nowMs,
      endedAt: null,
      endCause: null,
      finishReason: null,
      callSessionHistoryIds: [this.nextHistoryId++],
      joinCount: 0,
      calls: [],
      mediaRequests: 0,
      mediaCommands: [],
      participants: new Map(),
      everJoined: false,
      emptySince: performance.now(),
      timer: null,
      nextParticipant: 1,
    };
    keepCall(session, params);
    this.sessions.push(session);
    this.running.set(runningKey(accountId, name), session);
    this.byId.set(session.sessionId, session);
    this.arm(session);
    return { session: this.info(session), joined: false, callSessionHistoryId: session.callSessionHistoryIds[0] };
  }

  end(
    accountId: number,
    name: string,
    nowMs: number,
    cause: EndCause = 'control',
    finishReason: FinishReason = 'Normal termination',
  ): boolean {
    const session = this.running.get(runningKey(accountId, name));
    if (!session) return false;
    this.finish(session, nowMs, cause, finishReason);
    return true;
  }

  /** Ends a running session (e.g. from its media URL); false when it already ended. */
  endSession(session: Session, nowMs: number, cause: EndCause, finishReason: FinishReason = 'Normal termination') {
    if (session.endedAt !== null) return false;
    this.finish(session, nowMs, cause, finishReason);
    return true;
  }

  /** Ends the running sessions of that name in every account; returns how many. */
  endByName(name: string, nowMs: number): number {
    const matches = [...this.running.values()].filter((session) => session.name === name);
    for (const session of matches) this.finish(session, nowMs, 'control', 'Normal termination');
    return matches.length;
  }

  /**
   * A request arrived at a media session URL: counted with its command when the session runs.
   * Returns the running session, or undefined (unknown or ended: the URL answers 404).
   */
  mediaRequest(sessionId: string, command: string | null): Session | undefined {
    const session = this.byId.get(sessionId);
    if (!session || session.endedAt !== null) return undefined;
    session.mediaRequests++;
    session.mediaCommands.push(command);
    if (session.mediaCommands.length > MAX_MEDIA_COMMANDS_KEPT) session.mediaCommands.shift();
    return session;
  }

  /** The running session a media URL names, without counting anything. */
  runningSession(sessionId: string): Session | undefined {
    const session = this.byId.get(sessionId);
    return session && session.endedAt === null ? session : undefined;
  }

  addParticipant(ref: SessionRef, options: AddParticipantOptions, nowMs: number): ParticipantInfo {
    const session = this.resolve(ref);
    if (session.participants.size >= MAX_PARTICIPANTS) {
      throw new SessionLookupError(409, `the session already has ${MAX_PARTICIPANTS} participants`);
    }
    let id = options.id;
    if (id === undefined) {
      do id = `participant-${session.nextParticipant++}`;
      while (session.participants.has(id));
    }
    if (id === '') throw new RangeError('participant id must not be empty');
    if (session.participants.has(id)) throw new SessionLookupError(409, `participant ${JSON.stringify(id)} is in`);
    const participant: Participant = { id, displayName: options.displayName ?? id, joinedAt: nowMs };
    session.participants.set(id, participant);
    session.everJoined = true;
    session.emptySince = null;
    this.arm(session);
    return participantInfo(participant);
  }

  removeParticipant(ref: SessionRef, participantId: string): boolean {
    const session = this.resolve(ref);
    if (!session.participants.delete(participantId)) return false;
    if (session.participants.size === 0) {
      session.emptySince = performance.now();
      this.arm(session);
    }
    return true;
  }

  get(sessionId: string): ConferenceInfo | undefined {
    const session = this.byId.get(sessionId);
    return session ? this.info(session) : undefined;
  }

  /** The sessions of one account, oldest first (GetCallHistory filters them). */
  ofAccount(accountId: number): readonly Session[] {
    return this.sessions.filter((session) => session.accountId === accountId);
  }

  list(): ConferenceInfo[] {
    return this.sessions.map((session) => this.info(session));
  }

  /** Forgets every session and cancels their timers. */
  clear(): void {
    this.disarmAll();
    this.sessions.length = 0;
    this.running.clear();
    this.byId.clear();
  }

  /** Cancels every timer for good (sessions stay as they are): the emulator is closing. */
  close(): void {
    this.closed = true;
    this.disarmAll();
  }

  private disarmAll(): void {
    for (const session of this.sessions) disarm(session);
  }

  info(session: Session): ConferenceInfo {
    const path = `/media/${encodeURIComponent(session.sessionId)}`;
    return {
      sessionId: session.sessionId,
      accountId: session.accountId,
      name: session.name,
      ruleId: session.ruleId,
      ruleName: session.rule.ruleName,
      scenarioKind: session.rule.scenarioKind,
      createdAt: new Date(session.createdAt).toISOString(),
      endedAt: session.endedAt === null ? null : new Date(session.endedAt).toISOString(),
      active: session.endedAt === null,
      endCause: session.endCause,
      finishReason: session.finishReason,
      callSessionHistoryId: session.callSessionHistoryIds[0],
      callSessionHistoryIds: [...session.callSessionHistoryIds],
      mediaSessionAccessUrl: `${this.mediaOrigins.http}${path}`,
      mediaSessionAccessSecureUrl: `${this.mediaOrigins.https}${path}`,
      joinCount: session.joinCount,
      calls: session.calls.map((call) => ({ ...call })),
      mediaRequests: session.mediaRequests,
      mediaCommands: [...session.mediaCommands],
      participants: [...session.participants.values()].map(participantInfo),
    };
  }

  private finish(session: Session, nowMs: number, cause: EndCause, finishReason: FinishReason): void {
    disarm(session);
    session.endedAt = nowMs;
    session.endCause = cause;
    session.finishReason = finishReason;
    session.participants.clear();
    this.running.delete(runningKey(session.accountId, session.name));
  }

  /** (Re)starts the session's end timer if it is empty, from when it became empty; stops it otherwise. */
  private arm(session: Session): void {
    disarm(session);
    if (this.closed || session.endedAt !== null || session.emptySince === null) return;
    const { emptySessionTimeoutMs, graceMs } = this.current;
    const grace = session.everJoined && session.rule.scenarioKind === 'reference' && graceMs < emptySessionTimeoutMs;
    const delay = grace ? graceMs : emptySessionTimeoutMs;
    const remaining = Math.max(0, session.emptySince + delay - performance.now());
    session.timer = setTimeout(() => {
      session.timer = null;
      this.endSession(session, this.now(), grace ? 'grace' : 'empty_timeout');
    }, remaining);
    session.timer.unref();
  }

  private resolve(ref: SessionRef): Session {
    if ('sessionId' in ref) {
      const session = this.byId.get(ref.sessionId);
      if (!session) throw new SessionLookupError(404, `no session ${JSON.stringify(ref.sessionId)}`);
      if (session.endedAt !== null) throw new SessionLookupError(404, `session ${ref.sessionId} has ended`);
      return session;
    }
    const matches = [...this.running.values()].filter(
      (session) => session.name === ref.name && (ref.accountId === undefined || session.accountId === ref.accountId),
    );
    if (matches.length === 0) throw new SessionLookupError(404, `no running conference named ${JSON.stringify(ref.name)}`);
    if (matches.length > 1) {
      throw new SessionLookupError(409, `several accounts run ${JSON.stringify(ref.name)}: give the accountId`);
    }
    return matches[0];
  }
}

export function checkSettings(settings: SessionSettings): SessionSettings {
  const duration = (value: unknown, name: string) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 2_147_483_647) {
      throw new RangeError(`${name} must be a number of milliseconds from 0 to 2147483647`);
    }
    return value;
  };
  if (settings.joinAnswers !== 'same' && settings.joinAnswers !== 'new-id') {
    throw new RangeError(`joinAnswers must be 'same' or 'new-id', not ${JSON.stringify(settings.joinAnswers)}`);
  }
  return {
    emptySessionTimeoutMs: duration(settings.emptySessionTimeoutMs, 'emptySessionTimeoutMs'),
    graceMs: duration(settings.graceMs, 'graceMs'),
    joinAnswers: settings.joinAnswers,
  };
}

function disarm(session: Session): void {
  if (session.timer !== null) clearTimeout(session.timer);
  session.timer = null;
}

function participantInfo(participant: Participant): ParticipantInfo {
  return {
    id: participant.id,
    displayName: participant.displayName,
    joinedAt: new Date(participant.joinedAt).toISOString(),
  };
}

function runningKey(accountId: number, name: string): string {
  return `${accountId}\u0000${name}`;
}

function keepCall(session: Session, params: Record<string, string>): void {
  session.calls.push({ ...params });
  if (session.calls.length > MAX_CALLS_KEPT) session.calls.splice(0, session.calls.length - MAX_CALLS_KEPT);
}
