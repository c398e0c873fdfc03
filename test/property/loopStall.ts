// How long the host's event loop was held by the host itself, not by a loaded machine. A
// wall-clock stall (perf_hooks.monitorEventLoopDelay) also counts the time this thread was
// ready to run but waited for a CPU: on a loaded 2-core CI machine that alone reached
// hundreds of ms. Linux reports that wait per thread (/proc/thread-self/schedstat, second
// field, ns); it is subtracted here. Where it is not available, the wall-clock stall is used.
import { readFileSync } from 'node:fs';

/**
 * Milliseconds this thread has spent waiting on a run queue (ready, not running) since it
 * started; undefined where the kernel does not report it.
 *
 * @example
 * ```ts
 * const waitedBefore = runQueueWaitMs() ?? 0;
 * ```
 */
export function runQueueWaitMs(): number | undefined {
  try {
    const waited = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
    return Number.isFinite(waited) ? waited / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Measures the host's event-loop stalls, every `resolutionMs`, in wall time and net of the
 * time the thread waited for a CPU. `stop()` returns both maxima, in ms.
 *
 * @example
 * ```ts
 * const stalls = monitorLoopStall();
 * // ... the run ...
 * const { maxMs, wallMaxMs } = stalls.stop();
 * ```
 */
export function monitorLoopStall(resolutionMs = 10): { stop(): { readonly maxMs: number; readonly wallMaxMs: number } } {
  let last = performance.now();
  let lastWaited = runQueueWaitMs();
  let maxMs = 0;
  let wallMaxMs = 0;
  const sample = (): void => {
    const now = performance.now();
    const waited = runQueueWaitMs();
    const stall = Math.max(0, now - last - resolutionMs);
    wallMaxMs = Math.max(wallMaxMs, stall);
    maxMs = Math.max(maxMs, lastWaited === undefined || waited === undefined ? stall : Math.max(0, stall - (waited - lastWaited)));
    last = now;
    lastWaited = waited;
  };
  const timer = setInterval(sample, resolutionMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { maxMs, wallMaxMs };
    },
  };
}
