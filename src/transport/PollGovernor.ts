/** Longest back-off after polls kept missing: 2^8 waits without a poll. */
const MAX_BACKOFF_EXPONENT = 8;

/**
 * Decides, wait by wait, whether a waiter first polls for what it waits for (a guest spinning
 * on its ring, the host taking event-loop turns) before it sleeps. A poll saves both sides a
 * wake-up when the answer comes within its window, and costs a core while it runs:
 * - a wait polls only after one that ended within the window, so inputs at longer intervals
 *   cost no polling after a single wait;
 * - a poll that runs out its window without catching anything backs off: the next 2, then
 *   4, 8 … up to 256 waits do not poll; one that catches ends the back-off. A run of misses
 *   is the mark of a machine with no core to spare (more runnable threads than cores): the
 *   other side could not run while this one polled, got the core when the poll gave up, and
 *   answered at once — so the wait still "ended within the window" and, without the back-off,
 *   every other wait would burn its whole window for nothing.
 *
 * Pure bookkeeping (no clock): the caller measures and reports.
 *
 * @example
 * ```ts
 * const governor = new PollGovernor();
 * if (governor.next()) {
 *   if (pollUntil(deadline)) governor.caught();
 *   else governor.missed();
 * } else {
 *   governor.waited(sleep() <= windowMs);
 * }
 * ```
 */
export class PollGovernor {
  /** The last wait without a poll ended within the window (or a poll caught). */
  #eligible = true;
  /** Misses since the last catch, bounded by MAX_BACKOFF_EXPONENT. */
  #misses = 0;
  /** Waits left that must not poll. */
  #skip = 0;

  /**
   * Whether the coming wait polls first; call once per wait, then report it with
   * {@link caught}, {@link missed} (it polled) or {@link waited} (it did not).
   */
  next(): boolean {
    if (this.#skip > 0) {
      this.#skip -= 1;
      return false;
    }
    return this.#eligible;
  }

  /** The poll found what it waited for. */
  caught(): void {
    this.#misses = 0;
    this.#eligible = true;
  }

  /** The poll ran out its window in vain. */
  missed(): void {
    this.#misses = Math.min(this.#misses + 1, MAX_BACKOFF_EXPONENT);
    this.#skip = 2 ** this.#misses;
  }

  /**
   * A wait ended that did not poll (or whose poll stopped for another reason than its
   * window): `withinWindow` says whether it ended within the poll window.
   */
  waited(withinWindow: boolean): void {
    this.#eligible = withinWindow;
  }
}
