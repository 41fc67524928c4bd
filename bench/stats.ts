/** Small statistics for the bench: every figure is a median over repeated runs, with min and max. */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly p10: number;
  readonly p90: number;
  readonly mean: number;
  readonly n: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    mean: sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1),
    n: sorted.length,
  };
}

/** Ratio a/b of two paired series (run i of a against run i of b): median, min and max of the ratios. */
export function pairedRatio(a: readonly number[], b: readonly number[]): Summary {
  const n = Math.min(a.length, b.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push(a[i]! / b[i]!);
  return summarize(ratios);
}

/** Differences a-b of paired runs. */
export function pairedDifference(a: readonly number[], b: readonly number[]): Summary {
  const n = Math.min(a.length, b.length);
  const diffs: number[] = [];
  for (let i = 0; i < n; i++) diffs.push(a[i]! - b[i]!);
  return summarize(diffs);
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** Rounds for JSON output (no 17-digit noise). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function roundSummary(s: Summary, digits = 3): Summary {
  return {
    median: round(s.median, digits),
    min: round(s.min, digits),
    max: round(s.max, digits),
    p10: round(s.p10, digits),
    p90: round(s.p90, digits),
    mean: round(s.mean, digits),
    n: s.n,
  };
}
