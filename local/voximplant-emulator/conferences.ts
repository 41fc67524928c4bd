/**
 * Conference sessions. StartConference with a name that already has a running session joins it
 * (Voximplant: "all further method calls with the same conference_name ... join the existing one"),
 * so the same URLs and call_session_history_id come back until the session is ended.
 */
import { randomBytes } from 'node:crypto';
import type { ConferenceInfo } from './types.js';

/** Each session keeps the parameters of its most recent calls, bounded for long benchmark runs. */
const MAX_CALLS_KEPT = 50;
const FIRST_CALL_SESSION_HISTORY_ID = 3_100_000_001;

interface Session {
  readonly sessionId: string;
  readonly accountId: number;
  readonly name: string;
  readonly ruleId: number;
  readonly createdAt: number;
  endedAt: number | null;
  readonly callSessionHistoryId: number;
  joinCount: number;
  readonly calls: Record<string, string>[];
  mediaRequests: number;
}

export interface StartResult {
  readonly session: ConferenceInfo;
  readonly joined: boolean;
}

export class ConferenceRegistry {
  private readonly sessions: Session[] = [];
  private readonly running = new Map<string, Session>();
  private readonly byId = new Map<string, Session>();
  private nextHistoryId = FIRST_CALL_SESSION_HISTORY_ID;
  private sequence = 0;

  /** @param mediaOrigins the http/https origins used in media_session_access_(secure_)url */
  constructor(private readonly mediaOrigins: { readonly http: string; readonly https: string }) {}

  startOrJoin(
    accountId: number,
    name: string,
    ruleId: number,
    params: Record<string, string>,
    nowMs: number,
  ): StartResult {
    const existing = this.running.get(runningKey(accountId, name));
    if (existing) {
      existing.joinCount++;
      keepCall(existing, params);
      return { session: this.info(existing), joined: true };
    }
    const session: Session = {
      sessionId: `${randomBytes(8).toString('hex')}.${Math.floor(nowMs / 1000)}.${++this.sequence}`,
      accountId,
      name,
      ruleId,
      createdAt: nowMs,
      endedAt: null,
      callSessionHistoryId: this.nextHistoryId++,
      joinCount: 0,
      calls: [],
      mediaRequests: 0,
    };
    keepCall(session, params);
    this.sessions.push(session);
    this.running.set(runningKey(accountId, name), session);
    this.byId.set(session.sessionId, session);
    return { session: this.info(session), joined: false };
  }

  end(accountId: number, name: string, nowMs: number): boolean {
    const session = this.running.get(runningKey(accountId, name));
    if (!session) return false;
    session.endedAt = nowMs;
    this.running.delete(runningKey(accountId, name));
    return true;
  }

  /** Ends the running sessions of that name in every account; returns how many. */
  endByName(name: string, nowMs: number): number {
    const matches = [...this.running.values()].filter((session) => session.name === name);
    for (const session of matches) this.end(session.accountId, name, nowMs);
    return matches.length;
  }

  /** Counts a request to a media session URL; false when the session is unknown or ended. */
  touchMedia(sessionId: string): boolean {
    const session = this.byId.get(sessionId);
    if (!session || session.endedAt !== null) return false;
    session.mediaRequests++;
    return true;
  }

  list(): ConferenceInfo[] {
    return this.sessions.map((session) => this.info(session));
  }

  clear(): void {
    this.sessions.length = 0;
    this.running.clear();
    this.byId.clear();
  }

  private info(session: Session): ConferenceInfo {
    const path = `/media/${encodeURIComponent(session.sessionId)}`;
    return {
      sessionId: session.sessionId,
      accountId: session.accountId,
      name: session.name,
      ruleId: session.ruleId,
      createdAt: new Date(session.createdAt).toISOString(),
      endedAt: session.endedAt === null ? null : new Date(session.endedAt).toISOString(),
      active: session.endedAt === null,
      callSessionHistoryId: session.callSessionHistoryId,
      mediaSessionAccessUrl: `${this.mediaOrigins.http}${path}`,
      mediaSessionAccessSecureUrl: `${this.mediaOrigins.https}${path}`,
      joinCount: session.joinCount,
      calls: session.calls.map((call) => ({ ...call })),
      mediaRequests: session.mediaRequests,
    };
  }
}

function runningKey(accountId: number, name: string): string {
  return `${accountId}\u0000${name}`;
}

function keepCall(session: Session, params: Record<string, string>): void {
  session.calls.push({ ...params });
  if (session.calls.length > MAX_CALLS_KEPT) session.calls.splice(0, session.calls.length - MAX_CALLS_KEPT);
}
