// The body of the per-mode lifecycle property files (one file per mode, so that CI can run
// them side by side and none grows long): runs lifecycleProperty(mode) the configured number
// of times, prints what the runs exercised, and fails on any counterexample, any uncaught
// error or unhandled rejection in the host, or a stall of the host's event loop.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Mode } from 'plugin-seam';
import { ModelStats } from './ModelStats.js';
import { lifecycleProperty } from './lifecycleProperty.js';
import { RUN_WORST_MS } from './runLifecycleModel.js';
import { monitorLoopStall } from '../fixtures/loopStall.js';

/**
 * Declares the lifecycle property test of `mode`: `SEAM_PROPERTY_RUNS` runs, or `defaultRuns`.
 *
 * @example
 * ```ts
 * describeLifecycleProperty('embedded', 40);
 * ```
 */
export function describeLifecycleProperty(mode: Mode, defaultRuns: number): void {
  const runs = Number(process.env.SEAM_PROPERTY_RUNS ?? defaultRuns);
  // Generous (isolated runs spawn processes). No run starts later than 15 s plus the longest
  // a run can last before it, so the smallest counterexample found so far is still printed.
  const timeoutMs = 60_000 + runs * 1_500 + RUN_WORST_MS;
  describe(`lifecycle model [${mode}]`, () => {
    it('keeps every invariant under random commands and faults', async () => {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      const unexpected: unknown[] = [];
      let stall = { maxMs: Number.POSITIVE_INFINITY, wallMaxMs: Number.POSITIVE_INFINITY };
      const record = (error: unknown): void => {
        unexpected.push(error);
      };
      const stats = new ModelStats();
      delay.enable();
      const stalls = monitorLoopStall();
      process.on('unhandledRejection', record);
      process.on('uncaughtException', record);
      try {
        await fc.assert(lifecycleProperty(mode, stats), { numRuns: runs, interruptAfterTimeLimit: timeoutMs - 15_000 - RUN_WORST_MS, markInterruptAsFailure: false });
      } finally {
        stall = stalls.stop();
        delay.disable();
        process.off('unhandledRejection', record);
        process.off('uncaughtException', record);
      }
      console.log(`${stats.summary(`lifecycle model [${mode}]`)}\n  host event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms (${stall.maxMs.toFixed(1)} ms net of waiting for a CPU)`);
      expect(unexpected, 'uncaught exceptions or unhandled rejections in the host').toEqual([]);
      expect(stats.runs).toBeGreaterThan(0);
      // Net of the time the host waited for a CPU: a loaded machine is not the host stalling.
      expect(stall.maxMs, 'the host event loop stalled').toBeLessThan(1_000);
    }, timeoutMs);
  });
}
