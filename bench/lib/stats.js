// @ts-check
/**
 * Small, dependency-free statistics and timing helpers shared by every
 * benchmark under bench/ (peer baselines and our own adapter benchmarks).
 *
 * Conventions: durations are in microseconds (µs) unless the name says
 * otherwise; every function is pure except `nowUs`.
 */
import { performance } from 'node:perf_hooks';

/** Monotonic clock in microseconds (float). */
export function nowUs() {
  return performance.now() * 1000;
}

/**
 * Percentile of an ascending-sorted array, nearest-rank with linear
 * interpolation between neighbours (same as numpy's default "linear").
 * @param {ArrayLike<number>} sorted ascending
 * @param {number} p in [0, 100]
 * @returns {number} NaN for an empty array
 */
export function percentileSorted(sorted, p) {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0];
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const frac = rank - lo;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

/**
 * Percentile of an unsorted array (copies, sorts numerically).
 * @param {ArrayLike<number>} values
 * @param {number} p in [0, 100]
 */
export function percentile(values, p) {
  return percentileSorted(Float64Array.from(values).sort(), p);
}

/**
 * Median of an unsorted array.
 * @param {ArrayLike<number>} values
 */
export function median(values) {
  return percentile(values, 50);
}

/**
 * @typedef {object} Summary
 * @property {number} n      sample count
 * @property {number} min
 * @property {number} p50
 * @property {number} p90
 * @property {number} p99
 * @property {number} max
 * @property {number} mean
 */

/**
 * Summary statistics of a sample (e.g. per-trip latencies in µs).
 * @param {ArrayLike<number>} values
 * @returns {Summary}
 */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    n,
    min: n ? sorted[0] : Number.NaN,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
    max: n ? sorted[n - 1] : Number.NaN,
    mean: n ? sum / n : Number.NaN,
  };
}

/**
 * Median of one numeric field over repetitions, e.g. the median of p50s.
 * @template {Record<string, unknown>} T
 * @param {readonly T[]} reps
 * @param {keyof T & string} key
 */
export function medianOf(reps, key) {
  return median(reps.map((r) => Number(r[key])));
}

/**
 * Ratio a/b rounded to 2 decimals, NaN-safe (for "ours vs peer" tables).
 * @param {number} a
 * @param {number} b
 */
export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return Math.round((a / b) * 100) / 100;
}
