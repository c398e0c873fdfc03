/**
 * The clock every lifecycle timer and input budget runs on. It is structurally the clock
 * xstate's `createActor({ clock })` takes, so the same object (e.g. xstate's
 * `SimulatedClock` in tests) drives the machines and the runtime's own deadlines.
 */
export interface RuntimeClock {
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/**
 * How late a real timer may fire before it counts as held off by the host (ms): beyond it,
 * the host's event loop was not turning (a synchronous stretch of the application, or of an
 * inline plugin), and a timer's lateness is the host's time, not the plugin's.
 */
export const LATE_TIMER_MS = 20;

interface RealTimer {
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The runtime's clock in real time. A timer that fires more than LATE_TIMER_MS late waits
 * again for as long as it was late (at most its own duration) before it runs: a deadline then
 * counts the time the host let the plugin answer, not a stall of the host. Before, an
 * application that held its event loop 11 s while an isolated plugin started failed the start
 * (`startup`/`timeout`, 10 s): the plugin's hello had waited in the pipe all along, and the
 * deadline's timer ran before the loop read it; a heartbeat deadline on the copy transport, an
 * input budget, likewise. A plugin that really hangs is found that much later, once.
 *
 * @example
 * ```ts
 * const timer = realClock.setTimeout(() => console.log('deadline'), 1_000);
 * realClock.clearTimeout(timer);
 * ```
 */
export const realClock: RuntimeClock = {
  setTimeout(fn: () => void, ms: number): unknown {
    const handle: RealTimer = { timer: undefined };
    const arm = (delay: number, allowance: number): void => {
      const due = performance.now() + delay;
      handle.timer = setTimeout(() => {
        const late = performance.now() - due;
        if (late > LATE_TIMER_MS && allowance > 0) {
          arm(Math.min(late, allowance), 0);
          return;
        }
        handle.timer = undefined;
        fn();
      }, delay);
    };
    arm(ms, ms);
    return handle;
  },
  clearTimeout(id: unknown): void {
    const handle = id as RealTimer | undefined;
    if (handle?.timer !== undefined) clearTimeout(handle.timer);
    if (handle !== undefined) handle.timer = undefined;
  },
};
