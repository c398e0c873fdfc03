/**
 * The clock every lifecycle timer and input budget runs on. It is structurally the clock
 * xstate's `createActor({ clock })` takes, so the same object (e.g. xstate's
 * `SimulatedClock` in tests) drives the machines and the runtime's own deadlines.
 */
export interface RuntimeClock {
  setTimeout(fn: () => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}
