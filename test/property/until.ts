// A bounded wait on an observable condition, polled in real time: how the model waits for
// real processes and threads (a spawn, a death, a stopped state) without bare sleeps.

/**
 * Polls `condition` every `everyMs` of real time until it holds or `withinMs` passed; resolves
 * with whether it held. A bounded wait on an observable condition, never a bare sleep.
 *
 * @example
 * ```ts
 * const ended = await until(() => hasEnded(pid), 3_000);
 * ```
 */
export async function until(condition: () => boolean, withinMs: number, everyMs = 2): Promise<boolean> {
  const t0 = performance.now();
  while (!condition()) {
    if (performance.now() - t0 >= withinMs) return condition();
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
