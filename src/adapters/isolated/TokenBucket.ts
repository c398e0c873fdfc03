/**
 * A token bucket on the monotonic clock: `take(n)` succeeds while the rate averaged over the
 * burst stays under `perSecond`. Bounds what an untrusted child may send (messages and
 * bytes), so a flood becomes a protocol violation instead of a host event-loop stall.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;

  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#capacity = burst;
    this.#perMs = perSecond / 1000;
    this.#tokens = burst;
    this.#now = now;
    this.#at = now();
  }

  /** Takes `n` tokens if there are enough; false means the rate was exceeded. */
  take(n = 1): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
