import { StallMeter } from './StallMeter.js';

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
 * How long, in ms, the host's event loop may be held during a real timer's window before the
 * timer gives that time back: below it, the loop answered the plugin about on time all along.
 */
export const STALL_GIVE_BACK_MS = 20;

/**
 * The most a real deadline stretches: its own length, given back once (realClock). Whoever
 * waits on the runtime's deadlines from outside (the testing kit) waits this many times them.
 */
export const DEADLINE_STRETCH = 2;

/**
 * Wall time, as Node's timers keep it: the clock of the runtime's periods (backoff, restart
 * windows, the stable reset), which must not stretch with the host's stalls as a deadline
 * does (realClock).
 *
 * @example
 * ```ts
 * const timer = wallClock.setTimeout(() => console.log('a second passed'), 1_000);
 * wallClock.clearTimeout(timer);
 * ```
 */
export const wallClock: RuntimeClock = {
  setTimeout(fn: () => void, ms: number): unknown {
    return setTimeout(fn, ms);
  },
  clearTimeout(id: unknown): void {
    clearTimeout(id as ReturnType<typeof setTimeout> | undefined);
  },
};

interface RealTimer {
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** The stalls of this thread's event loop, looked at while any real timer is armed. */
const stalls = new StallMeter();

/**
 * The runtime's clock in real time. When a timer comes due, the time its thread's event loop
 * was held in its window (a synchronous stretch of the application, or of an inline plugin,
 * whose own deadlines therefore stretch up to twice: see StallMeter) is given back, once, up to
 * the timer's own length, if it exceeds STALL_GIVE_BACK_MS: a deadline then counts the time the
 * host listened to the plugin. Before, an application that held its event loop through a start
 * deadline failed the start (`startup`/`timeout`) — the plugin's answer waited in the pipe or
 * port all along, and even a stall just short of the deadline left the plugin no time after
 * it; a heartbeat deadline on the copy transport, an input budget, likewise. A plugin that
 * really hangs is found that much later, once. Only stalls count, not busy time: a loop busy
 * with short tasks takes its turns and reads what the plugin sent (when the whole busy time
 * was given back, a 5 s heartbeat deadline on a host 50 % busy ran out at ~7.5 s).
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
      stalls.hold();
      const since = stalls.stalled();
      handle.timer = setTimeout(() => {
        const held = stalls.stalled() - since;
        stalls.release();
        if (held > STALL_GIVE_BACK_MS && allowance > 0) {
          arm(Math.min(held, allowance), 0);
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
    if (handle?.timer === undefined) return;
    clearTimeout(handle.timer);
    handle.timer = undefined;
    stalls.release();
  },
};
