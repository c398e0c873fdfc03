import type { BackoffSettings } from './lifecycleTypes.js';

/**
 * One step of a small deterministic PRNG (mulberry32). The machine keeps its state in
 * context, so jitter is random across instances yet every run is reproducible from its seed
 * and the machine stays pure.
 */
export function nextRandom(state: number): { readonly value: number; readonly state: number } {
  const next = (state + 0x6d2b79f5) | 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { value: ((t ^ (t >>> 14)) >>> 0) / 4294967296, state: next };
}

/**
 * The delay before restart number `attempt` (0-based): `initialMs * factor^attempt`, capped
 * at `maxMs`, then spread by ±`jitter` so that instances that failed together do not
 * restart together. Never negative, never above `maxMs * (1 + jitter)`.
 */
export function computeBackoff(
  settings: BackoffSettings,
  attempt: number,
  rng: number,
): { readonly delayMs: number; readonly rng: number } {
  const base = Math.min(settings.maxMs, settings.initialMs * Math.pow(settings.factor, attempt));
  const { value, state } = nextRandom(rng);
  const spread = base * settings.jitter * (value * 2 - 1);
  return { delayMs: Math.max(0, Math.round(base + spread)), rng: state };
}
