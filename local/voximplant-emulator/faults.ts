/**
 * Forced faults: answers a test wants instead of the normal one, so that client error paths
 * (Voximplant errors, 429/5xx, non-JSON bodies, broken connections, slowness) can be exercised.
 *
 * A fault is one action plus a scope. With no scope it lasts until cleared; `times` limits it to the
 * next N matching requests, `forMs` to a time window, `conferenceName` to requests for that name, `method`
 * to requests for that API method.
 * Scopes combine (all must hold). Among the faults that match a request, every `latency` fault adds
 * its delay and the oldest other fault decides the answer; each fault used counts one of its `times`.
 */
import { randomUUID } from 'node:crypto';
import { voximplantError } from './error-codes.js';

export type FaultAction =
  /** HTTP 200 `{"error":{"msg","code"}}`; msg defaults to Voximplant's message for the code. */
  | { readonly type: 'error'; readonly code: number; readonly msg?: string }
  /** A bare HTTP status (429, 500, 502, 503, ...), optional Retry-After, headers and body. */
  | {
      readonly type: 'http';
      readonly status: number;
      readonly body?: string;
      readonly contentType?: string;
      readonly retryAfter?: number | string;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** A body that is not JSON (default HTTP 200 text/html), as a misbehaving proxy might send. */
  | { readonly type: 'raw'; readonly body?: string; readonly status?: number; readonly contentType?: string }
  /** HTTP 200 `{"errors":[{"msg","code"},...]}`, the second error shape the SDKs know. */
  | { readonly type: 'errors'; readonly errors: readonly { readonly code: number; readonly msg?: string }[] }
  /** The socket is destroyed before the request is processed: no answer, no session started. */
  | { readonly type: 'drop' }
  /**
   * The request is processed normally (a session may start) and the answer is cut off after the
   * headers and part of the body: the client cannot know whether the call took effect.
   */
  | { readonly type: 'drop-mid-response' }
  /** Extra delay, after which the request is processed normally (or by another matching fault). */
  | { readonly type: 'latency'; readonly ms: number };

export interface FaultScope {
  /** Apply to the next N matching requests only. */
  readonly times?: number;
  /** Apply only to requests whose conference_name equals this. */
  readonly conferenceName?: string;
  /** Apply only for this long after the fault is set. */
  readonly forMs?: number;
  /** Apply only to requests for this API method (e.g. `GetCallHistory`). */
  readonly method?: string;
}

export type FaultSpec = FaultAction & FaultScope;

export interface FaultInfo {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  /** Uses left when `times` was given. */
  readonly remaining: number | null;
  readonly hits: number;
}

export class FaultSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSpecError';
  }
}

interface ActiveFault {
  readonly id: string;
  readonly spec: FaultSpec;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  remaining: number | null;
  hits: number;
}

export interface FaultDecision {
  readonly latencyMs: number;
  /** The fault that decides the answer, if any. */
  readonly answer?: { readonly id: string; readonly action: FaultAction };
}

export class FaultBook {
  private faults: ActiveFault[] = [];

  add(input: unknown, nowMs: number): FaultInfo {
    const spec = normalizeFaultSpec(input);
    const fault: ActiveFault = {
      id: randomUUID(),
      spec,
      createdAt: nowMs,
      expiresAt: spec.forMs === undefined ? null : nowMs + spec.forMs,
      remaining: spec.times ?? null,
      hits: 0,
    };
    this.faults.push(fault);
    return info(fault);
  }

  list(nowMs: number): FaultInfo[] {
    this.prune(nowMs);
    return this.faults.map(info);
  }

  clear(id?: string): number {
    const before = this.faults.length;
    this.faults = id === undefined ? [] : this.faults.filter((fault) => fault.id !== id);
    return before - this.faults.length;
  }

  /** Picks (and uses up) the faults for one request. */
  take(conferenceName: string | undefined, nowMs: number, method?: string): FaultDecision {
    this.prune(nowMs);
    let latencyMs = 0;
    let answer: FaultDecision['answer'];
    for (const fault of this.faults) {
      if (fault.spec.conferenceName !== undefined && fault.spec.conferenceName !== conferenceName) continue;
      if (fault.spec.method !== undefined && fault.spec.method !== method) continue;
      if (fault.spec.type === 'latency') {
        latencyMs += fault.spec.ms;
      } else if (answer === undefined) {
        answer = { id: fault.id, action: fault.spec };
      } else {
        continue; // not used, so its `times` is not spent
      }
      fault.hits++;
      if (fault.remaining !== null) fault.remaining--;
    }
    this.prune(nowMs);
    return answer === undefined ? { latencyMs } : { latencyMs, answer };
  }

  private prune(nowMs: number): void {
    this.faults = this.faults.filter(
      (fault) =>
        (fault.remaining === null || fault.remaining > 0) && (fault.expiresAt === null || nowMs < fault.expiresAt),
    );
  }
}

function info(fault: ActiveFault): FaultInfo {
  return {
    id: fault.id,
    spec: fault.spec,
    createdAt: new Date(fault.createdAt).toISOString(),
    expiresAt: fault.expiresAt === null ? null : new Date(fault.expiresAt).toISOString(),
    remaining: fault.remaining,
    hits: fault.hits,
  };
}

/**
 * Checks a fault spec (it may come as JSON from another process) and fills in defaults, so that a
 * typo fails when the fault is set rather than silently never firing.
 */
export function normalizeFaultSpec(input: unknown): FaultSpec {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new FaultSpecError('a fault must be an object');
  const raw = input as Record<string, unknown>;
  const scope = normalizeScope(raw);
  switch (raw.type) {
    case 'error': {
      const code = integer(raw.code, 'code', 1);
      return { type: 'error', code, msg: messageFor(code, raw.msg, 'msg'), ...scope };
    }
    case 'http': {
      const status = integer(raw.status, 'status', 200, 599);
      const headers = optionalStringRecord(raw.headers, 'headers');
      const retryAfter = raw.retryAfter;
      if (
        retryAfter !== undefined &&
        typeof retryAfter !== 'string' &&
        !(typeof retryAfter === 'number' && retryAfter >= 0)
      ) {
        throw new FaultSpecError('retryAfter must be a non-negative number of seconds or an HTTP date string');
      }
      return {
        type: 'http',
        status,
        ...optionalString(raw.body, 'body'),
        ...optionalString(raw.contentType, 'contentType'),
        ...(retryAfter !== undefined ? { retryAfter } : {}),
        ...(headers !== undefined ? { headers } : {}),
        ...scope,
      };
    }
    case 'raw':
      return {
        type: 'raw',
        body:
          raw.body === undefined
            ? '<html><body>Service Temporarily Unavailable</body></html>'
            : string(raw.body, 'body'),
        status: raw.status === undefined ? 200 : integer(raw.status, 'status', 200, 599),
        contentType: raw.contentType === undefined ? 'text/html' : string(raw.contentType, 'contentType'),
        ...scope,
      };
    case 'errors': {
      if (!Array.isArray(raw.errors) || raw.errors.length === 0)
        throw new FaultSpecError('errors must be a non-empty array');
      const errors = raw.errors.map((entry: unknown, i) => {
        if (entry === null || typeof entry !== 'object') throw new FaultSpecError(`errors[${i}] must be an object`);
        const { code: rawCode, msg } = entry as Record<string, unknown>;
        const code = integer(rawCode, `errors[${i}].code`, 1);
        return { code, msg: messageFor(code, msg, `errors[${i}].msg`) };
      });
      return { type: 'errors', errors, ...scope };
    }
    case 'drop':
    case 'drop-mid-response':
      return { type: raw.type, ...scope };
    case 'latency':
      return { type: 'latency', ms: integer(raw.ms, 'ms', 0), ...scope };
    default:
      throw new FaultSpecError(
        `unknown fault type ${JSON.stringify(raw.type)} (error, http, raw, errors, drop, drop-mid-response, latency)`,
      );
  }
}

function normalizeScope(raw: Record<string, unknown>): FaultScope {
  return {
    ...(raw.times !== undefined ? { times: integer(raw.times, 'times', 1) } : {}),
    ...(raw.forMs !== undefined ? { forMs: integer(raw.forMs, 'forMs', 1) } : {}),
    ...(raw.conferenceName !== undefined ? { conferenceName: string(raw.conferenceName, 'conferenceName') } : {}),
    ...(raw.method !== undefined ? { method: string(raw.method, 'method') } : {}),
  };
}

function messageFor(code: number, msg: unknown, field: string): string {
  if (msg !== undefined) return string(msg, field);
  const known = voximplantError(code);
  if (!known) throw new FaultSpecError(`Voximplant documents no error code ${code}; give ${field}`);
  return known.message;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultSpecError(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new FaultSpecError(`${field} must be a string`);
  return value;
}

function optionalString<K extends string>(value: unknown, field: K): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [field]: string(value, field) } as Record<K, string>);
}

function optionalStringRecord(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new FaultSpecError(`${field} must be an object`);
  for (const [name, headerValue] of Object.entries(value)) string(headerValue, `${field}.${name}`);
  return { ...(value as Record<string, string>) };
}
