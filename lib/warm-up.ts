/**
 * The warm-up at init, for the functions that start conferences. Lambda's init phase often runs before
 * any request arrives (proactive initialization, provisioned concurrency); a cold request waits for it.
 *
 * - `connectEarly()` is the first thing such a function loads (functions/connect-early.ts, its first
 *   import): it starts the connection to Voximplant before the rest of the bundle is evaluated, so that
 *   the TCP handshake runs meanwhile.
 * - `warmUp()` is awaited by the function at module load (a top-level await, bounded): it reads the key,
 *   signs the token and finishes opening that connection, concurrently. The first invocation then finds
 *   them ready, and redoes only what is not.
 *
 * Nothing here runs on import: `lib/` stays free of side effects for whoever imports it. This module is
 * light on purpose (no AWS SDK, no Powertools): connect-early loads it before anything else.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import type { ConferenceService } from './conference.js';
import { getConfig } from './config.js';
import { openEarlyConnection } from './early-connection.js';
import { VoxconfError } from './errors.js';

/**
 * How long init waits for the warm-up. Lambda freezes the sandbox when init ends: work still pending then
 * would be frozen half done (its socket may die meanwhile), so it is abandoned at this bound and the first
 * invocation does it afresh. A second covers a cold read of the secret and a TLS handshake at any distance
 * Voximplant is likely to be, and is a small part of Lambda's 10 s init limit.
 */
export const WARM_UP_BOUND_MS = 1_000;

/** How long connectEarly waits for the DNS lookup of Voximplant's host before letting the function load on. */
export const EARLY_LOOKUP_BOUND_MS = 100;

/**
 * Starts the connection to Voximplant (VOXIMPLANT_API_URL) before anything else of the function loads;
 * the service's client adopts it. Waits only for the DNS lookup (bounded). Never throws: misconfigured,
 * it does nothing (warmUp reports it).
 */
export async function connectEarly(): Promise<void> {
  let apiUrl: string;
  try {
    apiUrl = getConfig().apiUrl;
  } catch {
    return;
  }
  await openEarlyConnection(apiUrl, { lookupBoundMs: EARLY_LOOKUP_BOUND_MS });
}

export interface WarmUpOptions {
  /** The service to warm up: the process-wide one the handlers use (getConferenceService). */
  readonly service: () => Pick<ConferenceService, 'warmUp'>;
  /** Where a failure is said, once. */
  readonly logger: Pick<Logger, 'warn'>;
  readonly boundMs?: number;
}

/** How each part ended: ready, failed, not finished within the bound (abandoned), or not attempted. */
export type WarmUpState = 'ready' | 'failed' | 'abandoned' | 'skipped';

export interface WarmUpOutcome {
  /** Key read and imported, token signed. */
  readonly token: WarmUpState;
  /** The connection to Voximplant. */
  readonly connection: WarmUpState;
}

/** What failed, said without any secret: our errors' code and message, or a library error's name and code. */
function describe(reason: unknown): string {
  if (reason instanceof VoxconfError) return `${reason.code}: ${reason.message}`;
  const { name, code } = (reason ?? {}) as { name?: unknown; code?: unknown };
  return [typeof name === 'string' ? name : 'Error', typeof code === 'string' ? code : undefined]
    .filter(Boolean)
    .join(' ');
}

/**
 * Warms the service up, waiting at most `boundMs`. Never throws and never sends a StartConference. What
 * failed or was not ready in time is logged once (one line, with no key and no token) and left to the
 * first invocation, which does it as on any cold start.
 */
export async function warmUp(options: WarmUpOptions): Promise<WarmUpOutcome> {
  const log = options.logger;
  const boundMs = options.boundMs ?? WARM_UP_BOUND_MS;
  let service: Pick<ConferenceService, 'warmUp'>;
  try {
    service = options.service();
  } catch (error) {
    // Misconfigured: every invocation will answer so, with the details in its own log line.
    log.warn('warm-up at init skipped; the first invocation will try again', { reason: describe(error) });
    return { token: 'skipped', connection: 'skipped' };
  }
  const controller = new AbortController();
  const work = service.warmUp({ signal: controller.signal });
  const states: { token: WarmUpState; connection: WarmUpState } = {
    token: 'abandoned',
    connection: work.connection ? 'abandoned' : 'skipped',
  };
  const failures: Record<string, string> = {};
  const track = (part: 'token' | 'connection', settled: Promise<PromiseSettledResult<void>>) =>
    settled.then((result) => {
      if (controller.signal.aborted) return; // too late: the first invocation is on it
      states[part] = result.status === 'fulfilled' ? 'ready' : 'failed';
      if (result.status === 'rejected') failures[part] = describe(result.reason);
    });
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs);
  });
  try {
    await Promise.race([
      Promise.all([track('token', work.token), work.connection && track('connection', work.connection)]),
      bound,
    ]);
  } finally {
    clearTimeout(timer);
  }
  const abandoned = (Object.keys(states) as (keyof typeof states)[]).filter((part) => states[part] === 'abandoned');
  if (abandoned.length > 0) {
    controller.abort(new Error(`not finished within ${boundMs} ms at init`));
    for (const part of abandoned) failures[part] = `not finished within ${boundMs} ms`;
  }
  if (Object.keys(failures).length > 0) {
    log.warn('warm-up at init incomplete; the first invocation will do the rest', failures);
  }
  return { ...states };
}
