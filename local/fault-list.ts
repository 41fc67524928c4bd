/**
 * The faults a local stand-in can be told to produce, kept in the order added. Every matching `latency` fault adds
 * its delay; the first matching other fault is the failure; each one used counts down `times` and ends after
 * `forMs`. One implementation for the Secrets Manager, EventBridge and Scheduler stand-ins.
 */

export interface FaultSpec {
  readonly kind: string;
  /** latency: the delay (default 1000 ms); other kinds: a delay before the failure (default 0). */
  readonly latencyMs?: number;
  /** How many calls it applies to (default: until cleared). */
  readonly times?: number;
  /** How long it applies, from now (default: until cleared). */
  readonly forMs?: number;
}

export interface FaultHandle {
  /** How many calls it applied to so far. */
  hits(): number;
  clear(): void;
}

interface Active<S> {
  readonly spec: S;
  readonly until: number;
  remaining: number;
  hits: number;
}

export interface FaultList<S extends FaultSpec> {
  add(spec: S): FaultHandle;
  clear(): void;
  /** The faults that match this call: their summed delay and the failure, if any. */
  pick(matches: (spec: S) => boolean): { delayMs: number; failure: S | undefined; latency: boolean };
}

export function faultList<S extends FaultSpec>(): FaultList<S> {
  let faults: Active<S>[] = [];
  return {
    add(spec) {
      const active: Active<S> = {
        spec: { ...spec },
        until: spec.forMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + spec.forMs,
        remaining: spec.times === undefined ? Number.POSITIVE_INFINITY : spec.times,
        hits: 0,
      };
      faults.push(active);
      return {
        hits: () => active.hits,
        clear: () => {
          faults = faults.filter((f) => f !== active);
        },
      };
    },
    clear() {
      faults = [];
    },
    pick(matches) {
      const now = Date.now();
      faults = faults.filter((f) => f.remaining > 0 && f.until > now);
      let delayMs = 0;
      let failure: S | undefined;
      for (const active of faults) {
        const { spec } = active;
        if (!matches(spec)) continue;
        if (spec.kind === 'latency') delayMs += spec.latencyMs ?? 1000;
        else if (failure === undefined) {
          failure = spec;
          delayMs += spec.latencyMs ?? 0;
        } else continue;
        active.remaining -= 1;
        active.hits += 1;
      }
      return { delayMs, failure, latency: delayMs > 0 };
    },
  };
}
