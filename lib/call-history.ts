/**
 * How long an ended session ran and why it ended, from Voximplant's GetCallHistory (lifecycle-api.md A.3), through
 * the same signed-JWT client as StartConference. Only a key whose role may read call history (Owner, Admin,
 * Developer, Supervisor, Support; not CallsSMS, which is enough for StartConference) gets an answer: a refusal for
 * the role is expected and answers `undefined` (logged at info), as does a session not listed. Voximplant does not
 * document whether a running or just-stopped session is listed; a missing entry proves nothing, so nothing is
 * concluded from it.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CredentialsProvider } from './credentials.js';
import { VoximplantApiError } from './errors.js';
import facts from './facts.json' with { type: 'json' };
import type { TokenSigner } from './token.js';
import type { VoximplantClient } from './voximplant-client.js';
import { AUTHORIZATION_FAILED } from './voximplant-codes.js';

/** FORBIDDEN_COMMAND: the key's role may not call this method (voximplant-error-codes.tsv). */
export const FORBIDDEN_COMMAND = 104;

export interface SessionHistory {
  /** Seconds. */
  readonly duration?: number;
  /** e.g. "Normal termination" (CallSessionInfoType). */
  readonly finish_reason?: string;
}

export interface CallHistoryDeps {
  readonly credentials: CredentialsProvider;
  readonly signer: Pick<TokenSigner, 'token' | 'invalidate'>;
  readonly client: Pick<VoximplantClient, 'callMethod'>;
  /** Upper bound of one GetCallHistory request. */
  readonly timeoutMs: number;
  readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly now?: (() => number) | undefined;
}

/** `YYYY-MM-DD HH:mm:ss` in UTC, as GetCallHistory takes dates (with timezone Etc/UTC). */
export function historyDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * GetCallHistory's parameters for one session: its id, in a window from `callHistoryLookbackHours` before voxconf
 * first saw it (the session may have started before that start reached the registry) to a margin after now.
 */
export function historyParams(
  session: { readonly call_session_history_id: number; readonly started_at: string },
  nowMs: number,
): Record<string, string | number> {
  const startedMs = Date.parse(session.started_at);
  const from =
    (Number.isFinite(startedMs) ? Math.min(startedMs, nowMs) : nowMs) - hours(facts.registry.callHistoryLookbackHours);
  const to = nowMs + hours(facts.lifecycle.callHistoryAfterMarginHours);
  return {
    from_date: historyDate(from),
    to_date: historyDate(to),
    timezone: facts.lifecycle.callHistoryTimezone,
    call_session_history_id: session.call_session_history_id,
    count: 1,
  };
}

const hours = (n: number) => n * 3_600_000;

/** The entry for this session in a GetCallHistory answer, reduced to what voxconf records. */
export function historyOf(answer: Record<string, unknown>, callSessionHistoryId: number): SessionHistory | undefined {
  const entries = Array.isArray(answer.result) ? answer.result : [];
  const entry = entries.find(
    (item): item is Record<string, unknown> =>
      item !== null &&
      typeof item === 'object' &&
      Number((item as Record<string, unknown>).call_session_history_id) === callSessionHistoryId,
  );
  if (entry === undefined) return undefined;
  const history: { duration?: number; finish_reason?: string } = {};
  if (typeof entry.duration === 'number' && Number.isFinite(entry.duration) && entry.duration >= 0) {
    history.duration = entry.duration;
  }
  if (typeof entry.finish_reason === 'string' && entry.finish_reason !== '') {
    history.finish_reason = entry.finish_reason.slice(0, 256);
  }
  return history;
}

/** After a refusal for the role, GetCallHistory is not asked again for this long (a key rotation may change it). */
export const ROLE_REFUSAL_MEMORY_MS = 300_000;

export class CallHistory {
  private readonly deps: CallHistoryDeps;
  private readonly now: () => number;
  /** Until when a refusal for the key's role is taken as the answer (0: not refused). */
  private refusedUntil = 0;

  constructor(deps: CallHistoryDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /**
   * The session's duration and finish reason; `undefined` when the key's role may not read call history or the
   * session is not listed. Other failures throw (VoxconfError), for the caller to log: nothing depends on them.
   */
  async lookup(session: {
    readonly call_session_history_id: number;
    readonly started_at: string;
  }): Promise<SessionHistory | undefined> {
    if (this.now() < this.refusedUntil) return undefined;
    const params = historyParams(session, this.now());
    let answer: Record<string, unknown>;
    try {
      answer = await this.call(params);
    } catch (error) {
      if (error instanceof VoximplantApiError && error.voximplantCode === FORBIDDEN_COMMAND) {
        this.refusedUntil = this.now() + ROLE_REFUSAL_MEMORY_MS;
        this.deps.logger?.info('call history not read: the key may not call GetCallHistory', {
          call_session_history_id: session.call_session_history_id,
          voximplant_code: FORBIDDEN_COMMAND,
        });
        return undefined;
      }
      throw error;
    }
    return historyOf(answer, session.call_session_history_id);
  }

  /** One call; a refused token gets one fresh key and token (a rotation), as StartConference does. */
  private async call(params: Record<string, string | number>): Promise<Record<string, unknown>> {
    const { credentials, signer, client, timeoutMs } = this.deps;
    const obtainedAt = this.now();
    const key = await credentials.get();
    try {
      return await client.callMethod('GetCallHistory', params, await signer.token(key), { timeoutMs });
    } catch (error) {
      if (!(error instanceof VoximplantApiError && error.voximplantCode === AUTHORIZATION_FAILED)) throw error;
      signer.invalidate(key);
      const fresh = await credentials.get({ forceRefresh: true, ifFetchedBefore: obtainedAt });
      return client.callMethod('GetCallHistory', params, await signer.token(fresh), { timeoutMs });
    }
  }
}
