// xstate's SimulatedClock moves `now()` to the end of an increment before it fires the timers
// due inside it: a timer firing at its due time 6,447 of a jump to 7,947 reads 7,947, and one
// it sets starts there. The model stamps every transition with `now()`, so a heartbeat
// deadline that fired (in order) before three restart windows ended looked like a failure
// after they had: "not restarted with 0 of 3 restarts used" for a budget the runtime rightly
// found spent. This clock steps through each due time in turn, so `now()` is the time a timer
// fires at, and what it sets synchronously starts there (what it sets after an await starts
// at the end of the increment, as before).
import { SimulatedClock } from 'xstate';

/**
 * A {@link SimulatedClock} whose `increment` stops at each timer's due time on the way.
 *
 * @example
 * ```ts
 * const clock = new SteppingClock();
 * clock.setTimeout(() => console.log(clock.now()), 100); // prints 100
 * clock.increment(1_000);
 * ```
 */
export class SteppingClock extends SimulatedClock {
  /** Due times of the pending timers, by id. */
  readonly #due = new Map<number, number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    // A due time it cannot step to would hold increment() in its loop for good.
    if (!Number.isFinite(timeout) || timeout < 0) throw new RangeError(`SteppingClock: a timeout must be a finite number ≥ 0, got ${timeout}`);
    const id = super.setTimeout((...args: unknown[]) => {
      this.#due.delete(id);
      fn(...args);
    }, timeout);
    this.#due.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.#due.delete(id);
    super.clearTimeout(id);
  }

  override increment(ms: number): void {
    const target = this.now() + ms;
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (const due of this.#due.values()) next = Math.min(next, due);
      // Timers set while firing are found on the next pass, at their own due times.
      if (next > target) break;
      this.set(Math.max(next, this.now()));
      // set() fires what is due; a timer left pending at its own due time (fractional times
      // SimulatedClock rounds the other way, a flush already running) would loop for good.
      for (const due of this.#due.values()) {
        if (due <= next) throw new Error(`SteppingClock: a timer due at ${due} did not fire at ${this.now()}`);
      }
    }
    this.set(target);
  }
}
