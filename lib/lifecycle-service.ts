/**
 * The rest of a conference's life after its start: look it up, list them, end it, send it a command
 * (functions/lifecycle.ts, through lib/lifecycle-http.ts). The registry (lib/registry-store.ts) says what voxconf
 * knows; the session itself (lib/session-client.ts) is asked only where that is safe:
 *
 * - `status` and `stop` go only to sessions whose rule is declared to run the reference scenario
 *   (REFERENCE_SCENARIO_RULE_IDS): any other scenario may end its session on any request (Voximplant's own example
 *   does). Commands are forwarded to any rule's session: the caller knows its own scenario.
 * - At most one `status` probe per conference per probeIntervalSeconds, claimed by a conditional update, so that
 *   concurrent Lambdas agree.
 * - A session is recorded ended only after it refused the connection or answered 404 twice (the second try after
 *   probeConfirmDelayMs), never after a timeout alone: a busy session is not a gone one.
 * - Recording the end is a conditional update (still this active session); only the writer whose condition held
 *   publishes `Conference Ended` (once, at once: nothing slow stands between the end and its event), then asks
 *   GetCallHistory for duration and finish_reason (where the key's role may). A session just stopped is often not
 *   listed yet (lifecycle-api.md A.3), so a later GET of the ended record asks again, at most once per probe
 *   interval and within callHistoryLookbackHours of the end, until Voximplant lists it.
 * - Every end and every command writes one audit line naming the caller; never the URL or the command's args.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CallHistory, SessionHistory } from './call-history.js';
import { conferenceEndedEvent } from './conference-ended-event.js';
import {
  ConferenceEndedError,
  ConferenceNotFoundError,
  catalogEntry,
  NotSupportedError,
  PayloadError,
  type SessionAnswerSummary,
  SessionError,
  SessionNotConfirmedError,
  toVoxconfError,
  ValidationError,
} from './errors.js';
import facts from './facts.json' with { type: 'json' };
import type { LifecycleConfig } from './lifecycle-config.js';
import type { OutcomePublisher } from './outcome-events.js';
import { type ConferenceStatus, type EndReason, expiresAt, type RegistryRecord } from './registry-record.js';
import type { RegistryStore } from './registry-store.js';
import type { Caller } from './schedule-service.js';
import type { SessionClient, SessionOutcome } from './session-client.js';
import { validateConferenceName } from './validation.js';
import { isPlainObject } from './values.js';

export type { Caller };

/** What the status probe of THIS request found (absent when not probed). */
export interface SessionReport {
  /** ISO 8601 UTC. */
  readonly checked_at: string;
  readonly reachable: boolean;
  readonly participant_count?: number;
  readonly participants?: readonly Participant[];
  /** Why not reachable, or not probed now. */
  readonly reason?: 'timeout' | 'error' | 'rate_limited';
}

export interface Participant {
  readonly id: string;
  readonly display_name?: string;
  readonly joined_at?: string;
}

/**
 * The API's answer: the record (lib/registry-record.ts) without its bookkeeping, expires_at and last_probed_at; the
 * media URLs only while active (toView).
 */
export interface ConferenceView extends Omit<RegistryRecord, 'expires_at' | 'last_probed_at'> {
  /** The rule is declared to run the reference scenario: voxconf probes and stops its sessions. */
  readonly reference_scenario: boolean;
  readonly session?: SessionReport;
}

export interface ListInput {
  readonly status: ConferenceStatus;
  readonly limit: number;
  readonly nextToken?: string | undefined;
}

export interface CommandInput {
  readonly command: string;
  readonly args?: unknown;
}

export interface CommandResult {
  /** The session's HTTP status. */
  readonly status: number;
  /** Its body: JSON when it parses, else the text. */
  readonly body: unknown;
}

export interface LifecycleServiceDeps {
  readonly store: Pick<
    RegistryStore,
    'get' | 'list' | 'claimProbe' | 'claimHistory' | 'renew' | 'recordEnded' | 'recordHistory'
  >;
  readonly sessions: Pick<SessionClient, 'send'>;
  /** GetCallHistory; absent: ends are recorded without duration and finish_reason. */
  readonly history?: Pick<CallHistory, 'lookup'> | undefined;
  readonly publisher: OutcomePublisher;
  readonly config: Pick<
    LifecycleConfig,
    'referenceScenarioRuleIds' | 'registryActiveRetentionHours' | 'registryEndedRetentionDays'
  >;
  /** The deployment's stage, named in events. */
  readonly stage: string;
  readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly now?: (() => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Defaults: facts registry.probeIntervalSeconds and probeConfirmDelayMs (tests shorten them). */
  readonly probeIntervalMs?: number | undefined;
  readonly confirmDelayMs?: number | undefined;
}

/** The session is not there: nothing listens, or its URL routes nowhere. */
const isGone = (outcome: SessionOutcome): boolean => outcome.kind === 'refused' || outcome.kind === 'not_found';

const isSuccess = (status: number): boolean => status >= 200 && status <= 299;

/** The reference scenario's confirmation of a stop: 2xx `{"ok":true, ...}`. */
function confirmsStop(outcome: SessionOutcome): boolean {
  return (
    outcome.kind === 'answered' && isSuccess(outcome.status) && isPlainObject(outcome.json) && outcome.json.ok === true
  );
}

/** What a session answered, as an error body may show it. */
export function summarize(outcome: SessionOutcome): SessionAnswerSummary {
  switch (outcome.kind) {
    case 'answered':
      return { outcome: 'answered', status: outcome.status, body: outcome.isJson ? outcome.json : outcome.text };
    case 'too_large':
      return { outcome: 'too_large', status: outcome.status };
    case 'not_found':
      return { outcome: 'not_found', status: 404 };
    default:
      return { outcome: outcome.kind };
  }
}

/** The participants of a reference scenario's `status` answer, each field checked (the answer is input). */
export function participantsOf(answer: unknown): { count?: number; participants?: Participant[] } {
  if (!isPlainObject(answer) || answer.ok !== true) return {};
  const participants: Participant[] = [];
  if (Array.isArray(answer.participants)) {
    for (const item of answer.participants) {
      if (!isPlainObject(item) || (typeof item.id !== 'string' && typeof item.id !== 'number')) continue;
      const participant: { id: string; display_name?: string; joined_at?: string } = { id: String(item.id) };
      if (typeof item.display_name === 'string') participant.display_name = item.display_name;
      if (typeof item.joined_at === 'string') participant.joined_at = item.joined_at;
      participants.push(participant);
    }
  }
  const count =
    typeof answer.participant_count === 'number' && Number.isInteger(answer.participant_count)
      ? answer.participant_count
      : participants.length;
  return { count, participants };
}

/** The record as the API shows it. */
export function toView(record: RegistryRecord, referenceScenario: boolean, session?: SessionReport): ConferenceView {
  const {
    expires_at: _expires,
    last_probed_at: _probed,
    media_session_access_url,
    media_session_access_secure_url,
    ...rest
  } = record;
  // The URLs control the session: shown while it is active only (an ended record has none left anyway).
  const active = record.status === 'active';
  return {
    ...rest,
    ...(active && media_session_access_url !== undefined ? { media_session_access_url } : {}),
    ...(active && media_session_access_secure_url !== undefined ? { media_session_access_secure_url } : {}),
    reference_scenario: referenceScenario,
    ...(session === undefined ? {} : { session }),
  };
}

const COMMAND_NAME = /^[\x21-\x7e]+$/;

/** A command body: `{command, args?}`, command printable ASCII, the forwarded body within commandBodyMaxBytes. */
export function validateCommand(input: unknown): CommandInput {
  if (!isPlainObject(input)) {
    throw new ValidationError([{ field: 'body', rule: 'type', message: 'The body must be a JSON object.' }]);
  }
  const unknown = Object.keys(input).filter((key) => key !== 'command' && key !== 'args');
  if (unknown.length > 0) {
    throw new ValidationError(
      unknown.map((key) => ({
        field: key.slice(0, 64),
        rule: 'unknown_field',
        message: 'Only command and args are accepted.',
      })),
    );
  }
  const { command, args } = input;
  const max = facts.lifecycle.commandNameMaxLength;
  if (typeof command !== 'string' || command.length === 0 || command.length > max || !COMMAND_NAME.test(command)) {
    throw new ValidationError([
      {
        field: 'command',
        rule: 'command',
        message: `command must be 1 to ${max} printable ASCII characters without spaces.`,
      },
    ]);
  }
  const forwarded = args === undefined ? { command } : { command, args };
  if (Buffer.byteLength(JSON.stringify(forwarded), 'utf8') > facts.registry.commandBodyMaxBytes) {
    throw new PayloadError(
      'body_too_large',
      `The command and its args must be at most ${facts.registry.commandBodyMaxBytes} bytes as JSON.`,
    );
  }
  return forwarded;
}

export class LifecycleService {
  private readonly deps: LifecycleServiceDeps;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly probeIntervalMs: number;
  private readonly confirmDelayMs: number;

  constructor(deps: LifecycleServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.probeIntervalMs = deps.probeIntervalMs ?? facts.registry.probeIntervalSeconds * 1000;
    this.confirmDelayMs = deps.confirmDelayMs ?? facts.registry.probeConfirmDelayMs;
  }

  private isReference(record: Pick<RegistryRecord, 'rule_id'>): boolean {
    return record.rule_id !== undefined && this.deps.config.referenceScenarioRuleIds.has(record.rule_id);
  }

  private retention() {
    const { registryActiveRetentionHours: activeHours, registryEndedRetentionDays: endedDays } = this.deps.config;
    return { activeHours, endedDays };
  }

  private async record(name: string): Promise<RegistryRecord> {
    const record = await this.deps.store.get(name);
    if (record === undefined) throw new ConferenceNotFoundError(name);
    return record;
  }

  /**
   * GET /conferences/{name}: the record; while it is active and its rule runs the reference scenario, what the
   * session says (`status`), at most once per probe interval. A session gone twice is recorded ended here.
   */
  async get(rawName: string): Promise<ConferenceView> {
    const name = validateConferenceName(rawName);
    const record = await this.record(name);
    const reference = this.isReference(record);
    const url = record.media_session_access_secure_url;
    if (record.status === 'ended') return toView(await this.withLateHistory(record), reference);
    if (!reference || url === undefined) return toView(record, reference);
    const claimed = await this.deps.store.claimProbe(name, record.call_session_history_id, this.probeIntervalMs);
    const checkedAt = new Date(this.now()).toISOString();
    if (!claimed) return toView(record, reference, { checked_at: checkedAt, reachable: false, reason: 'rate_limited' });

    let outcome = await this.deps.sessions.send(url, { command: 'status' });
    if (isGone(outcome)) {
      await this.sleep(this.confirmDelayMs);
      outcome = await this.deps.sessions.send(url, { command: 'status' });
      if (isGone(outcome)) {
        const ended = await this.recordEnd(record, 'session_gone');
        // Lost the race: someone else recorded the end (or a new session replaced it); show what is there now.
        const current = ended ?? (await this.deps.store.get(name)) ?? record;
        const session = { checked_at: new Date(this.now()).toISOString(), reachable: false };
        const same = current.call_session_history_id === record.call_session_history_id;
        return toView(current, this.isReference(current), same ? session : undefined);
      }
    }
    const session = this.report(outcome, new Date(this.now()).toISOString());
    if (session.reachable) {
      // A sign of life: the record lives on as long as the session does.
      await this.deps.store.renew(
        name,
        record.call_session_history_id,
        expiresAt('active', this.now(), this.retention()),
      );
    }
    return toView(record, reference, session);
  }

  /**
   * An ended record without duration and finish reason: GetCallHistory asked once more (the session may be listed
   * by now), at most once per probe interval, within callHistoryLookbackHours of the end. The record as it is
   * otherwise; a failure only leaves it so.
   */
  private async withLateHistory(record: RegistryRecord): Promise<RegistryRecord> {
    if (this.deps.history === undefined) return record;
    if (record.duration !== undefined || record.finish_reason !== undefined) return record;
    const endedMs = Date.parse(record.ended_at ?? '');
    const lookbackMs = facts.registry.callHistoryLookbackHours * 3_600_000;
    if (!Number.isFinite(endedMs) || this.now() - endedMs > lookbackMs) return record;
    const claimed = await this.deps.store
      .claimHistory(record.conference_name, record.call_session_history_id, this.probeIntervalMs)
      .catch(() => false);
    if (!claimed) return record;
    const history = await this.readHistory(record);
    return history === undefined ? record : { ...record, ...history };
  }

  private report(outcome: SessionOutcome, checkedAt: string): SessionReport {
    if (outcome.kind === 'answered' && isSuccess(outcome.status)) {
      const { count, participants } = participantsOf(outcome.json);
      return {
        checked_at: checkedAt,
        reachable: true,
        ...(count === undefined ? {} : { participant_count: count }),
        ...(participants === undefined ? {} : { participants }),
      };
    }
    return { checked_at: checkedAt, reachable: false, reason: outcome.kind === 'timeout' ? 'timeout' : 'error' };
  }

  /** GET /conferences?status=: one page, newest first; the list holds no media URLs and asks no session. */
  async list(input: ListInput): Promise<{ conferences: ConferenceView[]; next_token?: string }> {
    if (input.status !== 'active' && input.status !== 'ended') {
      throw new ValidationError([{ field: 'status', rule: 'enum', message: 'status must be active or ended.' }]);
    }
    const max = facts.registry.listMaxLimit;
    if (!Number.isInteger(input.limit) || input.limit < 1 || input.limit > max) {
      throw new ValidationError([{ field: 'limit', rule: 'range', message: `limit must be 1 to ${max}.` }]);
    }
    const page = await this.deps.store.list(input.status, input.limit, input.nextToken);
    const conferences = page.records.map((record) => toView(record, this.isReference(record)));
    return page.nextToken === undefined ? { conferences } : { conferences, next_token: page.nextToken };
  }

  /**
   * DELETE /conferences/{name}: `stop`, then the record says ended. 204 when the session confirmed the stop, or
   * was gone twice (ended as session_gone); otherwise SessionNotConfirmedError with what it answered.
   */
  async end(rawName: string, caller: Caller): Promise<void> {
    let name: string | undefined;
    await this.audited(
      'end',
      () => name,
      undefined,
      caller,
      async () => {
        name = validateConferenceName(rawName);
        const record = await this.record(name);
        if (record.status === 'ended') throw new ConferenceEndedError(name);
        if (!this.isReference(record)) {
          throw new NotSupportedError(
            `voxconf ends only sessions whose rule runs the reference scenario; rule ${record.rule_id ?? '(none)'} is not declared to (REFERENCE_SCENARIO_RULE_IDS).`,
          );
        }
        const url = record.media_session_access_secure_url;
        if (url === undefined) throw new SessionError('session_unreachable', 'The record holds no media session URL.');
        let outcome = await this.deps.sessions.send(url, { command: 'stop' });
        if (isGone(outcome)) {
          await this.sleep(this.confirmDelayMs);
          outcome = await this.deps.sessions.send(url, { command: 'stop' });
          if (isGone(outcome)) {
            await this.recordEnd(record, 'session_gone');
            return;
          }
        }
        if (!confirmsStop(outcome)) {
          const summary = summarize(outcome);
          throw new SessionNotConfirmedError(notConfirmedMessage(summary), summary);
        }
        await this.recordEnd(record, 'stopped', caller);
      },
    );
  }

  /**
   * POST /conferences/{name}/commands: forwards `{command, args}` to the running session and gives back its
   * status and body. For reference rules `stop` is DELETE's. A session gone twice is recorded ended (409).
   */
  async command(rawName: string, input: unknown, caller: Caller): Promise<CommandResult> {
    let name: string | undefined;
    let commandName: string | undefined;
    return this.audited(
      'command',
      () => name,
      () => commandName,
      caller,
      async () => {
        name = validateConferenceName(rawName);
        const request = validateCommand(input);
        commandName = request.command;
        const record = await this.record(name);
        if (record.status === 'ended') throw new ConferenceEndedError(name);
        if (request.command === 'stop' && this.isReference(record)) {
          throw new ValidationError([
            { field: 'command', rule: 'use_delete', message: 'To end the conference, use DELETE /conferences/{name}.' },
          ]);
        }
        const url = record.media_session_access_secure_url;
        if (url === undefined) throw new SessionError('session_unreachable', 'The record holds no media session URL.');
        let outcome = await this.deps.sessions.send(url, request);
        if (isGone(outcome)) {
          // Nothing answered, so the command did not run: sending it once more cannot run it twice.
          await this.sleep(this.confirmDelayMs);
          outcome = await this.deps.sessions.send(url, request);
          if (isGone(outcome)) {
            await this.recordEnd(record, 'session_gone');
            throw new ConferenceEndedError(name);
          }
        }
        switch (outcome.kind) {
          case 'answered':
            return { status: outcome.status, body: outcome.isJson ? outcome.json : outcome.text };
          case 'too_large':
            throw new SessionError(
              'session_answer_too_large',
              `The session answered HTTP ${outcome.status} with more than ${facts.registry.sessionAnswerMaxBytes} bytes.`,
            );
          case 'timeout':
            throw new SessionError('session_timeout', 'The session did not answer in time; the command may have run.');
          default:
            throw new SessionError('session_unreachable', 'The session could not be reached.');
        }
      },
    );
  }

  /**
   * Records the end if the record is still this active session. The writer whose condition held reads the call
   * history, then publishes the event; the others get undefined and publish nothing.
   */
  private async recordEnd(
    record: RegistryRecord,
    reason: EndReason,
    caller?: Caller,
  ): Promise<RegistryRecord | undefined> {
    const now = this.now();
    const written = await this.deps.store.recordEnded(record.conference_name, {
      callSessionHistoryId: record.call_session_history_id,
      endedAt: new Date(now).toISOString(),
      endReason: reason,
      endedBy: caller?.id,
      expiresAt: expiresAt('ended', now, this.retention()),
    });
    if (written === undefined) return undefined;
    this.deps.logger?.info('conference recorded ended', {
      conference_name: record.conference_name,
      call_session_history_id: record.call_session_history_id,
      rule_id: record.rule_id,
      end_reason: reason,
    });
    await this.deps.publisher.publish([conferenceEndedEvent(this.deps.stage, written)]);
    const history = await this.readHistory(written);
    return history === undefined ? written : { ...written, ...history };
  }

  /** Duration and finish reason, recorded; any failure is logged and skipped (the end stands without them). */
  private async readHistory(record: RegistryRecord): Promise<SessionHistory | undefined> {
    if (this.deps.history === undefined) return undefined;
    try {
      const history = await this.deps.history.lookup(record);
      if (history === undefined) return undefined;
      await this.deps.store.recordHistory(record.conference_name, record.call_session_history_id, history);
      return history;
    } catch (thrown) {
      const error = toVoxconfError(thrown);
      this.deps.logger?.warn('call history not recorded', {
        conference_name: record.conference_name,
        call_session_history_id: record.call_session_history_id,
        error_code: error.code,
        voximplant_code: error.voximplantCode,
      });
      return undefined;
    }
  }

  /** Runs an end or a command and writes its audit line: who, what, which conference, done or refused. */
  private async audited<T>(
    action: 'end' | 'command',
    name: () => string | undefined,
    command: (() => string | undefined) | undefined,
    caller: Caller,
    run: () => Promise<T>,
  ): Promise<T> {
    const line = () => ({
      audit: true,
      action,
      conference_name: name(),
      ...(command === undefined ? {} : { command: command() }),
      caller: caller.id,
      caller_type: caller.type,
    });
    try {
      const result = await run();
      const status = (result as { status?: unknown } | undefined)?.status;
      this.deps.logger?.info(action === 'end' ? 'conference ended' : 'conference command sent', {
        ...line(),
        outcome: 'done',
        ...(typeof status === 'number' ? { session_status: status } : {}),
      });
      return result;
    } catch (thrown) {
      const error = toVoxconfError(thrown);
      this.deps.logger?.[catalogEntry(error.code).status >= 500 ? 'warn' : 'info'](
        action === 'end' ? 'conference not ended' : 'conference command not sent',
        { ...line(), outcome: 'refused', error_code: error.code, field: error.field },
      );
      throw thrown;
    }
  }
}

function notConfirmedMessage(summary: SessionAnswerSummary): string {
  switch (summary.outcome) {
    case 'answered':
      return `The session answered HTTP ${summary.status} without confirming the stop.`;
    case 'too_large':
      return `The session answered HTTP ${summary.status} with more than ${facts.registry.sessionAnswerMaxBytes} bytes.`;
    case 'timeout':
      return 'The session did not answer the stop in time; it may still end.';
    default:
      return 'The session could not be reached to stop it.';
  }
}
