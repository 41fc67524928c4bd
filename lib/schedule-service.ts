/**
 * The schedules API's operations: create, show, replace, cancel and list schedules, stored in EventBridge
 * Scheduler. Schedules of the API live in their own group; the deploy-time ones (infra/schedules.yml) are shown
 * but never changed here. Every create, change and cancel, done or refused, is logged with the caller (the audit
 * line).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { GetScheduleCommandOutput } from '@aws-sdk/client-scheduler';
import type { ConferenceService } from './conference.js';
import {
  catalogEntry,
  ScheduleConflictError,
  ScheduleNotFoundError,
  SchedulerError,
  toVoxconfError,
} from './errors.js';
import facts from './facts.json' with { type: 'json' };
/** Who asked (lib/http-caller.ts): the schedules and lifecycle APIs name their callers alike. */
import type { Caller } from './http-caller.js';
import { badPageToken, decodePageToken, encodePageToken } from './list-query.js';
import { compareFingerprints, fingerprintOf, IDEMPOTENCY_HEADER, nameFromKey } from './schedule-idempotency.js';
import { SCHEDULE_NAME, type ScheduleSpec, validateScheduleRequest } from './schedule-request.js';
import {
  type ManagedBy,
  type ScheduleSummaryView,
  type ScheduleView,
  storedFingerprint,
  toSchedulerInput,
  toScheduleView,
  toSummaryView,
} from './scheduler-mapping.js';
import type { ScheduleStore } from './scheduler-store.js';
import type { SchedulesConfig } from './schedules-config.js';
import { isPlainObject } from './values.js';

export type { Caller };

export interface ScheduleServiceDeps {
  readonly store: ScheduleStore;
  readonly config: SchedulesConfig;
  /** The conference request's checks (schema and rule allow-list), as the schedule function applies them. */
  readonly validateRequest: ConferenceService['validate'];
  readonly logger?: Pick<Logger, 'info' | 'warn'> | undefined;
  /** A create refused for the quota (Scheduler's or voxconf's cap): a metric an alarm watches. */
  readonly onQuotaExceeded?: (() => void) | undefined;
  readonly now?: (() => number) | undefined;
  /** The name of a create with neither a name nor an Idempotency-Key. */
  readonly randomName?: (() => string) | undefined;
}

export interface CreateResult {
  readonly schedule: ScheduleView;
  /** The create was a retry: the schedule is the first create's. */
  readonly replayed: boolean;
}

export interface ListOptions {
  readonly prefix?: string | undefined;
  readonly limit: number;
  readonly nextToken?: string | undefined;
}

export interface ListResult {
  readonly schedules: readonly ScheduleSummaryView[];
  readonly next_token?: string;
}

type Action = 'create' | 'replace' | 'cancel';
const DONE: Record<Action, string> = { create: 'created', replace: 'replaced', cancel: 'cancelled' };

/** Both groups in list order: the deploy-time ones first. */
const LIST_ORDER: readonly ManagedBy[] = ['deploy', 'api'];
/** ListSchedules calls one GET /schedules makes at most (Scheduler may answer short pages). */
const MAX_LIST_CALLS = 10;

interface ListCursor {
  /** Index in LIST_ORDER. */
  readonly g: number;
  /** Scheduler's NextToken in that group. */
  readonly t?: string;
  /** The prefix the listing was asked with. */
  readonly p?: string;
}

export function encodeListToken(cursor: ListCursor): string {
  return encodePageToken({ v: 1, ...cursor });
}

export function decodeListToken(token: string, prefix: string | undefined): ListCursor {
  // No length cap: the cursor holds Scheduler's own NextToken.
  const parsed = decodePageToken(token);
  if (
    parsed.v !== 1 ||
    !Number.isInteger(parsed.g) ||
    (parsed.g as number) < 0 ||
    (parsed.g as number) >= LIST_ORDER.length ||
    (parsed.t !== undefined && typeof parsed.t !== 'string') ||
    (parsed.p ?? undefined) !== prefix
  ) {
    throw badPageToken();
  }
  return { g: parsed.g as number, ...(parsed.t !== undefined ? { t: parsed.t as string } : {}) };
}

export class ScheduleService {
  private readonly deps: ScheduleServiceDeps;
  private readonly now: () => number;
  /** voxconf's count of API schedules, refreshed from Scheduler at most once a countCacheSeconds. */
  private counted: { count: number; at: number } | undefined;

  constructor(deps: ScheduleServiceDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  private get groups(): Record<ManagedBy, string> {
    return { api: this.deps.config.apiGroup, deploy: this.deps.config.deployGroup };
  }

  private validate(body: unknown, now: Date, pathName?: string): ScheduleSpec {
    const { horizonDays, minIntervalMinutes } = this.deps.config;
    return validateScheduleRequest(body, {
      now,
      horizonDays,
      minIntervalMinutes,
      validateRequest: this.deps.validateRequest,
      pathName,
    });
  }

  /**
   * POST /schedules. With an Idempotency-Key, a retry of a create that succeeded answers with that schedule
   * (before the body's times are judged again: the first create's `at` may have become "past" meanwhile).
   */
  async create(body: unknown, options: { idempotencyKey?: string | undefined; caller: Caller }): Promise<CreateResult> {
    const key = options.idempotencyKey;
    let name: string | undefined;
    return this.audited(
      'create',
      () => name,
      options.caller,
      async () => {
        const now = new Date(this.now());
        const fingerprint = key === undefined ? undefined : fingerprintOf(key, body);
        const bodyName =
          isPlainObject(body) && typeof body.name === 'string' && SCHEDULE_NAME.test(body.name) ? body.name : undefined;
        name = bodyName ?? (key === undefined ? undefined : nameFromKey(key));
        if (fingerprint !== undefined && name !== undefined) {
          const first = await this.replay(name, fingerprint, now);
          if (first) return { schedule: first, replayed: true };
        }
        const spec = this.validate(body, now);
        name = spec.name ?? name ?? (this.deps.randomName ?? randomUUID)();
        if (await this.deps.store.get(this.groups.deploy, name)) {
          throw new ScheduleConflictError(
            'schedule_exists',
            `A schedule named "${name}" exists (declared in infra/schedules.yml).`,
            { field: 'name' },
          );
        }
        await this.checkCap();
        const input = toSchedulerInput(name, this.groups.api, spec, this.deps.config, fingerprint);
        if ((await this.quota(() => this.deps.store.create(input))) === 'exists') {
          // Taken meanwhile: by this same create retried concurrently, or by another.
          const first = fingerprint === undefined ? undefined : await this.replay(name, fingerprint, now);
          if (first) return { schedule: first, replayed: true };
          throw new ScheduleConflictError('schedule_exists', `A schedule named "${name}" exists.`, { field: 'name' });
        }
        if (this.counted) this.counted.count += 1;
        return { schedule: await this.stored(input, now), replayed: false };
      },
    );
  }

  /**
   * The schedule just written, as Scheduler now holds it (its dates are Scheduler's, so the answer is what a GET
   * shows); as written, should it be gone already (cancelled meanwhile).
   */
  private async stored(
    input: ReturnType<typeof toSchedulerInput>,
    now: Date,
    created: Date | undefined = now,
  ): Promise<ScheduleView> {
    const read = await this.deps.store.get(this.groups.api, input.Name ?? '');
    const written = { ...input, $metadata: {}, CreationDate: created, LastModificationDate: now };
    return toScheduleView(read ?? (written as GetScheduleCommandOutput), 'api', now);
  }

  /** The schedule a create with this fingerprint made, if it is there; a 409 if the name holds another. */
  private async replay(name: string, fingerprint: string, now: Date): Promise<ScheduleView | undefined> {
    const existing = await this.deps.store.get(this.groups.api, name);
    if (!existing) return undefined;
    switch (compareFingerprints(storedFingerprint(existing), fingerprint)) {
      case 'same':
        return toScheduleView(existing, 'api', now);
      case 'key_reused':
        throw new ScheduleConflictError(
          'idempotency_key_reused',
          `This ${IDEMPOTENCY_HEADER} created schedule "${name}" with a different request; use a new key for a new schedule.`,
          { field: IDEMPOTENCY_HEADER },
        );
      default:
        throw new ScheduleConflictError('schedule_exists', `A schedule named "${name}" exists.`, { field: 'name' });
    }
  }

  /** GET /schedules/{name}: the API's schedule, or the deploy-time one of that name. */
  async get(name: string): Promise<ScheduleView> {
    const [api, deploy] = await Promise.all([
      this.deps.store.get(this.groups.api, name),
      this.deps.store.get(this.groups.deploy, name),
    ]);
    const now = new Date(this.now());
    if (api) return toScheduleView(api, 'api', now);
    if (deploy) return toScheduleView(deploy, 'deploy', now);
    throw new ScheduleNotFoundError(name);
  }

  /**
   * PUT /schedules/{name}: every field the client owns as the body says (left out: its default); what voxconf owns
   * sent again, the create's idempotency fingerprint included.
   */
  async replace(name: string, body: unknown, options: { caller: Caller }): Promise<ScheduleView> {
    return this.audited(
      'replace',
      () => name,
      options.caller,
      async () => {
        const existing = await this.deps.store.get(this.groups.api, name);
        if (!existing) return this.refuseMissing(name);
        const now = new Date(this.now());
        const spec = this.validate(body, now, name);
        const input = toSchedulerInput(name, this.groups.api, spec, this.deps.config, storedFingerprint(existing));
        if ((await this.deps.store.update(input)) === 'missing') throw new ScheduleNotFoundError(name);
        return this.stored(input, now, existing.CreationDate);
      },
    );
  }

  /** DELETE /schedules/{name}. */
  async remove(name: string, options: { caller: Caller }): Promise<void> {
    await this.audited(
      'cancel',
      () => name,
      options.caller,
      async () => {
        if (await this.deps.store.remove(this.groups.api, name)) {
          if (this.counted) this.counted.count = Math.max(0, this.counted.count - 1);
          return;
        }
        await this.refuseMissing(name);
      },
    );
  }

  /** A change to a schedule the API does not have: the deploy's (409), or none (404). */
  private async refuseMissing(name: string): Promise<never> {
    if (await this.deps.store.get(this.groups.deploy, name)) {
      throw new ScheduleConflictError(
        'schedule_managed_by_deploy',
        `Schedule "${name}" is declared in infra/schedules.yml: change it there and deploy.`,
        { field: 'name' },
      );
    }
    throw new ScheduleNotFoundError(name);
  }

  /** GET /schedules: both groups, the deploy-time ones first, one opaque next_token across both. */
  async list(options: ListOptions): Promise<ListResult> {
    const prefix = options.prefix || undefined;
    let cursor: ListCursor = options.nextToken ? decodeListToken(options.nextToken, prefix) : { g: 0 };
    const schedules: ScheduleSummaryView[] = [];
    for (let calls = 0; calls < MAX_LIST_CALLS && cursor.g < LIST_ORDER.length; calls++) {
      if (schedules.length >= options.limit) break;
      const managedBy = LIST_ORDER[cursor.g] as ManagedBy;
      const page = await this.deps.store.list(this.groups[managedBy], {
        ...(prefix ? { prefix } : {}),
        maxResults: options.limit - schedules.length,
        ...(cursor.t ? { nextToken: cursor.t } : {}),
      });
      schedules.push(...page.schedules.map((summary) => toSummaryView(summary, managedBy)));
      cursor = page.nextToken ? { g: cursor.g, t: page.nextToken } : { g: cursor.g + 1 };
    }
    if (cursor.g >= LIST_ORDER.length) return { schedules };
    return { schedules, next_token: encodeListToken({ ...cursor, ...(prefix ? { p: prefix } : {}) }) };
  }

  /** voxconf's own cap: a create past SCHEDULES_MAX_COUNT schedules of the API is refused like Scheduler's quota. */
  private async checkCap(): Promise<void> {
    const { maxCount } = this.deps.config;
    const count = await this.apiScheduleCount(maxCount);
    if (count >= maxCount) {
      this.deps.onQuotaExceeded?.();
      throw new SchedulerError(
        'schedule_quota_exceeded',
        `voxconf's cap of ${maxCount} schedules created through the API is reached: cancel some, or raise the stage parameter schedulesMaxCount.`,
      );
    }
  }

  /**
   * How many schedules the API group holds, counted up to `atMost` (pages of 100), at most once every
   * countCacheSeconds per container and kept up to date with its own creates and cancels in between. Containers
   * running at once each count for themselves: the cap can be passed by the creates of one such interval.
   */
  private async apiScheduleCount(atMost: number): Promise<number> {
    const now = this.now();
    if (this.counted && now - this.counted.at < facts.schedulesApi.countCacheSeconds * 1000) return this.counted.count;
    let count = 0;
    let nextToken: string | undefined;
    do {
      const page = await this.deps.store.list(this.groups.api, {
        maxResults: facts.schedulesApi.listMaxLimit,
        ...(nextToken ? { nextToken } : {}),
      });
      count += page.schedules.length;
      nextToken = page.nextToken;
    } while (nextToken && count < atMost);
    this.counted = { count, at: now };
    return count;
  }

  /** Scheduler's own quota refusal counts for the alarm too. */
  private async quota<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (toVoxconfError(error).code === 'schedule_quota_exceeded') this.deps.onQuotaExceeded?.();
      throw error;
    }
  }

  /** Runs a change and writes its audit line: who, what, which schedule, done or refused (with the code). */
  private async audited<T>(action: Action, name: () => string | undefined, caller: Caller, run: () => Promise<T>) {
    try {
      const result = await run();
      const replayed = (result as { replayed?: unknown } | undefined)?.replayed === true;
      this.deps.logger?.info(`schedule ${replayed ? 'create replayed' : DONE[action]}`, {
        audit: true,
        action,
        outcome: replayed ? 'replayed' : 'done',
        schedule_name: name(),
        caller: caller.id,
        caller_type: caller.type,
      });
      return result;
    } catch (thrown) {
      const error = toVoxconfError(thrown);
      this.deps.logger?.[catalogEntry(error.code).status >= 500 ? 'warn' : 'info'](`schedule not ${DONE[action]}`, {
        audit: true,
        action,
        outcome: 'refused',
        schedule_name: name(),
        caller: caller.id,
        caller_type: caller.type,
        error_code: error.code,
        field: error.field,
      });
      throw thrown;
    }
  }
}
