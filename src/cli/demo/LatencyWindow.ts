/** Percentiles and rate of the samples in a window. */
export interface LatencyStats {
  /** Samples counted. */
  readonly count: number;
  /** Samples per second over the window (frames per second when a sample is a done frame). */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** The nearest-rank percentile `p` (0..1) of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/**
 * Per-frame latencies over a sliding window of wall-clock time (for the live dashboard),
 * plus every sample of the run (for the summary). Times are in milliseconds on one clock
 * (`performance.now()`), passed in so the window is testable without waiting.
 *
 * @example
 * ```ts
 * const window = new LatencyWindow(2_000);
 * window.add(performance.now(), 3.2);
 * window.stats(performance.now()); // { count: 1, rate: 0.5, p50Ms: 3.2, p99Ms: 3.2 }
 * ```
 */
export class LatencyWindow {
  readonly windowMs: number;
  readonly #at: number[] = [];
  readonly #latency: number[] = [];
  #head = 0;
  readonly #all: number[] = [];
  #firstAt: number | undefined;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Records one sample taken at `atMs`. */
  add(atMs: number, latencyMs: number): void {
    this.#firstAt ??= atMs;
    this.#at.push(atMs);
    this.#latency.push(latencyMs);
    this.#all.push(latencyMs);
  }

  /** Statistics of the samples within the window ending at `nowMs`. */
  stats(nowMs: number): LatencyStats {
    const from = nowMs - this.windowMs;
    while (this.#head < this.#at.length && (this.#at[this.#head] ?? 0) < from) this.#head += 1;
    // Compact now and then, so the arrays do not grow with the run.
    if (this.#head > 4096) {
      this.#at.splice(0, this.#head);
      this.#latency.splice(0, this.#head);
      this.#head = 0;
    }
    const recent = this.#latency.slice(this.#head).sort((a, b) => a - b);
    // Until a whole window has passed, the rate is over the time since the first sample.
    const span = this.#firstAt === undefined ? this.windowMs : Math.min(this.windowMs, Math.max(1, nowMs - this.#firstAt));
    return {
      count: recent.length,
      rate: (recent.length * 1_000) / span,
      p50Ms: percentile(recent, 0.5),
      p99Ms: percentile(recent, 0.99),
    };
  }

  /** Statistics over every sample of the run (`rate` over `elapsedMs`). */
  overall(elapsedMs: number): LatencyStats {
    const sorted = [...this.#all].sort((a, b) => a - b);
    return {
      count: sorted.length,
      rate: elapsedMs > 0 ? (sorted.length * 1_000) / elapsedMs : 0,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  }
}
