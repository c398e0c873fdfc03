/**
 * A token bucket on the monotonic clock, refilled at `perSecond` up to `burst`: `spend(n)`
 * may go into debt, and `msUntil(n)` says when `n` tokens are there again. Paces what an
 * untrusted child may send (messages and bytes; see ReadThrottle).
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

  /** Takes `n` tokens whatever is left: the bucket may go into debt, repaid as it refills. */
  spend(n = 1): void {
    this.#refill();
    this.#tokens -= n;
  }

  /** ms until the bucket holds `n` tokens (0 when it does; `n` is capped at the burst). */
  msUntil(n: number): number {
    this.#refill();
    const missing = Math.min(n, this.#capacity) - this.#tokens;
    return missing <= 0 ? 0 : missing / this.#perMs;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }
}
