/** How often, in ms, a held meter looks at the event loop. */
export const STALL_TICK_MS = 10;

/**
 * A gap between two looks longer than this many ticks is a stall: below it, the loop took its
 * turns (timers, I/O) about on time, however busy it was in between.
 */
const STALL_GAP_TICKS = 1.5;

/**
 * How long this thread's event loop was held — a synchronous stretch (the application's, an
 * inline plugin's) that kept it from taking its turns — as opposed to merely busy: a loop 60 %
 * busy with short tasks still reads a pipe or a port at every turn. A held meter looks every
 * STALL_TICK_MS from an unreferenced interval; a gap between two looks longer than 1.5 ticks
 * counts less the tick it was due after (the stall was at least that long, at most a tick
 * longer). A thread the machine did not run meanwhile (more runnable threads than cores) is
 * held too: it could not answer either.
 *
 * @example
 * ```ts
 * const meter = new StallMeter();
 * meter.hold();
 * const since = meter.stalled();
 * // … later, when a deadline comes due:
 * const held = meter.stalled() - since;
 * meter.release();
 * ```
 */
export class StallMeter {
  readonly #tickMs: number;
  readonly #now: () => number;
  #last = 0;
  #stalled = 0;
  #holders = 0;
  #ticker: ReturnType<typeof setInterval> | undefined;

  /**
   * @param tickMs how often a held meter looks (default STALL_TICK_MS)
   * @param now the clock it reads, in ms (default `performance.now`)
   */
  constructor(tickMs = STALL_TICK_MS, now: () => number = () => performance.now()) {
    this.#tickMs = tickMs;
    this.#now = now;
  }

  /** Whether the meter is looking (held at least once more than released). */
  get held(): boolean {
    return this.#holders > 0;
  }

  /** Starts looking, if no one else holds the meter; pair with {@link release}. */
  hold(): void {
    this.#holders += 1;
    if (this.#holders > 1) return;
    this.#last = this.#now();
    this.#ticker = setInterval(() => {
      this.#look();
    }, this.#tickMs);
    // A meter never keeps the process alive: whoever holds it has a timer of its own.
    this.#ticker.unref();
  }

  /** Stops looking once every hold is released. */
  release(): void {
    if (this.#holders === 0) return;
    if (this.#holders === 1) this.#look();
    this.#holders -= 1;
    if (this.#holders > 0) return;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /**
   * Milliseconds of stalls seen since the meter was made, up to now: the gap since the last
   * look counts too (a stall under way, or just ended before the meter's own tick came
   * round). Differences of two readings while held measure the stalls between them. A reading
   * changes nothing: a look is the ticker's alone (readings that moved it cut a stall into
   * gaps too short to count — a timer armed every few ms during one hid it whole).
   */
  stalled(): number {
    return this.#stalled + (this.#holders > 0 ? this.#excess(this.#now() - this.#last) : 0);
  }

  /** The ticker's look: the gap since the last one counts, and the next starts now. */
  #look(): void {
    const now = this.#now();
    this.#stalled += this.#excess(now - this.#last);
    this.#last = now;
  }

  #excess(gap: number): number {
    return gap > STALL_GAP_TICKS * this.#tickMs ? gap - this.#tickMs : 0;
  }
}
